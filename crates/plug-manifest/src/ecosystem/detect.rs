//! Which host format a plugin folder is in, and where each format keeps its
//! components by default.

use std::path::Path;

use crate::native::model::PluginFormat;

/// Claude Code's manifest.
pub const CLAUDE_MANIFEST: &str = ".claude-plugin/plugin.json";
/// Codex's manifest.
pub const CODEX_MANIFEST: &str = ".codex-plugin/plugin.json";
/// Cursor's manifest.
pub const CURSOR_MANIFEST: &str = ".cursor-plugin/plugin.json";
/// Agent Plugins 1.0's manifest, at the root.
pub const AGENT_PLUGINS_MANIFEST: &str = "plugin.json";
/// The `$schema` of an Agent Plugins 1.0 `plugin.json`.
pub const PLUGIN_SCHEMA: &str = "https://agent-plugins.org/schemas/1.0.0/plugin.schema.json";
/// The `$schema` of an Agent Plugins 1.0 `mcp.json`.
pub const MCP_SCHEMA: &str = "https://agent-plugins.org/schemas/1.0.0/mcp.schema.json";

/// The manifests looked for, in order of preference.
pub const MANIFESTS: &[(PluginFormat, &str)] = &[
    (PluginFormat::ClaudeCode, CLAUDE_MANIFEST),
    (PluginFormat::Codex, CODEX_MANIFEST),
    (PluginFormat::Cursor, CURSOR_MANIFEST),
    (PluginFormat::AgentPlugins, AGENT_PLUGINS_MANIFEST),
];

/// A host-format plugin found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The format the model is read as.
    pub format: PluginFormat,
    /// Its manifest, relative to the root (none for a bare folder).
    pub manifest: Option<&'static str>,
    /// Other hosts' manifests in the same folder: checked, not merged.
    pub also: Vec<(PluginFormat, &'static str)>,
}

/// Detects a host-format plugin in `dir` (not plugctl's own `plugin.yaml`,
/// which the caller looks for first).
pub fn detect(dir: &Path) -> Option<Detected> {
    detect_preferring(dir, None)
}

/// Like [`detect`], but the manifest `preferred` (one of [`MANIFESTS`]'
/// paths, when the user named that file) is the one the model is read from.
pub fn detect_preferring(dir: &Path, preferred: Option<&str>) -> Option<Detected> {
    let mut present: Vec<(PluginFormat, &'static str)> = MANIFESTS
        .iter()
        .copied()
        .filter(|(_, path)| dir.join(path).is_file())
        .collect();
    if let Some(at) = present.iter().position(|(_, p)| Some(*p) == preferred) {
        let chosen = present.remove(at);
        present.insert(0, chosen);
    }
    let mut present = present.into_iter();
    if let Some((format, manifest)) = present.next() {
        return Some(Detected {
            format,
            manifest: Some(manifest),
            also: present.collect(),
        });
    }
    bare(dir).then(|| Detected {
        format: PluginFormat::Bare,
        manifest: None,
        also: Vec::new(),
    })
}

/// A folder with the default component locations but no manifest.
fn bare(dir: &Path) -> bool {
    let files = ["hooks/hooks.json", ".mcp.json"];
    files.iter().any(|f| dir.join(f).is_file())
        || has_skill(&dir.join("skills"))
        || ["commands", "agents"]
            .iter()
            .any(|d| has_markdown(&dir.join(d)))
}

fn has_skill(skills: &Path) -> bool {
    std::fs::read_dir(skills).is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.path().join("SKILL.md").is_file()))
    })
}

fn has_markdown(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "md")))
    })
}

/// How a declared component path combines with the format's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// The default is always loaded; declared paths come on top.
    Add,
    /// Declared paths replace the default.
    Replace,
}

/// Where a format looks for one kind of component.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locations {
    /// Loaded when the manifest declares nothing (and with `Add`, always).
    pub defaults: &'static [&'static str],
    /// How declared paths combine with the defaults.
    pub combine: Combine,
}

/// Default locations of each kind of component, per format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Folders of skill folders (or skill folders themselves).
    pub skills: Locations,
    /// Command files or folders.
    pub commands: Locations,
    /// Agent files or folders.
    pub agents: Locations,
    /// Hooks files.
    pub hooks: Locations,
    /// MCP server files.
    pub mcp: Locations,
}

