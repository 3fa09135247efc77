//! Condition operators and their evaluation (IAM User Guide, "IAM JSON policy
//! elements: Condition operators" and "Multivalued context keys").
//!
//! Rules encoded here:
//! - keys in one operator AND together; values of one key OR together;
//! - an absent key makes a positive operator false and a negated one
//!   (`StringNotEquals`, `NotIpAddress`, ...) true; `...IfExists` makes it true;
//! - `ForAnyValue:` needs one request value to pass (false when the key is
//!   absent or empty); `ForAllValues:` needs every request value to pass (true
//!   when the key is absent or empty);
//! - without a set prefix, a multi-valued key passes a positive operator when
//!   any value matches, and a negated one when none does;
//! - `Null` tests presence; policy variables work in string and ARN operators.

use crate::context::{Context, Values};
use crate::glob::Glob;
use crate::template::Template;
use crate::values::{self, Network};

/// The comparison family of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `StringEquals`, `StringNotEquals`.
    StringEquals,
    /// `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`.
    StringEqualsIgnoreCase,
    /// `StringLike`, `StringNotLike`.
    StringLike,
    /// `Numeric*`.
    Numeric(Cmp),
    /// `Date*`.
    Date(Cmp),
    /// `Bool`.
    Bool,
    /// `BinaryEquals`.
    Binary,
    /// `IpAddress`, `NotIpAddress`.
    Ip,
    /// `ArnEquals`/`ArnLike` and their negations (both accept wildcards).
    Arn,
    /// `Null`.
    Null,
}

/// How `Numeric*` and `Date*` compare the request value to the policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `...Equals` (and `...NotEquals`, negated).
    Eq,
    /// `...LessThan`.
    Lt,
    /// `...LessThanEquals`.
    Le,
    /// `...GreaterThan`.
    Gt,
    /// `...GreaterThanEquals`.
    Ge,
}

impl Cmp {
    fn test<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No prefix.
    None,
    /// `ForAnyValue:`.
    AnyValue,
    /// `ForAllValues:`.
    AllValues,
}

/// A parsed operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// What is compared.
    pub family: Family,
    /// Whether it is a `Not` operator.
    pub negated: bool,
    /// `...IfExists`.
    pub if_exists: bool,
    /// Set prefix.
    pub qualifier: SetQualifier,
}

/// Every base operator name IAM accepts (before `IfExists` and set prefixes).
pub const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

fn base(name: &str) -> Option<(Family, bool)> {
    use Family as F;
    Some(match name {
        "StringEquals" => (F::StringEquals, false),
        "StringNotEquals" => (F::StringEquals, true),
        "StringEqualsIgnoreCase" => (F::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (F::StringEqualsIgnoreCase, true),
        "StringLike" => (F::StringLike, false),
        "StringNotLike" => (F::StringLike, true),
        "NumericEquals" => (F::Numeric(Cmp::Eq), false),
        "NumericNotEquals" => (F::Numeric(Cmp::Eq), true),
        "NumericLessThan" => (F::Numeric(Cmp::Lt), false),
        "NumericLessThanEquals" => (F::Numeric(Cmp::Le), false),
        "NumericGreaterThan" => (F::Numeric(Cmp::Gt), false),
        "NumericGreaterThanEquals" => (F::Numeric(Cmp::Ge), false),
        "DateEquals" => (F::Date(Cmp::Eq), false),
        "DateNotEquals" => (F::Date(Cmp::Eq), true),
        "DateLessThan" => (F::Date(Cmp::Lt), false),
        "DateLessThanEquals" => (F::Date(Cmp::Le), false),
        "DateGreaterThan" => (F::Date(Cmp::Gt), false),
        "DateGreaterThanEquals" => (F::Date(Cmp::Ge), false),
        "Bool" => (F::Bool, false),
        "BinaryEquals" => (F::Binary, false),
        "IpAddress" => (F::Ip, false),
        "NotIpAddress" => (F::Ip, true),
        "ArnEquals" | "ArnLike" => (F::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (F::Arn, true),
        "Null" => (F::Null, false),
        _ => return None,
    })
}

impl Operator {
    /// Parses `ForAllValues:StringLikeIfExists` and friends.
    pub fn parse(name: &str) -> Result<Operator, String> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::AnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::AllValues, r)
        } else {
            (SetQualifier::None, name)
        };
        let (if_exists, rest) = match rest.strip_suffix("IfExists") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (family, negated) = base(rest).ok_or_else(|| unknown(name, rest))?;
        if family == Family::Null && (if_exists || qualifier != SetQualifier::None) {
            return Err(format!(
                "`{name}`: Null takes neither IfExists nor a ForAnyValue/ForAllValues prefix"
            ));
        }
        Ok(Operator {
            family,
            negated,
            if_exists,
            qualifier,
        })
    }
}

fn unknown(name: &str, base_name: &str) -> String {
    let best = OPERATORS
        .iter()
        .map(|o| {
            (
                strsim::jaro_winkler(&base_name.to_ascii_lowercase(), &o.to_ascii_lowercase()),
                o,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, o)) if score > 0.8 => {
            let fixed = name.replace(base_name, o);
            format!("unknown condition operator `{name}`; did you mean `{fixed}`?")
        }
        _ => format!("unknown condition operator `{name}`"),
    }
}

/// One compiled policy value of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyValue {
    /// Plain text (case-folded for `IgnoreCase`).
    Text(Box<str>),
    /// A wildcard pattern (`StringLike`).
    Pattern(Glob),
    /// An ARN pattern compared component by component.
    Arn(Box<[Glob]>),
    /// Text with policy variables, resolved per request.
    Template(Template),
    /// A number.
    Number(f64),
    /// A date, epoch milliseconds.
    Date(i64),
    /// A boolean.
    Bool(bool),
    /// An IP network.
    Network(Network),
}

