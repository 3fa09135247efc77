//! MCP server lists as the hosts write them: `.mcp.json` (`{"mcpServers":
//! {name: {...}}}`), Agent Plugins' `mcp.json`, and the inline `mcpServers`
//! of a `plugin.json`.
//!
//! stdio servers have `command`, `args` and `env`; remote ones `type: "http"`
//! (or `"streamable-http"`) with `url` and `headers`. Values keep their
//! `${VAR}` references as written: they are expanded when the server starts
//! (see plug-mcp), not when the plugin is validated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::decode::{Obj, Spanned, Unknown, object_with};
use crate::diagnostic::{Code, Finding, Findings, SourceFile, did_you_mean};
use crate::ecosystem::hooks_json::sorted;
use crate::ecosystem::json::parse_json;
use crate::native::check_url;
use crate::native::model::{McpAuth, McpServer, McpTransport};
use crate::yaml::{Node, NodeKind, Scalar};

const FILE_FIELDS: &[&str] = &["$schema", "mcpServers"];
const SERVER_FIELDS: &[&str] = &[
    "type",
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "headersHelper",
    "oauth",
    "timeout",
    "disabled",
    "description",
    "alwaysAllow",
    "autoApprove",
];
const TYPES: &[&str] = &["stdio", "http", "streamable-http", "sse"];

/// Reads an `.mcp.json` text; `shown` is its path as the user should see it.
pub fn parse_mcp_json(text: &str, shown: impl Into<PathBuf>) -> (Vec<McpServer>, Vec<Finding>) {
    let mut f = Findings::new(SourceFile::new(shown.into(), text));
    let servers = match parse_json(text) {
        Ok(doc) => decode_mcp_file(&mut f, &doc),
        Err(e) => {
            let message = format!("invalid JSON: {}", e.message);
            f.error(e.span, Code::JsonSyntax, message);
            Vec::new()
        }
    };
    (servers, sorted(f.list))
}

/// Decodes an MCP file: `{"mcpServers": {...}}`, or a bare map of servers.
pub fn decode_mcp_file(f: &mut Findings, doc: &Node) -> Vec<McpServer> {
    let bare = doc.get("mcpServers").is_none()
        && doc
            .as_map()
            .is_some_and(|e| !e.is_empty() && e.iter().all(|(_, v)| looks_like_server(v)));
    if bare {
        return decode_servers(f, doc);
    }
    let what = "the MCP file";
    let Some(obj) = object_with(f, doc, what, FILE_FIELDS, Unknown::Warning) else {
        return Vec::new();
    };
    obj.require(f, "mcpServers")
        .map(|servers| decode_servers(f, servers))
        .unwrap_or_default()
}

fn looks_like_server(node: &Node) -> bool {
    node.get("command").is_some() || node.get("url").is_some()
}

/// Decodes a map of server names to servers, skipping the unusable ones.
pub fn decode_servers(f: &mut Findings, node: &Node) -> Vec<McpServer> {
    let Some(entries) = node.as_map() else {
        let message = format!(
            "`mcpServers` must map server names to servers, found {}",
            node.type_name()
        );
        f.error(node.span, Code::WrongType, message);
        return Vec::new();
    };
    let mut servers = Vec::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        let Some(name) = key.as_str() else { continue };
        if entries[..i].iter().any(|(k, _)| k.as_str() == Some(name)) {
            let message =
                format!("MCP server `{name}` is defined twice; the second would silently win");
            f.error(key.span, Code::DuplicateKey, message);
        }
        if name.trim().is_empty() {
            f.error(key.span, Code::InvalidName, "an MCP server needs a name");
            continue;
        }
        let name = Spanned::new(name.to_owned(), key.span);
        servers.extend(server(f, &name, value));
    }
    servers
}

fn server(f: &mut Findings, name: &Spanned<String>, node: &Node) -> Option<McpServer> {
    let obj = object_with(f, node, "an MCP server", SERVER_FIELDS, Unknown::Warning)?;
    let kind = obj.opt_string(f, "type");
    let transport = transport(f, &obj, name, kind.as_ref())?;
    let headers = match matches!(transport, McpTransport::Http { .. }) {
        true => obj.opt_string_map(f, "headers"),
        false => BTreeMap::new(),
    };
    Some(McpServer {
        name: name.value.clone(),
        transport,
        auth: McpAuth::None,
        timeout: milliseconds(f, &obj),
        headers,
        disabled: obj.opt_bool(f, "disabled").unwrap_or(false),
        span: node.span,
    })
}

