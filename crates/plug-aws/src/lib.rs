//! The AWS layer of plugctl: the run's agent-attributed identity (STS sessions
//! tagged `ActorType=agent|human`) and a model-driven invoker that can call any
//! operation of the bundled AWS service models by name.
//!
//! - [`model`]: botocore's service models, embedded gzipped, decoded lazily.
//! - [`protocol`]: serializers and parsers for json, rest-json, rest-xml, query and ec2.
//! - [`endpoint`], [`signing`], [`retry`]: where a request goes, SigV4, standard retries.
//! - [`identity`]: credentials from the standard chain, AssumeRole with session tags.
//! - [`client::AwsClient`]: the [`plug_core::ports::AwsInvoker`] implementation;
//!   [`sessions::RunSessions`]: the [`plug_core::ports::AwsSessions`] one (per-actor sessions).
//! - [`iam_actions`] and [`validate`]: static knowledge for `plugctl check` and `validate`.
//! - [`role_policies`]: a role's inline, managed and boundary policies as IAM holds them.

pub mod client;
pub mod endpoint;
pub mod iam_actions;
pub mod identity;
pub mod model;
pub mod protocol;
pub mod retry;
pub mod role_policies;
pub mod sessions;
pub mod signing;
pub mod timestamp;
pub mod validate;

pub use client::AwsClient;
pub use iam_actions::{iam_actions, iam_actions_for_call};
pub use identity::{CallerIdentity, IdentityConfig, RoleConfig, Session};
pub use sessions::RunSessions;
pub use validate::{CallProblem, ProblemKind, validate_call};
