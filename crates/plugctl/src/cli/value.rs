//! Value types and parsers the argument structs share.

use clap::ValueEnum;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: annotated source excerpts.
    Human,
    /// For tools: JSON on stdout.
    Json,
}

/// Reads `NAME=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// Who acts, as `--actor` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActorArg {
    /// An agent: its own session, tagged `ActorType=agent`.
    Agent,
    /// A person: tagged `ActorType=human`.
    Human,
}

impl From<ActorArg> for plug_core::Actor {
    fn from(actor: ActorArg) -> Self {
        match actor {
            ActorArg::Agent => plug_core::Actor::Agent,
            ActorArg::Human => plug_core::Actor::Human,
        }
    }
}
