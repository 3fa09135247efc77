//! Streamable HTTP on a loopback address, at `/mcp`, for clients that connect
//! to a running server rather than start one. Every request must carry
//! `Authorization: Bearer <token>`; rmcp's service also refuses `Host` headers
//! other than localhost, 127.0.0.1 and ::1 (DNS rebinding).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use plug_runtime::StateDir;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use super::{DRAIN_GRACE, PlugServer, ServeError, Served};

/// The variable a bearer token may come from.
pub const TOKEN_ENV: &str = "PLUGCTL_SERVE_TOKEN";

/// How long a client has to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The path the MCP endpoint answers on.
const ENDPOINT: &str = "/mcp";

type Body = BoxBody<Bytes, Infallible>;
type Mcp = StreamableHttpService<PlugServer, LocalSessionManager>;

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

impl BearerToken {
    /// The token from `file`, else `$PLUGCTL_SERVE_TOKEN`, else a new random
    /// one stored (mode 0600) in `<state dir>/serve-token`.
    pub fn obtain(file: Option<&Path>, state: &StateDir) -> Result<BearerToken, ServeError> {
        let text = match file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| ServeError::Token(format!("{}: {e}", path.display())))?,
            None => match std::env::var(TOKEN_ENV) {
                Ok(value) => value,
                Err(_) => return BearerToken::generate(state),
            },
        };
        let text = text.trim();
        if text.len() < 16 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServeError::Token(
                "must be at least 16 printable characters without spaces".to_owned(),
            ));
        }
        Ok(BearerToken(Arc::from(text)))
    }

    fn generate(state: &StateDir) -> Result<BearerToken, ServeError> {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let path = state.root().join("serve-token");
        write_private(&path, &token)
            .map_err(|e| ServeError::Token(format!("{}: {e}", path.display())))?;
        eprintln!(
            "plugctl serve: bearer token written to {} (or set {TOKEN_ENV})",
            path.display()
        );
        Ok(BearerToken(Arc::from(token)))
    }

    /// Whether `request` carries this token, compared in constant time.
    fn admits(&self, request: &Request<Incoming>) -> bool {
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim_start())
            .unwrap_or_default();
        let want = self.0.as_bytes();
        given.len() == want.len()
            && given
                .bytes()
                .zip(want)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Serves until the server shuts down (Ctrl-C or SIGTERM), then lets runs reach a step
/// boundary. The token is obtained (and a new one stored) only once the
/// address is ours, so a second server refused the address never replaces
/// the token a running server's clients use.
pub async fn serve_http(
    served: Arc<Served>,
    addr: SocketAddr,
    token_file: Option<&Path>,
    state: &StateDir,
) -> Result<(), ServeError> {
    if !addr.ip().is_loopback() {
        return Err(ServeError::NotLoopback(addr));
    }
    let listen = |source| ServeError::Listen { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(listen)?;
    let local = listener.local_addr().map_err(listen)?;
    let token = BearerToken::obtain(token_file, state)?;
    eprintln!("plugctl serve: listening on http://{local}{ENDPOINT}");
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(served.shutdown().child_token());
    let factory = {
        let served = served.clone();
        move || Ok(PlugServer(served.clone()))
    };
    let mcp: Mcp = StreamableHttpService::new(factory, Arc::default(), config);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => connection(stream, mcp.clone(), token.clone()),
                Err(e) => eprintln!("plugctl serve: accept failed: {e}"),
            },
            () = served.shutdown().cancelled() => break,
        }
    }
    served.drain(DRAIN_GRACE).await;
    Ok(())
}

fn connection(stream: tokio::net::TcpStream, mcp: Mcp, token: BearerToken) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (mcp, token) = (mcp.clone(), token.clone());
        async move { Ok::<_, Infallible>(route(request, &mcp, &token).await) }
    });
    tokio::spawn(async move {
        // A client that opens a connection and never finishes its headers
        // is dropped instead of holding the connection forever.
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

async fn route(request: Request<Incoming>, mcp: &Mcp, token: &BearerToken) -> Response<Body> {
    if request.uri().path() != ENDPOINT {
        return status(StatusCode::NOT_FOUND);
    }
    if !token.admits(&request) {
        let mut response = status(StatusCode::UNAUTHORIZED);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    let json = (request.headers().get(header::CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if request.method() != hyper::Method::POST || !json {
        // rmcp answers these (405, 415, ...) as the specification says.
        return mcp.handle(request).await;
    }
    match read_message(request).await {
        Ok(request) => mcp.handle(request).await,
        Err(refused) => refused,
    }
}

/// The largest request body read (a tool call's arguments, JSON-RPC framed).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Reads a POST body whole (at most [`MAX_BODY_BYTES`]) and checks it is a
/// JSON-RPC message, so a malformed one gets what the MCP and JSON-RPC
/// specifications say (400 with a parse or invalid-request error) rather
/// than the 415 rmcp would answer; the message then goes on as read.
async fn read_message(
    request: Request<Incoming>,
) -> Result<Request<http_body_util::Full<Bytes>>, Response<Body>> {
    let (parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(status(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let error = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(_) => Some((-32700, "Parse error: the body is not JSON")),
        Ok(value) => serde_json::from_value::<rmcp::model::ClientJsonRpcMessage>(value)
            .err()
            .map(|_| (-32600, "Invalid Request: not a JSON-RPC message")),
    };
    if let Some((code, message)) = error {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": code, "message": message},
        });
        let mut response = Response::new(
            http_body_util::Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        );
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        return Err(response);
    }
    Ok(Request::from_parts(parts, http_body_util::Full::new(bytes)))
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Empty::new().boxed());
    *response.status_mut() = code;
    response
}
