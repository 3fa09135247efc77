//! Helpers shared by the integration tests: plugins on disk, hooks, inputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use plug_core::ports::HookInput;
use plug_core::{Actor, RunId};
use plug_hooks::{HostConfig, ProcessHookHost};
use plug_manifest::native::model::{Hook, HookHandler};

/// A plugin folder in a fresh temp dir; `name` may contain spaces.
pub struct TestPlugin {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl TestPlugin {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join(name);
        std::fs::create_dir_all(root.join("hooks")).expect("mkdir");
        TestPlugin {
            root: root.canonicalize().expect("canonical root"),
            _dir: dir,
        }
    }

    /// Writes an executable script at `hooks/<name>` and returns its manifest path.
    pub fn script(&self, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.join("hooks").join(name);
        std::fs::write(&path, body).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        format!("./hooks/{name}")
    }

    pub fn host(&self, hooks: Vec<Hook>, config: HostConfig) -> ProcessHookHost {
        ProcessHookHost::new(&self.root, hooks, config).expect("host")
    }
}

pub fn hook(event: &str, handler: HookHandler) -> Hook {
    Hook {
        event: event.into(),
        handler,
        critical: None,
        timeout: None,
        matcher: None,
        aws: false,
        span: (0, 0).into(),
        event_span: (0, 0).into(),
    }
}

pub fn file(path: String) -> HookHandler {
    HookHandler::File { path }
}

pub fn shell(command: &str) -> HookHandler {
    HookHandler::Shell {
        command: command.into(),
    }
}

pub fn exec(argv: &[&str]) -> HookHandler {
    HookHandler::Exec {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
    }
}

pub fn critical(mut hook: Hook, critical: bool) -> Hook {
    hook.critical = Some(critical);
    hook
}

pub fn timeout(mut hook: Hook, timeout: Duration) -> Hook {
    hook.timeout = Some(timeout);
    hook
}

pub fn input(event: &str, action: Option<&str>) -> HookInput {
    HookInput {
        event: event.into(),
        run_id: RunId::new("run-1").expect("run id"),
        plugin: "test-plugin".into(),
        skill: "deploy-x".into(),
        step: action.map(|_| "step-1".to_owned()),
        action: action.map(str::to_owned),
        params: serde_json::json!({"function_name": "f", "api_secret": "s3cr3t-value"}),
        actor: Actor::Agent,
        trace: None,
    }
}

/// A host config without Landlock, for tests that need `/proc` or a shared folder.
pub fn unconfined() -> HostConfig {
    HostConfig {
        landlock: false,
        ..HostConfig::default()
    }
}

/// Whether `pid` is gone: no such process, or a zombie waiting for a reaper
/// (it no longer runs; in some containers pid 1 never reaps).
pub fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
    }
}

/// Waits up to a few seconds for `pid` to be gone.
pub fn wait_gone(pid: u32) -> bool {
    for _ in 0..100 {
        if is_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}
