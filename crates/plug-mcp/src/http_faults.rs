//! Streamable HTTP: why an answer's event stream broke off, and sessions a
//! server forgot.
//!
//! When an SSE answer ends in an error (an event past `max_message_bytes`, a
//! read error), rmcp fails the call with a bare "transport closed" and only
//! logs the cause. [`FaultWatch`] wraps the HTTP client, notes the cause per
//! request id, and the client puts it in the call's error.
//!
//! A restarted server no longer knows the client's session. The spec has it
//! answer 404, on which rmcp re-initializes and sends the request again; some
//! servers (`@modelcontextprotocol/server-everything` among them) answer 400
//! with a JSON-RPC error that has no id instead. rmcp cannot match that error
//! to the call, which then waits for its timeout. [`FaultWatch`] reads such
//! an answer to a request sent within a session as the expired session it is.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, RequestId, RequestParamsMeta as _, ServerJsonRpcMessage,
};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

/// Causes kept for calls nobody asked about (cancelled, already answered).
const KEPT: usize = 64;

/// Broken-off answers by request, the oldest dropped past [`KEPT`].
#[derive(Default)]
pub struct StreamFaults {
    causes: Mutex<VecDeque<(RequestId, String)>>,
}

impl StreamFaults {
    fn record(&self, id: RequestId, cause: String) {
        let mut causes = self.causes.lock().unwrap_or_else(|p| p.into_inner());
        if causes.len() >= KEPT {
            causes.pop_front();
        }
        causes.push_back((id, cause));
    }

    /// Why the answer to `id` broke off, if it did (once).
    pub fn take(&self, id: &RequestId) -> Option<String> {
        let mut causes = self.causes.lock().unwrap_or_else(|p| p.into_inner());
        let at = causes.iter().position(|(known, _)| known == id)?;
        causes.remove(at).map(|(_, cause)| cause)
    }
}

/// An HTTP client that notes, per request, why an SSE answer broke off.
#[derive(Clone)]
pub struct FaultWatch<C> {
    inner: C,
    faults: Arc<StreamFaults>,
}

impl<C> FaultWatch<C> {
    /// Wraps `inner`, noting causes in `faults`.
    pub fn new(inner: C, faults: Arc<StreamFaults>) -> FaultWatch<C> {
        FaultWatch { inner, faults }
    }
}

/// An SSE answer whose first error is noted under its request id.
struct Watched {
    inner: BoxStream<'static, Result<Sse, SseError>>,
    id: RequestId,
    max_event: usize,
    faults: Arc<StreamFaults>,
}

impl Stream for Watched {
    type Item = Result<Sse, SseError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = futures_core::ready!(self.inner.as_mut().poll_next(cx));
        if let Some(Err(error)) = &item {
            let said = error.to_string();
            // rmcp's bounded reader says "SSE event exceeded the maximum size of N bytes".
            let cause = if said.contains("exceeded the maximum size") {
                format!("server sent a message larger than {} bytes", self.max_event)
            } else {
                format!("the answer's event stream broke off: {said}")
            };
            self.faults.record(self.id.clone(), cause);
        }
        Poll::Ready(item)
    }
}

impl<C: StreamableHttpClient + Sync> StreamableHttpClient for FaultWatch<C> {
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let id = match &message {
            ClientJsonRpcMessage::Request(request) => Some(request.id.clone()),
            _ => None,
        };
        let mut custom_headers = custom_headers;
        if let Some(value) = traceparent(&message) {
            custom_headers.insert(HeaderName::from_static("traceparent"), value);
        }
        let max_event = limits.max_sse_event_size;
        let in_session = session_id.is_some();
        let response = self
            .inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                limits,
            )
            .await?;
        if in_session && id.is_some() && is_unaddressed_error(&response) {
            return Err(StreamableHttpError::SessionExpired);
        }
        Ok(match (response, id) {
            (StreamableHttpPostResponse::Sse(stream, session), Some(id)) => {
                let watched = Watched {
                    inner: stream,
                    id,
                    max_event,
                    faults: self.faults.clone(),
                };
                StreamableHttpPostResponse::Sse(Box::pin(watched), session)
            }
            (other, _) => other,
        })
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.inner
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

/// A JSON-RPC error without an id: the server could not tie our request to
/// anything it knows, which for a well-formed request sent within a session
/// means the session is gone. rmcp re-initializes once per request, so a
/// server that keeps answering this way still fails the call, not loops.
fn is_unaddressed_error(response: &StreamableHttpPostResponse) -> bool {
    matches!(
        response,
        StreamableHttpPostResponse::Json(ServerJsonRpcMessage::Error(error), _) if error.id.is_none()
    )
}

/// The `traceparent` a `tools/call` carries in its `_meta`, as an HTTP
/// header value, so HTTP-level tracing (proxies, gateways, servers that read
/// headers only) sees the same context.
fn traceparent(message: &ClientJsonRpcMessage) -> Option<HeaderValue> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CallToolRequest(call) = &request.request else {
        return None;
    };
    let value = call.params.traceparent()?;
    // Only a well-formed context goes into a header.
    plug_core::TraceContext::parse(value)?;
    HeaderValue::from_str(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    #[test]
    fn causes_are_taken_once_and_bounded() {
        let faults = StreamFaults::default();
        let id = NumberOrString::Number;
        for n in 0..(KEPT as i64 + 1) {
            faults.record(id(n), format!("cause {n}"));
        }
        // The oldest fell out; the rest are there once each.
        assert_eq!(faults.take(&id(0)), None);
        assert_eq!(faults.take(&id(5)), Some("cause 5".to_owned()));
        assert_eq!(faults.take(&id(5)), None);
    }
}
