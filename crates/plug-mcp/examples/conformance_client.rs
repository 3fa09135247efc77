//! The client the official MCP conformance suite drives (`cargo xtask
//! mcp-conformance`). The suite starts a test server per scenario, then runs
//! `conformance_client <server-url>` with `MCP_CONFORMANCE_SCENARIO` set; it
//! judges the client by what reaches its server. Everything here goes through
//! plug-mcp's own [`McpClient`] over Streamable HTTP, as plugctl would.

use std::sync::Arc;

use plug_mcp::{CallOptions, ElicitFn, ElicitationAnswer, McpClient, ServerSpec};
use serde_json::{Map, Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: conformance_client <server-url> (scenario in MCP_CONFORMANCE_SCENARIO)")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let spec = ServerSpec::http("conformance", &url);
    // A user who accepts every form as shown: plug-mcp fills in the defaults.
    let accept: ElicitFn =
        Arc::new(|_request| Box::pin(async { ElicitationAnswer::Accept(Map::new()) }));
    let client = McpClient::connect_with(&spec, None, Some(accept))
        .await
        .map_err(|e| e.to_string())?;
    let outcome = run(&client, &scenario).await;
    client.shutdown().await;
    outcome
}

/// What the scenario's server expects the client to do after the handshake.
async fn run(client: &McpClient, scenario: &str) -> Result<(), String> {
    let tools = client.list_tools().await.map_err(|e| e.to_string())?;
    let call = |name: &'static str, arguments: Value| async move {
        let result = client
            .call_tool(name, &arguments, &CallOptions::default())
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        println!(
            "{name}: {}",
            serde_json::to_string(&result.content).unwrap_or_default()
        );
        Ok::<(), String>(())
    };
    match scenario {
        "tools_call" => call("add_numbers", json!({"a": 5, "b": 3})).await,
        "sse-retry" => call("test_reconnection", json!({})).await,
        "elicitation-sep1034-client-defaults" => {
            call("test_client_elicitation_defaults", json!({})).await
        }
        // `initialize` and anything new: the handshake and a listing.
        _ => {
            println!("{} tools", tools.len());
            Ok(())
        }
    }
}
