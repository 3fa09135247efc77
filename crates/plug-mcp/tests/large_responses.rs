//! A tool answer of tens of MB, over stdio and over Streamable HTTP (SSE and
//! plain JSON answers), from a server written with the PyPI `mcp` package:
//! past `max_message_bytes` the call fails with a clear error, the client's
//! memory stays bounded, and the server is usable again afterwards.
//!
//! Alone in its test binary: the memory figures are the whole process's.

mod support;

use plug_mcp::{CallOptions, McpError, Registry, ServerSpec};
use serde_json::json;
use support::{HttpAnswers, PythonHttp};

const CAP: usize = 1024 * 1024;
const HUGE: usize = 48 * 1024 * 1024;
/// Growth of the peak RSS allowed for all the huge answers together: a
/// quarter of one answer. Holding even one in memory would exceed it.
const GROWTH_BOUND_KIB: u64 = (HUGE / 4 / 1024) as u64;
/// The control server's cap, and an answer it takes whole (sent twice: a 24 MiB line).
const ROOMY_CAP: usize = 64 * 1024 * 1024;
const ROOMY_ANSWER: usize = HUGE / 4;

/// A `kB` line of /proc/self/status (`VmHWM` is the peak resident set).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn capped(mut spec: ServerSpec) -> ServerSpec {
    spec.max_message_bytes = CAP;
    spec
}

async fn big(registry: &Registry, server: &str, size: usize) -> Result<usize, McpError> {
    let result = registry
        .call(
            server,
            "big",
            &json!({ "size": size }),
            &CallOptions::default(),
        )
        .await?;
    Ok(result
        .content
        .iter()
        .filter_map(|c| c.get("text").and_then(|t| t.as_str()))
        .map(str::len)
        .sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_answers_fail_past_the_cap_with_bounded_memory() {
    let sse = PythonHttp::start("fault_server.py", HttpAnswers::Sse);
    let json_bodies = PythonHttp::start("fault_server.py", HttpAnswers::Json);
    let mut stdio = capped(support::python_server("stdio", "fault_server.py"));
    stdio.backoff.base = std::time::Duration::from_millis(20);
    let mut roomy = support::python_server("roomy", "fault_server.py");
    roomy.max_message_bytes = ROOMY_CAP;
    let registry = Registry::from_specs([
        stdio,
        capped(ServerSpec::http("http-sse", &sse.url)),
        capped(ServerSpec::http("http-json", &json_bodies.url)),
        roomy,
    ]);
    let servers = ["stdio", "http-sse", "http-json"];

    // Answers under the cap pass, and every connection is warm before measuring.
    // The server sends the text twice (`content` and `structuredContent`).
    for server in servers.iter().chain(&["roomy"]) {
        let len = big(&registry, server, CAP / 4)
            .await
            .unwrap_or_else(|e| panic!("{server}: a quarter of the cap: {e}"));
        assert_eq!(len, CAP / 4, "{server}");
    }

    let before = status_kib("VmHWM");
    for server in servers {
        let err = big(&registry, server, HUGE)
            .await
            .expect_err("an answer 48 times the cap");
        assert!(
            matches!(&err, McpError::Protocol(m) if m.contains(&format!("larger than {CAP} bytes"))),
            "{server}: {err:?}"
        );
    }
    let growth = status_kib("VmHWM").saturating_sub(before);
    assert!(
        growth < GROWTH_BOUND_KIB,
        "peak RSS grew by {growth} KiB for {HUGE}-byte answers (bound {GROWTH_BOUND_KIB} KiB)"
    );

    // Each server answers again (the stdio one from a fresh process).
    for server in servers {
        let len = big(&registry, server, 1000)
            .await
            .unwrap_or_else(|e| panic!("{server} after the refusal: {e}"));
        assert_eq!(len, 1000, "{server}");
    }

    // Control: a cap with room takes a large answer whole (its line, past rmcp's
    // own 16 MiB line limit, must not be dropped), and the measurement sees it,
    // so the bound above is not met by accident.
    let before = status_kib("VmHWM");
    let len = big(&registry, "roomy", ROOMY_ANSWER)
        .await
        .expect("an answer under a roomy cap");
    assert_eq!(len, ROOMY_ANSWER);
    let growth = status_kib("VmHWM").saturating_sub(before);
    assert!(
        growth > GROWTH_BOUND_KIB,
        "holding a {ROOMY_ANSWER}-byte answer grew the peak RSS by only {growth} KiB"
    );
    registry.shutdown().await;
}
