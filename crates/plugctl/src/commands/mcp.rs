//! `plugctl mcp`: list a plugin server's tools or call one, as a run would
//! (same config resolution, auth, timeouts), for setup and debugging.

use std::path::Path;

use plug_mcp::{CallOptions, McpError, Registry};
use serde_json::{Value, json};

use crate::cli::{McpCommand, Output};
use crate::exit::{Exit, OrUsage, Outcome, usage};
use plug_runtime::PluginSettings;

/// Runs an `mcp` subcommand.
pub fn run(command: McpCommand) -> Outcome {
    let runtime = crate::setup::async_runtime()?;
    match command {
        McpCommand::Tools {
            plugin,
            server,
            set,
            output,
        } => runtime.block_on(tools(&plugin, &server, set, output)),
        McpCommand::Call {
            plugin,
            server,
            tool,
            arguments,
            set,
            output,
        } => {
            let arguments: Value = match serde_json::from_str(&arguments) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return Err(usage("--args must be a JSON object")),
                Err(e) => return Err(usage(&format!("--args is not JSON: {e}"))),
            };
            runtime.block_on(call(&plugin, &server, &tool, &arguments, set, output))
        }
    }
}

/// The plugin's servers, signing as the operator (see plug-runtime).
async fn registry(
    path: &Path,
    set: Vec<(String, String)>,
) -> Result<(Registry, PluginSettings), Exit> {
    let plugin = plug_manifest::load_plugin(path).map_err(|e| {
        crate::diagnostics::report_load_error(&e);
        Exit::Usage
    })?;
    if plugin.manifest.is_none() {
        return Err(usage(&format!(
            "{}: the manifest cannot be decoded; run `plugctl validate` for details",
            path.display()
        )));
    }
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    plug_runtime::mcp_signing::operator_registry(&settings.identity, &plugin, &set)
        .await
        .or_usage()
}

/// Exit code and message for a failed request; sensitive values never show.
fn failed(error: &McpError, settings: &PluginSettings) -> Exit {
    eprintln!("error: {}", settings.redact(&error.to_string()));
    match error {
        McpError::UnknownServer(_) | McpError::Config { .. } => Exit::Usage,
        _ => Exit::Findings,
    }
}

async fn tools(path: &Path, server: &str, set: Vec<(String, String)>, output: Output) -> Outcome {
    let (registry, settings) = registry(path, set).await?;
    let listed = registry.tools(server).await;
    registry.shutdown().await;
    let tools = listed.map_err(|e| failed(&e, &settings))?;
    match output {
        Output::Json => println!("{}", json!(tools)),
        Output::Human => {
            let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
            for tool in &tools {
                let about = tool.description.as_deref().and_then(|d| d.lines().next());
                println!("{:width$}  {}", tool.name, about.unwrap_or(""));
            }
        }
    }
    Ok(Exit::Success)
}

async fn call(
    path: &Path,
    server: &str,
    tool: &str,
    arguments: &Value,
    set: Vec<(String, String)>,
    output: Output,
) -> Outcome {
    let (registry, settings) = registry(path, set).await?;
    let answered = registry
        .call(server, tool, arguments, &CallOptions::default())
        .await;
    registry.shutdown().await;
    let result = answered.map_err(|e| failed(&e, &settings))?;
    match output {
        Output::Json => println!("{}", plug_mcp::client::result_json(&result)),
        Output::Human => {
            let (notes, text) = plug_mcp::client::result_text(&result);
            eprint!("{notes}");
            print!("{text}");
        }
    }
    match result.is_error {
        true => Err(Exit::Findings),
        false => Ok(Exit::Success),
    }
}
