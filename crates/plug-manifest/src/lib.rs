//! Plugin and skill formats: parsing with source spans, validation and
//! diagnostics.
//!
//! Start at [`load_plugin`]: it reads a plugin folder's manifest and skill
//! files and returns what it could decode together with every [`Finding`].
//! A folder with plugctl's own `plugin.yaml` is read as such; otherwise the
//! host formats of the ecosystem (Claude Code, Codex, Cursor, Agent Plugins
//! 1.0, a bare folder of skills) are detected and loaded into the same model
//! ([`ecosystem`]), and marketplaces are checked against their plugins
//! ([`ecosystem::marketplace`]).
//! Nothing here panics on user input, and one bad field never hides another:
//! decoding goes on after a problem so that all findings are reported at once.

pub mod decode;
pub mod diagnostic;
pub mod ecosystem;
pub mod inspect;
pub mod load;
pub mod matcher;
pub mod native;
pub mod paths;
pub mod placeholder;
pub mod yaml;

pub use diagnostic::{Code, Finding, FindingRecord, Severity, SourceFile};
pub use load::{LoadError, LoadedSkill, Plugin, load_plugin};
pub use native::ImplicitParam;
