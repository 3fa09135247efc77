//! Exit codes, documented in the README and in `plugctl --help`.

/// What a `plugctl` process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed.
    Success = 0,
    /// The input was read, and it has findings (or a run step failed).
    Findings = 1,
    /// Bad usage, or a file that could not be read at all.
    Usage = 2,
    /// `run`: the permission gate denied an action before any step ran.
    Denied = 3,
    /// `run`: a human refused an approval, or nobody answered.
    ApprovalRefused = 4,
    /// `run`: a hook blocked the run.
    Blocked = 5,
    /// `run`: interrupted (Ctrl-C, SIGTERM or the skill timeout); `plugctl resume` continues it.
    /// `serve`: stopped by SIGINT or SIGTERM, its runs interrupted.
    Interrupted = 6,
    /// `run`: refused before it started by deny-by-default: the skill is not
    /// allowed, or it needs AWS without a role or a permission source.
    Refused = 7,
    /// Whoever read the output stopped reading (`plugctl ... | head`): the
    /// shells' code for a process ended by SIGPIPE, without a panic message.
    BrokenPipe = 141,
}

/// The exit code of a run that ended with `outcome`.
pub fn for_outcome(outcome: &plug_skill::RunOutcome) -> Exit {
    use plug_skill::RunOutcome;
    match outcome {
        RunOutcome::Succeeded => Exit::Success,
        RunOutcome::StepFailed { .. } => Exit::Findings,
        RunOutcome::Denied { .. } => Exit::Denied,
        RunOutcome::ApprovalRefused { .. } => Exit::ApprovalRefused,
        RunOutcome::Blocked { .. } => Exit::Blocked,
        RunOutcome::Interrupted { .. } => Exit::Interrupted,
        RunOutcome::JournalFailed { .. } => Exit::Usage,
    }
}

/// Says why the store refused and picks the exit code: a plugin that does
/// not validate or was tampered with is a finding, anything else usage.
pub fn store_failed(e: &plug_store::StoreError) -> Exit {
    use plug_store::StoreError;
    eprintln!("error: {e}");
    match e {
        StoreError::Invalid { .. } | StoreError::Tampered { .. } => Exit::Findings,
        _ => Exit::Usage,
    }
}

/// Says why a run could not start; deny-by-default's refusals exit 7.
pub fn runtime_failed(e: &plug_runtime::RuntimeError) -> Exit {
    use plug_runtime::RuntimeError;
    eprintln!("error: {e}");
    match e {
        RuntimeError::Refused(_) | RuntimeError::Human(_) => Exit::Refused,
        _ => Exit::Usage,
    }
}

/// Prints `error: message` and returns the usage exit code.
pub fn usage(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Usage
}

/// `Findings` when a check failed, else `Success`.
pub fn findings_if(failed: bool) -> Exit {
    [Exit::Success, Exit::Findings][usize::from(failed)]
}

/// A command's result: `Err` is a failure already reported, with its code.
pub type Outcome = Result<Exit, Exit>;

/// Reports any error as a usage error (`error: ...`, exit 2).
pub trait OrUsage<T> {
    /// `Err(Exit::Usage)` after printing the error.
    fn or_usage(self) -> Result<T, Exit>;
}

impl<T, E: std::fmt::Display> OrUsage<T> for Result<T, E> {
    fn or_usage(self) -> Result<T, Exit> {
        self.map_err(|e| usage(&e.to_string()))
    }
}
