//! One connection to one MCP server, over stdio or Streamable HTTP.
//!
//! Requests share the connection: any number may be in flight at once, each
//! with its own timeout, progress callback and cancellation.

use std::sync::{Arc, Once};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use plug_core::ports::ToolResult;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest, JsonObject,
    ListPromptsRequest, ListResourcesRequest, ListToolsRequest, PaginatedRequestParams,
    PingRequest, Prompt, ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams,
    ReadResourceResult, RequestId, RequestParamsMeta as _, Resource, ServerResult, Tool,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, Peer, PeerRequestOptions, RoleClient, RunningService,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ServiceError, ServiceExt};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::elicitation::ElicitFn;
use crate::error::McpError;
use crate::http_faults::{FaultWatch, StreamFaults};
use crate::progress::{PlugHandler, ProgressFn, ProgressRouter};
use crate::secret::Secret;
use crate::sigv4::{SigV4Client, Signer, SigningSource};
use crate::spec::{AuthSpec, KeySource, Lifecycle, ServerSpec, TransportSpec};
use crate::stdio::{self, ChildHandle};

/// Options of one request.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// Overrides the server's timeout.
    pub timeout: Option<Duration>,
    /// Receives the server's progress reports for this call.
    pub progress: Option<ProgressFn>,
    /// Cancelling it abandons the call and tells the server (`notifications/cancelled`).
    pub cancel: Option<CancellationToken>,
    /// The caller's span, sent as `traceparent` in the request's `_meta`
    /// (MCP's convention for W3C trace context) and, over Streamable HTTP,
    /// as a header too.
    pub trace: Option<plug_core::TraceContext>,
}

/// Who answered the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerSummary {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// The negotiated protocol revision.
    pub protocol_version: String,
    /// The server's `instructions`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// A live connection.
