//! Repository chores, run as `cargo xtask <command>`.
//!
//! Written as a Rust program rather than shell scripts so the steps are the
//! same on every machine and readable in one place.

mod aws_models;
mod bench_mcp;
mod localstack;
mod python;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test     everything CI checks: formatting, clippy, unit/integration/snapshot tests,
           the bundled plugin's Python tests (installs pytest into target/py-venv)
  demo     build plugctl and run it on the bundled plugin
  bench    run the criterion benchmarks
  bench-mcp
           2,000 stdio echo calls to server-everything: plug-mcp next to the TypeScript SDK
  lint     formatting and clippy only
  localstack
           start LocalStack on a free 127.0.0.1 port and keep it up until Ctrl-C
  update-aws-models [--botocore VERSION]
           re-import the AWS service models into crates/plug-aws/models
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    localstack::stop_on_signal();
    let result = match args.first().map(String::as_str) {
        Some("test" | "ci") => test(),
        Some("demo") => demo(),
        Some("bench") => run::cargo(&["bench", "--workspace"]),
        Some("bench-mcp") => bench_mcp::run(),
        Some("lint") => lint(),
        Some("localstack") => serve_localstack(),
        Some("update-aws-models") => aws_models::update(&args[1..]),
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
    run::step("starting LocalStack for the integration tests");
    let localstack = localstack::start(&workspace_root())?;
    eprintln!("LocalStack ready at {}", localstack.endpoint);
    // The integration tests read these; REQUIRE makes a missing LocalStack a
    // failure instead of a skip, so CI cannot pass without it.
    let env = [
        ("LOCALSTACK_ENDPOINT", localstack.endpoint.as_str()),
        ("PLUGCTL_REQUIRE_LOCALSTACK", "1"),
    ];
    run::step("cargo tests");
    if run::has_nextest() {
        run::cargo_env(&["nextest", "run", "--workspace", "--no-fail-fast"], &env)?;
        run::cargo_env(&["test", "--workspace", "--doc"], &env)?;
    } else {
        run::cargo_env(&["test", "--workspace", "--no-fail-fast"], &env)?;
    }
    drop(localstack);
    let venv = python::ensure_test_venv()?;
    python::bundled_plugin_tests(&venv)
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
    let plugctl = workspace_root().join("target/debug/plugctl");
    let plugin = workspace_root().join("plugins/aws-deployment-assistant");
    let plugin = plugin.to_string_lossy();
    run::step("plugctl validate plugins/aws-deployment-assistant");
    run::program(&plugctl, &["validate", "--strict", &plugin])?;
    run::step("plugctl inspect plugins/aws-deployment-assistant");
    run::program(&plugctl, &["inspect", &plugin])?;
    let venv = python::ensure_test_venv()?;
    run::step("the skill's validate_code step, by hand: pytest in the example function");
    python::example_function_tests(&venv)?;
    println!(
        "\nThe plugin is valid. Running its skill against LocalStack (`plugctl run`) arrives with the interpreter;\n\
         until then this demo stops after validation, inspection and the function's own tests."
    );
    Ok(())
}
