//! Agent Plugins 1.0 client extensions (spec §8): client-specific files live
//! in a top-level folder named for the client's reverse-domain namespace
//! (`com.anthropic.claude-code/hooks/hooks.json`), client-specific manifest
//! data under `plugin.json`'s `extensions`. The spec gives them no portable
//! meaning; each client defines its own.
//!
//! plugctl speaks Claude Code's hook protocol, so Claude Code's folder is the
//! one it loads: its hooks run, its agents and commands are listed. The hooks
//! files of Codex (same protocol, its own copy) and Cursor (camelCase events)
//! are read and checked but not run, so a plugin that ships one copy per
//! client does not run its hooks twice. Other namespaces (GitHub Copilot,
//! Kiro, unknown ones) are recognised and listed, never read: their formats
//! are their clients' own.

use std::path::Path;

/// Claude Code's namespace: the client folder plugctl loads.
pub const CLAUDE_CODE: &str = "com.anthropic.claude-code";

/// A client namespace plugctl knows.
#[derive(Debug, Clone, Copy)]
pub struct KnownClient {
    /// The reverse-domain namespace.
    pub namespace: &'static str,
    /// The client's name.
    pub client: &'static str,
    /// Where its hooks file may be, when plugctl can read that file's format.
    pub hooks_files: &'static [&'static str],
}

const HOOKS_FILES: &[&str] = &["hooks/hooks.json", "hooks.json"];

/// The namespaces plugctl recognises, with what it reads of each.
pub const KNOWN_CLIENTS: &[KnownClient] = &[
    KnownClient {
        namespace: CLAUDE_CODE,
        client: "Claude Code",
        hooks_files: &["hooks/hooks.json"],
    },
    KnownClient {
        namespace: "com.openai.codex",
        client: "Codex",
        hooks_files: HOOKS_FILES,
    },
    KnownClient {
        namespace: "com.cursor",
        client: "Cursor",
        hooks_files: HOOKS_FILES,
    },
    KnownClient {
        namespace: "com.github.copilot",
        client: "GitHub Copilot",
        hooks_files: &[],
    },
    KnownClient {
        namespace: "dev.kiro",
        client: "Kiro",
        hooks_files: &[],
    },
];

/// The known client of `namespace`.
pub fn known(namespace: &str) -> Option<&'static KnownClient> {
    KNOWN_CLIENTS.iter().find(|k| k.namespace == namespace)
}

/// Whether a folder name is a reverse-domain namespace (`com.example.client`,
/// `dev.kiro`): dot-separated labels of `[a-z0-9-]`, the first one letters only.
pub fn is_namespace(name: &str) -> bool {
    let mut labels = name.split('.');
    let first = labels.next().unwrap_or_default();
    let rest: Vec<&str> = labels.collect();
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    !rest.is_empty()
        && !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && rest.iter().all(|l| label(l))
}

/// The extension folders at `root`, sorted by name.
pub fn folders(root: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| is_namespace(name))
        .collect();
    found.sort();
    found
}

/// A folder's top-level entries, sorted, folders marked with a trailing `/`
/// (hidden entries left out).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            match e.file_type().is_ok_and(|t| t.is_dir()) {
                true => format!("{name}/"),
                false => name,
            }
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_reverse_domain_names() {
        for name in [
            "com.anthropic.claude-code",
            "com.github.copilot",
            "dev.kiro",
            "com.example.client",
        ] {
            assert!(is_namespace(name), "{name}");
        }
        for name in [
            "skills",
            "v1.2",
            ".claude-plugin",
            "Com.Example",
            "com.",
            "a..b",
        ] {
            assert!(!is_namespace(name), "{name}");
        }
        assert_eq!(known("com.cursor").map(|k| k.client), Some("Cursor"));
        assert!(known("com.example.client").is_none());
    }
}
