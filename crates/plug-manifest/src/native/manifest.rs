//! Decoding a `plugin:` manifest.

use std::collections::BTreeMap;
use std::path::Path;

use crate::decode::{Obj, Spanned, check_kebab, check_unique, list, object, string_list};
use crate::diagnostic::{Code, Findings, did_you_mean};
use crate::native::model::{
    ConfigValue, Hook, HookHandler, Manifest, McpAuth, McpServer, McpTransport, SkillEntry,
};
use crate::native::placeholders_in;
use crate::paths::{PathError, resolve_inside};
use crate::placeholder::{Placeholder, classify};
use crate::yaml::Node;

const PLUGIN_FIELDS: &[&str] = &[
    "name",
    "version",
    "description",
    "skills",
    "mcp_servers",
    "hooks",
    "config",
];
const SKILL_ENTRY_FIELDS: &[&str] = &["name", "path", "required_permissions"];
const SERVER_FIELDS: &[&str] = &[
    "name", "endpoint", "command", "args", "env", "auth", "timeout",
];
const HOOK_FIELDS: &[&str] = &[
    "event", "handler", "command", "shell", "critical", "timeout", "matcher", "aws",
];
const CONFIG_FIELDS: &[&str] = &["description", "default", "sensitive", "required"];

/// Decodes a manifest document; `root` is the canonical plugin root.
pub(crate) fn decode_manifest(f: &mut Findings, root: &Path, doc: &Node) -> Option<Manifest> {
    let top = object(f, doc, "the manifest", &["plugin"])?;
    let plugin_node = top.require(f, "plugin")?;
    let plugin = object(f, plugin_node, "`plugin`", PLUGIN_FIELDS)?;

    let name = plugin.req_string(f, "name");
    if let Some(name) = &name {
        check_kebab(f, name, "plugin");
    }
    let version = plugin
        .require(f, "version")
        .and_then(|node| version(f, node));
    let description = plugin.opt_string(f, "description").map(|d| d.value);
    let skills = items(f, &plugin, "skills", |f, node| skill_entry(f, root, node));
    check_unique(f, skills.iter().map(|s| &s.name), "skill");
    let mcp_servers = items(f, &plugin, "mcp_servers", mcp_server);
    let server_names: Vec<_> = mcp_servers.iter().map(|(name, _)| name.clone()).collect();
    check_unique(f, &server_names, "MCP server");
    let hooks = items(f, &plugin, "hooks", |f, node| hook(f, root, node));
    let mut config = plugin
        .get("config")
        .map(|node| config_values(f, node))
        .unwrap_or_default();
    collect_config_uses(f, &plugin, &mut config);

    Some(Manifest {
        name: name.unwrap_or_else(|| Spanned::new(String::new(), plugin.head_span())),
        version,
        description,
        skills,
        mcp_servers: mcp_servers.into_iter().map(|(_, server)| server).collect(),
        hooks,
        config,
        format: crate::native::model::PluginFormat::Native,
        commands: Vec::new(),
        agents: Vec::new(),
        extensions: Vec::new(),
    })
}

/// Decodes each item of an optional list field, skipping the broken ones.
fn items<T>(
    f: &mut Findings,
    obj: &Obj<'_>,
    key: &str,
    mut decode: impl FnMut(&mut Findings, &Node) -> Option<T>,
) -> Vec<T> {
    let Some(node) = obj.get(key) else {
        return Vec::new();
    };
    list(f, node, key)
        .iter()
        .filter_map(|item| decode(f, item))
        .collect()
}

fn version(f: &mut Findings, node: &Node) -> Option<semver::Version> {
    let Some(text) = node.as_str() else {
        let hint = if matches!(node.type_name(), "a number" | "an integer") {
            "; write it as MAJOR.MINOR.PATCH, e.g. 1.0.0"
        } else {
            ""
        };
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`version` must be a string, found {}{hint}",
                node.type_name()
            ),
        );
        return None;
    };
    match semver::Version::parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            f.error(
                node.span,
                Code::InvalidVersion,
                format!("`{text}` is not a semantic version: {e}"),
            );
            None
        }
    }
}