pub struct McpClient {
    server: String,
    peer: Peer<RoleClient>,
    service: Mutex<Option<RunningService<RoleClient, PlugHandler>>>,
    progress: ProgressRouter,
    child: Option<ChildHandle>,
    /// Why HTTP answers broke off, by request (HTTP only).
    faults: Option<Arc<StreamFaults>>,
    timeout: Duration,
    summary: ServerSummary,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.server)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// reqwest is built without a default TLS provider; use ring, which the AWS crates already bring.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already the default: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl McpClient {
    /// Connects (spawning the child for stdio) and completes the handshake,
    /// within the server's startup timeout. `signing` is who `auth: iam`
    /// requests are signed as; without it such a server does not start.
    pub async fn connect(
        spec: &ServerSpec,
        signing: Option<Arc<dyn SigningSource>>,
    ) -> Result<McpClient, McpError> {
        McpClient::connect_with(spec, signing, None).await
    }

    /// Like [`McpClient::connect`], announcing form-mode elicitation and
    /// handing the server's requests to `elicitation` when given.
    pub async fn connect_with(
        spec: &ServerSpec,
        signing: Option<Arc<dyn SigningSource>>,
        elicitation: Option<ElicitFn>,
    ) -> Result<McpClient, McpError> {
        let handler = PlugHandler::new(
            &spec.name,
            ProtocolVersion::LATEST_WITH_INITIALIZE,
            elicitation,
        );
        let progress = handler.progress.clone();
        let unreachable = |reason: String| McpError::Unreachable {
            server: spec.name.clone(),
            reason,
        };
        let failed = |error: StartError| match error {
            StartError::Refused(challenge) => McpError::unauthorized(&spec.name, &challenge),
            StartError::Failed(reason) => unreachable(reason),
        };
        let (running, child, faults) = match &spec.transport {
            TransportSpec::Stdio {
                program,
                args,
                env,
                cwd,
            } => {
                let process = stdio::spawn(program, args, env, cwd, spec.max_message_bytes)
                    .map_err(|e| unreachable(format!("cannot start `{program}`: {e}")))?;
                // GuardedStdout enforces the bound and says so; rmcp's own
                // line limit (16 MiB by default) would silently drop a longer
                // line and leave its call to time out, so it only backs it up.
                let transport =
                    AsyncRwTransport::<RoleClient, _, _>::new(process.stdout, process.stdin)
                        .with_max_line_length(spec.max_message_bytes.saturating_add(LINE_SLACK));
                let handle = process.handle;
                match handshake(spec, handler, transport).await {
                    Ok(running) => (running, Some(handle), None),
                    Err(StartError::Failed(reason)) => {
                        let end = handle.describe_end().await;
                        handle.shutdown().await;
                        return Err(unreachable(format!("{reason}; {end}")));
                    }
                    Err(refused) => {
                        handle.shutdown().await;
                        return Err(failed(refused));
                    }
                }
            }
            TransportSpec::Http { url } => {
                install_crypto_provider();
                let faults = Arc::new(StreamFaults::default());
                let running = connect_http(spec, url, handler, signing, faults.clone())
                    .await
                    .map_err(failed)?;
                (running, None, Some(faults))
            }
        };
        let peer = running.peer().clone();
        let summary = summarize(&peer);
        Ok(McpClient {
            server: spec.name.clone(),
            peer,
            service: Mutex::new(Some(running)),
            progress,
            child,
            faults,
            timeout: spec.timeout,
            summary,
        })
    }

    /// The server's name in the plugin.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Who answered the handshake.
    pub fn summary(&self) -> &ServerSummary {
        &self.summary
    }

    /// The child's process id, for stdio servers.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(ChildHandle::pid)
    }

    /// Whether the connection has ended (the child exited, the transport failed).
    pub fn is_closed(&self) -> bool {
        self.peer.is_transport_closed()
            || self
                .child
                .as_ref()
                .is_some_and(|c| c.exit_status().is_some())
    }

    /// Sends one request and waits for its answer, honouring `options`.
    async fn request(
        &self,
        request: ClientRequest,
        options: &CallOptions,
    ) -> Result<ServerResult, McpError> {
        let timeout = options.timeout.unwrap_or(self.timeout);
        let handle = self
            .peer
            .send_cancellable_request(request, PeerRequestOptions::with_timeout(timeout))
            .await;
        let handle = match handle {
            Ok(h) => h,
            Err(e) => return Err(self.explain(e, None).await),
        };
        let token = handle.progress_token.clone();
        if let Some(callback) = &options.progress {
            self.progress.register(token.clone(), callback.clone());
        }
        let id = handle.id.clone();
        let never = CancellationToken::new();
        let cancel = options.cancel.as_ref().unwrap_or(&never);
        let outcome = tokio::select! {
            answer = handle.await_response() => answer,
            () = cancel.cancelled() => {
                let note = CancelledNotificationParam::new(Some(id.clone()), Some("cancelled by caller".to_owned()));
                let _ = self.peer.notify_cancelled(note).await;
                Err(ServiceError::Cancelled { reason: None })
            }
        };
        self.progress.unregister(&token);
        match outcome {
            Ok(answer) => Ok(answer),
            Err(e) => Err(self.explain(e, Some(&id)).await),
        }
    }

    /// Maps an rmcp error, saying why a stdio server went away or why the
    /// HTTP answer to request `id` broke off.
    async fn explain(&self, error: ServiceError, id: Option<&RequestId>) -> McpError {
        let fault = self.faults.as_ref().zip(id).and_then(|(f, id)| f.take(id));
        if let Some(cause) = fault {
            return McpError::Protocol(format!("server `{}`: {cause}", self.server));
        }
        // Over stdio a send fails only when writing to the server's stdin
        // does (a broken pipe): the server is gone and never read the request.
        let unsent = matches!(error, ServiceError::TransportSend(_));
        let mapped = McpError::from_service(&self.server, error);
        if let (McpError::Unreachable { server, .. }, Some(child), true) =
            (&mapped, &self.child, unsent)
        {
            return McpError::NotSent {
                server: server.clone(),
                reason: child.describe_end().await,
            };
        }
        if let (McpError::Closed { server, .. }, Some(child)) = (&mapped, &self.child) {
            let reason = child.describe_end().await;
            if let Some(violation) = child.violation() {
                return McpError::Protocol(format!("server `{server}`: {violation}"));
            }
            return McpError::Closed {
                server: server.clone(),
                reason,
            };
        }
        mapped
    }

    /// `tools/call`. `arguments` must be a JSON object (or null for none).
    pub async fn call_tool(
        &self,
        tool: &str,
        arguments: &Value,
        options: &CallOptions,
    ) -> Result<ToolResult, McpError> {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        match arguments {
            Value::Null => {}
            Value::Object(map) => {
                let map: JsonObject = map.clone().into_iter().collect();
                params = params.with_arguments(map);
            }
            other => {
                return Err(McpError::Protocol(format!(
                    "tool arguments must be a JSON object, not {}",
                    json_kind(other)
                )));
            }
        }
        if let Some(trace) = &options.trace {
            params.set_traceparent(&trace.traceparent());
        }
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        match self.request(request, options).await? {
            ServerResult::CallToolResult(result) => Ok(ToolResult {
                content: result
                    .content
                    .iter()
                    .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                    .collect(),
                structured: result.structured_content,
                is_error: result.is_error.unwrap_or(false),
                cached_age: None,
            }),
            other => Err(unexpected("tools/call", &other)),
        }
    }

    /// `tools/list`, following `nextCursor` through every page.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, McpError> {
        let mut tools = Vec::new();
        let mut cursor = None;
        for _page in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor);
            let request = ClientRequest::ListToolsRequest(ListToolsRequest::with_param(params));
            match self.request(request, &CallOptions::default()).await? {
                ServerResult::ListToolsResult(page) => {
                    tools.extend(page.tools);
                    match page.next_cursor {
                        Some(next) => cursor = Some(next),
                        None => return Ok(tools),
                    }
                }
                other => return Err(unexpected("tools/list", &other)),
            }
        }
        Err(too_many_pages("tools/list"))
    }

    /// `resources/list`, every page.
    pub async fn list_resources(&self) -> Result<Vec<Resource>, McpError> {
        let mut resources = Vec::new();
        let mut cursor = None;
        for _page in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor);
            let request =
                ClientRequest::ListResourcesRequest(ListResourcesRequest::with_param(params));
            match self.request(request, &CallOptions::default()).await? {
                ServerResult::ListResourcesResult(page) => {
                    resources.extend(page.resources);
                    match page.next_cursor {
                        Some(next) => cursor = Some(next),
                        None => return Ok(resources),
                    }
                }
                other => return Err(unexpected("resources/list", &other)),
            }
        }
        Err(too_many_pages("resources/list"))
    }

    /// `resources/read`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(
            ReadResourceRequestParams::new(uri),
        ));
        match self.request(request, &CallOptions::default()).await? {
            ServerResult::ReadResourceResult(result) => Ok(result),
            other => Err(unexpected("resources/read", &other)),
        }
    }

    /// `prompts/list`, every page.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, McpError> {
        let mut prompts = Vec::new();
        let mut cursor = None;
        for _page in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor);
            let request = ClientRequest::ListPromptsRequest(ListPromptsRequest::with_param(params));
            match self.request(request, &CallOptions::default()).await? {
                ServerResult::ListPromptsResult(page) => {
                    prompts.extend(page.prompts);
                    match page.next_cursor {
                        Some(next) => cursor = Some(next),
                        None => return Ok(prompts),
                    }
                }
                other => return Err(unexpected("prompts/list", &other)),
            }
        }
        Err(too_many_pages("prompts/list"))
    }

    /// `ping`, with its own (short) timeout; returns the round trip.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, McpError> {
        let started = std::time::Instant::now();
        let options = CallOptions {
            timeout: Some(timeout),
            ..CallOptions::default()
        };
        match self
            .request(ClientRequest::PingRequest(PingRequest::default()), &options)
            .await?
        {
            ServerResult::EmptyResult(_) => Ok(started.elapsed()),
            other => Err(unexpected("ping", &other)),
        }
    }

    /// Ends the connection: closes the transport (stdin for a child, the
    /// session for HTTP), then stops the child in stages. Bounded in time.
    pub async fn shutdown(&self) {
        let running = self.service.lock().await.take();
        if let Some(running) = running {
            let _ = tokio::time::timeout(Duration::from_secs(5), running.cancel()).await;
        }
        if let Some(child) = &self.child {
            child.shutdown().await;
        }
    }
}

