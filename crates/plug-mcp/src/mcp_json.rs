//! `.mcp.json`-style server lists (`{"mcpServers": {name: {...}}}`), as Claude
//! Code plugins ship them: `command`/`args`/`env` for stdio, `type: "http"`
//! with `url` and `headers` for Streamable HTTP. The file is read by
//! plug-manifest's parser (the one `plugctl validate` uses) and each server
//! is started as [`ServerSpec::from_host_format`] says: `${VAR}` and
//! `${VAR:-default}` expand from plugctl's environment, as in Claude Code.

use std::collections::BTreeMap;
use std::path::Path;

use plug_manifest::ecosystem::mcp_json::parse_mcp_json;
use plug_manifest::{Code, Severity};

use crate::error::McpError;
use crate::spec::ServerSpec;

/// Reads every server of an `.mcp.json` text; `root` is the plugin root (the
/// children's cwd). Servers shipped `"disabled": true` are left out; a file
/// with an error, or with a server plugctl cannot run, is refused.
pub fn servers_from_mcp_json(text: &str, root: &Path) -> Result<Vec<ServerSpec>, McpError> {
    let (servers, findings) = parse_mcp_json(text, ".mcp.json");
    let refused = findings
        .iter()
        .find(|f| f.severity == Severity::Error || f.code == Code::Unsupported);
    if let Some(finding) = refused {
        return Err(McpError::Config {
            server: ".mcp.json".to_owned(),
            reason: finding.to_record().to_string(),
        });
    }
    servers
        .iter()
        .filter(|s| !s.disabled)
        .map(|s| ServerSpec::from_host_format(s, &BTreeMap::new(), root))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AuthSpec, TransportSpec};

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

    #[test]
    fn disabled_servers_are_left_out() {
        let text = r#"{"mcpServers": {"on": {"command": "x"}, "off": {"command": "y", "disabled": true}}}"#;
        let specs = servers_from_mcp_json(text, Path::new("/p")).expect("parse");
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["on"]);
    }

    /// A Claude Code plugin's servers run through the registry with
    /// `${CLAUDE_PLUGIN_ROOT}` and `${user_config.KEY}` expanded; a disabled
    /// one is not offered, and a relative program may not leave the plugin.
    #[test]
    fn host_format_plugins_expand_root_and_user_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join(".claude-plugin")).expect("mkdir");
        std::fs::create_dir_all(root.join("bin")).expect("mkdir");
        std::fs::write(root.join("bin/srv"), "").expect("write");
        std::fs::write(root.join(".claude-plugin/plugin.json"), r#"{"name": "p"}"#).expect("write");
        std::fs::write(
            root.join(".mcp.json"),
            r#"{"mcpServers": {
                "local": {"command": "${CLAUDE_PLUGIN_ROOT}/bin/srv", "args": ["--url", "${user_config.api_url}"]},
                "escape": {"command": "../outside/srv"},
                "off": {"command": "srv", "disabled": true}
            }}"#,
        )
        .expect("write");
        let plugin = plug_manifest::load_plugin(&root).expect("loads");
        let manifest = plugin.manifest.as_ref().expect("manifest");
        let config = BTreeMap::from([("api_url".to_owned(), "https://x.test".to_owned())]);
        let local =
            ServerSpec::for_plugin(manifest.format, &manifest.mcp_servers[0], &config, &root)
                .expect("local resolves");
        let TransportSpec::Stdio { program, args, .. } = &local.transport else {
            panic!("stdio expected");
        };
        assert_eq!(Path::new(program), root.join("bin/srv"));
        assert_eq!(args, &["--url", "https://x.test"]);
        let escape =
            ServerSpec::for_plugin(manifest.format, &manifest.mcp_servers[1], &config, &root);
        assert!(escape.is_err(), "{escape:?}");
        let registry = crate::Registry::from_plugin(&plugin, &config);
        let names: Vec<&str> = registry.servers().collect();
        assert_eq!(names, ["escape", "local"]);
    }
}
