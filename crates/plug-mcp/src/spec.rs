//! A server as plugctl will run it: the manifest's declaration with every
//! `<placeholder>` resolved and the operator's settings applied.
//!
//! # Operator config keys
//!
//! Config values come from the run (`plugctl ... --set key=value`). Besides the
//! `<names>` used in `endpoint`, `command`, `args` and `env`, these keys tune
//! a server named `S` (all optional):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `S.timeout` | per-call timeout, humantime (`30s`); overrides the manifest's `timeout` | manifest, else 30s |
//! | `S.startup_timeout` | time allowed to start the server and finish the handshake | 30s |
//! | `S.api_key_env` | `auth: api_key`: environment variable holding the key | |
//! | `S.api_key_file` | `auth: api_key`: file holding the key (trimmed); relative to the plugin root | |
//! | `S.api_key_header` | `auth: api_key`: header the key is sent in, as-is | `x-api-key` |
//! | `S.iam_service` | `auth: iam`: SigV4 signing name | `execute-api` |
//! | `S.iam_region` | `auth: iam`: SigV4 region | the region of the identity signing (a run's session) |
//! | `S.cache_ttl` | enables the cache: answers this fresh are served when the server is unreachable | off |
//! | `S.cache_max_entries` | cache bound | 256 |
//! | `S.cache_tools` | comma-separated tools to cache | every tool |
//! | `S.max_restarts` | restarts in a row before giving up | 5 |
//! | `S.retry_tools` | comma-separated tools retried once after a crash, besides those the server annotates `readOnlyHint` or `idempotentHint` | none |
//! | `S.max_message_bytes` | largest message accepted: a stdio line, an HTTP JSON body or one SSE event; a larger answer fails its call with a protocol error, unread | 16 MiB |
//! | `S.protocol` | `initialize` (initialize-era, pinned to 2025-11-25) or `auto` (try 2026-07-28 `server/discover`, fall back) | `initialize` |
//!
//! Exactly one of `S.api_key_env` and `S.api_key_file` is required for `auth: api_key`.
//! In `env:` values, `<env:NAME>` copies a variable of plugctl's own environment:
//! that is how a manifest asks for, say, `AWS_PROFILE`; nothing else is inherited.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plug_manifest::ecosystem::vars;
use plug_manifest::native::model::{McpAuth, McpServer, McpTransport, PluginFormat};
use plug_manifest::placeholder::scan;

use crate::backoff::Backoff;
use crate::cache::CachePolicy;
use crate::error::McpError;

/// The default per-call timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time allowed for starting a server and its handshake.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The default bound on one message.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// A runnable server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Its name in the plugin.
    pub name: String,
    /// How it is reached.
    pub transport: TransportSpec,
    /// How requests are authenticated.
    pub auth: AuthSpec,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Time allowed for spawning or connecting plus the handshake.
    pub startup_timeout: Duration,
    /// The answer cache, when the operator enabled it.
    pub cache: Option<CachePolicy>,
    /// Restart pacing.
    pub backoff: Backoff,
    /// Tools retried once after a crash even without a read-only/idempotent annotation.
    pub retry_tools: BTreeSet<String>,
    /// Largest message accepted (stdio line, HTTP JSON body, SSE event).
    pub max_message_bytes: usize,
    /// Which lifecycle to negotiate.
    pub lifecycle: Lifecycle,
}

/// How a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifecycle {
    /// `initialize` with protocol version 2025-11-25 (`LATEST_WITH_INITIALIZE`).
    #[default]
    Initialize,
    /// `server/discover` for 2026-07-28, falling back to `initialize`.
    Auto,
}

/// How a server is reached.
#[derive(Clone, PartialEq)]
pub enum TransportSpec {
    /// Streamable HTTP.
    Http {
        /// The endpoint URL.
        url: String,
    },
    /// A child process speaking newline-delimited JSON-RPC on stdio.
    Stdio {
        /// The program (looked up on PATH unless it has a `/`).
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// Its whole environment apart from PATH, HOME and LANG.
        env: BTreeMap<String, String>,
        /// Its working directory (the plugin root).
        cwd: PathBuf,
    },
}

