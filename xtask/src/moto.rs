//! moto's server (`moto[dynamodb,sqs]` from PyPI) for the DynamoDB tests:
//! LocalStack's DynamoDB needs a Java download these machines cannot reach.
//! Installed into `target/moto-venv` from a committed lock and started on
//! a free 127.0.0.1 port; the tests reach it through the standard
//! `AWS_ENDPOINT_URL_DYNAMODB` setting, so plugctl needs no special code.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv, under `target/`.
const VENV_DIR: &str = "target/moto-venv";
/// The committed lock it is built from.
const LOCK_FILE: &str = "xtask/python/requirements-moto.txt";
/// How long the server may take to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server, stopped when dropped.
pub struct Moto {
    child: Child,
    /// Its URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs (when needed) and starts moto's server.
pub fn start(workspace_root: &Path) -> Result<Moto, String> {
    let venv = ensure_venv(workspace_root)?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("finding a free port: {e}"))?
        .port();
    let log_path = workspace_root.join("target/moto.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("starting moto: {e}"))?;
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + READY_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("moto did not start; see {}", log_path.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(moto)
}

fn ensure_venv(workspace_root: &Path) -> Result<PathBuf, String> {
    let venv = workspace_root.join(VENV_DIR);
    crate::python::venv_from_lock(
        &venv,
        &workspace_root.join(LOCK_FILE),
        b"",
        "moto[dynamodb,sqs] into target/moto-venv (one-time)",
        |_| Ok(()),
    )?;
    Ok(venv)
}
