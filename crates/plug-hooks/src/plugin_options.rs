//! A plugin's user configuration in its hooks, as Claude Code gives it:
//! every value is exported as `CLAUDE_PLUGIN_OPTION_<KEY>` (upper-cased),
//! and `${user_config.KEY}` in a command stands for that value.
//!
//! Values are data, never code. A reference is rewritten to a reference to
//! the exported variable before anything runs: in exec form the word is
//! expanded from the hook's environment (one word stays one word), and in
//! shell form the shell expands the variable itself, quoted for where the
//! reference stands, so a value like `x; touch pwned` is only ever text.
//! (Claude Code refuses `${user_config.*}` in shell-form commands outright;
//! this keeps such plugins working without the injection it guards against.)

use std::collections::BTreeMap;

use plug_manifest::ecosystem::vars::{ShellQuoting, VarRef, references, shell_quoting};
use plug_manifest::native::model::HookHandler;

/// The prefix of the variables that carry a plugin's user configuration.
pub const OPTION_PREFIX: &str = "CLAUDE_PLUGIN_OPTION_";

/// The prefix of a user configuration reference inside `${...}`.
const REFERENCE_PREFIX: &str = "user_config.";

/// The variable a user configuration key is exported as: upper-cased, and
/// anything a shell cannot name (`-`, `.`) turned into `_`.
pub fn option_variable(key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    format!("{OPTION_PREFIX}{name}")
}

/// `handler` with every `${user_config.KEY}` turned into a reference to the
/// key's variable; `Err(key)` names a key that has no value and no `:-default`.
pub(crate) fn rewrite(
    handler: &HookHandler,
    options: &BTreeMap<String, String>,
) -> Result<HookHandler, String> {
    Ok(match handler {
        HookHandler::Exec { argv } => HookHandler::Exec {
            argv: argv
                .iter()
                .map(|word| rewrite_text(word, options, |_| Placement::Word))
                .collect::<Result<_, _>>()?,
        },
        HookHandler::Shell { command } => HookHandler::Shell {
            command: rewrite_text(command, options, |at| shell_placement(command, at))?,
        },
        other => other.clone(),
    })
}

/// How a variable reference must be written where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// An exec-form word: expanded by plugctl, never split.
    Word,
    /// Outside quotes in a shell command: needs double quotes.
    Unquoted,
    /// Inside double quotes: already protected from splitting.
    DoubleQuoted,
    /// Inside single quotes, where nothing expands: step out and back in.
    SingleQuoted,
    /// After a backslash: the shell takes it literally, so it stays as written.
    Escaped,
}

fn rewrite_text(
    text: &str,
    options: &BTreeMap<String, String>,
    placement: impl Fn(usize) -> Placement,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for r in references(text) {
        let Some(key) = r.name.strip_prefix(REFERENCE_PREFIX) else {
            continue;
        };
        let place = placement(r.range.start);
        if place == Placement::Escaped {
            continue;
        }
        if !options.contains_key(key) && r.default.is_none() {
            return Err(key.to_owned());
        }
        out.push_str(&text[from..r.range.start]);
        out.push_str(&written(&r, key, place));
        from = r.range.end;
    }
    out.push_str(&text[from..]);
    Ok(out)
}

fn written(r: &VarRef<'_>, key: &str, place: Placement) -> String {
    let variable = option_variable(key);
    let reference = match r.default {
        Some(default) => format!("${{{variable}:-{default}}}"),
        None => format!("${{{variable}}}"),
    };
    match place {
        Placement::Unquoted => format!("\"{reference}\""),
        Placement::SingleQuoted => format!("'\"{reference}\"'"),
        Placement::Word | Placement::DoubleQuoted | Placement::Escaped => reference,
    }
}

/// The quoting in force at byte `at` of a shell command.
fn shell_placement(command: &str, at: usize) -> Placement {
    let quoting = shell_quoting(command)
        .find(|&(i, _, _)| i == at)
        .map_or(ShellQuoting::Unquoted, |(_, _, quoting)| quoting);
    match quoting {
        ShellQuoting::Escaped => Placement::Escaped,
        ShellQuoting::SingleQuoted => Placement::SingleQuoted,
        ShellQuoting::DoubleQuoted => Placement::DoubleQuoted,
        ShellQuoting::Unquoted => Placement::Unquoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> BTreeMap<String, String> {
        BTreeMap::from([("api-url".to_owned(), "x; touch pwned".to_owned())])
    }

    fn shell(command: &str) -> Result<String, String> {
        match rewrite(
            &HookHandler::Shell {
                command: command.to_owned(),
            },
            &options(),
        )? {
            HookHandler::Shell { command } => Ok(command),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn keys_become_shell_names() {
        assert_eq!(option_variable("api-url"), "CLAUDE_PLUGIN_OPTION_API_URL");
        assert_eq!(option_variable("apiKey"), "CLAUDE_PLUGIN_OPTION_APIKEY");
    }

    #[test]
    fn shell_references_are_quoted_for_where_they_stand() {
        let v = "${CLAUDE_PLUGIN_OPTION_API_URL}";
        assert_eq!(
            shell("run ${user_config.api-url}"),
            Ok(format!("run \"{v}\""))
        );
        assert_eq!(
            shell("run \"--url=${user_config.api-url}\""),
            Ok(format!("run \"--url={v}\""))
        );
        assert_eq!(
            shell("run '--url=${user_config.api-url}'"),
            Ok(format!("run '--url='\"{v}\"''"))
        );
        assert_eq!(
            shell("echo \\${user_config.api-url} ${HOME}"),
            Ok("echo \\${user_config.api-url} ${HOME}".to_owned())
        );
        assert_eq!(
            shell("run ${user_config.other:-none}"),
            Ok("run \"${CLAUDE_PLUGIN_OPTION_OTHER:-none}\"".to_owned())
        );
        assert_eq!(shell("run ${user_config.other}"), Err("other".to_owned()));
    }

    #[test]
    fn exec_words_keep_one_reference_each() {
        let handler = HookHandler::Exec {
            argv: vec!["./check".into(), "--url=${user_config.api-url}".into()],
        };
        let HookHandler::Exec { argv } = rewrite(&handler, &options()).expect("rewrites") else {
            panic!("exec expected");
        };
        assert_eq!(argv, ["./check", "--url=${CLAUDE_PLUGIN_OPTION_API_URL}"]);
    }
}
