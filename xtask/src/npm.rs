//! npm installs from a committed `package.json` + `package-lock.json` into a
//! folder under `target/`, once, under a file lock.
//!
//! The conventions match the plug-mcp test helper (`crates/plug-mcp/tests/support`):
//! the lock file sits beside the folder (`<dir>.lock`) and `<dir>/.installed`
//! holds the two files' text, written last, so an unchanged lock costs nothing,
//! an interrupted install is redone, and a test run and an xtask never install
//! into the same folder at once.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use crate::run::{status, step};

/// Makes `dir/node_modules` hold exactly what `source`'s lock pins.
pub fn install_from_lock(source: &Path, dir: &Path, what: &str) -> Result<(), String> {
    let read = |name: &str| {
        let path = source.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let package = read("package.json")?;
    let lock = read("package-lock.json")?;
    let want = format!("{package}{lock}");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lock_path = dir.with_extension("lock");
    let guard = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    guard
        .lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    let stamp = dir.join(".installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    step(&format!("npm ci ({what})"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    write("package.json", &package)?;
    write("package-lock.json", &lock)?;
    // --ignore-scripts: nothing pinned needs one, and a registry package should not run code here.
    status(
        Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--prefix",
            ])
            .arg(dir),
    )?;
    std::fs::write(&stamp, want).map_err(|e| format!("{}: {e}", stamp.display()))
}
