//! Findings: what validation reports, located in the file the user wrote.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

mod excerpt;
use serde::Serialize;

/// A source file kept for rendering findings.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it.
    pub path: PathBuf,
    /// The whole text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Arc<Self> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing; fails only under `--strict`.
    Warning,
    /// The plugin cannot be loaded as written.
    Error,
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// A stable identifier per kind of finding; tools may match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $(#[doc = $doc] $variant,)* }

        impl Code {
            /// The code as printed and in JSON output.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
        }
    };
}

codes! {
    YamlSyntax => "yaml-syntax", "The file is not valid YAML.";
    Io => "io", "A file could not be read.";
    UnknownField => "unknown-field", "A key the format does not define.";
    WrongType => "wrong-type", "A value of the wrong YAML type.";
    MissingField => "missing-field", "A required key is absent.";
    InvalidName => "invalid-name", "A name breaks its naming rule.";
    InvalidVersion => "invalid-version", "A version that is not semver.";
    DuplicateName => "duplicate-name", "Two skills, steps, servers or params share a name.";
    DuplicateKey => "duplicate-key", "A mapping repeats a key.";
    PathOutsideRoot => "path-outside-root", "A path that leaves the plugin root.";
    PathNotFound => "path-not-found", "A referenced file does not exist.";
    NotExecutable => "not-executable", "A hook handler file lacks the executable bit.";
    UnknownAction => "unknown-action", "A step action the interpreter does not know.";
    UnknownValue => "unknown-value", "A value outside its allowed set.";
    BadPlaceholder => "bad-placeholder", "A `<...>` placeholder that cannot be resolved.";
    LaterStepReference => "later-step-reference", "A reference to the output of a later step.";
    UnknownEvent => "unknown-event", "A hook event that never happens.";
    HookNeverFires => "hook-never-fires", "A `pre_<kind>` hook for a kind no skill has.";
    InvalidUrl => "invalid-url", "A URL that does not parse or is not http(s).";
    InvalidDuration => "invalid-duration", "A duration that does not parse.";
    InvalidPermission => "invalid-permission", "An IAM action not of the form `service:Action`.";
    SkillNameMismatch => "skill-name-mismatch", "A skill file whose name differs from the manifest entry.";
    ConflictingFields => "conflicting-fields", "Fields that exclude each other, or none of a required pair.";
    UnknownServer => "unknown-server", "An `mcp_call` to a server the plugin does not declare.";
    EmptyList => "empty-list", "A list that must not be empty.";
    InvalidParam => "invalid-param", "A param declaration that contradicts itself.";
    OutOfRange => "out-of-range", "A number outside its allowed range.";
    NotAPlugin => "not-a-plugin", "A file or folder with no plugin manifest.";
    UndeclaredPermission => "undeclared-permission", "An IAM action a step implies that the manifest does not declare for the skill.";
    AwsCall => "aws-call", "An `aws_api` call the AWS service models reject (unknown service, operation or member; missing member).";
    UnknownPermission => "unknown-permission", "A declared IAM action that no AWS service has (with the closest one), or a wildcard that matches no action.";
    UnusedPermission => "unused-permission", "A declared IAM action that no `aws_api` or `wait_for` step of the skill needs.";
    JsonSyntax => "json-syntax", "The file is not valid JSON.";
    FrontMatterSyntax => "front-matter-syntax", "The YAML front matter of a Markdown file does not parse: the host drops the skill or command, or loads the agent with every field dropped.";
    UnquotedColon => "unquoted-colon", "A front-matter value with an unquoted `: ` inside: strict YAML readers (Codex, the Agent Skills tools) take it for a nested key and drop the file; Claude Code reads the line as text.";
    MissingFrontMatter => "missing-front-matter", "A `SKILL.md`, command or agent file without `---` front matter.";
    NameFolderMismatch => "name-folder-mismatch", "A skill whose name differs from the folder it lives in.";
    DescriptionLength => "description-length", "A description that is empty or longer than 1,024 characters.";
    UnquotedPluginRoot => "unquoted-plugin-root", "A shell hook command with `${CLAUDE_PLUGIN_ROOT}` outside double quotes, which breaks when the path has a space.";
    McpMissingType => "mcp-missing-type", "An MCP server with `url` but no `type`.";
    MarketplaceMismatch => "marketplace-mismatch", "A marketplace entry whose name or folder does not match its plugin.";
    VersionMismatch => "version-mismatch", "A marketplace entry whose version differs from its plugin's manifest.";
    Unsupported => "unsupported", "Something the host runs but plugctl does not (it is skipped).";
    SchemaMismatch => "schema-mismatch", "An Agent Plugins file whose `$schema` is missing or not the 1.0 schema.";
    DuplicateFile => "duplicate-file", "A file the host loads by default that the manifest lists again.";
    PathStyle => "path-style", "A manifest path that does not start with `./`, as the hosts expect.";
    BadCondition => "bad-condition", "A `when`, `until` or `that` expression that does not compile.";
    BadMatcher => "bad-matcher", "A hook matcher that is not a valid regex, or whose compiled form would be too large.";
    ShellPlaceholder => "shell-placeholder", "A placeholder in a `shell: true` command inside single quotes or right after a backslash, where its value cannot be passed to the shell as data.";
    ReservedEnv => "reserved-env", "A step `env:` name that would choose the command's AWS identity (`HOME`, `AWS_PROFILE`, credentials, endpoints): only plugctl sets these.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One problem found in a plugin.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The file it is in.
    pub file: Arc<SourceFile>,
    /// The node it is about.
    pub span: SourceSpan,
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: Code,
    /// One sentence for a person.
    pub message: String,
    /// A suggestion ("did you mean ..."), when there is one.
    pub help: Option<String>,
    /// A second place the finding involves (the first of two duplicate
    /// keys), with what to call it.
    pub related: Option<(SourceSpan, String)>,
}

