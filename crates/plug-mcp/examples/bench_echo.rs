//! Sequential `echo` calls over stdio to a server, timed one by one; prints
//! one JSON line. Run by `cargo xtask bench-mcp`:
//! `bench_echo CALLS PROGRAM [ARGS...]`.

use std::time::{Duration, Instant};

use plug_mcp::{CallOptions, McpClient, ServerSpec};
use serde_json::json;

const WARMUP: usize = 100;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [calls, program, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_echo CALLS PROGRAM [ARGS...]".to_owned());
    };
    let calls: usize = calls.parse().map_err(|_| "CALLS must be a number")?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let spec = ServerSpec::stdio("bench", program, &rest, &cwd);
    let client = McpClient::connect(&spec, None)
        .await
        .map_err(|e| e.to_string())?;
    let options = CallOptions::default();
    let arguments = json!({"message": "bench"});
    for _ in 0..WARMUP {
        client
            .call_tool("echo", &arguments, &options)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut times = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let one = Instant::now();
        client
            .call_tool("echo", &arguments, &options)
            .await
            .map_err(|e| e.to_string())?;
        times.push(one.elapsed());
    }
    let total = started.elapsed();
    client.shutdown().await;
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(times[((times.len() as f64 - 1.0) * q).round() as usize]);
    println!(
        "{}",
        json!({
            "client": "plug-mcp (rmcp)",
            "calls": calls,
            "p50_ms": at(0.50),
            "p99_ms": at(0.99),
            "calls_per_sec": calls as f64 / total.as_secs_f64(),
        })
    );
    Ok(())
}