impl fmt::Debug for TransportSpec {
    // Environment values may be credentials: show names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportSpec::Http { url } => f.debug_struct("Http").field("url", url).finish(),
            TransportSpec::Stdio {
                program,
                args,
                env,
                cwd,
            } => f
                .debug_struct("Stdio")
                .field("program", program)
                .field("args", args)
                .field("env", &env.keys().collect::<Vec<_>>())
                .field("cwd", cwd)
                .finish(),
        }
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSpec {
    /// Nothing added.
    None,
    /// A header whose value is read when connecting.
    ApiKey {
        /// The header name.
        header: String,
        /// Where the value is.
        source: KeySource,
    },
    /// Fixed headers (from `.mcp.json` `headers`).
    Headers(Vec<(String, crate::secret::Secret)>),
    /// SigV4 signatures with the standard credential chain.
    Iam {
        /// The signing name.
        service: String,
        /// The signing region; `None` means the chain's region.
        region: Option<String>,
    },
}

/// Where an API key is read from (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable of plugctl.
    Env(String),
    /// A file.
    File(PathBuf),
}

impl ServerSpec {
    /// Resolves a native manifest's server against the operator's `config`.
    pub fn from_manifest(
        server: &McpServer,
        config: &BTreeMap<String, String>,
        root: &Path,
    ) -> Result<ServerSpec, McpError> {
        let name = server.name.clone();
        let r = Resolver {
            server: &name,
            config,
            data: None,
        };
        let transport = match &server.transport {
            McpTransport::Http { endpoint } => TransportSpec::Http {
                url: r.resolve(endpoint)?,
            },
            McpTransport::Stdio { command, args, env } => TransportSpec::Stdio {
                program: r.program(command, root)?,
                args: args
                    .iter()
                    .map(|a| r.resolve(a))
                    .collect::<Result<_, _>>()?,
                env: env
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), r.resolve(v)?)))
                    .collect::<Result<_, McpError>>()?,
                cwd: root.to_path_buf(),
            },
        };
        let auth = match server.auth {
            McpAuth::None => AuthSpec::None,
            McpAuth::ApiKey => r.api_key(root)?,
            McpAuth::Iam => AuthSpec::Iam {
                service: r.setting("iam_service").unwrap_or("execute-api").to_owned(),
                region: r.setting("iam_region").map(str::to_owned),
            },
        };
        if matches!(transport, TransportSpec::Stdio { .. }) && auth != AuthSpec::None {
            return Err(r.error(
                "`auth` applies to HTTP servers; give a stdio server its credentials through `env`",
            ));
        }
        r.with_settings(transport, auth, server.timeout)
    }

    /// A server of a host-format plugin (`.mcp.json`, Agent Plugins'
    /// `mcp.json`, inline `mcpServers`), as Claude Code starts it: `${VAR}`
    /// and `${VAR:-default}` expand in `command`, `args`, `env`, `url` and
    /// `headers`, where `CLAUDE_PLUGIN_ROOT` (and `PLUGIN_ROOT`) is the plugin
    /// root, `user_config.KEY` the operator's `--set KEY=...`, and any other
    /// name plugctl's own environment. The same `S.*` settings apply as for
    /// native servers.
    pub fn from_host_format(
        server: &McpServer,
        config: &BTreeMap<String, String>,
        root: &Path,
    ) -> Result<ServerSpec, McpError> {
        ServerSpec::from_host_format_with_data(server, config, root, None)
    }

    /// [`ServerSpec::from_host_format`] for an installed plugin with a
    /// persistent data folder: `${CLAUDE_PLUGIN_DATA}` expands to it, and a
    /// stdio server gets it as `CLAUDE_PLUGIN_DATA` (and its root as
    /// `CLAUDE_PLUGIN_ROOT`) unless its `env` sets them, as in Claude Code.
    pub fn from_host_format_with_data(
        server: &McpServer,
        config: &BTreeMap<String, String>,
        root: &Path,
        data: Option<&Path>,
    ) -> Result<ServerSpec, McpError> {
        let r = Resolver {
            server: &server.name,
            config,
            data,
        };
        let expand = |text: &str| r.expand_vars(text, root);
        let transport = match &server.transport {
            McpTransport::Http { endpoint } => TransportSpec::Http {
                url: expand(endpoint)?,
            },
            McpTransport::Stdio { command, args, env } => TransportSpec::Stdio {
                program: r.inside_root(expand(command)?, root)?,
                args: args.iter().map(|a| expand(a)).collect::<Result<_, _>>()?,
                env: r.server_env(env, root)?,
                cwd: root.to_path_buf(),
            },
        };
        let auth = match server.headers.is_empty() {
            true => AuthSpec::None,
            false => AuthSpec::Headers(
                server
                    .headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), crate::secret::Secret::new(expand(v)?))))
                    .collect::<Result<_, McpError>>()?,
            ),
        };
        r.with_settings(transport, auth, server.timeout)
    }

    /// The server of a loaded plugin, read the way its format writes values.
    pub fn for_plugin(
        format: PluginFormat,
        server: &McpServer,
        config: &BTreeMap<String, String>,
        root: &Path,
    ) -> Result<ServerSpec, McpError> {
        ServerSpec::for_plugin_with_data(format, server, config, root, None)
    }

    /// [`ServerSpec::for_plugin`] with the plugin's data folder, for the
    /// host formats that know `CLAUDE_PLUGIN_DATA` (native plugins pass
    /// what their servers need through `env`).
    pub fn for_plugin_with_data(
        format: PluginFormat,
        server: &McpServer,
        config: &BTreeMap<String, String>,
        root: &Path,
        data: Option<&Path>,
    ) -> Result<ServerSpec, McpError> {
        match format.is_native() {
            true => ServerSpec::from_manifest(server, config, root),
            false => ServerSpec::from_host_format_with_data(server, config, root, data),
        }
    }
}

