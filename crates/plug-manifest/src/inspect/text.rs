//! The summary as people read it in a terminal: one block per part of the
//! plugin (skills with their steps, commands and agents, MCP servers, hooks,
//! client extensions, operator configuration).

use std::fmt::Write as _;

use super::{PluginSummary, SkillSummary};
use crate::native::model::{ClientExtension, HookHandler, Instructions, McpTransport};

impl std::fmt::Display for PluginSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render(self))
    }
}

fn render(s: &PluginSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        s.name,
        s.version.as_deref().unwrap_or("(no version)")
    );
    if !s.format.is_native() {
        let _ = writeln!(out, "  ({})", s.format.label());
    }
    if let Some(description) = &s.description {
        let _ = writeln!(out, "  {description}");
    }
    for skill in &s.skills {
        render_skill(&mut out, skill);
    }
    for (title, items) in [("Commands", &s.commands), ("Agents", &s.agents)] {
        render_instructions(&mut out, title, items);
    }
    if !s.mcp_servers.is_empty() {
        let _ = writeln!(out, "\nMCP servers:");
        for server in &s.mcp_servers {
            let how = match &server.transport {
                McpTransport::Http { endpoint } => format!("http {endpoint}"),
                McpTransport::Stdio { command, args, .. } => {
                    format!("stdio {}", shell_join(command, args))
                }
            };
            let _ = writeln!(out, "  {:<20} {how} (auth: {:?})", server.name, server.auth);
        }
    }
    if !s.hooks.is_empty() {
        let _ = writeln!(out, "\nHooks:");
        for h in &s.hooks {
            let handler = match &h.hook.handler {
                HookHandler::File { path } => path.clone(),
                HookHandler::Exec { argv } => argv.join(" "),
                HookHandler::Shell { command } => format!("sh -c {command:?}"),
                HookHandler::Http { url } => format!("POST {url}"),
            };
            let critical = if h.effective_critical {
                "critical"
            } else {
                "best-effort"
            };
            let _ = writeln!(out, "  {:<20} {handler} ({critical})", h.hook.event);
        }
    }
    render_extensions(&mut out, &s.extensions);
    if !s.config.is_empty() {
        let _ = writeln!(out, "\nOperator configuration (--set NAME=VALUE):");
        for c in &s.config {
            let state = if c.supplied {
                "supplied"
            } else if let Some(d) = &c.value.default {
                &format!("default {d}")
            } else if c.value.required {
                "REQUIRED, not set"
            } else {
                "optional"
            };
            let _ = writeln!(out, "  {:<20} {state}", c.name);
        }
    }
    out
}

fn render_skill(out: &mut String, skill: &SkillSummary) {
    let _ = writeln!(out, "\nSkill {} (kind: {})", skill.name, skill.kind);
    if let Some(d) = &skill.description {
        let _ = writeln!(out, "  {d}");
    }
    if let Some(instructions) = &skill.instructions {
        render_front_matter(out, "  ", instructions);
    }
    if !skill.required_permissions.is_empty() {
        let _ = writeln!(
            out,
            "  permissions: {}",
            skill.required_permissions.join(", ")
        );
    }
    if let Some(allowed) = skill.allowed_for_agents {
        let said = if allowed {
            "yes"
        } else {
            "no (not on the allow-list)"
        };
        let _ = writeln!(out, "  allowed for agents: {said}");
    }
    for p in &skill.params {
        let need = if p.required { "required" } else { "optional" };
        let _ = writeln!(
            out,
            "  param {} ({:?}, {need}{})",
            p.name,
            p.ty,
            if p.sensitive { ", sensitive" } else { "" }
        );
    }
    for p in &skill.implicit_params {
        match &p.may_come_from {
            Some(step) => {
                let _ = writeln!(
                    out,
                    "  param {} (from step {step}'s {} if present, else required)",
                    p.name,
                    p.response_field()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  param {} (implicit, required; first used in {})",
                    p.name, p.first_used_in
                );
            }
        }
    }
    for (i, step) in skill.steps.iter().enumerate() {
        let _ = write!(
            out,
            "  {}. {:<18} {:<12} {}",
            i + 1,
            step.name,
            step.action,
            step.target
        );
        if let Some(fallback) = &step.fallback {
            let _ = write!(out, " (fallback: {fallback})");
        }
        let _ = writeln!(out);
    }
}

fn shell_join(command: &str, args: &[String]) -> String {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where an instructions file is and the front-matter fields besides name and description.
fn render_front_matter(out: &mut String, indent: &str, instructions: &Instructions) {
    let _ = writeln!(out, "{indent}file: {}", instructions.path);
    for (key, value) in &instructions.metadata {
        let value = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "{indent}{key}: {value}");
    }
}

/// An Agent Plugins plugin's client extensions: which client each is for,
/// whether plugctl loads it, and what it holds.
fn render_extensions(out: &mut String, extensions: &[ClientExtension]) {
    if extensions.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nClient extensions:");
    for e in extensions {
        let client = e.client.as_deref().unwrap_or("unknown client");
        let status = match (e.loaded, e.hooks) {
            (true, _) => "loaded",
            (false, Some(_)) => "checked, not run",
            (false, None) => "listed only",
        };
        let _ = writeln!(out, "  {:<26} {client} ({status})", e.namespace);
        let mut held = e.entries.join(", ");
        if let Some(n) = e.hooks {
            held = format!("{held}; {n} hook(s)");
        }
        if e.manifest_data {
            held = format!("{held}; data in plugin.json `extensions`");
        }
        let _ = writeln!(out, "      {}", held.trim_start_matches("; "));
    }
}

/// Commands or agents of a host-format plugin, one block each.
fn render_instructions(out: &mut String, title: &str, items: &[Instructions]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for item in items {
        let description = item.description.as_deref().unwrap_or("(no description)");
        let _ = writeln!(out, "  {:<20} {description}", item.name);
        render_front_matter(out, "      ", item);
    }
}