/// How far past `max_message_bytes` rmcp's line limit sits, so the guard always trips first.
const LINE_SLACK: usize = 4096;

/// A server that keeps handing out cursors is broken; stop following it.
const MAX_PAGES: usize = 1000;

fn too_many_pages(method: &str) -> McpError {
    McpError::Protocol(format!("{method}: more than {MAX_PAGES} pages"))
}

fn unexpected(method: &str, answer: &ServerResult) -> McpError {
    let shown = serde_json::to_string(answer).unwrap_or_default();
    let shown: String = shown.chars().take(200).collect();
    McpError::Protocol(format!("{method}: unexpected answer {shown}"))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn summarize(peer: &Peer<RoleClient>) -> ServerSummary {
    match peer.peer_info() {
        Some(info) => ServerSummary {
            name: info
                .server_info
                .as_ref()
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            version: info
                .server_info
                .as_ref()
                .map(|i| i.version.clone())
                .unwrap_or_default(),
            protocol_version: info.protocol_version.to_string(),
            instructions: info.instructions.clone(),
        },
        None => ServerSummary {
            name: String::new(),
            version: String::new(),
            protocol_version: String::new(),
            instructions: None,
        },
    }
}

/// Why a connection could not be set up.
enum StartError {
    /// The server answered 401 or 403, with this `WWW-Authenticate` challenge.
    Refused(String),
    /// Anything else, said for a human.
    Failed(String),
}

impl From<String> for StartError {
    fn from(reason: String) -> StartError {
        StartError::Failed(reason)
    }
}

/// Runs the lifecycle the spec asks for, bounded by the server's timeout.
async fn handshake<T, E, A>(
    spec: &ServerSpec,
    handler: PlugHandler,
    transport: T,
) -> Result<RunningService<RoleClient, PlugHandler>, StartError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let started = async {
        match spec.lifecycle {
            Lifecycle::Initialize => handler.serve(transport).await,
            Lifecycle::Auto => {
                let mode = ClientLifecycleMode::Auto {
                    preferred_versions: vec![ProtocolVersion::LATEST],
                    legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
                };
                handler.serve_with_lifecycle(transport, mode).await
            }
        }
    };
    match tokio::time::timeout(spec.startup_timeout, started).await {
        Ok(Ok(running)) => Ok(running),
        Ok(Err(e)) => match e.auth_challenge() {
            Some(challenge) => Err(StartError::Refused(challenge.to_owned())),
            None => Err(StartError::Failed(format!("handshake failed: {e}"))),
        },
        Err(_) => Err(StartError::Failed(format!(
            "no handshake answer within {:?}",
            spec.startup_timeout
        ))),
    }
}

