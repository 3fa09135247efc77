//! `cargo xtask bench-mcp`: 2,000 sequential stdio `echo` calls to npm
//! `@modelcontextprotocol/server-everything`, by plug-mcp and by the official
//! TypeScript SDK client, in the same run, side by side.

use std::process::Command;

use crate::npm;
use crate::run::{cargo, step};
use crate::workspace_root;

const CALLS: &str = "2000";

/// Installs the servers, builds the Rust client, runs both and prints the table.
pub fn run() -> Result<(), String> {
    let root = workspace_root();
    let support = root.join("crates/plug-mcp/tests/support");
    let node = root.join("target/mcp-servers/node");
    npm::install_from_lock(&support, &node, "server-everything, TypeScript SDK")?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "plug-mcp",
        "--example",
        "bench_echo",
    ])?;
    let server = node.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let server = server.to_string_lossy().into_owned();

    step("plug-mcp client");
    let ours = measure(
        Command::new(root.join("target/release/examples/bench_echo"))
            .args([CALLS, "node", &server, "stdio"]),
    )?;
    step("TypeScript SDK client");
    // ES modules resolve packages from the script's own folder: run it from the install.
    let script = node.join("bench_client.mjs");
    std::fs::copy(support.join("bench_client.mjs"), &script).map_err(|e| e.to_string())?;
    let theirs = measure(
        Command::new("node")
            .arg(&script)
            .args([CALLS, "node", &server, "stdio"]),
    )?;
    println!("\n{CALLS} sequential echo calls over stdio to server-everything\n");
    println!(
        "{:<18} {:>9} {:>9} {:>11}",
        "client", "p50 ms", "p99 ms", "calls/s"
    );
    for r in [&ours, &theirs] {
        println!(
            "{:<18} {:>9.3} {:>9.3} {:>11.0}",
            r.client, r.p50, r.p99, r.rate
        );
    }
    println!(
        "\np50 ratio plug-mcp / TypeScript: {:.2} (target: at most 0.80)",
        ours.p50 / theirs.p50
    );
    Ok(())
}

struct Figures {
    client: String,
    p50: f64,
    p99: f64,
    rate: f64,
}

fn measure(command: &mut Command) -> Result<Figures, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> Result<f64, String> {
        let key = format!("\"{name}\":");
        let start = line
            .find(&key)
            .ok_or_else(|| format!("no {name} in {line}"))?
            + key.len();
        let rest = &line[start..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end]
            .trim()
            .parse()
            .map_err(|_| format!("bad {name} in {line}"))
    };
    let client = line
        .split("\"client\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("?")
        .to_owned();
    Ok(Figures {
        client,
        p50: field("p50_ms")?,
        p99: field("p99_ms")?,
        rate: field("calls_per_sec")?,
    })
}
