//! Who a run acts for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Who a run (or one step of it) acts for.
///
/// The actor becomes the `ActorType` session tag of the run's AWS session, so
/// IAM conditions on `aws:PrincipalTag/ActorType` and CloudTrail can tell an
/// agent's calls from a human's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// An AI agent acting on its own; the default, because it is the least trusted.
    #[default]
    Agent,
    /// A person, for instance one who approved a gated step.
    Human,
}

impl Actor {
    /// The value used for the `ActorType` session tag and in telemetry.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Agent => "agent",
            Actor::Human => "human",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an actor name other than `agent` or `human`.
#[derive(Debug, thiserror::Error)]
#[error("unknown actor `{0}`: expected `agent` or `human`")]
pub struct UnknownActor(pub String);

impl FromStr for Actor {
    type Err = UnknownActor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Actor::Agent),
            "human" => Ok(Actor::Human),
            other => Err(UnknownActor(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_actors() {
        for actor in [Actor::Agent, Actor::Human] {
            assert_eq!(actor.as_str().parse::<Actor>().ok(), Some(actor));
        }
        assert!("robot".parse::<Actor>().is_err());
    }
}