async fn connect_http(
    spec: &ServerSpec,
    url: &str,
    handler: PlugHandler,
    signing: Option<Arc<dyn SigningSource>>,
    faults: Arc<StreamFaults>,
) -> Result<RunningService<RoleClient, PlugHandler>, StartError> {
    let http = reqwest_rmcp::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A redirect would re-send signed requests and API keys elsewhere.
        .redirect(reqwest_rmcp::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    // The same bound as a stdio line: on one JSON body and on one SSE event.
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
        .max_json_response_size(spec.max_message_bytes)
        .max_sse_event_size(spec.max_message_bytes);
    match &spec.auth {
        AuthSpec::None => {}
        AuthSpec::ApiKey { header, source } => {
            let key = read_key(source)?;
            let name = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| format!("`{header}` is not a valid header name"))?;
            let mut value = HeaderValue::from_str(key.expose())
                .map_err(|_| "the API key is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            config = config.custom_headers([(name, value)].into());
        }
        AuthSpec::Headers(headers) => {
            let mut map = std::collections::HashMap::new();
            for (name, value) in headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("`{name}` is not a valid header name"))?;
                let mut value = HeaderValue::from_str(value.expose())
                    .map_err(|_| format!("header `{name}` has an invalid value"))?;
                value.set_sensitive(true);
                map.insert(name, value);
            }
            config = config.custom_headers(map);
        }
        AuthSpec::Iam { service, region } => {
            let signer = signer(service, region.as_deref(), signing).await?;
            let client = FaultWatch::new(SigV4Client::new(http, Arc::new(signer)), faults);
            let transport = StreamableHttpClientTransport::with_client(client, config);
            return handshake(spec, handler, transport).await;
        }
    }
    let transport =
        StreamableHttpClientTransport::with_client(FaultWatch::new(http, faults), config);
    handshake(spec, handler, transport).await
}