impl Resolver<'_> {
    /// The operator's `S.*` settings applied to a resolved transport and auth.
    fn with_settings(
        &self,
        transport: TransportSpec,
        auth: AuthSpec,
        declared_timeout: Option<Duration>,
    ) -> Result<ServerSpec, McpError> {
        let r = self;
        let name = r.server.to_owned();
        let timeout = match r.setting("timeout") {
            Some(text) => r.duration("timeout", text)?,
            None => declared_timeout.unwrap_or(DEFAULT_TIMEOUT),
        };
        let startup_timeout = match r.setting("startup_timeout") {
            Some(text) => r.duration("startup_timeout", text)?,
            None => DEFAULT_STARTUP_TIMEOUT,
        };
        let backoff = Backoff {
            max_attempts: r.number("max_restarts", 5)?,
            ..Backoff::default()
        };
        Ok(ServerSpec {
            transport,
            auth,
            timeout,
            startup_timeout,
            cache: r.cache()?,
            backoff,
            retry_tools: r.list("retry_tools"),
            max_message_bytes: r.number("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)?,
            lifecycle: match r.setting("protocol") {
                None | Some("initialize") => Lifecycle::Initialize,
                Some("auto") => Lifecycle::Auto,
                Some(other) => {
                    return Err(r.error(&format!(
                        "`{name}.protocol` is `{other}`; expected `initialize` or `auto`"
                    )));
                }
            },
            name,
        })
    }

    /// Expands `${VAR}` and `${VAR:-default}` as a host format means them.
    fn expand_vars(&self, text: &str, root: &Path) -> Result<String, McpError> {
        let lookup = |name: &str| match name {
            "CLAUDE_PLUGIN_ROOT" | "PLUGIN_ROOT" => Some(root.to_string_lossy().into_owned()),
            "CLAUDE_PLUGIN_DATA" | "PLUGIN_DATA" => {
                self.data.map(|d| d.to_string_lossy().into_owned())
            }
            _ => match name.strip_prefix("user_config.") {
                Some(key) => self.config.get(key).cloned(),
                None => std::env::var(name).ok(),
            },
        };
        vars::expand(text, lookup).map_err(|e| match e {
            vars::VarError::Unset(name) => self.error(&unset_reason(&name)),
            other => self.error(&other.to_string()),
        })
    }

    /// A stdio server's environment: `CLAUDE_PLUGIN_ROOT` and
    /// `CLAUDE_PLUGIN_DATA` (Claude Code's, which the declared `env` may
    /// override), the declared `env` expanded, then `PLUGIN_ROOT` and
    /// `PLUGIN_DATA`, which Agent Plugins 1.0 (§9.1) has the client set last.
    /// The data names are left out when the plugin has no data folder.
    fn server_env(
        &self,
        declared: &BTreeMap<String, String>,
        root: &Path,
    ) -> Result<BTreeMap<String, String>, McpError> {
        let dir = |p: &Path| p.to_string_lossy().into_owned();
        let dirs = |prefix: &str| {
            let data = self.data.map(|d| (format!("{prefix}PLUGIN_DATA"), dir(d)));
            std::iter::once((format!("{prefix}PLUGIN_ROOT"), dir(root))).chain(data)
        };
        let mut env: BTreeMap<String, String> = dirs("CLAUDE_").collect();
        for (k, v) in declared {
            env.insert(k.clone(), self.expand_vars(v, root)?);
        }
        env.extend(dirs(""));
        Ok(env)
    }

    /// A relative program path (`bin/server`) is the plugin's and must stay
    /// inside its root; a bare name is looked up on PATH, an absolute path taken as given.
    fn inside_root(&self, program: String, root: &Path) -> Result<String, McpError> {
        if !program.contains('/') || Path::new(&program).is_absolute() {
            return Ok(program);
        }
        let path = plug_manifest::paths::resolve_inside(root, &program)
            .map_err(|e| self.error(&format!("command `{program}`: {e}")))?;
        Ok(path.to_string_lossy().into_owned())
    }
}