impl Finding {
    /// A warning about `span` in `file`, for checks made outside this crate.
    pub fn warning(
        file: Arc<SourceFile>,
        span: SourceSpan,
        code: Code,
        message: String,
        help: Option<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(file, span, code, message, help)
        }
    }

    /// An error about `span` in `file`, for checks made outside this crate
    /// (such as the AWS model checks, which plug-manifest does not know).
    pub fn error(
        file: Arc<SourceFile>,
        span: SourceSpan,
        code: Code,
        message: String,
        help: Option<String>,
    ) -> Self {
        Finding {
            file,
            span,
            severity: Severity::Error,
            code,
            message,
            help,
            related: None,
        }
    }

    /// 1-based line and column of the start of the node.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.span.offset())
    }

    /// The flat form used by `--output json`.
    pub fn to_record(&self) -> FindingRecord {
        let (line, column) = self.line_col();
        FindingRecord {
            file: self.file.path.display().to_string(),
            line,
            column,
            severity: self.severity,
            code: self.code,
            message: match &self.help {
                Some(help) => format!("{} ({help})", self.message),
                None => self.message.clone(),
            },
        }
    }

    /// A miette report that underlines the node in its file (in an
    /// excerpt of it when the file is large or its lines long).
    pub fn to_report(&self) -> miette::Report {
        let severity = match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let diagnostic = miette::MietteDiagnostic::new(self.message.clone())
            .with_code(self.code.as_str())
            .with_severity(severity);
        let diagnostic = match &self.help {
            Some(help) => diagnostic.with_help(help.clone()),
            None => diagnostic,
        };
        let name = self.file.path.display().to_string();
        if excerpt::fits(&self.file.text) {
            let source = NamedSource::new(name, self.file.text.to_string());
            let diagnostic = match &self.related {
                None => diagnostic.with_label(miette::LabeledSpan::underline(self.span)),
                Some((span, label)) => diagnostic.with_labels([
                    miette::LabeledSpan::at(*span, label.clone()),
                    miette::LabeledSpan::new_primary_with_span(
                        Some("and again here".into()),
                        self.span,
                    ),
                ]),
            };
            return miette::Report::new(diagnostic).with_source_code(source);
        }
        let window = excerpt::excerpt(name, &self.file.text, self.span);
        let diagnostic = diagnostic.with_label(miette::LabeledSpan::underline(window.span));
        miette::Report::new(diagnostic).with_source_code(window)
    }
}

