//! The Python side of the test suite: a virtualenv under `target/` with the
//! pinned tools, and the bundled plugin's own Python tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{status, step};
use crate::workspace_root;

const REQUIREMENTS: &str = "xtask/python/requirements-test.txt";

/// Creates (once) `target/py-venv` with the pinned test tools; returns its path.
pub fn ensure_test_venv() -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = root.join("target/py-venv");
    venv_from_lock(
        &venv,
        &root.join(REQUIREMENTS),
        &[],
        "the Python test tools into target/py-venv",
        |_| Ok(()),
    )?;
    Ok(venv)
}

/// Makes `venv` hold exactly the pins of `lock` (plus whatever `after`
/// installs, whose inputs are `extra`); returns whether it had to install.
///
/// A copy of what was installed is kept in the venv and written last, so an
/// unchanged lock costs nothing and an interrupted install is redone.
pub fn venv_from_lock(
    venv: &Path,
    lock: &Path,
    extra: &[u8],
    what: &str,
    after: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<bool, String> {
    let mut want = std::fs::read(lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    want.extend_from_slice(extra);
    let marker = venv.join("requirements.installed");
    let python = venv.join("bin/python");
    if python.is_file() && std::fs::read(&marker).is_ok_and(|installed| installed == want) {
        return Ok(false);
    }
    step(&format!("installing {what}"));
    warn_unless_python_311();
    status(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(venv),
    )?;
    // `python -m pip` rather than `bin/pip`: pip's script has an absolute
    // shebang, which breaks on very long paths or a moved workspace.
    // --no-input: an index needing credentials must fail, not wait on a prompt.
    status(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "-r",
            ])
            .arg(lock),
    )?;
    after(venv)?;
    std::fs::write(&marker, want).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(true)
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

/// The locks were resolved on Python 3.11; other versions may lack wheels for
/// some pins. Only a warning, since a newer Python may still resolve.
fn warn_unless_python_311() {
    let version = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    if version != "3.11" {
        eprintln!(
            "xtask: warning: python3 is {version:?}; the Python locks were resolved for 3.11"
        );
    }
}