fn read_key(source: &KeySource) -> Result<Secret, String> {
    let value = match source {
        KeySource::Env(var) => {
            std::env::var(var).map_err(|_| format!("API key variable `{var}` is not set"))?
        }
        KeySource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("API key file {}: {e}", path.display()))?,
    };
    let value = value.trim();
    if value.is_empty() {
        return Err("the API key is empty".to_owned());
    }
    Ok(Secret::new(value))
}

async fn signer(
    service: &str,
    region: Option<&str>,
    signing: Option<Arc<dyn SigningSource>>,
) -> Result<Signer, String> {
    // Never the ambient AWS chain: a run's servers act as the run's session.
    let signing = signing.ok_or(
        "`auth: iam` needs an AWS identity to sign with, and none was given \
         (a run signs with its own session)",
    )?;
    let region = match region {
        Some(r) => r.to_owned(),
        None => signing.region().await?,
    };
    Ok(Signer::new(signing.credentials(), &region, service))
}

/// A tool's answer as people read it: notes (a cached answer's age, an
/// error the tool reported) for stderr, then the text blocks and the
/// structured content for stdout.
pub fn result_text(result: &ToolResult) -> (String, String) {
    let mut notes = String::new();
    if let Some(age) = result.cached_age {
        let age = humantime::format_duration(std::time::Duration::from_secs(age.as_secs()));
        notes.push_str(&format!(
            "note: the server is unreachable; this answer is cached, {age} old\n"
        ));
    }
    if result.is_error {
        notes.push_str("the tool reported an error:\n");
    }
    let mut text = String::new();
    for block in &result.content {
        match block.get("text").and_then(Value::as_str) {
            Some(line) => text.push_str(line),
            None => text.push_str(&block.to_string()),
        }
        text.push('\n');
    }
    if let Some(structured) = &result.structured {
        text.push_str(&serde_json::to_string_pretty(structured).unwrap_or_default());
        text.push('\n');
    }
    (notes, text)
}

/// A tool's answer as MCP writes it (`content`, `isError`,
/// `structuredContent`), plus how old a cached answer is.
pub fn result_json(result: &ToolResult) -> Value {
    let mut out = serde_json::json!({
        "content": result.content,
        "isError": result.is_error,
    });
    if let Some(structured) = &result.structured {
        out["structuredContent"] = structured.clone();
    }
    if let Some(age) = result.cached_age {
        out["cachedAgeSeconds"] = serde_json::json!(age.as_secs_f64());
    }
    out
}
