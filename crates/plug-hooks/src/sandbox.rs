//! Confinement of hook processes: Landlock on Linux, and resource limits.
//!
//! # Why no `pre_exec`
//!
//! Landlock restricts the *calling thread* and everything it starts
//! afterwards. So instead of applying it in the child between `fork` and
//! `exec` (where only async-signal-safe code may run, and whose outcome the
//! parent never sees), the host starts each hook from a fresh, short-lived
//! thread: that thread restricts itself with the safe `landlock` API, spawns
//! the hook (which inherits the Landlock domain and `no_new_privs`), sends
//! back the achieved level, and ends. No other thread of plugctl is ever
//! restricted, and there is no helper binary to find and no second `exec` on
//! the hot path.
//!
//! Resource limits are per process, not per thread, so they cannot be set the
//! same way. Setting them in the child before `exec` (`pre_exec`) would make
//! std `fork()` instead of `posix_spawn`, about 2 ms per hook, so they are
//! applied with `prlimit(2)` right after the spawn returns. This is best
//! effort: for the microseconds between `exec` and `prlimit` the hook runs
//! with the runtime's limits. The timeout, which kills the whole process
//! group, is the hard bound.

use std::path::PathBuf;

use serde::Serialize;

/// Paths a hook may read (and execute) and paths it may also write.
#[derive(Debug, Clone, Default)]
pub struct SandboxPolicy {
    /// Read and execute beneath these (system paths, the plugin root).
    pub read: Vec<PathBuf>,
    /// Read, write, create and delete beneath these (the hook's temp dir).
    pub write: Vec<PathBuf>,
}

/// System paths a hook may read. `/proc` is deliberately absent: through
/// `/proc/<pid>/environ` a same-user process could read plugctl's own
/// environment, credentials included. `/etc` is limited to what programs need
/// to start, resolve names and verify TLS.
pub const SYSTEM_READ_PATHS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/nix/store",
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/gai.conf",
    "/etc/group",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/locale.alias",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/pki",
    "/etc/protocols",
    "/etc/python3",
    "/etc/resolv.conf",
    "/etc/services",
    "/etc/ssl",
    "/etc/timezone",
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// Device files a hook may write besides its temp dir.
pub const SYSTEM_WRITE_PATHS: &[&str] = &["/dev/null", "/dev/full", "/dev/zero"];

/// What Landlock achieved for one hook: the figure the host logs and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LandlockLevel {
    /// Switched off in the host's configuration.
    Disabled,
    /// The kernel (or platform) offers no Landlock; the hook ran unconfined.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The hook ran under a Landlock domain.
    Enforced {
        /// The ABI version used (the kernel's, capped at what the crate knows).
        abi: i32,
        /// Whether every requested restriction is enforced, or only those the kernel knows.
        complete: bool,
    },
}

impl std::fmt::Display for LandlockLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LandlockLevel::Disabled => f.write_str("landlock disabled"),
            LandlockLevel::Unavailable { reason } => write!(f, "landlock unavailable ({reason})"),
            LandlockLevel::Enforced { abi, complete } => write!(
                f,
                "landlock ABI {abi}, {}",
                if *complete {
                    "fully enforced"
                } else {
                    "partially enforced"
                }
            ),
        }
    }
}

/// Why a hook could not be confined (it is then not started: fail closed).
#[derive(Debug, thiserror::Error)]
#[error("cannot confine the hook: {0}")]
pub struct SandboxError(String);

/// Confines the calling thread, and so every process it starts from now on.
///
/// Call it only on a thread that ends right after spawning the hook.
#[cfg(target_os = "linux")]
pub fn confine_current_thread(policy: &SandboxPolicy) -> Result<LandlockLevel, SandboxError> {
    use landlock::{
        ABI, Access, AccessFs, LandlockStatus, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetStatus, Scope, path_beneath_rules,
    };
    // File-system rights stopped changing at ABI 5 and scopes came with ABI 6;
    // asking for more would only report "partial" on kernels that have it all.
    let fs_abi = ABI::V5;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(fs_abi))
        .and_then(|r| r.scope(Scope::from_all(ABI::V6)))
        .and_then(Ruleset::create)
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                &policy.read,
                AccessFs::from_read(fs_abi),
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                &policy.write,
                AccessFs::from_all(fs_abi),
            ))
        })
        .and_then(|r| r.restrict_self())
        .map_err(|e| SandboxError(e.to_string()))?;
    Ok(match (status.ruleset, status.landlock) {
        (RulesetStatus::NotEnforced, LandlockStatus::NotEnabled) => LandlockLevel::Unavailable {
            reason: "supported by the kernel but not enabled".into(),
        },
        (RulesetStatus::NotEnforced, _) => LandlockLevel::Unavailable {
            reason: "not supported by this kernel".into(),
        },
        (ruleset, LandlockStatus::Available { effective_abi, .. }) => LandlockLevel::Enforced {
            abi: effective_abi as i32,
            complete: ruleset == RulesetStatus::FullyEnforced,
        },
        (_, _) => LandlockLevel::Unavailable {
            reason: "unknown Landlock status".into(),
        },
    })
}

/// Confines the calling thread: nothing to do where Landlock does not exist.
#[cfg(not(target_os = "linux"))]
pub fn confine_current_thread(_policy: &SandboxPolicy) -> Result<LandlockLevel, SandboxError> {
    Ok(LandlockLevel::Unavailable {
        reason: "Landlock exists only on Linux".into(),
    })
}

/// Resource limits applied to each hook process (each `None` leaves the runtime's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    /// `RLIMIT_NPROC`. Linux counts every process of the user, not only the
    /// hook's, and does not enforce it for root.
    pub max_processes: Option<u64>,
    /// `RLIMIT_AS`, in bytes.
    pub max_address_space: Option<u64>,
    /// `RLIMIT_CPU`, in seconds; `None` derives it from the hook's timeout.
    pub max_cpu_seconds: Option<u64>,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            max_processes: Some(1024),
            max_address_space: Some(8 << 30),
            max_cpu_seconds: None,
        }
    }
}

/// Applies `limits` to the running process `pid`; returns the limits that could not be set.
#[cfg(target_os = "linux")]
pub fn apply_limits(pid: u32, limits: &ResourceLimits, cpu_seconds: u64) -> Vec<String> {
    use rustix::process::{Pid, Resource, Rlimit, getrlimit, prlimit};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return vec!["all: no pid".into()];
    };
    let wanted = [
        (Resource::Nproc, "RLIMIT_NPROC", limits.max_processes),
        (Resource::As, "RLIMIT_AS", limits.max_address_space),
        (
            Resource::Cpu,
            "RLIMIT_CPU",
            Some(limits.max_cpu_seconds.unwrap_or(cpu_seconds)),
        ),
    ];
    let mut failed = Vec::new();
    for (resource, name, value) in wanted {
        let Some(value) = value else { continue };
        // The child inherited our limits; raising a hard limit would need privileges.
        let value = getrlimit(resource)
            .maximum
            .map_or(value, |hard| value.min(hard));
        let limit = Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        if let Err(e) = prlimit(Some(pid), resource, limit) {
            failed.push(format!("{name}: {e}"));
        }
    }
    failed
}

/// Applies resource limits: `prlimit` exists only on Linux.
#[cfg(not(target_os = "linux"))]
pub fn apply_limits(_pid: u32, _limits: &ResourceLimits, _cpu_seconds: u64) -> Vec<String> {
    vec!["all: prlimit is Linux-only".into()]
}
