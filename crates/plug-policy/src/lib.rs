//! `plug-policy`: an IAM policy engine faithful to AWS's documented logic,
//! behind the [`PermissionChecker`](plug_core::ports::PermissionChecker) port.
//!
//! - [`parse_policy`] reads a policy (every element; a bare statement object
//!   is accepted as a one-statement policy) into a compiled [`Policy`], or
//!   returns located [`Diagnostic`]s;
//! - [`PolicySet`] holds the layers (identity, resource-based, permissions
//!   boundary, session, SCP levels, RCP levels) and decides requests, after
//!   the rules AWS applies whatever the policies say (`aws_rules`:
//!   `sts:GetCallerIdentity`, AWS managed policies, service-linked and
//!   reserved roles, `alias/aws/` KMS aliases);
//! - policies AWS stores though they break the grammar (an invalid action
//!   string, a bare-ARN `Principal`, an empty `Statement` list) are read as
//!   AWS reads them, with a warning, rather than refused;
//! - [`catalogue`] knows every AWS action, resource type and condition key;
//!   [`parse_policy_linted`] uses it to warn about unknown actions and keys;
//! - [`input`] reads the `plugctl policy eval` JSON format, with a cache so
//!   batches compile each distinct policy once.

mod aws_rules;
pub mod catalogue;
pub mod condition;
pub mod context;
pub mod diagnostic;
pub mod eval;
pub mod glob;
pub mod input;
pub mod model;
pub mod parse;
pub mod principal;
pub mod template;
pub mod values;

pub use catalogue::Catalogue;
pub use diagnostic::{Code, Diagnostic, Severity};
pub use eval::{NamedPolicy, PolicySet, RequestError};
pub use model::Policy;
pub use parse::{parse_policy, parse_policy_linted};
