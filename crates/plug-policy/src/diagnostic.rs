//! Findings about a policy document, each pointing at a line and column.

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy loads, but probably not as meant.
    Warning,
    /// The policy is rejected (AWS would reject it, or it cannot mean what it says).
    Error,
}

/// A stable identifier for each kind of finding, for tools and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The text is not JSON.
    JsonSyntax,
    /// A key appears twice in one object.
    DuplicateKey,
    /// An element name IAM does not know.
    UnknownElement,
    /// A value has the wrong JSON type.
    WrongType,
    /// A required element is missing.
    MissingElement,
    /// Two elements that exclude each other (`Action` and `NotAction`, ...).
    ConflictingElements,
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    BadVersion,
    /// `Version` is missing: the policy is read as `2008-10-17`.
    MissingVersion,
    /// `Effect` is neither `Allow` nor `Deny`.
    BadEffect,
    /// An action is empty, or an action list is empty.
    EmptyAction,
    /// An action is not `service:name` (or `*`).
    BadAction,
    /// A resource or principal ARN is malformed.
    BadArn,
    /// A `Principal` value IAM does not accept.
    BadPrincipal,
    /// A condition operator IAM does not know.
    UnknownOperator,
    /// A condition value the operator cannot read (a bad number, date, CIDR...).
    BadConditionValue,
    /// A condition key that is not `prefix:name`.
    BadConditionKey,
    /// A policy variable in a policy whose version does not support variables.
    VariableInOldVersion,
    /// A malformed `${...}` policy variable.
    BadVariable,
    /// Two statements share a `Sid`.
    DuplicateSid,
    /// A bare statement object, read as a one-statement policy.
    BareStatement,
    /// An element that this kind of policy may not have (or must have).
    WrongPolicyKind,
    /// An action the IAM catalogue does not know (unknown service or action).
    UnknownAction,
    /// An action pattern with wildcards that matches no known action.
    NoMatchingAction,
    /// A condition key its service does not define.
    UnknownConditionKey,
    /// A condition key none of the statement's actions supports.
    InapplicableConditionKey,
}

impl Code {
    /// The code as printed, e.g. `unknown-operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::JsonSyntax => "json-syntax",
            Code::DuplicateKey => "duplicate-key",
            Code::UnknownElement => "unknown-element",
            Code::WrongType => "wrong-type",
            Code::MissingElement => "missing-element",
            Code::ConflictingElements => "conflicting-elements",
            Code::BadVersion => "bad-version",
            Code::MissingVersion => "missing-version",
            Code::BadEffect => "bad-effect",
            Code::EmptyAction => "empty-action",
            Code::BadAction => "bad-action",
            Code::BadArn => "bad-arn",
            Code::BadPrincipal => "bad-principal",
            Code::UnknownOperator => "unknown-operator",
            Code::BadConditionValue => "bad-condition-value",
            Code::BadConditionKey => "bad-condition-key",
            Code::VariableInOldVersion => "variable-in-old-version",
            Code::BadVariable => "bad-variable",
            Code::DuplicateSid => "duplicate-sid",
            Code::BareStatement => "bare-statement",
            Code::WrongPolicyKind => "wrong-policy-kind",
            Code::UnknownAction => "unknown-action",
            Code::NoMatchingAction => "no-matching-action",
            Code::UnknownConditionKey => "unknown-condition-key",
            Code::InapplicableConditionKey => "inapplicable-condition-key",
        }
    }
}

/// One finding, located in the policy text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: Code,
    /// What is wrong, for a person.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset where the offending node starts.
    #[serde(skip)]
    pub offset: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {level}[{}]: {}",
            self.line,
            self.column,
            self.code.as_str(),
            self.message
        )
    }
}

/// Turns byte offsets into line and column numbers.
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
    /// The last offset located, its line start and its 0-based column:
    /// statements are located in order, often on one long line (a policy
    /// in a JSON Lines request), and counting each column from the line's
    /// start made that quadratic.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            text,
            line_starts,
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    /// 1-based line and character column of a byte offset.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let (last_offset, last_start, last_column) = self.last.get();
        let (from, base) = match last_start == start && last_offset <= offset {
            true => (last_offset, last_column),
            false => (start, 0),
        };
        let column = base
            + self
                .text
                .get(from..offset)
                .map_or(offset - from, |s| s.chars().count());
        self.last.set((offset, start, column));
        (line, column + 1)
    }
}

/// Collects findings while a policy is read.
pub(crate) struct Sink<'t> {
    index: LineIndex<'t>,
    pub(crate) found: Vec<Diagnostic>,
}

impl<'t> Sink<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Sink {
            index: LineIndex::new(text),
            found: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, offset: usize, code: Code, message: impl Into<String>) {
        self.push(Severity::Error, offset, code, message.into());
    }

    pub(crate) fn warning(&mut self, offset: usize, code: Code, message: impl Into<String>) {
        self.push(Severity::Warning, offset, code, message.into());
    }

    fn push(&mut self, severity: Severity, offset: usize, code: Code, message: String) {
        let (line, column) = self.index.locate(offset);
        self.found.push(Diagnostic {
            severity,
            code,
            message,
            line,
            column,
            offset,
        });
    }
}

#[cfg(test)]
mod line_index_tests {
    use super::LineIndex;

    /// Locating offsets in any order, remembering the last one, gives what
    /// counting from the line's start gives.
    #[test]
    fn remembered_columns_match_counted_ones() {
        let text = "{\"a\": \"é\", \"b\": [1, 2]}\n  \"ü\": 3, x";
        let offsets: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        let fresh = |at: usize| LineIndex::new(text).locate(at);
        let index = LineIndex::new(text);
        for &at in offsets
            .iter()
            .chain(offsets.iter().rev())
            .chain([5, 2, 30, 1].iter())
        {
            if text.is_char_boundary(at.min(text.len())) {
                assert_eq!(index.locate(at), fresh(at), "offset {at}");
            }
        }
    }
}
