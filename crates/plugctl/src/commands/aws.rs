//! `plugctl aws call`: one AWS operation by name, for ad-hoc use and debugging.

use plug_core::Value;
use plug_core::ports::AwsCall;
use plug_runtime::aws_call::{CallError, CallRole};

use crate::cli::AwsCommand;
use crate::exit::{Exit, OrUsage, Outcome, usage};

/// Runs an `aws` subcommand.
pub fn run(command: AwsCommand) -> Outcome {
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
    let params = read_params(params.as_deref()).or_usage()?;
    // Typos and bad params fail here, before any credentials are looked up.
    let problems = plug_aws::validate_call(&service, &operation, &params);
    if !problems.is_empty() {
        problems.iter().for_each(|p| eprintln!("error: {p}"));
        return Err(Exit::Usage);
    }
    let call = AwsCall {
        service,
        operation,
        params: Value::from(params),
        region: None,
    };
    let role = role_arn.map(|role_arn| CallRole {
        role_arn,
        actor: actor.into(),
        source_identity,
        tags,
    });
    let flags = plug_runtime::Flags {
        profile,
        region,
        ..plug_runtime::Flags::default()
    };
    let settings = crate::setup::settings(flags)?;
    let answer = crate::setup::async_runtime()?
        .block_on(plug_runtime::aws_call::call(&settings, role, &call));
    match answer {
        Ok(output) => {
            let text = serde_json::to_string_pretty(&output).unwrap_or_default();
            println!("{text}");
            Ok(Exit::Success)
        }
        Err(e @ CallError::Invalid(_)) => Err(usage(&e.to_string())),
        Err(e) => {
            eprintln!("error: {e}");
            Err(Exit::Findings)
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