fn skill_entry(f: &mut Findings, root: &Path, node: &Node) -> Option<SkillEntry> {
    let obj = object(f, node, "a skill entry", SKILL_ENTRY_FIELDS)?;
    let name = obj.req_string(f, "name");
    if let Some(name) = &name {
        check_kebab(f, name, "skill");
    }
    let path = obj.req_string(f, "path");
    let file = path
        .as_ref()
        .and_then(|p| match resolve_inside(root, &p.value) {
            Ok(file) => Some(file),
            Err(e) => {
                report_path_error(f, p, &e);
                None
            }
        });
    let required_permissions = obj
        .get("required_permissions")
        .map(|n| string_list(f, n, "required_permissions"))
        .unwrap_or_default();
    for permission in &required_permissions {
        check_permission(f, permission);
    }
    Some(SkillEntry {
        name: name?,
        path: path?,
        file,
        required_permissions,
    })
}

pub(crate) fn report_path_error(f: &mut Findings, path: &Spanned<String>, error: &PathError) {
    let code = match error {
        PathError::OutsideRoot(_) | PathError::SymlinkEscape(_) => Code::PathOutsideRoot,
        PathError::NotFound(_) => Code::PathNotFound,
    };
    f.error(path.span, code, error.to_string());
}

/// An IAM action: `service:Action`, wildcards allowed.
fn check_permission(f: &mut Findings, permission: &Spanned<String>) {
    let ok = permission.value == "*"
        || permission
            .value
            .split_once(':')
            .is_some_and(|(service, action)| {
                !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !action.is_empty()
                    && action
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
            });
    if !ok {
        f.error(
            permission.span,
            Code::InvalidPermission,
            format!(
                "`{}` is not an IAM action; write `service:Action`, e.g. `lambda:CreateFunction`",
                permission.value
            ),
        );
    }
}

fn mcp_server(f: &mut Findings, node: &Node) -> Option<(Spanned<String>, McpServer)> {
    let obj = object(f, node, "an MCP server", SERVER_FIELDS)?;
    let name = obj.req_string(f, "name");
    if let Some(name) = &name {
        check_kebab(f, name, "MCP server");
    }
    let endpoint = obj.opt_string(f, "endpoint");
    let command = obj.opt_string(f, "command");
    let transport = match (endpoint, command) {
        (Some(endpoint), None) => {
            check_url(f, &endpoint, "endpoint");
            for key in ["args", "env"] {
                if let Some(span) = obj.key_span(key) {
                    f.error(
                        span,
                        Code::ConflictingFields,
                        format!("`{key}` applies to stdio servers (`command`), not to `endpoint`"),
                    );
                }
            }
            McpTransport::Http {
                endpoint: endpoint.value,
            }
        }
        (None, Some(command)) => McpTransport::Stdio {
            command: command.value,
            args: obj
                .opt_string_list(f, "args")
                .into_iter()
                .map(|a| a.value)
                .collect(),
            env: obj.opt_string_map(f, "env"),
        },
        (Some(_), Some(_)) => {
            let span = obj.key_span("command").unwrap_or(obj.head_span());
            f.error(
                span,
                Code::ConflictingFields,
                "an MCP server has either `endpoint` (HTTP) or `command` (stdio), not both",
            );
            return None;
        }
        (None, None) => {
            f.error(
                obj.head_span(),
                Code::ConflictingFields,
                "an MCP server needs `endpoint` (HTTP) or `command` (stdio)",
            );
            return None;
        }
    };
    let auth = match obj.opt_string(f, "auth") {
        None => McpAuth::None,
        Some(auth) => match auth.value.as_str() {
            "none" => McpAuth::None,
            "iam" => McpAuth::Iam,
            "api_key" => McpAuth::ApiKey,
            other => {
                let help = did_you_mean(other, ["none", "iam", "api_key"]);
                f.error_with_help(
                    auth.span,
                    Code::UnknownValue,
                    format!("unknown auth `{other}`; expected none, iam or api_key"),
                    help,
                );
                McpAuth::None
            }
        },
    };
    let timeout = obj.opt_duration(f, "timeout");
    let name = name?;
    let server = McpServer {
        name: name.value.clone(),
        transport,
        auth,
        timeout,
        headers: BTreeMap::new(),
        disabled: false,
        span: node.span,
    };
    Some((name, server))
}