impl ServerSpec {
    /// A stdio server with defaults, for tools and tests that have no manifest.
    pub fn stdio(name: &str, program: &str, args: &[&str], cwd: &Path) -> ServerSpec {
        ServerSpec::with_transport(
            name,
            TransportSpec::Stdio {
                program: program.to_owned(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                env: BTreeMap::new(),
                cwd: cwd.to_path_buf(),
            },
        )
    }

    /// A Streamable HTTP server with defaults.
    pub fn http(name: &str, url: &str) -> ServerSpec {
        ServerSpec::with_transport(
            name,
            TransportSpec::Http {
                url: url.to_owned(),
            },
        )
    }

    fn with_transport(name: &str, transport: TransportSpec) -> ServerSpec {
        ServerSpec {
            name: name.to_owned(),
            transport,
            auth: AuthSpec::None,
            timeout: DEFAULT_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            cache: None,
            backoff: Backoff::default(),
            retry_tools: BTreeSet::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            lifecycle: Lifecycle::Initialize,
        }
    }
}

struct Resolver<'a> {
    server: &'a str,
    config: &'a BTreeMap<String, String>,
    /// The installed plugin's data folder (`CLAUDE_PLUGIN_DATA`).
    data: Option<&'a Path>,
}

/// Why `${name}` has no value, and how to give it one.
fn unset_reason(name: &str) -> String {
    if let Some(key) = name.strip_prefix("user_config.") {
        return format!(
            "`${{{name}}}` needs the plugin's user config `{key}`; set it with \
             `plugctl install <source> --set {key}=...`, `plugctl config set <plugin> {key}=...` \
             or `--set {key}=...`"
        );
    }
    if name == "CLAUDE_PLUGIN_DATA" {
        return "`${CLAUDE_PLUGIN_DATA}` is the data folder of an installed plugin; \
                install the plugin (`plugctl install`) and use it by name"
            .to_owned();
    }
    vars::VarError::Unset(name.to_owned()).to_string()
}

