//! `<...>` placeholders in string values: the seed's `<function_name>`,
//! `<read_file:function.zip>`, `<timestamp>`, `<function_arn>`.
//!
//! A placeholder is `<` + a word with no spaces + `>`, so shell text such as
//! `a < b` or `2>&1` is never taken for one.

use std::ops::Range;

pub mod shell;

/// Values the runtime always knows.
pub const BUILTINS: &[&str] = &[
    "timestamp",
    "date",
    "run_id",
    "actor",
    "region",
    "account_id",
    "plugin",
    "skill",
];

/// Functions written `<function:argument>`.
pub const FUNCTIONS: &[&str] = &["read_file", "env"];

/// What a placeholder refers to, before resolution against a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder<'a> {
    /// `<name>`: a param, a config value, a builtin or an earlier step's output field.
    Name(&'a str),
    /// `<step.Field.Sub>`: a field of a named step's output.
    StepOutput {
        /// The step's name.
        step: &'a str,
        /// The dotted path inside its output.
        path: &'a str,
    },
    /// `<read_file:PATH>` or `<env:NAME>`.
    Function {
        /// The function.
        name: &'a str,
        /// Its argument.
        arg: &'a str,
    },
}

/// Finds placeholders in `text`: each one's byte range (brackets included) and its inside.
pub fn scan(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            let start = pos + text[pos..].find('<')?;
            pos = start + 1;
            let rest = &text[start + 1..];
            let end = rest.find(|c: char| c == '>' || c == '<' || c.is_whitespace());
            match end {
                Some(i) if rest.as_bytes()[i] == b'>' => {
                    pos = start + 1 + i + 1;
                    return Some((start..pos, &rest[..i]));
                }
                _ => continue,
            }
        }
        None
    })
}

/// Why a placeholder is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// Not a well-formed placeholder.
    #[error("{0}")]
    Malformed(String),
    /// A `read_file` path that leaves the run's working directory.
    #[error("{0}")]
    Escapes(String),
}

impl From<String> for PlaceholderError {
    fn from(message: String) -> Self {
        PlaceholderError::Malformed(message)
    }
}

/// Classifies the inside of a placeholder, or says why it is not one.
pub fn classify(inner: &str) -> Result<Placeholder<'_>, PlaceholderError> {
    if inner.is_empty() {
        return Err(PlaceholderError::Malformed("`<>` names nothing".into()));
    }
    if let Some((name, arg)) = inner.split_once(':') {
        if !FUNCTIONS.contains(&name) {
            return Err(
                format!("unknown function `{name}`; known: {}", FUNCTIONS.join(", ")).into(),
            );
        }
        return check_function(name, arg).map(|()| Placeholder::Function { name, arg });
    }
    if let Some((step, path)) = inner.split_once('.') {
        if is_word(step) && !path.is_empty() && path.split('.').all(is_field) {
            return Ok(Placeholder::StepOutput { step, path });
        }
        return Err(format!(
            "`<{inner}>` is not `<step.Field>`: use a step name, a dot and field names"
        )
        .into());
    }
    if is_word(inner) {
        Ok(Placeholder::Name(inner))
    } else {
        Err(format!("`{inner}` is not a name (letters, digits, `_`, `-`)").into())
    }
}

fn check_function(name: &str, arg: &str) -> Result<(), PlaceholderError> {
    if arg.is_empty() {
        return Err(format!("`<{name}:>` needs an argument").into());
    }
    match name {
        "read_file" => check_relative_path(arg).map_err(PlaceholderError::Escapes),
        "env"
            if arg
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Ok(())
        }
        "env" => Err(format!("`{arg}` is not an environment variable name (A-Z, 0-9, _)").into()),
        _ => Ok(()),
    }
}

/// `read_file` reads inside the run's working directory only.
fn check_relative_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.starts_with('~') {
        return Err(format!(
            "`{path}` is absolute; read_file reads only inside the run's working directory"
        ));
    }
    let mut depth: i32 = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(format!("`{path}` leaves the run's working directory"));
        }
    }
    Ok(())
}

fn is_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_field(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `function_arn` -> `FunctionArn`: how a placeholder name matches a field of
/// an AWS response.
pub fn pascal_case(name: &str) -> String {
    name.split(['_', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inners(text: &str) -> Vec<&str> {
        scan(text).map(|(_, inner)| inner).collect()
    }

    #[test]
    fn finds_the_seeds_placeholders_and_ignores_shell_text() {
        assert_eq!(
            inners("<read_file:function.zip>"),
            ["read_file:function.zip"]
        );
        assert_eq!(inners("x <a> and <b.C>"), ["a", "b.C"]);
        assert!(inners("test 1 < 2 && cmd 2>&1 | x <<EOF").is_empty());
        assert_eq!(inners("<<a>>"), ["a"]);
    }

    #[test]
    fn classifies() {
        assert_eq!(
            classify("function_name"),
            Ok(Placeholder::Name("function_name"))
        );
        assert_eq!(
            classify("build.FunctionArn"),
            Ok(Placeholder::StepOutput {
                step: "build",
                path: "FunctionArn"
            })
        );
        assert_eq!(
            classify("read_file:dist/f.zip"),
            Ok(Placeholder::Function {
                name: "read_file",
                arg: "dist/f.zip"
            })
        );
        for bad in [
            "",
            "frob:x",
            "read_file:",
            "read_file:../../etc/passwd",
            "read_file:/etc/passwd",
            "env:lower",
            "a.",
            "9x",
        ] {
            assert!(classify(bad).is_err(), "{bad}");
        }
        assert!(classify("read_file:a/../b").is_ok());
    }

    #[test]
    fn pascal_case_matches_aws_field_names() {
        assert_eq!(pascal_case("function_arn"), "FunctionArn");
        assert_eq!(pascal_case("mcp-server-endpoint"), "McpServerEndpoint");
    }
}
