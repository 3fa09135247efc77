//! Reading policy JSON into a compiled [`Policy`], with a located diagnostic
//! for every problem found (not only the first).
//!
//! # Why jsonc-parser
//!
//! Diagnostics must point at the offending node (an unknown operator three
//! levels down), and must list every problem at once. `serde_json` locates only
//! syntax errors and stops at the first error. `jsonc-parser` (dprint, MIT,
//! actively maintained) gives a byte range for every value and property name,
//! limits nesting depth (so hostile input cannot overflow the stack), and can
//! be set to plain strict JSON: comments, trailing commas, single quotes, hex
//! numbers and the other JSON5 extensions all switched off. `json-spanned-value`
//! and `spanned_json_parser` were considered: the first is unmaintained, the
//! second builds on nom and reports positions only on success.

use jsonc_parser::ast::{Object, ObjectProp, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use crate::catalogue::Catalogue;
use crate::condition::{Condition, Family, Operator, PolicyValue};
use crate::diagnostic::{Code, Diagnostic, LineIndex, Severity, Sink};
use crate::glob::Glob;
use crate::model::{
    ActionSet, Effect, Policy, PrincipalSet, ResourcePattern, ResourceSet, Statement, Version,
};
use crate::principal::PrincipalEntry;
use crate::template::Template;

const POLICY_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

/// Parses a policy document (or a bare statement object, read as a
/// one-statement policy). On error, returns every diagnostic, errors first
/// in source order.
pub fn parse_policy(text: &str) -> Result<Policy, Vec<Diagnostic>> {
    parse(text, None)
}

/// [`parse_policy`], and also warns about actions the catalogue does not
/// know, wildcards that match no action and condition keys the statement's
/// actions do not support. For commands that show a policy's problems to
/// a person; evaluation does not need it.
pub fn parse_policy_linted(text: &str, catalogue: &Catalogue) -> Result<Policy, Vec<Diagnostic>> {
    parse(text, Some(catalogue))
}

fn parse(text: &str, catalogue: Option<&Catalogue>) -> Result<Policy, Vec<Diagnostic>> {
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let mut sink = Sink::new(text);
    let ast = match parse_to_ast(text, &CollectOptions::default(), &options) {
        Ok(ast) => ast,
        Err(e) => {
            sink.error(e.range().start, Code::JsonSyntax, e.kind().to_string());
            return Err(sink.found);
        }
    };
    let Some(root) = ast.value else {
        sink.error(0, Code::JsonSyntax, "empty document");
        return Err(sink.found);
    };
    let mut reader = Reader {
        sink,
        index: LineIndex::new(text),
        version: Version::V2008,
        catalogue,
        seen_actions: Vec::new(),
        seen_keys: Vec::new(),
    };
    let policy = reader.policy(&root);
    let mut found = reader.sink.found;
    found.sort_by_key(|d| (std::cmp::Reverse(d.severity), d.offset));
    if found.iter().any(|d| d.severity == Severity::Error) {
        return Err(found);
    }
    Ok(Policy {
        warnings: found,
        ..policy
    })
}

struct Reader<'t> {
    sink: Sink<'t>,
    index: LineIndex<'t>,
    version: Version,
    /// When set, statements are linted against it.
    catalogue: Option<&'t Catalogue>,
    /// The current statement's actions and condition keys, for the lint.
    seen_actions: Vec<Located>,
    seen_keys: Vec<Located>,
}

/// A string value with where it was.
struct Located {
    text: String,
    offset: usize,
}