impl PolicyValue {
    /// Compiles one value for an operator family; `Err` says why it is unreadable.
    pub fn compile(
        family: Family,
        text: &str,
        template: Option<Template>,
    ) -> Result<PolicyValue, String> {
        if let Some(t) = template
            && matches!(
                family,
                Family::StringEquals
                    | Family::StringEqualsIgnoreCase
                    | Family::StringLike
                    | Family::Arn
            )
        {
            return Ok(PolicyValue::Template(t));
        }
        Ok(match family {
            Family::StringEquals | Family::Binary => PolicyValue::Text(text.into()),
            Family::StringEqualsIgnoreCase => PolicyValue::Text(text.to_lowercase().into()),
            Family::StringLike => PolicyValue::Pattern(Glob::new(text)),
            Family::Arn => PolicyValue::Arn(arn_globs(text)),
            Family::Numeric(_) => PolicyValue::Number(
                values::number(text).ok_or_else(|| format!("`{text}` is not a number"))?,
            ),
            Family::Date(_) => PolicyValue::Date(
                values::date(text)
                    .ok_or_else(|| format!("`{text}` is not a date (ISO 8601 or epoch seconds)"))?,
            ),
            Family::Bool | Family::Null => PolicyValue::Bool(
                values::boolean(text)
                    .ok_or_else(|| format!("`{text}` is not `true` or `false`"))?,
            ),
            Family::Ip => PolicyValue::Network(
                Network::parse(text)
                    .ok_or_else(|| format!("`{text}` is not an IP address or CIDR block"))?,
            ),
        })
    }
}

/// ARN operators check each of the six colon-separated components on its
/// own, so a `*` never spans a `:` (except inside the resource part).
fn arn_globs(text: &str) -> Box<[Glob]> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() == 6 {
        parts.iter().map(|p| Glob::new(p)).collect()
    } else {
        Box::new([Glob::new(text)])
    }
}

fn arn_match(globs: &[Glob], value: &str) -> bool {
    if globs.len() != 6 {
        // A pattern with fewer components can only match as a bare `*`.
        return globs.first().is_some_and(Glob::is_any);
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    parts.len() == 6 && globs.iter().zip(&parts).all(|(g, p)| g.matches(p))
}

/// One `Operator: { key: values }` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub op: Operator,
    /// The context key, lowercased.
    pub key: Box<str>,
    /// The policy values (OR-ed).
    pub values: Box<[PolicyValue]>,
}

impl Condition {
    /// Whether the condition holds for this request.
    pub fn holds(&self, ctx: &Context<'_>) -> bool {
        let op = self.op;
        let found = ctx.get(&self.key);
        if op.family == Family::Null {
            let present = found.as_ref().is_some_and(|v| !v.is_empty());
            return self
                .values
                .iter()
                .any(|v| matches!(v, PolicyValue::Bool(want_null) if *want_null != present));
        }
        let values = match found {
            Some(v) if !v.is_empty() => v,
            _ => {
                return op.if_exists
                    || match op.qualifier {
                        SetQualifier::AnyValue => false,
                        SetQualifier::AllValues => true,
                        SetQualifier::None => op.negated,
                    };
            }
        };
        self.holds_for(&values, ctx)
    }

    fn holds_for(&self, values: &Values<'_>, ctx: &Context<'_>) -> bool {
        let negated = self.op.negated;
        let passes = |v: &str| self.matches_any(v, ctx) != negated;
        match self.op.qualifier {
            SetQualifier::AnyValue => values.iter().any(passes),
            SetQualifier::AllValues => values.iter().all(passes),
            SetQualifier::None => values.iter().any(|v| self.matches_any(v, ctx)) != negated,
        }
    }

    /// Whether one request value matches any policy value (before negation).
    fn matches_any(&self, value: &str, ctx: &Context<'_>) -> bool {
        let family = self.op.family;
        let folded;
        let value_cmp = if family == Family::StringEqualsIgnoreCase {
            folded = value.to_lowercase();
            folded.as_str()
        } else {
            value
        };
        self.values
            .iter()
            .any(|p| value_matches(family, p, value_cmp, ctx))
    }
}

fn value_matches(family: Family, policy: &PolicyValue, value: &str, ctx: &Context<'_>) -> bool {
    match (policy, family) {
        (PolicyValue::Text(t), _) => **t == *value,
        (PolicyValue::Pattern(g), _) => g.matches(value),
        (PolicyValue::Arn(globs), _) => arn_match(globs, value),
        (PolicyValue::Template(t), Family::StringLike) => {
            t.resolve_glob(ctx).is_some_and(|g| g.matches(value))
        }
        (PolicyValue::Template(t), Family::Arn) => t
            .resolve(ctx)
            .is_some_and(|text| arn_match(&arn_globs(&text), value)),
        (PolicyValue::Template(t), Family::StringEqualsIgnoreCase) => t
            .resolve(ctx)
            .is_some_and(|text| text.to_lowercase() == value),
        (PolicyValue::Template(t), _) => t.resolve(ctx).is_some_and(|text| text == value),
        (PolicyValue::Number(n), Family::Numeric(cmp)) => {
            values::number(value).is_some_and(|v| cmp.test(v, *n))
        }
        (PolicyValue::Date(d), Family::Date(cmp)) => {
            values::date(value).is_some_and(|v| cmp.test(v, *d))
        }
        (PolicyValue::Bool(b), _) => values::boolean(value) == Some(*b),
        (PolicyValue::Network(n), _) => n.contains(value),
        _ => false,
    }
}
