//! `plug-serve`: the MCP server of `plugctl serve`. The skills of named
//! plugins become MCP tools, so that a coding agent (Claude Code, Cursor,
//! Codex) runs them through plugctl's permission gate, approvals, journal
//! and audit log, as `ActorType=agent`. Every call is a run of
//! [`plug_runtime::Runtime`], with the call's JSON arguments as its params.
//!
//! Start at [`PlugServer`]: `tools/list` comes from [`tools::Catalog`],
//! `tools/call` runs through [`run::call`]. Transports: stdio ([`serve_stdio`])
//! and Streamable HTTP on loopback behind a bearer token ([`http::serve_http`]).
//! [`serve`] is the whole of `plugctl serve`.

mod approval;
pub mod http;
mod progress;
mod run;
pub mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plug_runtime::Runtime;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use tools::Catalog;

/// How long shutdown waits for runs to reach a step boundary and finish.
const DRAIN_GRACE: Duration = Duration::from_secs(60);

/// Why `plugctl serve` could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A plugin could not be loaded.
    #[error("{0}")]
    Plugin(String),
    /// A plugin does not validate (its findings are kept for the front end to show).
    #[error("{} does not validate; fix it first (plugctl validate)", path.display())]
    Invalid {
        /// The plugin as given.
        path: PathBuf,
        /// Its findings.
        findings: Vec<plug_manifest::Finding>,
    },
    /// Two skills would be the same tool.
    #[error("two skills would both be the tool `{0}`")]
    DuplicateTool(String),
    /// Deny by default: the allow-list lets no skill be served.
    #[error("{0}")]
    NothingAllowed(String),
    /// `--http` named an address other hosts could reach.
    #[error("--http must be a loopback address (127.0.0.1:PORT or [::1]:PORT), not {0}")]
    NotLoopback(SocketAddr),
    /// The listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bearer token could not be read or stored.
    #[error("bearer token: {0}")]
    Token(String),
    /// The MCP session could not start.
    #[error("MCP session: {0}")]
    Session(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// What every call shares: the tools, the runtime (settings and permission
/// checker), and the bookkeeping that lets shutdown wait for runs.
pub struct Served {
    catalog: Catalog,
    runtime: Runtime,
    /// Each run holds a read guard; shutdown takes the write lock.
    runs: Arc<RwLock<()>>,
    shutdown: CancellationToken,
    /// Fires on a second signal during shutdown: runs stop mid-step, their
    /// step's processes killed, instead of finishing the step.
    stop_now: CancellationToken,
    /// A signal (not the client) began the shutdown.
    signalled: std::sync::atomic::AtomicBool,
}

impl Served {
    /// The shared state of a server.
    pub fn new(catalog: Catalog, runtime: Runtime) -> Arc<Served> {
        Arc::new(Served {
            catalog,
            runtime,
            runs: Arc::new(RwLock::new(())),
            shutdown: CancellationToken::new(),
            stop_now: CancellationToken::new(),
            signalled: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Asks every run to stop at its next step boundary (a run waiting for
    /// an approval ends unanswered) and waits for them, at most `grace`.
    pub async fn drain(&self, grace: Duration) {
        self.shutdown.cancel();
        if tokio::time::timeout(grace, self.runs.write())
            .await
            .is_err()
        {
            eprintln!(
                "plugctl serve: runs still going after {}; `plugctl runs` shows them, `plugctl resume` continues them",
                humantime::format_duration(grace)
            );
        }
    }

    /// Fires when the server shuts down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Stops the server on SIGINT or SIGTERM: the first lets runs finish
    /// their step (at most [`DRAIN_GRACE`]), a second stops them mid-step.
    async fn stop_on_signals(self: Arc<Self>) {
        let mut signals = plug_runtime::signals::StopSignals::listen();
        signals.recv().await;
        eprintln!(
            "plugctl serve: stopping; runs finish their current step (at most {}), a second signal stops them now",
            humantime::format_duration(DRAIN_GRACE)
        );
        (self.signalled).store(true, std::sync::atomic::Ordering::SeqCst);
        self.shutdown.cancel();
        tokio::spawn(async move {
            signals.recv().await;
            self.stop_now.cancel();
        });
    }
}

/// Why `serve` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed the session (stdio).
    ClientLeft,
    /// SIGINT or SIGTERM stopped the server; its runs are interrupted.
    Signalled,
}

/// The MCP server: one per session, all sharing [`Served`].
#[derive(Clone)]
pub struct PlugServer(pub Arc<Served>);

const INSTRUCTIONS: &str = "Each tool runs one plugctl skill as ActorType=agent: IAM \
permissions are checked before the first step, actions reserved for people wait for a human \
approval (asked through this client, or with `plugctl approve <run-id>`), and every step is \
journaled and written to the audit log. dry_run=true shows the plan without running anything.";

impl ServerHandler for PlugServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("plugctl", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.0.catalog.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = self.0.catalog.find(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("no tool named `{}`", request.name),
                None,
            ));
        };
        Ok(run::call(&self.0, tool, request.arguments, context)
            .await
            .into())
    }
}

/// Serves one client over stdin/stdout until it closes them or the server
/// shuts down, then lets runs reach a step boundary.
pub async fn serve_stdio(served: Arc<Served>) -> Result<(), ServeError> {
    let transport = rmcp::transport::stdio_pipes();
    let running = PlugServer(served.clone())
        .serve(transport)
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    tokio::select! {
        _ = running.waiting() => {}
        () = served.shutdown().cancelled() => {}
    }
    served.drain(DRAIN_GRACE).await;
    Ok(())
}

/// How `plugctl serve` listens.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Plugin folders or manifest files.
    pub plugins: Vec<PathBuf>,
    /// Streamable HTTP on this loopback address instead of stdio.
    pub http: Option<SocketAddr>,
    /// The bearer token's file (HTTP only).
    pub token_file: Option<PathBuf>,
}

/// Serves `options.plugins` until the client goes away (stdio), or SIGINT
/// or SIGTERM (both transports).
pub fn serve(runtime: Runtime, options: &ServeOptions) -> Result<Ended, ServeError> {
    let catalog = Catalog::load(&options.plugins, &runtime.settings().governance.allow)?;
    let state = runtime.settings().state.clone();
    let tokio = tokio::runtime::Runtime::new().map_err(ServeError::Runtime)?;
    let served = Served::new(catalog, runtime);
    let result = tokio.block_on(async {
        tokio::spawn(served.clone().stop_on_signals());
        match options.http {
            Some(addr) => {
                http::serve_http(served.clone(), addr, options.token_file.as_deref(), &state).await
            }
            None => serve_stdio(served.clone()).await,
        }?;
        Ok(
            match served.signalled.load(std::sync::atomic::Ordering::SeqCst) {
                true => Ended::Signalled,
                false => Ended::ClientLeft,
            },
        )
    });
    // A blocking stdin read cannot be cancelled; do not wait for it.
    tokio.shutdown_timeout(Duration::from_secs(1));
    result
}