const fn at(defaults: &'static [&'static str], combine: Combine) -> Locations {
    Locations { defaults, combine }
}

/// The layout of `format` (the native format has none).
pub(crate) fn layout(format: PluginFormat) -> Layout {
    use Combine::{Add, Replace};
    match format {
        PluginFormat::Codex => Layout {
            skills: at(&["skills"], Replace),
            commands: at(&[], Replace),
            agents: at(&[], Replace),
            hooks: at(&["hooks/hooks.json"], Replace),
            mcp: at(&[".mcp.json"], Replace),
        },
        PluginFormat::AgentPlugins => Layout {
            skills: at(&["skills"], Add),
            commands: at(&["commands", "com.anthropic.claude-code/commands"], Replace),
            agents: at(&["agents", "com.anthropic.claude-code/agents"], Replace),
            hooks: at(
                &[
                    "com.anthropic.claude-code/hooks/hooks.json",
                    "hooks/hooks.json",
                ],
                Add,
            ),
            mcp: at(&["mcp.json", ".mcp.json"], Add),
        },
        _ => Layout {
            skills: at(&["skills"], Add),
            commands: at(&["commands"], Replace),
            agents: at(&["agents"], Replace),
            hooks: at(&["hooks/hooks.json"], Add),
            mcp: at(&[".mcp.json"], Add),
        },
    }
}

/// The top-level fields a format's `plugin.json` defines.
pub(crate) fn manifest_fields(format: PluginFormat) -> &'static [&'static str] {
    const CLAUDE: &[&str] = &[
        "$schema",
        "name",
        "version",
        "description",
        "author",
        "homepage",
        "repository",
        "license",
        "keywords",
        "displayName",
        "metadata",
        "skills",
        "commands",
        "agents",
        "hooks",
        "mcpServers",
        "lspServers",
        "outputStyles",
        "userConfig",
        "dependencies",
        "settings",
        "channels",
    ];
    const CODEX: &[&str] = &[
        "$schema",
        "name",
        "version",
        "description",
        "author",
        "homepage",
        "repository",
        "license",
        "keywords",
        "displayName",
        "metadata",
        "skills",
        "commands",
        "agents",
        "hooks",
        "mcpServers",
        "lspServers",
        "outputStyles",
        "userConfig",
        "dependencies",
        "interface",
        "apps",
    ];
    const CURSOR: &[&str] = &[
        "$schema",
        "name",
        "displayName",
        "version",
        "description",
        "author",
        "homepage",
        "repository",
        "license",
        "keywords",
        "logo",
        "skills",
        "commands",
        "agents",
        "rules",
        "hooks",
        "mcpServers",
        "metadata",
    ];
    const AGENT_PLUGINS: &[&str] = &[
        "$schema",
        "name",
        "version",
        "description",
        "author",
        "homepage",
        "repository",
        "license",
        "keywords",
        "extensions",
        "displayName",
        "metadata",
        "skills",
        "commands",
        "agents",
        "hooks",
        "mcpServers",
        "lspServers",
        "outputStyles",
        "userConfig",
        "dependencies",
        "interface",
        "apps",
    ];
    match format {
        PluginFormat::Codex => CODEX,
        PluginFormat::AgentPlugins => AGENT_PLUGINS,
        PluginFormat::Cursor => CURSOR,
        _ => CLAUDE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_claude_then_codex_then_cursor_then_root_then_bare() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        assert_eq!(detect(root), None);
        std::fs::create_dir_all(root.join("skills/a")).expect("mkdir");
        std::fs::write(root.join("skills/a/SKILL.md"), "---\n---\n").expect("write");
        assert_eq!(detect(root).map(|d| d.format), Some(PluginFormat::Bare));
        std::fs::write(root.join("plugin.json"), "{}").expect("write");
        assert_eq!(
            detect(root).map(|d| d.format),
            Some(PluginFormat::AgentPlugins)
        );
        for dot in [".codex-plugin", ".claude-plugin"] {
            std::fs::create_dir(root.join(dot)).expect("mkdir");
            std::fs::write(root.join(dot).join("plugin.json"), "{}").expect("write");
        }
        let found = detect(root).expect("detected");
        assert_eq!(found.format, PluginFormat::ClaudeCode);
        let also: Vec<_> = found.also.iter().map(|(f, _)| *f).collect();
        assert_eq!(also, [PluginFormat::Codex, PluginFormat::AgentPlugins]);
    }
}