impl Resolver<'_> {
    fn error(&self, reason: &str) -> McpError {
        McpError::Config {
            server: self.server.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.config
            .get(&format!("{}.{key}", self.server))
            .map(String::as_str)
    }

    /// Replaces `<name>` with config values and `<env:NAME>` with plugctl's environment.
    fn resolve(&self, text: &str) -> Result<String, McpError> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, inner) in scan(text) {
            out.push_str(&text[last..range.start]);
            last = range.end;
            if let Some(var) = inner.strip_prefix("env:") {
                let value = std::env::var(var).map_err(|_| {
                    self.error(&format!("`<env:{var}>` is used but `{var}` is not set"))
                })?;
                out.push_str(&value);
            } else if let Some(value) = self.config.get(inner) {
                out.push_str(value);
            } else {
                return Err(self.error(&format!(
                    "`<{inner}>` has no value; pass `--set {inner}=...`"
                )));
            }
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    /// A bare name is looked up on PATH and an absolute path is taken as
    /// given; a relative path (`./bin/server`) is the plugin's and must stay inside it.
    fn program(&self, command: &str, root: &Path) -> Result<String, McpError> {
        let program = self.resolve(command)?;
        if !program.contains('/') || Path::new(&program).is_absolute() {
            return Ok(program);
        }
        let path = plug_manifest::paths::resolve_inside(root, &program)
            .map_err(|e| self.error(&format!("command `{program}`: {e}")))?;
        Ok(path.to_string_lossy().into_owned())
    }

    fn api_key(&self, root: &Path) -> Result<AuthSpec, McpError> {
        let s = self.server;
        let source = match (self.setting("api_key_env"), self.setting("api_key_file")) {
            (Some(var), None) => KeySource::Env(var.to_owned()),
            (None, Some(file)) => KeySource::File(root.join(file)),
            (Some(_), Some(_)) => {
                return Err(self.error(&format!(
                    "set one of `{s}.api_key_env` and `{s}.api_key_file`, not both"
                )));
            }
            (None, None) => {
                return Err(self.error(&format!(
                    "`auth: api_key` needs `--set {s}.api_key_env=VAR` or `--set {s}.api_key_file=PATH`"
                )));
            }
        };
        Ok(AuthSpec::ApiKey {
            header: self
                .setting("api_key_header")
                .unwrap_or("x-api-key")
                .to_owned(),
            source,
        })
    }

    fn cache(&self) -> Result<Option<CachePolicy>, McpError> {
        let Some(ttl) = self.setting("cache_ttl") else {
            return Ok(None);
        };
        Ok(Some(CachePolicy {
            ttl: self.duration("cache_ttl", ttl)?,
            max_entries: self.number("cache_max_entries", 256)?,
            tools: self.list("cache_tools"),
        }))
    }

    fn list(&self, key: &str) -> BTreeSet<String> {
        self.setting(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn duration(&self, key: &str, text: &str) -> Result<Duration, McpError> {
        humantime::parse_duration(text)
            .map_err(|e| self.error(&format!("`{}.{key}` = `{text}`: {e}", self.server)))
    }

    fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, McpError> {
        match self.setting(key) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                self.error(&format!(
                    "`{}.{key}` = `{text}` is not a number",
                    self.server
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::SourceSpan;

    fn server(transport: McpTransport, auth: McpAuth) -> McpServer {
        McpServer {
            name: "pricing".to_owned(),
            transport,
            auth,
            timeout: None,
            headers: BTreeMap::new(),
            disabled: false,
            span: SourceSpan::from(0..0),
        }
    }

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn resolves_endpoint_placeholder_and_iam_settings() {
        let s = server(
            McpTransport::Http {
                endpoint: "<mcp-server-endpoint>".to_owned(),
            },
            McpAuth::Iam,
        );
        let c = config(&[
            ("mcp-server-endpoint", "https://example.test/mcp"),
            ("pricing.iam_region", "eu-west-1"),
        ]);
        let spec = ServerSpec::from_manifest(&s, &c, Path::new("/p")).expect("spec");
        assert_eq!(
            spec.transport,
            TransportSpec::Http {
                url: "https://example.test/mcp".to_owned()
            }
        );
        assert_eq!(
            spec.auth,
            AuthSpec::Iam {
                service: "execute-api".to_owned(),
                region: Some("eu-west-1".to_owned())
            }
        );
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
        assert!(spec.cache.is_none());
    }

    #[test]
    fn missing_placeholder_names_the_set_flag() {
        let s = server(
            McpTransport::Http {
                endpoint: "<mcp-server-endpoint>".to_owned(),
            },
            McpAuth::None,
        );
        let err = ServerSpec::from_manifest(&s, &BTreeMap::new(), Path::new("/p"))
            .expect_err("unresolved");
        assert!(
            err.to_string().contains("--set mcp-server-endpoint="),
            "{err}"
        );
    }

    #[test]
    fn api_key_needs_exactly_one_source_and_debug_hides_env_values() {
        let http = McpTransport::Http {
            endpoint: "http://127.0.0.1:1/mcp".to_owned(),
        };
        let s = server(http, McpAuth::ApiKey);
        assert!(ServerSpec::from_manifest(&s, &BTreeMap::new(), Path::new("/p")).is_err());
        let spec = ServerSpec::from_manifest(
            &s,
            &config(&[("pricing.api_key_env", "PRICING_KEY")]),
            Path::new("/p"),
        )
        .expect("spec");
        assert_eq!(
            spec.auth,
            AuthSpec::ApiKey {
                header: "x-api-key".to_owned(),
                source: KeySource::Env("PRICING_KEY".to_owned())
            }
        );

        let stdio = McpTransport::Stdio {
            command: "node".to_owned(),
            args: vec!["<script>".to_owned()],
            env: [("TOKEN".to_owned(), "<token>".to_owned())].into(),
        };
        let c = config(&[
            ("script", "s.js"),
            ("token", "sekrit-value"),
            ("pricing.cache_ttl", "5m"),
        ]);
        let spec = ServerSpec::from_manifest(&server(stdio, McpAuth::None), &c, Path::new("/p"))
            .expect("spec");
        let shown = format!("{spec:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(shown.contains("TOKEN"));
        assert_eq!(spec.cache.expect("cache").ttl, Duration::from_secs(300));
    }

    #[test]
    fn bad_settings_are_reported() {
        let s = server(
            McpTransport::Http {
                endpoint: "http://x/mcp".to_owned(),
            },
            McpAuth::None,
        );
        for (k, v) in [
            ("pricing.timeout", "soon"),
            ("pricing.max_restarts", "-1"),
            ("pricing.protocol", "v9"),
        ] {
            let err =
                ServerSpec::from_manifest(&s, &config(&[(k, v)]), Path::new("/p")).expect_err(k);
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}

#[cfg(test)]
mod host_format_tests {
    use super::*;
    use miette::SourceSpan;

    fn stdio(args: &[&str], env: &[(&str, &str)]) -> McpServer {
        McpServer {
            name: "local".to_owned(),
            transport: McpTransport::Stdio {
                command: "srv".to_owned(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
            auth: McpAuth::None,
            timeout: None,
            headers: BTreeMap::new(),
            disabled: false,
            span: SourceSpan::from(0..0),
        }
    }

    #[test]
    fn the_data_folder_expands_and_is_exported_unless_env_sets_it() {
        let server = stdio(
            &["--state", "${CLAUDE_PLUGIN_DATA}/state.db"],
            &[("TOKEN", "${user_config.token}")],
        );
        let config = BTreeMap::from([("token".to_owned(), "t0k".to_owned())]);
        let data = Path::new("/store/data/p");
        let spec =
            ServerSpec::from_host_format_with_data(&server, &config, Path::new("/p"), Some(data))
                .expect("spec");
        let TransportSpec::Stdio { args, env, .. } = &spec.transport else {
            panic!("stdio expected");
        };
        assert_eq!(args, &["--state", "/store/data/p/state.db"]);
        let names: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            names,
            [
                ("CLAUDE_PLUGIN_DATA", "/store/data/p"),
                ("CLAUDE_PLUGIN_ROOT", "/p"),
                ("PLUGIN_DATA", "/store/data/p"),
                ("PLUGIN_ROOT", "/p"),
                ("TOKEN", "t0k")
            ]
        );
        let own = stdio(
            &["${PLUGIN_DATA}"],
            &[
                ("CLAUDE_PLUGIN_DATA", "/elsewhere"),
                ("PLUGIN_DATA", "/elsewhere"),
            ],
        );
        let spec =
            ServerSpec::from_host_format_with_data(&own, &config, Path::new("/p"), Some(data))
                .expect("spec");
        let TransportSpec::Stdio { args, env, .. } = &spec.transport else {
            panic!("stdio expected");
        };
        assert_eq!(args, &["/store/data/p"], "Agent Plugins' name expands too");
        let get = |name: &str| env.get(name).map(String::as_str);
        assert_eq!(get("CLAUDE_PLUGIN_DATA"), Some("/elsewhere"));
        assert_eq!(get("PLUGIN_DATA"), Some("/store/data/p"), "set last (§9.1)");
    }

    #[test]
    fn unset_user_config_and_data_say_how_to_set_them() {
        let server = stdio(&["${user_config.token}"], &[]);
        let err = ServerSpec::from_host_format(&server, &BTreeMap::new(), Path::new("/p"))
            .expect_err("no token");
        assert!(err.to_string().contains("--set token="), "{err}");
        let server = stdio(&["${CLAUDE_PLUGIN_DATA}"], &[]);
        let err = ServerSpec::from_host_format(&server, &BTreeMap::new(), Path::new("/p"))
            .expect_err("no data folder");
        assert!(err.to_string().contains("plugctl install"), "{err}");
    }
}
