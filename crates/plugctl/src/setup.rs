//! What commands set up before they work: the settings resolved by
//! plug-runtime, the runtime itself (with its policies' warnings shown),
//! and the async runtime AWS and MCP work runs on.

use plug_runtime::{Flags, RunSettings, Runtime, RuntimeError};

use crate::diagnostics::policy_error;
use crate::exit::{Exit, usage};

/// The resolved settings; a broken configuration file is a usage error.
pub fn settings(flags: Flags) -> Result<RunSettings, Exit> {
    RunSettings::resolve(flags).map_err(|e| usage(&e.to_string()))
}

/// The runtime for `flags`, with its policies' warnings shown.
pub fn runtime(flags: Flags) -> Result<Runtime, Exit> {
    match Runtime::new(settings(flags)?) {
        Ok((runtime, warnings)) => {
            warnings.iter().for_each(|w| eprintln!("{w}"));
            Ok(runtime)
        }
        Err(RuntimeError::Policies(e)) => Err(policy_error(&e)),
        Err(e) => Err(usage(&e.to_string())),
    }
}

/// The async runtime a command's AWS or MCP work runs on.
pub fn async_runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Runtime::new()
        .map_err(|e| usage(&format!("cannot start the async runtime: {e}")))
}
