//! What can go wrong talking to an MCP server, and how it maps onto the port's [`ToolError`].

use std::time::Duration;

use plug_core::ports::ToolError;
use rmcp::ServiceError;
use rmcp::transport::streamable_http_client::StreamableHttpError;

/// Why an MCP operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum McpError {
    /// The plugin declares no server by that name.
    #[error("no MCP server named `{0}` in this plugin")]
    UnknownServer(String),
    /// The server's declaration or the operator's config cannot be used.
    #[error("MCP server `{server}`: {reason}")]
    Config {
        /// The server.
        server: String,
        /// What is wrong, naming the config key to set.
        reason: String,
    },
    /// The server could not be started, reached or initialized.
    #[error("MCP server `{server}` unreachable: {reason}")]
    Unreachable {
        /// The server.
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection ended while the call was in flight (the server exited or hung up).
    #[error("MCP server `{server}` closed the connection: {reason}")]
    Closed {
        /// The server.
        server: String,
        /// What is known about why (exit status, last stderr lines).
        reason: String,
    },
    /// A stdio server was gone before the request could be written to it, so
    /// the request never ran and may be sent again to a restarted server.
    #[error("MCP server `{server}` was gone before the request was sent: {reason}")]
    NotSent {
        /// The server.
        server: String,
        /// What is known about why (exit status, last stderr lines).
        reason: String,
    },
    /// The server refused plugctl's credentials (HTTP 401 or 403).
    #[error(
        "MCP server `{server}` refused the credentials (HTTP 401/403; challenge: {challenge}); plugctl authenticates with `auth: iam` (SigV4) or `auth: api_key`, not OAuth"
    )]
    Unauthorized {
        /// The server.
        server: String,
        /// The server's `WWW-Authenticate` challenge (no secret: it names the realm, scopes, metadata URL).
        challenge: String,
    },
    /// The call took longer than its timeout (the server was sent `notifications/cancelled`).
    #[error("MCP call timed out after {0:?}")]
    Timeout(Duration),
    /// The caller cancelled the call (the server was sent `notifications/cancelled`).
    #[error("MCP call cancelled")]
    Cancelled,
    /// The server broke the protocol or answered with a JSON-RPC error.
    #[error("MCP protocol error: {0}")]
    Protocol(String),
}

impl McpError {
    /// Whether the server could not be reached at all, so a cached answer may stand in.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            McpError::Unreachable { .. } | McpError::Closed { .. } | McpError::NotSent { .. }
        )
    }

    /// A refusal, keeping a bounded prefix of the server's challenge.
    pub(crate) fn unauthorized(server: &str, challenge: &str) -> McpError {
        McpError::Unauthorized {
            server: server.to_owned(),
            challenge: challenge.chars().take(300).collect(),
        }
    }

    /// Maps an rmcp error of a request to `server`.
    pub(crate) fn from_service(server: &str, error: ServiceError) -> McpError {
        if let Some(challenge) = error.auth_challenge() {
            return McpError::unauthorized(server, challenge);
        }
        if let Some(max_size) = body_too_large(&error) {
            return McpError::Protocol(format!(
                "server `{server}`: server sent a message larger than {max_size} bytes"
            ));
        }
        match error {
            ServiceError::McpError(data) => {
                McpError::Protocol(format!("JSON-RPC error {}: {}", data.code.0, data.message))
            }
            ServiceError::Timeout { timeout } => McpError::Timeout(timeout),
            ServiceError::Cancelled { .. } => McpError::Cancelled,
            ServiceError::TransportClosed => McpError::Closed {
                server: server.to_owned(),
                reason: "transport closed".to_owned(),
            },
            ServiceError::TransportSend(e) => McpError::Unreachable {
                server: server.to_owned(),
                reason: e.to_string(),
            },
            other => McpError::Protocol(other.to_string()),
        }
    }
}

/// The bound a plain JSON answer over HTTP exceeded, if that is why a send failed.
fn body_too_large(error: &ServiceError) -> Option<usize> {
    let ServiceError::TransportSend(error) = error else {
        return None;
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error.error.as_ref());
    while let Some(current) = source {
        // Both HTTP clients (plain and SigV4) have reqwest's error type.
        if let Some(StreamableHttpError::ResponseBodyTooLarge { max_size }) =
            current.downcast_ref::<StreamableHttpError<reqwest_rmcp::Error>>()
        {
            return Some(*max_size);
        }
        source = current.source();
    }
    None
}

impl From<McpError> for ToolError {
    fn from(error: McpError) -> ToolError {
        match error {
            McpError::UnknownServer(name) => ToolError::UnknownServer(name),
            McpError::Timeout(after) => ToolError::Timeout(after),
            McpError::Unreachable { server, reason }
            | McpError::Closed { server, reason }
            | McpError::NotSent { server, reason } => ToolError::Unreachable { server, reason },
            McpError::Config { server, reason } => ToolError::Unreachable { server, reason },
            McpError::Unauthorized { server, challenge } => ToolError::Unreachable {
                reason: format!("refused the credentials (challenge: {challenge})"),
                server,
            },
            McpError::Cancelled => ToolError::Protocol("call cancelled".to_owned()),
            McpError::Protocol(message) => ToolError::Protocol(message),
        }
    }
}