/// An http(s) URL, unless it is an operator-supplied `<placeholder>`.
pub(crate) fn check_url(f: &mut Findings, value: &Spanned<String>, key: &str) {
    if value.value.contains('<') {
        return;
    }
    match url::Url::parse(&value.value) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        Ok(u) => f.error(
            value.span,
            Code::InvalidUrl,
            format!(
                "`{key}` must be an http or https URL, not `{}:`",
                u.scheme()
            ),
        ),
        Err(e) => f.error(
            value.span,
            Code::InvalidUrl,
            format!("`{key}` is not a URL: {e}"),
        ),
    }
}

fn hook(f: &mut Findings, root: &Path, node: &Node) -> Option<Hook> {
    let obj = object(f, node, "a hook", HOOK_FIELDS)?;
    let event = obj.req_string(f, "event");
    if let Some(event) = &event {
        check_event(f, event);
    }
    let shell = obj.opt_bool(f, "shell").unwrap_or(false);
    let handler = match (obj.opt_string(f, "handler"), obj.get("command")) {
        (Some(handler), None) => handler_of(f, root, handler),
        (None, Some(command)) => command_handler(f, command, shell),
        (Some(_), Some(_)) => {
            let span = obj.key_span("command").unwrap_or(obj.head_span());
            f.error(
                span,
                Code::ConflictingFields,
                "a hook has either `handler` (a file or URL) or `command`, not both",
            );
            None
        }
        (None, None) => {
            f.error(
                obj.head_span(),
                Code::ConflictingFields,
                "a hook needs `handler` (a file or URL) or `command`",
            );
            None
        }
    };
    let critical = obj.opt_bool(f, "critical");
    let timeout = obj.opt_duration(f, "timeout");
    let matcher = obj.opt_string(f, "matcher").map(|m| {
        if let Err(e) = crate::matcher::Matcher::parse(Some(&m.value)) {
            let message = format!("matcher `{}` cannot be compiled: {e}", m.value);
            f.error(m.span, Code::BadMatcher, message);
        }
        m.value
    });
    let aws = obj.opt_bool(f, "aws").unwrap_or(false);
    let event = event?;
    Some(Hook {
        event: event.value,
        handler: handler?,
        critical,
        timeout,
        matcher,
        aws,
        span: node.span,
        event_span: event.span,
    })
}

fn handler_of(f: &mut Findings, root: &Path, handler: Spanned<String>) -> Option<HookHandler> {
    if handler.value.starts_with("http://") || handler.value.starts_with("https://") {
        check_url(f, &handler, "handler");
        return Some(HookHandler::Http { url: handler.value });
    }
    match resolve_inside(root, &handler.value) {
        Ok(file) => {
            if !is_executable(&file) {
                f.warning(
                    handler.span,
                    Code::NotExecutable,
                    format!(
                        "`{}` is not executable; run `chmod +x` on it",
                        handler.value
                    ),
                );
            }
        }
        Err(PathError::NotFound(_)) if handler.value.contains(' ') => {
            f.error_with_help(
                handler.span,
                Code::PathNotFound,
                format!("`{}` does not exist", handler.value),
                Some("for a command with arguments, use `command: [program, arg, ...]`".into()),
            );
        }
        Err(e) => report_path_error(f, &handler, &e),
    }
    Some(HookHandler::File {
        path: handler.value,
    })
}