impl<'t> Reader<'t> {
    fn policy(&mut self, root: &Value<'_>) -> Policy {
        let empty = Policy {
            version: Version::V2008,
            id: None,
            statements: Vec::new(),
            warnings: Vec::new(),
        };
        let Some(obj) = self.object(root, "a policy") else {
            return empty;
        };
        let bare = obj.get("Statement").is_none()
            && obj.get("Version").is_none()
            && obj.get("Effect").is_some();
        if bare {
            self.sink.warning(
                obj.range.start,
                Code::BareStatement,
                "a bare statement without a Version/Statement wrapper; read as a 2008-10-17 policy with this one statement",
            );
            let statements = self.statement(obj, 0).into_iter().collect();
            return Policy {
                statements,
                ..empty
            };
        }
        let props = self.fields(obj, POLICY_KEYS, "policy");
        let version = match props.iter().find(|p| p.name.as_str() == "Version") {
            Some(p) => self.version(&p.value),
            None => {
                self.sink.warning(
                    obj.range.start,
                    Code::MissingVersion,
                    "no Version: AWS reads this as 2008-10-17, where policy variables are not substituted; add \"Version\": \"2012-10-17\"",
                );
                Version::V2008
            }
        };
        self.version = version;
        let id = props
            .iter()
            .find(|p| p.name.as_str() == "Id")
            .and_then(|p| self.string(&p.value, "Id"))
            .map(|l| l.text);
        let statements = match props.iter().find(|p| p.name.as_str() == "Statement") {
            Some(p) => self.statements(&p.value),
            None => {
                self.sink.error(
                    obj.range.start,
                    Code::MissingElement,
                    "the policy has no Statement",
                );
                Vec::new()
            }
        };
        Policy {
            version,
            id,
            statements,
            ..empty
        }
    }

    fn version(&mut self, value: &Value<'_>) -> Version {
        match self.string(value, "Version") {
            Some(l) if l.text == "2012-10-17" => Version::V2012,
            Some(l) if l.text == "2008-10-17" => Version::V2008,
            Some(l) => {
                self.sink.error(
                    l.offset,
                    Code::BadVersion,
                    format!("Version `{}` is not `2012-10-17` or `2008-10-17`", l.text),
                );
                Version::V2012
            }
            None => Version::V2012,
        }
    }

