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
}
