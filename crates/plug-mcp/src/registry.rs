//! The plugin's servers: started on first use, shared by concurrent calls,
//! restarted with bounded backoff after a crash, and stopped together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::sigv4::SigningSource;
use async_trait::async_trait;
use plug_core::ports::{ToolCall, ToolCaller, ToolError, ToolResult};
use plug_manifest::Plugin;
use rmcp::model::Tool;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::cache::ResultCache;
use crate::client::{CallOptions, McpClient};
use crate::elicitation::ElicitFn;
use crate::error::McpError;
use crate::spec::ServerSpec;

/// One server's state.
struct Slot {
    spec: ServerSpec,
    client: Mutex<Option<Arc<McpClient>>>,
    /// Whether a start was ever attempted (later starts are restarts).
    started: AtomicBool,
    /// Restarts since the last successful call.
    restarts: AtomicU32,
    cache: Option<ResultCache>,
    /// Tools the server marks read-only or idempotent, learnt after the first crash.
    retry_safe: Mutex<Option<BTreeSet<String>>>,
}

/// The plugin's MCP servers. Implements [`ToolCaller`].
pub struct Registry {
    slots: BTreeMap<String, Result<Arc<Slot>, McpError>>,
    signing: Option<Arc<dyn SigningSource>>,
    elicitation: Option<ElicitFn>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("servers", &self.slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// The servers of a loaded plugin (native `mcp_servers`, plus a
    /// `.mcp.json` at its root; or a host-format plugin's servers, with
    /// `${VAR}` expansion), with the operator's config values. A
    /// server whose settings are unusable reports its error when used, so one
    /// bad server does not take the others down.
    pub fn from_plugin(plugin: &Plugin, config: &BTreeMap<String, String>) -> Registry {
        Registry::from_plugin_with_data(plugin, config, None)
    }

    /// [`Registry::from_plugin`] for an installed plugin with a persistent
    /// data folder (`CLAUDE_PLUGIN_DATA` for host-format servers).
    pub fn from_plugin_with_data(
        plugin: &Plugin,
        config: &BTreeMap<String, String>,
        data: Option<&Path>,
    ) -> Registry {
        let format = plugin
            .manifest
            .as_ref()
            .map(|m| m.format)
            .unwrap_or_default();
        let servers = plugin
            .manifest
            .as_ref()
            .map(|m| m.mcp_servers.as_slice())
            .unwrap_or_default();
        // Servers shipped `"disabled": true` are listed by `inspect`, never started.
        let mut slots: BTreeMap<_, _> = servers
            .iter()
            .filter(|s| !s.disabled)
            .map(|s| {
                let slot = ServerSpec::for_plugin_with_data(format, s, config, &plugin.root, data)
                    .map(Slot::new);
                (s.name.clone(), slot)
            })
            .collect();
        // A native plugin may also ship a Claude-style `.mcp.json` (host-format
        // plugins have it in their manifest already); the native manifest wins a name clash.
        let extra = format.is_native().then(|| plugin.root.join(".mcp.json"));
        if let Some(Ok(text)) = extra.map(std::fs::read_to_string) {
            match crate::mcp_json::servers_from_mcp_json(&text, &plugin.root) {
                Ok(specs) => {
                    for spec in specs {
                        slots
                            .entry(spec.name.clone())
                            .or_insert_with(|| Ok(Slot::new(spec)));
                    }
                }
                Err(e) => {
                    slots.insert(".mcp.json".to_owned(), Err(e));
                }
            }
        }
        Registry {
            slots,
            signing: None,
            elicitation: None,
        }
    }

    /// A registry of ready-made specs.
    pub fn from_specs(specs: impl IntoIterator<Item = ServerSpec>) -> Registry {
        Registry {
            slots: specs
                .into_iter()
                .map(|s| (s.name.clone(), Ok(Slot::new(s))))
                .collect(),
            signing: None,
            elicitation: None,
        }
    }

    /// Signs `auth: iam` requests as `signing` (a run's own session); without
    /// it `auth: iam` servers do not start.
    pub fn with_signing(mut self, signing: Arc<dyn SigningSource>) -> Registry {
        self.signing = Some(signing);
        self
    }

    /// Lets servers ask the user for input through `ask` (form-mode
    /// elicitation); without it plugctl declines their requests.
    pub fn with_elicitation(mut self, ask: ElicitFn) -> Registry {
        self.elicitation = Some(ask);
        self
    }

    /// The servers' names.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(String::as_str)
    }