fn transport(
    f: &mut Findings,
    obj: &Obj<'_>,
    name: &Spanned<String>,
    kind: Option<&Spanned<String>>,
) -> Option<McpTransport> {
    let command = obj.opt_string(f, "command");
    let url = obj.opt_string(f, "url");
    let kind_text = kind.map(|k| k.value.as_str());
    if let (Some(k), Some(text)) = (kind, kind_text)
        && !TYPES.contains(&text)
    {
        let help = did_you_mean(text, TYPES.iter().copied());
        let message =
            format!("unknown MCP transport `{text}`; expected stdio, http, streamable-http or sse");
        f.error_with_help(k.span, Code::UnknownValue, message, help);
        return None;
    }
    match (kind_text, command, url) {
        (_, Some(_), Some(url)) => {
            let message = "an MCP server has either `command` (stdio) or `url` (remote), not both";
            f.error(url.span, Code::ConflictingFields, message);
            None
        }
        (None | Some("stdio"), Some(command), None) => Some(McpTransport::Stdio {
            command: command.value,
            args: string_args(f, obj),
            env: obj.opt_string_map(f, "env"),
        }),
        (Some("http" | "streamable-http"), None, Some(url)) => Some(remote(f, url)),
        (None, None, Some(url)) => {
            missing_type(f, name, &url);
            Some(remote(f, url))
        }
        (Some("sse"), None, Some(_)) => {
            let span = kind.map_or(name.span, |k| k.span);
            let message = format!(
                "transport `sse` (the legacy SSE transport) is not supported by plugctl's MCP client, which speaks stdio and Streamable HTTP; server `{}` is skipped",
                name.value
            );
            f.warning(span, Code::Unsupported, message);
            None
        }
        (Some("stdio") | None, None, _) => {
            let message = format!(
                "MCP server `{}` needs `command` (stdio) or `url` with `\"type\": \"http\"`",
                name.value
            );
            f.error(obj.head_span(), Code::MissingField, message);
            None
        }
        (Some(kind), _, _) => {
            let message = format!("a `{kind}` MCP server needs `url`");
            f.error(obj.head_span(), Code::MissingField, message);
            None
        }
    }
}

fn string_args(f: &mut Findings, obj: &Obj<'_>) -> Vec<String> {
    obj.opt_string_list(f, "args")
        .into_iter()
        .map(|a| a.value)
        .collect()
}

fn remote(f: &mut Findings, url: Spanned<String>) -> McpTransport {
    if !url.value.contains("${") {
        check_url(f, &url, "url");
    }
    McpTransport::Http {
        endpoint: url.value,
    }
}

fn missing_type(f: &mut Findings, name: &Spanned<String>, url: &Spanned<String>) {
    f.warning_with_help(
        url.span,
        Code::McpMissingType,
        format!("MCP server `{}` has `url` but no `type`: Claude Code reads it as a stdio server without a command and does not start it (plugctl assumes Streamable HTTP)", name.value),
        Some("add \"type\": \"http\"".into()),
    );
}

/// `timeout` in milliseconds (a number).
fn milliseconds(f: &mut Findings, obj: &Obj<'_>) -> Option<Duration> {
    let node = obj.get("timeout")?;
    match node.kind {
        NodeKind::Scalar(Scalar::Int(ms)) if ms > 0 => {
            u64::try_from(ms).ok().map(Duration::from_millis)
        }
        NodeKind::Scalar(Scalar::Int(_)) => {
            f.warning(
                node.span,
                Code::OutOfRange,
                "`timeout` must be more than 0 milliseconds; the default applies",
            );
            None
        }
        _ => {
            let message = format!(
                "`timeout` must be a whole number of milliseconds, found {}",
                node.type_name()
            );
            f.error(node.span, Code::WrongType, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;

    #[test]
    fn reads_stdio_and_remote_servers_as_written() {
        let text = r#"{"mcpServers": {
            "local": {"command": "${CLAUDE_PLUGIN_ROOT}/bin/srv", "args": ["--x"], "env": {"K": "v"}, "timeout": 120000},
            "remote": {"type": "http", "url": "https://example.test/mcp", "headers": {"x-api-key": "${KEY}"}},
            "off": {"command": "uvx", "disabled": true}
        }}"#;
        let (servers, findings) = parse_mcp_json(text, ".mcp.json");
        assert!(findings.is_empty(), "{findings:?}");
        let McpTransport::Stdio { command, args, env } = &servers[0].transport else {
            panic!("stdio expected");
        };
        assert_eq!(command, "${CLAUDE_PLUGIN_ROOT}/bin/srv");
        assert_eq!((args.len(), env.len()), (1, 1));
        assert_eq!(servers[0].timeout, Some(Duration::from_secs(120)));
        assert_eq!(
            servers[1].headers.get("x-api-key").map(String::as_str),
            Some("${KEY}")
        );
        assert!(servers[2].disabled);
    }

    #[test]
    fn url_without_type_warns_and_unknown_transports_are_errors() {
        let text = r#"{"mcpServers": {"a": {"url": "https://x.test/mcp"}, "b": {"type": "websocket", "url": "wss://x"}, "c": {"type": "sse", "url": "https://x"}}}"#;
        let (servers, findings) = parse_mcp_json(text, ".mcp.json");
        let got: Vec<_> = findings
            .iter()
            .map(|f| (f.severity, f.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Severity::Warning, "mcp-missing-type"),
                (Severity::Error, "unknown-value"),
                (Severity::Warning, "unsupported")
            ]
        );
        assert_eq!(servers.len(), 1);
    }

    #[test]
    fn a_bare_server_map_is_read_too() {
        let (servers, findings) = parse_mcp_json(r#"{"s": {"command": "node"}}"#, "m.json");
        assert!(findings.is_empty());
        assert_eq!(servers[0].name, "s");
    }
}