    fn statements(&mut self, value: &Value<'_>) -> Vec<Statement> {
        let items: Vec<&Value<'_>> = match value {
            Value::Array(a) => a.elements.iter().collect(),
            other => vec![other],
        };
        if items.is_empty() {
            // Stored organization policies can have one; a level whose
            // policies have no statement allows nothing.
            self.sink.warning(
                value.start(),
                Code::MissingElement,
                "Statement is an empty list: this policy allows and denies nothing",
            );
        }
        let mut out = Vec::new();
        // A set: stored policies with tens of thousands of Sids exist.
        let mut sids: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (index, item) in items.into_iter().enumerate() {
            let Some(obj) = self.object(item, "a statement") else {
                continue;
            };
            if let Some(st) = self.statement(obj, index) {
                if let Some(sid) = &st.sid
                    && !sids.insert(sid.clone())
                {
                    let at = obj.get("Sid").map_or(obj.range.start, |p| p.value.start());
                    self.sink.error(
                            at,
                            Code::DuplicateSid,
                            format!("Sid `{sid}` is used by an earlier statement; Sids must be unique in a policy"),
                        );
                }
                out.push(st);
            }
        }
        out
    }

    fn statement(&mut self, obj: &Object<'_>, index: usize) -> Option<Statement> {
        let props = self.fields(obj, STATEMENT_KEYS, "statement");
        let get = |name: &str| props.iter().find(|p| p.name.as_str() == name).copied();
        let sid = get("Sid")
            .and_then(|p| self.string(&p.value, "Sid"))
            .map(|l| l.text);
        let effect = self.effect(obj, get("Effect"));
        let actions = self.actions(obj, get("Action"), get("NotAction"));
        let principals = self.principals(get("Principal"), get("NotPrincipal"));
        let resources = self.resources(
            obj,
            get("Resource"),
            get("NotResource"),
            principals.is_some(),
        );
        let conditions = get("Condition").map_or_else(Vec::new, |p| self.conditions(&p.value));
        if let Some(catalogue) = self.catalogue {
            self.lint(catalogue, actions.as_ref().is_some_and(|a| a.negated));
        }
        Some(Statement {
            index,
            sid,
            effect: effect?,
            actions: actions?,
            resources,
            principals,
            conditions,
            location: self.index.locate(obj.range.start),
        })
    }

    /// Catalogue warnings for the statement just read.
    fn lint(&mut self, catalogue: &Catalogue, negated: bool) {
        let actions = std::mem::take(&mut self.seen_actions);
        let keys = std::mem::take(&mut self.seen_keys);
        fn pairs(v: &[Located]) -> Vec<(&str, usize)> {
            v.iter().map(|l| (l.text.as_str(), l.offset)).collect()
        }
        crate::catalogue::lint_statement(
            &mut self.sink,
            catalogue,
            &pairs(&actions),
            negated,
            &pairs(&keys),
        );
    }

    fn effect(&mut self, obj: &Object<'_>, prop: Option<&ObjectProp<'_>>) -> Option<Effect> {
        let Some(prop) = prop else {
            self.sink.error(
                obj.range.start,
                Code::MissingElement,
                "the statement has no Effect",
            );
            return None;
        };
        let l = self.string(&prop.value, "Effect")?;
        match l.text.as_str() {
            "Allow" => Some(Effect::Allow),
            "Deny" => Some(Effect::Deny),
            other => {
                self.sink.error(
                    l.offset,
                    Code::BadEffect,
                    format!("Effect `{other}` is not `Allow` or `Deny` (case matters)"),
                );
                None
            }
        }
    }

    fn either<'p, 'a>(
        &mut self,
        obj: &Object<'_>,
        pos: Option<&'p ObjectProp<'a>>,
        neg: Option<&'p ObjectProp<'a>>,
        names: (&str, &str),
    ) -> Option<(bool, &'p ObjectProp<'a>)> {
        match (pos, neg) {
            (Some(p), Some(n)) => {
                self.sink.error(
                    n.range.start,
                    Code::ConflictingElements,
                    format!(
                        "a statement has either {} or {}, not both",
                        names.0, names.1
                    ),
                );
                Some((false, p))
            }
            (Some(p), None) => Some((false, p)),
            (None, Some(n)) => Some((true, n)),
            (None, None) => {
                let _ = obj;
                None
            }
        }
    }

    fn actions(
        &mut self,
        obj: &Object<'_>,
        pos: Option<&ObjectProp<'_>>,
        neg: Option<&ObjectProp<'_>>,
    ) -> Option<ActionSet> {
        let Some((negated, prop)) = self.either(obj, pos, neg, ("Action", "NotAction")) else {
            self.sink.error(
                obj.range.start,
                Code::MissingElement,
                "the statement has no Action or NotAction",
            );
            return None;
        };
        let name = prop.name.as_str().to_owned();
        let values = self.strings(&prop.value, &name)?;
        if values.is_empty() {
            self.sink.error(
                prop.value.start(),
                Code::EmptyAction,
                format!("{name} is an empty list"),
            );
            return None;
        }
        let mut patterns = Vec::with_capacity(values.len());
        for v in values {
            // AWS stores such actions (Access Analyzer reports "invalid
            // action" on stored policies, AWS managed ones included) and no
            // request ever matches them: in NotAction they exclude nothing.
            if let Some(message) = action_problem(&v.text) {
                let code = if v.text.is_empty() {
                    Code::EmptyAction
                } else {
                    Code::BadAction
                };
                let effect = if negated {
                    "in NotAction it excludes nothing"
                } else {
                    "it never matches a request"
                };
                self.sink.warning(
                    v.offset,
                    code,
                    format!("{message}; AWS keeps it, but {effect}"),
                );
                continue;
            }
            patterns.push(Glob::new(&v.text.to_ascii_lowercase()));
            if self.catalogue.is_some() {
                self.seen_actions.push(v);
            }
        }
        Some(ActionSet { negated, patterns })
    }

    fn resources(
        &mut self,
        obj: &Object<'_>,
        pos: Option<&ObjectProp<'_>>,
        neg: Option<&ObjectProp<'_>>,
        has_principal: bool,
    ) -> Option<ResourceSet> {
        let Some((negated, prop)) = self.either(obj, pos, neg, ("Resource", "NotResource")) else {
            if !has_principal {
                self.sink.error(
                    obj.range.start,
                    Code::MissingElement,
                    "the statement has no Resource or NotResource",
                );
            }
            return None;
        };
        let name = prop.name.as_str().to_owned();
        let values = self.strings(&prop.value, &name)?;
        if values.is_empty() {
            self.sink.error(
                prop.value.start(),
                Code::MissingElement,
                format!("{name} is an empty list"),
            );
        }
        let mut patterns = Vec::with_capacity(values.len());
        for v in values {
            if let Some(message) = arn_problem(&v.text) {
                self.sink.error(v.offset, Code::BadArn, message);
                continue;
            }
            patterns.push(match self.template(&v) {
                Some(t) => ResourcePattern::Template(t),
                None => ResourcePattern::Static(Glob::new(&v.text)),
            });
        }
        Some(ResourceSet { negated, patterns })
    }

    /// A template when `v` has variables and the version substitutes them.
    fn template(&mut self, v: &Located) -> Option<Template> {
        match Template::parse(&v.text) {
            Ok(None) => None,
            Ok(Some(_)) if self.version == Version::V2008 => {
                self.sink.error(
                    v.offset,
                    Code::VariableInOldVersion,
                    format!(
                        "`{}` uses a policy variable, but this policy's version is 2008-10-17 (or missing), where AWS reads `${{...}}` as literal text; set \"Version\": \"2012-10-17\"",
                        v.text
                    ),
                );
                None
            }
            Ok(Some(t)) => Some(t),
            Err(e) => {
                self.sink.error(v.offset, Code::BadVariable, e.0);
                None
            }
        }
    }

    fn principals(
        &mut self,
        pos: Option<&ObjectProp<'_>>,
        neg: Option<&ObjectProp<'_>>,
    ) -> Option<PrincipalSet> {
        let (negated, prop) = match (pos, neg) {
            (Some(p), Some(n)) => {
                self.sink.error(
                    n.range.start,
                    Code::ConflictingElements,
                    "a statement has either Principal or NotPrincipal, not both",
                );
                (false, p)
            }
            (Some(p), None) => (false, p),
            (None, Some(n)) => (true, n),
            (None, None) => return None,
        };
        let mut entries = Vec::new();
        match &prop.value {
            Value::StringLit(s) if s.value == "*" => entries.push(PrincipalEntry::Everyone),
            // The grammar allows only "*" as a string; a stored policy with a
            // bare ARN or account id is read as `{"AWS": ...}`.
            Value::StringLit(s) if PrincipalEntry::aws(&s.value).is_some() => {
                self.sink.warning(
                    prop.value.start(),
                    Code::BadPrincipal,
                    format!("Principal `{}` is a bare string; read as {{\"AWS\": \"{}\"}}", s.value, s.value),
                );
                entries.extend(PrincipalEntry::aws(&s.value));
            }
            Value::Object(obj) => {
                let kinds = ["AWS", "Service", "Federated", "CanonicalUser"];
                for p in self.fields(obj, &kinds, "Principal") {
                    let kind = p.name.as_str().to_owned();
                    for v in self.strings(&p.value, &kind).unwrap_or_default() {
                        if let Some(e) = self.principal_entry(&kind, &v) {
                            entries.push(e);
                        }
                    }
                }
            }
            other => self.sink.error(
                other.start(),
                Code::BadPrincipal,
                "Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}",
            ),
        }
        Some(PrincipalSet { negated, entries })
    }

    fn principal_entry(&mut self, kind: &str, v: &Located) -> Option<PrincipalEntry> {
        let text = v.text.as_str();
        if text != "*" && text.contains(['*', '?']) {
            self.sink.error(
                v.offset,
                Code::BadPrincipal,
                format!("`{text}`: a principal cannot contain a partial wildcard; use a condition on aws:PrincipalArn"),
            );
            return None;
        }
        let entry = match kind {
            "AWS" => PrincipalEntry::aws(text),
            "Service" if text == "*" => Some(PrincipalEntry::Everyone),
            "Service" if !text.is_empty() => Some(PrincipalEntry::Service(text.into())),
            "Federated" | "CanonicalUser" if text == "*" => Some(PrincipalEntry::Everyone),
            "Federated" | "CanonicalUser" if !text.is_empty() => {
                Some(PrincipalEntry::Other(text.into()))
            }
            _ => None,
        };
        if entry.is_none() {
            self.sink.error(
                v.offset,
                Code::BadArn,
                format!("`{text}` is not a valid {kind} principal (expected \"*\", a 12-digit account id or an IAM/STS ARN)"),
            );
        }
        entry
    }

    fn conditions(&mut self, value: &Value<'_>) -> Vec<Condition> {
        let Some(obj) = self.object(value, "Condition") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for op_prop in self.fields(obj, &[], "Condition") {
            let name = op_prop.name.as_str();
            let op = match Operator::parse(name) {
                Ok(op) => Some(op),
                Err(message) => {
                    self.sink
                        .error(op_prop.range.start, Code::UnknownOperator, message);
                    None
                }
            };
            let Some(keys) = self.object(&op_prop.value, "a condition operator's value") else {
                continue;
            };
            for key_prop in self.fields(keys, &[], name) {
                let key = key_prop.name.as_str();
                if !key.contains(':') {
                    self.sink.warning(
                        key_prop.range.start,
                        Code::BadConditionKey,
                        format!(
                            "condition key `{key}` has no service prefix (like `aws:` or `s3:`)"
                        ),
                    );
                }
                if self.catalogue.is_some() {
                    self.seen_keys.push(Located {
                        text: key.to_owned(),
                        offset: key_prop.range.start,
                    });
                }
                let Some(op) = op else { continue };
                let values = self.condition_values(&key_prop.value, key);
                let compiled = values
                    .iter()
                    .filter_map(|v| self.condition_value(op.family, v))
                    .collect::<Vec<_>>();
                out.push(Condition {
                    op,
                    key: key.to_ascii_lowercase().into(),
                    values: compiled.into(),
                });
            }
        }
        out
    }

    fn condition_value(&mut self, family: Family, v: &Located) -> Option<PolicyValue> {
        let allows_vars = matches!(
            family,
            Family::StringEquals
                | Family::StringEqualsIgnoreCase
                | Family::StringLike
                | Family::Arn
        );
        let template = if allows_vars { self.template(v) } else { None };
        match PolicyValue::compile(family, &v.text, template) {
            Ok(p) => Some(p),
            Err(message) => {
                self.sink.error(v.offset, Code::BadConditionValue, message);
                None
            }
        }
    }

    /// Condition values: a scalar or a list of scalars (numbers and booleans as text).
    fn condition_values(&mut self, value: &Value<'_>, key: &str) -> Vec<Located> {
        let items: Vec<&Value<'_>> = match value {
            Value::Array(a) => a.elements.iter().collect(),
            other => vec![other],
        };
        if items.is_empty() {
            self.sink.error(
                value.start(),
                Code::BadConditionValue,
                format!("`{key}` has an empty list of values"),
            );
        }
        items
            .into_iter()
            .filter_map(|v| {
                let text = match v {
                    Value::StringLit(s) => s.value.to_string(),
                    Value::NumberLit(n) => n.value.to_owned(),
                    Value::BooleanLit(b) => b.value.to_string(),
                    other => {
                        self.sink.error(
                            other.start(),
                            Code::WrongType,
                            format!("a value of `{key}` must be a string, number or boolean"),
                        );
                        return None;
                    }
                };
                Some(Located {
                    text,
                    offset: v.start(),
                })
            })
            .collect()
    }

    // ---------------------------------------------------------------- generic readers

    fn object<'v, 'a>(&mut self, value: &'v Value<'a>, what: &str) -> Option<&'v Object<'a>> {
        match value {
            Value::Object(o) => Some(o),
            other => {
                self.sink.error(
                    other.start(),
                    Code::WrongType,
                    format!("{what} must be a JSON object"),
                );
                None
            }
        }
    }

    /// The properties of `obj`, reporting duplicates and (when `known` is not
    /// empty) unknown names, with a suggestion.
    fn fields<'o, 'a>(
        &mut self,
        obj: &'o Object<'a>,
        known: &[&str],
        what: &str,
    ) -> Vec<&'o ObjectProp<'a>> {
        let mut out: Vec<&ObjectProp<'a>> = Vec::with_capacity(obj.properties.len());
        for p in &obj.properties {
            let name = p.name.as_str();
            if out.iter().any(|q| q.name.as_str() == name) {
                self.sink.error(
                    p.range.start,
                    Code::DuplicateKey,
                    format!(
                        "`{name}` appears twice in this {what}; AWS would silently keep only one"
                    ),
                );
                continue;
            }
            if !known.is_empty() && !known.contains(&name) {
                self.sink.error(
                    p.range.start,
                    Code::UnknownElement,
                    unknown_element(name, known, what),
                );
                continue;
            }
            out.push(p);
        }
        out
    }

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<Located> {
        match value {
            Value::StringLit(s) => Some(Located {
                text: s.value.to_string(),
                offset: s.range.start,
            }),
            other => {
                self.sink.error(
                    other.start(),
                    Code::WrongType,
                    format!("{what} must be a string"),
                );
                None
            }
        }
    }

    /// A string or a list of strings.
    fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<Located>> {
        match value {
            Value::Array(a) => Some(
                a.elements
                    .iter()
                    .filter_map(|v| self.string(v, what))
                    .collect(),
            ),
            other => self.string(other, what).map(|l| vec![l]),
        }
    }
}

