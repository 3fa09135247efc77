//! `plugctl serve`: named plugins' skills as MCP tools, over stdio or
//! Streamable HTTP on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::Output;
use crate::cli_run::{IdentityArgs, RunArgs};
use crate::exit::Exit;
use crate::serve::http::{BearerToken, serve_http};
use crate::serve::tools::Catalog;
use crate::serve::{ServeError, Served, serve_stdio};

/// `plugctl serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Plugin folders or manifest files; each skill becomes the tool `<plugin>__<skill>`.
    #[arg(required = true)]
    pub plugins: Vec<PathBuf>,
    /// An operator configuration value, `name=value` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = crate::cli::parse_key_value)]
    pub set: Vec<(String, String)>,
    /// An identity-based IAM policy every run is checked against before step 1 (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// The runs' working directory (commands run here; `read_file` reads here).
    #[arg(long, default_value = ".")]
    pub workdir: PathBuf,
    /// How long a run waits for a human approval.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub approval_timeout: Duration,
    /// Serve Streamable HTTP at `http://ADDR/mcp` (loopback only) instead of stdio.
    #[arg(long, value_name = "127.0.0.1:PORT")]
    pub http: Option<SocketAddr>,
    /// The HTTP bearer token's file (default: $PLUGCTL_SERVE_TOKEN, else a new token
    /// written to the state directory's `serve-token`).
    #[arg(long, value_name = "FILE", requires = "http")]
    pub token_file: Option<PathBuf>,
    /// AWS identity.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A configuration file (flags and environment variables win over it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Serves until the client goes away (stdio) or Ctrl-C (HTTP).
pub fn run(args: ServeArgs) -> Exit {
    let template = match template(&args) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let catalog = match Catalog::load(&args.plugins) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let checker = match super::run::policies(&template.policies) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&ServeError::Runtime(e)),
    };
    let served = Served::new(catalog, template, checker);
    let result = runtime.block_on(async {
        match args.http {
            Some(addr) => {
                let token = BearerToken::obtain(args.token_file.as_deref())?;
                let shutdown = served.shutdown().clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        shutdown.cancel();
                    }
                });
                serve_http(served, addr, token).await
            }
            None => serve_stdio(served).await,
        }
    });
    // A blocking stdin read cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => Exit::Success,
        Err(e) => fail(&e),
    }
}

/// `plugctl run`'s arguments shared by every call: settings from flags, the
/// environment and the configuration file; runs always act as the agent.
fn template(args: &ServeArgs) -> Result<RunArgs, Exit> {
    let mut template = RunArgs {
        plugin: PathBuf::new(),
        skill: String::new(),
        params: Vec::new(),
        set: args.set.clone(),
        actor: "agent".to_owned(),
        policies: args.policies.clone(),
        approve_from: None,
        approval_timeout: args.approval_timeout,
        workdir: args.workdir.clone(),
        identity: args.identity.clone(),
        config: args.config.clone(),
        output: Output::Json,
    };
    super::run::apply_config(&mut template)?;
    Ok(template)
}

fn fail(error: &ServeError) -> Exit {
    eprintln!("error: {error}");
    Exit::Usage
}
