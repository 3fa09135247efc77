//! [`Governance`]: the exceptions to plugctl's defaults a run was started
//! with. Recorded in the journal's start entry and the audit log's
//! `run_started` event, and shown by `plugctl runs`, so a run that went
//! without a permission check or a tagged session can always be found.

use serde::{Deserialize, Serialize};

/// The run's waivers of deny-by-default; all `false` for an ordinary run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
    /// Ran with `--unchecked`: no permission source decided its actions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unchecked: bool,
    /// Acted with the operator's base credentials (`identity: base`), not a
    /// tagged role session: CloudTrail cannot tell its calls from the operator's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base_identity: bool,
    /// A human run: the person's principal ARN, as `GetCallerIdentity` of
    /// their credentials said (not a waiver: who vouches for the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_human: Option<String>,
}

impl Governance {
    /// Whether nothing was waived or verified.
    pub fn is_default(&self) -> bool {
        *self == Governance::default()
    }

    /// The waivers as words (`unchecked`, `base-identity`), for `runs`.
    pub fn labels(&self) -> Vec<&'static str> {
        let mut labels = Vec::new();
        if self.unchecked {
            labels.push("unchecked");
        }
        if self.base_identity {
            labels.push("base-identity");
        }
        labels
    }
}
