//! The plugin formats of the agent-host ecosystem, loaded into the same model
//! as plugctl's own format: Claude Code (`.claude-plugin/plugin.json`), Codex
//! (`.codex-plugin/plugin.json`), Cursor (`.cursor-plugin/plugin.json`),
//! Agent Plugins 1.0 (a root `plugin.json` and `mcp.json` with `$schema`), a
//! bare folder of default components (`skills/*/SKILL.md`, `hooks/hooks.json`,
//! `.mcp.json`, `commands/`, `agents/`), and their marketplaces. An Agent
//! Plugins plugin's client extension folders are recognised and listed
//! ([`extensions`]); Claude Code's is loaded.
//!
//! Skills in these formats are instructions for the host's model (a
//! `SKILL.md` with front matter), not steps plugctl runs; they load as
//! [`Instructions`](crate::native::model::Instructions). Hooks and MCP
//! servers load as the native [`Hook`](crate::native::model::Hook) and
//! [`McpServer`](crate::native::model::McpServer), so plugctl's hook host and
//! MCP client run them; values keep their `${VAR}` references, which
//! [`vars`] expands when they run.
//!
//! Findings follow one rule: an error only where the host itself would refuse
//! the plugin, the file or the component (bad JSON, front matter that does
//! not parse, a wrong type on a known field, a path leaving the plugin).
//! Everything the hosts tolerate is a warning.

pub mod detect;
pub mod extensions;
pub mod front_matter;
pub mod hooks_json;
pub mod instructions;
pub mod json;
mod links;
mod loader;
pub mod marketplace;
pub mod mcp_json;
mod plugin_json;
pub mod vars;

pub use detect::{Detected, detect, detect_preferring};
pub use loader::load;
