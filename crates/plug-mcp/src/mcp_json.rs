//! `.mcp.json`-style server lists (`{"mcpServers": {name: {...}}}`), as Claude
//! Code plugins ship them: `command`/`args`/`env` for stdio, `type: "http"`
//! with `url` and `headers` for Streamable HTTP. `${VAR}` and
//! `${VAR:-default}` expand from plugctl's environment, as in Claude Code.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::McpError;
use crate::secret::Secret;
use crate::spec::{AuthSpec, ServerSpec, TransportSpec};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    mcp_servers: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: Option<String>,
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// Reads every server of an `.mcp.json` text; `root` is the plugin root (the children's cwd).
pub fn servers_from_mcp_json(text: &str, root: &Path) -> Result<Vec<ServerSpec>, McpError> {
    let file: File = serde_json::from_str(text).map_err(|e| McpError::Config {
        server: ".mcp.json".to_owned(),
        reason: e.to_string(),
    })?;
    file.mcp_servers
        .into_iter()
        .map(|(name, entry)| spec(&name, entry, root))
        .collect()
}

fn spec(name: &str, entry: Entry, root: &Path) -> Result<ServerSpec, McpError> {
    let error = |reason: String| McpError::Config {
        server: name.to_owned(),
        reason,
    };
    let expand = |text: &str| expand_vars(text).map_err(&error);
    let root_var = root.to_string_lossy().into_owned();
    let with_root = |text: &str| text.replace("${CLAUDE_PLUGIN_ROOT}", &root_var);
    match (entry.kind.as_deref(), entry.command, entry.url) {
        (None | Some("stdio"), Some(command), None) => {
            let args: Vec<String> = entry
                .args
                .iter()
                .map(|a| expand(&with_root(a)))
                .collect::<Result<_, _>>()?;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut spec = ServerSpec::stdio(name, &expand(&with_root(&command))?, &args, root);
            if let TransportSpec::Stdio { env, .. } = &mut spec.transport {
                for (k, v) in &entry.env {
                    env.insert(k.clone(), expand(&with_root(v))?);
                }
            }
            Ok(spec)
        }
        (None | Some("http" | "streamable-http"), None, Some(url)) => {
            let mut spec = ServerSpec::http(name, &expand(&url)?);
            if !entry.headers.is_empty() {
                let headers = entry
                    .headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Secret::new(expand(v)?))))
                    .collect::<Result<_, McpError>>()?;
                spec.auth = AuthSpec::Headers(headers);
            }
            Ok(spec)
        }
        (Some(other), _, _) if !matches!(other, "stdio" | "http" | "streamable-http") => {
            Err(error(format!("transport type `{other}` is not supported")))
        }
        _ => Err(error(
            "needs `command` (stdio) or `url` (http), not both".to_owned(),
        )),
    }
}

/// Expands `${VAR}` and `${VAR:-default}`.
fn expand_vars(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
        let inner = &after[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(var), default) {
            (Ok(value), _) => out.push_str(&value),
            (Err(_), Some(d)) => out.push_str(d),
            (Err(_), None) => return Err(format!("`${{{var}}}` is used but `{var}` is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stdio_and_http_servers() {
        let text = r#"{"mcpServers": {
            "local": {"command": "${CLAUDE_PLUGIN_ROOT}/bin/srv", "args": ["--x", "${PLUG_MCP_UNSET_VAR:-dflt}"], "env": {"K": "v"}},
            "remote": {"type": "http", "url": "https://example.test/mcp", "headers": {"x-api-key": "${PLUG_MCP_UNSET_VAR:-k1}"}}
        }}"#;
        let specs = servers_from_mcp_json(text, Path::new("/plug")).expect("parse");
        let TransportSpec::Stdio {
            program, args, env, ..
        } = &specs[0].transport
        else {
            panic!("stdio expected");
        };
        assert_eq!(program, "/plug/bin/srv");
        assert_eq!(args, &["--x", "dflt"]);
        assert_eq!(env.get("K").map(String::as_str), Some("v"));
        assert_eq!(specs[1].name, "remote");
        let AuthSpec::Headers(headers) = &specs[1].auth else {
            panic!("headers expected");
        };
        assert_eq!(headers[0].1.expose(), "k1");
        assert!(!format!("{:?}", specs[1]).contains("k1"));
    }

    #[test]
    fn rejects_unset_variables_and_unknown_transports() {
        let unset = r#"{"mcpServers": {"a": {"command": "x", "args": ["${PLUG_MCP_UNSET_VAR}"]}}}"#;
        assert!(servers_from_mcp_json(unset, Path::new("/p")).is_err());
        let sse = r#"{"mcpServers": {"a": {"type": "sse", "url": "http://x"}}}"#;
        let err = servers_from_mcp_json(sse, Path::new("/p")).expect_err("sse");
        assert!(err.to_string().contains("sse"));
    }
}