fn unknown_element(name: &str, known: &[&str], what: &str) -> String {
    let best = known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, k)) if score > 0.8 => {
            format!(
                "`{name}` is not a {what} element; did you mean `{k}`? (element names are case-sensitive)"
            )
        }
        _ => format!(
            "`{name}` is not a {what} element (expected one of {})",
            known.join(", ")
        ),
    }
}

/// Why an action string is malformed, if it is.
fn action_problem(action: &str) -> Option<String> {
    if action.is_empty() {
        return Some("empty action".into());
    }
    if action == "*" {
        return None;
    }
    let Some((service, name)) = action.split_once(':') else {
        return Some(format!(
            "action `{action}` is not `service:Action` (for example `s3:GetObject`)"
        ));
    };
    let service_ok = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'?'));
    let name_ok = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*' | b'?' | b':' | b'.')
        });
    if service_ok && name_ok {
        None
    } else {
        Some(format!(
            "action `{action}` is not `service:Action` (for example `s3:GetObject`)"
        ))
    }
}

/// Why a `Resource` value is not an ARN (or `*`), if it is not.
fn arn_problem(value: &str) -> Option<String> {
    if value == "*" {
        return None;
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6 && parts[0] == "arn" && !parts[1].is_empty() && !parts[2].is_empty();
    (!ok).then(|| {
        format!("`{value}` is not an ARN: expected `arn:partition:service:region:account:resource` or `*`")
    })
}
