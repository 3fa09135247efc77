//! The Python side of the test suite: a virtualenv under `target/` with the
//! pinned tools, and the bundled plugin's own Python tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{status, step};
use crate::workspace_root;

const REQUIREMENTS: &str = "xtask/python/requirements-test.txt";

/// Creates (once) `target/py-venv` with the pinned test tools; returns its path.
///
/// A copy of the requirements file inside the venv records what was installed,
/// so a changed lock reinstalls and an unchanged one costs nothing.
pub fn ensure_test_venv() -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = root.join("target/py-venv");
    let lock =
        std::fs::read(root.join(REQUIREMENTS)).map_err(|e| format!("{REQUIREMENTS}: {e}"))?;
    let marker = venv.join("requirements.installed");
    if std::fs::read(&marker).is_ok_and(|installed| installed == lock) {
        return Ok(venv);
    }
    step("installing the Python test tools into target/py-venv");
    status(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    status(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "-q", "-r"])
            .arg(root.join(REQUIREMENTS)),
    )?;
    std::fs::write(&marker, lock).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(venv)
}

/// The bundled plugin's hook tests and its example function's tests.
pub fn bundled_plugin_tests(venv: &Path) -> Result<(), String> {
    let plugin = workspace_root().join("plugins/aws-deployment-assistant");
    step("bundled plugin: hook tests (unittest)");
    status(
        Command::new(venv.join("bin/python"))
            .args(["-m", "unittest", "discover", "-s", "hooks/tests", "-v"])
            .current_dir(&plugin),
    )?;
    example_function_tests(venv)
}

/// The example function's pytest suite: what the seed skill's `validate_code` step runs.
pub fn example_function_tests(venv: &Path) -> Result<(), String> {
    let function =
        workspace_root().join("plugins/aws-deployment-assistant/examples/hello-function");
    step("bundled plugin: example function tests (pytest)");
    status(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/"])
            .current_dir(function),
    )
}
