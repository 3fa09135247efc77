//! Running an http hook: POST the input as JSON, read the answer like stdout.
//!
//! reqwest (rustls) is already in the workspace for the AWS and MCP clients,
//! so http hooks add no second HTTP stack or TLS library to the binary.

use std::sync::OnceLock;
use std::time::Duration;

use crate::answer::Termination;

/// What an http hook answered, shaped like a process's end and output.
pub(crate) struct HttpOutcome {
    pub end: Termination,
    pub body: Vec<u8>,
}

/// One client per host: connection pools and TLS roots are built once.
#[derive(Default)]
pub(crate) struct HttpClient(OnceLock<Result<reqwest::Client, String>>);

impl HttpClient {
    fn get(&self) -> Result<&reqwest::Client, String> {
        self.0
            .get_or_init(|| {
                reqwest::Client::builder()
                    // A hook's URL is what the manifest says, nothing it redirects to.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// POSTs `body` to `url`; a 2xx answer counts as exit 0, its body as stdout.
    pub(crate) async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        trace: Option<plug_core::TraceContext>,
        timeout: Duration,
        max_output: usize,
    ) -> HttpOutcome {
        let not_started = |reason: String| HttpOutcome {
            end: Termination::NotStarted { reason },
            body: Vec::new(),
        };
        let client = match self.get() {
            Ok(client) => client,
            Err(e) => return not_started(format!("no HTTP client: {e}")),
        };
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .timeout(timeout)
            .body(body);
        if let Some(trace) = trace {
            request = request.header("traceparent", trace.traceparent());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return HttpOutcome {
                    end: Termination::timed_out(timeout),
                    body: Vec::new(),
                };
            }
            Err(e) => return not_started(e.to_string()),
        };
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > max_output => {
                    return HttpOutcome {
                        end: Termination::OutputCapped { cap: max_output },
                        body,
                    };
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return HttpOutcome {
                        end: Termination::timed_out(timeout),
                        body,
                    };
                }
                Err(e) => return not_started(format!("reading the answer: {e}")),
            }
        }
        let end = if status.is_success() {
            Termination::Exited { code: 0 }
        } else {
            Termination::HttpStatus {
                status: status.as_u16(),
            }
        };
        HttpOutcome { end, body }
    }
}