/// A finding as a flat record: `{file, line, column, severity, code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRecord {
    /// The file's path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// The message, with the suggestion if any.
    pub message: String,
}

impl fmt::Display for FindingRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            self.file, self.line, self.column, self.code, self.message
        )
    }
}

/// Collects findings for one file while it is decoded.
#[derive(Debug)]
pub struct Findings {
    file: Arc<SourceFile>,
    /// Everything found so far, across files.
    pub list: Vec<Finding>,
    /// While set, errors are recorded as warnings (see [`Findings::warnings_only`]).
    lenient: bool,
}

impl Findings {
    /// Starts collecting for `file`.
    pub fn new(file: Arc<SourceFile>) -> Self {
        Findings {
            file,
            list: Vec::new(),
            lenient: false,
        }
    }

    /// Runs `decode` with every error it records lowered to a warning: for
    /// fields a host reads leniently, where a mistake costs a feature, not the plugin.
    pub fn warnings_only<R>(&mut self, decode: impl FnOnce(&mut Findings) -> R) -> R {
        let before = std::mem::replace(&mut self.lenient, true);
        let result = decode(self);
        self.lenient = before;
        result
    }

    /// The file being decoded.
    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    /// Records an error.
    pub fn error(&mut self, span: SourceSpan, code: Code, message: impl Into<String>) {
        self.push(span, Severity::Error, code, message.into(), None);
    }

    /// Records a warning.
    pub fn warning(&mut self, span: SourceSpan, code: Code, message: impl Into<String>) {
        self.push(span, Severity::Warning, code, message.into(), None);
    }

    /// Records a warning with a suggestion.
    pub fn warning_with_help(
        &mut self,
        span: SourceSpan,
        code: Code,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.push(span, Severity::Warning, code, message.into(), help);
    }

    /// Records an error with a suggestion.
    pub fn error_with_help(
        &mut self,
        span: SourceSpan,
        code: Code,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.push(span, Severity::Error, code, message.into(), help);
    }

    fn push(
        &mut self,
        span: SourceSpan,
        severity: Severity,
        code: Code,
        message: String,
        help: Option<String>,
    ) {
        let severity = if self.lenient {
            Severity::Warning
        } else {
            severity
        };
        self.list.push(Finding {
            file: self.file.clone(),
            span,
            severity,
            code,
            message,
            help,
            related: None,
        });
    }

    /// Records an error at `span` that involves `related` too.
    pub fn error_related(
        &mut self,
        span: SourceSpan,
        code: Code,
        message: impl Into<String>,
        related: (SourceSpan, &str),
    ) {
        self.push(span, Severity::Error, code, message.into(), None);
        if let Some(last) = self.list.last_mut() {
            last.related = Some((related.0, related.1.to_owned()));
        }
    }
}

/// `name: ok (COUNT WHAT)` without findings, else `name: E error(s), W
/// warning(s)`: the one-line verdict `validate` prints per file.
pub fn verdict(name: &str, findings: &[Finding], (count, what): (usize, &str)) -> String {
    let errors = (findings.iter())
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    match findings.is_empty() {
        true => format!("{name}: ok ({count} {what})"),
        false => format!("{name}: {errors} error(s), {warnings} warning(s)"),
    }
}

/// Whether `findings` fail a check: an error, or any finding under `strict`.
pub fn fails(findings: &[Finding], strict: bool) -> bool {
    findings
        .iter()
        .any(|f| strict || f.severity == Severity::Error)
}

/// The closest candidate to a misspelled word, if one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Makes `path` relative to `base` for display, when it is inside it.
pub fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let file = SourceFile::new("f.yaml", "ab\nçd: x\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        let x = file.text.find('x').expect("x is there");
        assert_eq!(file.line_col(x), (2, 5));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            did_you_mean("skils", ["skills", "hooks"]).as_deref(),
            Some("did you mean `skills`?")
        );
        assert_eq!(did_you_mean("zzz", ["skills", "hooks"]), None);
    }
}