    fn slot(&self, server: &str) -> Result<&Arc<Slot>, McpError> {
        match self.slots.get(server) {
            None => Err(McpError::UnknownServer(server.to_owned())),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(slot)) => Ok(slot),
        }
    }

    /// The live connection to `server`, starting or restarting it as needed.
    pub async fn client(&self, server: &str) -> Result<Arc<McpClient>, McpError> {
        let slot = self.slot(server)?;
        slot.connected(self).await
    }

    /// Pings `server` (starting it if needed); returns the round trip.
    pub async fn health(&self, server: &str, timeout: Duration) -> Result<Duration, McpError> {
        self.client(server).await?.ping(timeout).await
    }

    /// Every tool of `server`.
    pub async fn tools(&self, server: &str) -> Result<Vec<Tool>, McpError> {
        self.client(server).await?.list_tools().await
    }

    /// Calls `tool`. After a crash mid-call the server is restarted, and the
    /// call is repeated once only if the tool is read-only or idempotent; a
    /// call the dead server never received is repeated once in any case.
    /// When the server is unreachable, a fresh-enough cached answer stands in.
    pub async fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: &Value,
        options: &CallOptions,
    ) -> Result<ToolResult, McpError> {
        let slot = self.slot(server)?;
        let outcome = match self.call_once(slot, tool, arguments, options).await {
            Err(McpError::NotSent { .. }) => self.call_once(slot, tool, arguments, options).await,
            Err(McpError::Closed { .. }) if self.retry_safe(slot, tool).await => {
                self.call_once(slot, tool, arguments, options).await
            }
            other => other,
        };
        match outcome {
            Ok(result) => {
                slot.restarts.store(0, Ordering::Relaxed);
                if let Some(cache) = &slot.cache {
                    cache.store(tool, arguments, &result);
                }
                Ok(result)
            }
            Err(e) if e.is_unreachable() => {
                match slot.cache.as_ref().and_then(|c| c.lookup(tool, arguments)) {
                    Some(cached) => Ok(cached),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn call_once(
        &self,
        slot: &Slot,
        tool: &str,
        arguments: &Value,
        options: &CallOptions,
    ) -> Result<ToolResult, McpError> {
        let client = slot.connected(self).await?;
        client.call_tool(tool, arguments, options).await
    }

    /// Whether `tool` may be repeated after a crash (restarting the server to find out).
    async fn retry_safe(&self, slot: &Slot, tool: &str) -> bool {
        if slot.spec.retry_tools.contains(tool) {
            return true;
        }
        let mut known = slot.retry_safe.lock().await;
        if known.is_none() {
            let Ok(client) = slot.connected(self).await else {
                return false;
            };
            let Ok(tools) = client.list_tools().await else {
                return false;
            };
            *known = Some(
                tools
                    .iter()
                    .filter(|t| {
                        t.annotations.as_ref().is_some_and(|a| {
                            a.read_only_hint == Some(true) || a.idempotent_hint == Some(true)
                        })
                    })
                    .map(|t| t.name.to_string())
                    .collect(),
            );
        }
        known.as_ref().is_some_and(|k| k.contains(tool))
    }

    /// Stops every running server (in parallel, each bounded in time).
    pub async fn shutdown(&self) {
        let mut stopping = tokio::task::JoinSet::new();
        for slot in self.slots.values().flatten() {
            if let Some(client) = slot.client.lock().await.take() {
                stopping.spawn(async move { client.shutdown().await });
            }
        }
        while stopping.join_next().await.is_some() {}
    }
}

impl Slot {
    fn new(spec: ServerSpec) -> Arc<Slot> {
        Arc::new(Slot {
            cache: spec.cache.clone().map(ResultCache::new),
            spec,
            client: Mutex::new(None),
            started: AtomicBool::new(false),
            restarts: AtomicU32::new(0),
            retry_safe: Mutex::new(None),
        })
    }

    /// Returns the live client, or starts one. Callers queue on the lock while
    /// a (re)start is in progress, so a crash causes one restart, not one per call.
    async fn connected(&self, registry: &Registry) -> Result<Arc<McpClient>, McpError> {
        let mut current = self.client.lock().await;
        if let Some(client) = current.as_ref() {
            if !client.is_closed() {
                return Ok(client.clone());
            }
            if let Some(dead) = current.take() {
                dead.shutdown().await;
            }
        }
        if self.started.swap(true, Ordering::Relaxed) {
            let attempt = self.restarts.fetch_add(1, Ordering::Relaxed) + 1;
            let backoff = self.spec.backoff;
            if attempt > backoff.max_attempts {
                self.restarts.store(backoff.max_attempts, Ordering::Relaxed);
                return Err(McpError::Unreachable {
                    server: self.spec.name.clone(),
                    reason: format!("gave up after {} restarts", backoff.max_attempts),
                });
            }
            tokio::time::sleep(backoff.delay(attempt, fastrand::f64())).await;
        }
        let client = McpClient::connect_with(
            &self.spec,
            registry.signing.clone(),
            registry.elicitation.clone(),
        )
        .await?;
        let client = Arc::new(client);
        *current = Some(client.clone());
        Ok(client)
    }
}

#[async_trait]
impl ToolCaller for Registry {
    async fn call_tool(&self, call: &ToolCall) -> Result<ToolResult, ToolError> {
        let options = CallOptions {
            trace: call.trace,
            ..CallOptions::default()
        };
        self.call(&call.server, &call.tool, &call.arguments, &options)
            .await
            .map_err(ToolError::from)
    }
}
