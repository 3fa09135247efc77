//! `plugctl aws call`: one AWS operation by name, for ad-hoc use and debugging.
//!
//! The rest of plugctl is synchronous; this command owns a tokio runtime for
//! its one call.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use plug_aws::AwsClient;
use plug_aws::identity::{IdentityConfig, RoleConfig, Session};
use plug_core::ports::{AwsCall, AwsError, AwsInvoker};
use plug_core::{Actor, RunId, Value};

use crate::cli::AwsCommand;
use crate::exit::Exit;

/// Runs an `aws` subcommand.
pub fn run(command: AwsCommand) -> Exit {
    let AwsCommand::Call {
        service,
        operation,
        params,
        region,
        profile,
        role_arn,
        actor,
        source_identity,
        tags,
    } = command;
    let params = match read_params(params.as_deref()) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    // Typos and bad params fail here, before any credentials are looked up.
    let problems = plug_aws::validate_call(&service, &operation, &params);
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        return Exit::Usage;
    }
    let params = Value::from(params);
    let role = match role_arn
        .map(|arn| role_config(arn, actor, source_identity, tags))
        .transpose()
    {
        Ok(role) => role,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let config = IdentityConfig {
        profile,
        region,
        role,
        ..IdentityConfig::default()
    };
    let call = AwsCall {
        service,
        operation,
        params,
        region: None,
    };
    let runtime = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(call_once(config, call))
}

async fn call_once(config: IdentityConfig, call: AwsCall) -> Exit {
    let session = match Session::establish(config).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Findings;
        }
    };
    let client = match AwsClient::new(Arc::clone(&session)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    match client.call(&call).await {
        Ok(response) => {
            let text = serde_json::to_string_pretty(&response.output.to_json()).unwrap_or_default();
            println!("{text}");
            Exit::Success
        }
        Err(e @ AwsError::Invalid(_)) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Findings
        }
    }
}

/// `--params` as JSON text, or `@FILE`; absent means no params.
fn read_params(params: Option<&str>) -> Result<serde_json::Value, String> {
    let Some(text) = params else {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    };
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => text.to_owned(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("--params is not JSON: {e}"))?;
    if !json.is_object() {
        return Err("--params must be a JSON object".into());
    }
    Ok(json)
}

fn role_config(
    role_arn: String,
    actor: Actor,
    source_identity: Option<String>,
    tags: Vec<(String, String)>,
) -> Result<RoleConfig, String> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let run_id = RunId::new(format!("call-{millis}")).map_err(|e| e.to_string())?;
    Ok(RoleConfig {
        role_arn,
        actor,
        run_id,
        source_identity,
        tags,
        transitive: false,
        duration: None,
        external_id: None,
    })
}