fn command_handler(f: &mut Findings, command: &Node, shell: bool) -> Option<HookHandler> {
    if let Some(line) = command.as_str() {
        if shell {
            return Some(HookHandler::Shell {
                command: line.to_owned(),
            });
        }
        return match shell_words::split(line) {
            Ok(argv) if !argv.is_empty() => Some(HookHandler::Exec { argv }),
            Ok(_) => {
                f.error(command.span, Code::EmptyList, "`command` is empty");
                None
            }
            Err(e) => {
                f.error(
                    command.span,
                    Code::WrongType,
                    format!("`command` cannot be split into arguments: {e}"),
                );
                None
            }
        };
    }
    let argv: Vec<String> = string_list(f, command, "command")
        .into_iter()
        .map(|a| a.value)
        .collect();
    if argv.is_empty() {
        f.error(
            command.span,
            Code::EmptyList,
            "`command` needs at least the program",
        );
        return None;
    }
    Some(HookHandler::Exec { argv })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

/// The lifecycle events hooks may name (`pre_<kind>` is checked against skills later).
pub(crate) const FIXED_EVENTS: &[&str] = &[
    "pre_skill",
    "post_skill",
    "pre_step",
    "post_step",
    "on_failure",
];

fn check_event(f: &mut Findings, event: &Spanned<String>) {
    let e = event.value.as_str();
    if FIXED_EVENTS.contains(&e) {
        return;
    }
    let kind = e.strip_prefix("pre_").or_else(|| e.strip_prefix("post_"));
    if kind.is_some_and(|k| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }) {
        return;
    }
    let help = did_you_mean(e, FIXED_EVENTS.iter().copied()).or_else(|| Some("events are pre_skill, post_skill, pre_step, post_step, on_failure, pre_<kind>, post_<kind>".into()));
    f.error_with_help(
        event.span,
        Code::UnknownEvent,
        format!("unknown hook event `{e}`"),
        help,
    );
}

fn config_values(f: &mut Findings, node: &Node) -> BTreeMap<String, ConfigValue> {
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            crate::diagnostic::Code::WrongType,
            format!(
                "`config` must be a mapping of names to declarations, found {}",
                node.type_name()
            ),
        );
        return BTreeMap::new();
    };
    let mut values = BTreeMap::new();
    for (key, value) in entries {
        let Some(name) = crate::decode::string(f, key, "config") else {
            continue;
        };
        let Some(obj) = object(f, value, "a config value", CONFIG_FIELDS) else {
            continue;
        };
        let default = obj
            .get("default")
            .and_then(|d| crate::decode::scalar_text(f, d, "default"));
        let required = obj.opt_bool(f, "required").unwrap_or(default.is_none());
        let config = ConfigValue {
            description: obj.opt_string(f, "description").map(|d| d.value),
            sensitive: obj.opt_bool(f, "sensitive").unwrap_or(false),
            default,
            required,
            declared: true,
        };
        values.insert(name.value, config);
    }
    values
}

/// `<name>` in a manifest value is an operator configuration value.
fn collect_config_uses(
    f: &mut Findings,
    plugin: &Obj<'_>,
    config: &mut BTreeMap<String, ConfigValue>,
) {
    let mut found = Vec::new();
    for key in ["mcp_servers", "hooks"] {
        if let Some(node) = plugin.get(key) {
            placeholders_in(f.file(), node, &mut found);
        }
    }
    for (inner, span) in found {
        match classify(&inner) {
            Ok(Placeholder::Name(name)) => {
                config.entry(name.to_owned()).or_insert(ConfigValue { required: true, ..ConfigValue::default() });
            }
            Ok(_) => f.error(span, Code::BadPlaceholder, format!("`<{inner}>`: a manifest can only use operator configuration values, written `<name>`")),
            Err(why) => f.error(span, Code::BadPlaceholder, format!("bad placeholder: {why}")),
        }
    }
}
