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
    /// `run`: interrupted (Ctrl-C or the skill timeout); `plugctl resume` continues it.
    Interrupted = 6,
    /// Whoever read the output stopped reading (`plugctl ... | head`): the
    /// shells' code for a process ended by SIGPIPE, without a panic message.
    BrokenPipe = 141,
}
