//! The MCP client of plugctl, built on the official Rust SDK (`rmcp`).
//!
//! Start at [`Registry`]: it is built from a loaded plugin's `mcp_servers`
//! (and a Claude-style `.mcp.json`, see [`mcp_json`]) plus the operator's config values, starts each server on first use, keeps
//! one connection per server that carries many calls at once, restarts a
//! crashed server with bounded exponential backoff, and implements the
//! interpreter's [`plug_core::ports::ToolCaller`] port. [`McpClient`] is one
//! connection (stdio child process or Streamable HTTP) with every request
//! plugctl needs. The config keys an operator may set (timeouts, API-key
//! source, SigV4 service and region, cache, restarts) are listed in [`spec`].
//!
//! Security: stdio servers start with an empty environment plus their
//! declared `env` and PATH, HOME, LANG; API keys and SigV4 headers are marked
//! sensitive and every type holding a secret redacts it in `Debug`.
//! Servers may ask the user for input (elicitation) only when the application
//! passes an [`ElicitFn`] ([`Registry::with_elicitation`]); otherwise plugctl
//! declines.

pub mod backoff;
pub mod cache;
pub mod client;
pub mod elicitation;
pub mod error;
mod http_faults;
pub mod mcp_json;
pub mod progress;
pub mod registry;
pub mod secret;
pub mod sigv4;
pub mod spec;
pub mod stdio;

pub use client::{CallOptions, McpClient, ServerSummary};
pub use elicitation::{ElicitFn, ElicitationAnswer, ElicitationRequest};
pub use error::McpError;
pub use progress::{Progress, ProgressFn};
pub use registry::Registry;
pub use sigv4::{SigningSource, StaticSigning};
pub use spec::{AuthSpec, ServerSpec, TransportSpec};

/// rmcp's protocol types, for callers that read tools, resources and prompts.
pub use rmcp::model;
