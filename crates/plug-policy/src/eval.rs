//! Deciding one request against every policy layer AWS applies (IAM User
//! Guide, "Policy evaluation logic", "How AWS enforcement code logic
//! evaluates requests", "Cross-account policy evaluation logic"):
//!
//! 1. an explicit `Deny` in any applicable policy decides (`ExplicitDeny`);
//! 2. RCPs (resource's organisation path) and SCPs (principal's path): every
//!    level must have an applicable `Allow`;
//! 3. within one account, an `Allow` in the resource-based policy or in the
//!    identity-based policies suffices, except that a grant to the account is
//!    a delegation, and a grant to a role ARN is still limited by the
//!    permissions boundary and the session policy; a grant to the caller
//!    itself (user, session, `*`) is limited by neither;
//! 4. identity-based permissions are limited by the permissions boundary and
//!    the session policy (both must allow when present);
//! 5. across accounts, both the identity side and the resource-based policy
//!    must allow;
//! 6. KMS key policies and role trust policies must allow on their own (a
//!    grant to the account delegates to IAM). KMS Developer Guide, "Key
//!    policies": "Unless the key policy explicitly allows it, you cannot use
//!    IAM policies to allow access to a KMS key", so a request for a named
//!    key given without its key policy is not allowed; one for `*` (no key
//!    named, as plugctl's gate asks) is decided by the IAM policies.
//!
//! Before all of that, the rules of `aws_rules` (what AWS allows or refuses
//! whatever the policies say) decide the requests they cover.

use std::sync::Arc;

use plug_core::ports::{
    DecidingStatement, Decision, PermissionChecker, PermissionError, PermissionRequest,
    PermissionVerdict, PolicyLayer,
};

use crate::Catalogue;
use crate::aws_rules::{self, Rule};
use crate::context::Context;
use crate::model::{Effect, Policy, PrincipalMatch};
use crate::principal::{BadCaller, Caller, CallerKind, Grant};

/// A policy with the name decisions cite (e.g. `identityPolicies[0]`).
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    /// Shown in `DecidingStatement::policy`.
    pub name: String,
    /// The compiled policy, shared between sets.
    pub policy: Arc<Policy>,
}

impl NamedPolicy {
    /// Pairs a name with a policy.
    pub fn new(name: impl Into<String>, policy: Arc<Policy>) -> NamedPolicy {
        NamedPolicy {
            name: name.into(),
            policy,
        }
    }
}

/// Every policy that applies to requests, by layer. `None` layers are not
/// applied; an empty `Some` layer (or level) allows nothing.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Identity-based policies of the principal.
    pub identity: Vec<NamedPolicy>,
    /// The resource's resource-based policy.
    pub resource: Option<NamedPolicy>,
    /// The principal's permissions boundary.
    pub boundaries: Option<Vec<NamedPolicy>>,
    /// The session policy.
    pub session: Option<NamedPolicy>,
    /// SCPs, one list per level of the principal's organisation path.
    pub scps: Option<Vec<Vec<NamedPolicy>>>,
    /// RCPs, one list per level of the resource's organisation path.
    pub rcps: Option<Vec<Vec<NamedPolicy>>>,
}

/// Why a request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The principal is not in a form we know.
    #[error(transparent)]
    BadPrincipal(#[from] BadCaller),
}

/// A statement that applied, with where it lives.
#[derive(Debug, Clone, Copy)]
struct Hit<'p> {
    layer: PolicyLayer,
    policy: &'p NamedPolicy,
    statement: usize,
    grant: Grant,
}

impl Hit<'_> {
    fn deciding(&self) -> DecidingStatement {
        let st = &self.policy.policy.statements[self.statement];
        DecidingStatement {
            policy: self.policy.name.clone(),
            index: st.index,
            sid: st.sid.clone(),
            effect: st.effect.as_str().to_owned(),
        }
    }
}

/// The request, prepared once for all statements.
struct Prepared<'a> {
    action: String,
    resource: &'a str,
    caller: Caller<'a>,
    ctx: Context<'a>,
    has_boundary: bool,
}

#[derive(Default)]
struct Scan<'p> {
    denies: Vec<Hit<'p>>,
    allows: Vec<Hit<'p>>,
}

impl<'p> Scan<'p> {
    fn policy(&mut self, layer: PolicyLayer, named: &'p NamedPolicy, req: &Prepared<'_>) -> bool {
        let mut allowed = false;
        for (i, st) in named.policy.statements.iter().enumerate() {
            if !st.matches_action(&req.action) {
                continue;
            }
            let grant = match (layer, st.matches_principal(&req.caller, req.has_boundary)) {
                (PolicyLayer::Resource | PolicyLayer::Rcp, PrincipalMatch::Yes(g)) => g,
                (PolicyLayer::Resource, _) => continue,
                (PolicyLayer::Rcp, PrincipalMatch::No) => continue,
                (_, PrincipalMatch::No) => continue,
                _ => Grant::Direct,
            };
            if !st.matches_resource(req.resource, &req.ctx) || !st.conditions_hold(&req.ctx) {
                continue;
            }
            let hit = Hit {
                layer,
                policy: named,
                statement: i,
                grant,
            };
            match st.effect {
                Effect::Deny => self.denies.push(hit),
                Effect::Allow => {
                    allowed = true;
                    self.allows.push(hit);
                }
            }
        }
        allowed
    }

    /// Scans policies of one layer; whether any allowed.
    fn layer(
        &mut self,
        layer: PolicyLayer,
        policies: &'p [NamedPolicy],
        req: &Prepared<'_>,
    ) -> bool {
        let mut allowed = false;
        for p in policies {
            allowed |= self.policy(layer, p, req);
        }
        allowed
    }

    /// Scans organisation levels; whether every level allowed.
    fn levels(
        &mut self,
        layer: PolicyLayer,
        levels: &'p [Vec<NamedPolicy>],
        req: &Prepared<'_>,
    ) -> bool {
        let mut all = true;
        for level in levels {
            all &= self.layer(layer, level, req);
        }
        all
    }
}

/// Actions for which the resource-based policy must allow even within the
/// account: KMS key policies and role trust policies.
fn resource_policy_required(action: &str) -> bool {
    action.starts_with("kms:")
        || matches!(
            action,
            "sts:assumerole" | "sts:assumerolewithsaml" | "sts:assumerolewithwebidentity"
        )
}

/// The resource an action is authorized against. Actions without
/// resource-level permissions are authorized against `*` whatever resource
/// the request names (Service Authorization Reference, "Resource types"
/// column: "If there is no value for this column, you must specify all
/// resources ("*") to which the policy applies in the Resource element"), so
/// a statement naming a specific ARN never grants or denies them; only one
/// whose Resource matches the text `*` does. The catalogue tells which
/// actions those are; an action it does not know keeps its resource. A
/// request for `*` is matched as the text `*` in every case.
fn authorized_resource<'r>(lowercase_action: &str, resource: &'r str) -> &'r str {
    if resource == "*" {
        return resource;
    }
    let catalogue = Catalogue::bundled().ok();
    match catalogue.and_then(|c| c.has_resource_types(lowercase_action)) {
        Some(false) => "*",
        _ => resource,
    }
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`.
fn is_kms_key(resource: &str) -> bool {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "kms", _, _, rest] if rest.starts_with("key/"))
}

/// The account that owns the resource: given, or read from the ARN.
fn resource_account(req: &PermissionRequest) -> Option<&str> {
    if let Some(a) = req.resource_account.as_deref() {
        return Some(a);
    }
    if let Some(plug_core::ports::ContextValue::One(a)) = req
        .context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("aws:ResourceAccount"))
        .map(|(_, v)| v)
    {
        return Some(a);
    }
    let account = req.resource.split(':').nth(4)?;
    crate::principal::is_account_id(account).then_some(account)
}

impl PolicySet {
    /// Decides one request.
    pub fn evaluate(&self, req: &PermissionRequest) -> Result<PermissionVerdict, RequestError> {
        let caller = Caller::parse(&req.principal)?;
        let res_account = resource_account(req);
        let ctx = Context::new(&req.context, &caller, res_account);
        let action = req.action.to_ascii_lowercase();
        let prepared = Prepared {
            resource: authorized_resource(&action, &req.resource),
            action,
            caller,
            ctx,
            has_boundary: self.boundaries.is_some(),
        };
        Ok(self.decide(&prepared, res_account))
    }

    fn decide(&self, req: &Prepared<'_>, res_account: Option<&str>) -> PermissionVerdict {
        let caller = &req.caller;
        let has_identity = caller.has_identity();
        if let Some(rule) = aws_rules::rule(&req.action, req.resource, has_identity) {
            return built_in(rule);
        }
        let mut scan = Scan::default();
        let identity_allows =
            has_identity && scan.layer(PolicyLayer::Identity, &self.identity, req);
        let resource_allows = match &self.resource {
            Some(p) => scan.policy(PolicyLayer::Resource, p, req),
            None => false,
        };
        // Boundaries and session policies bound IAM principals only; the root
        // user has neither.
        let bounded = has_identity && caller.kind != CallerKind::Root;
        let boundary_ok = match (&self.boundaries, bounded) {
            (Some(b), true) => scan.layer(PolicyLayer::PermissionsBoundary, b, req),
            _ => true,
        };
        let session_ok = match (&self.session, bounded) {
            (Some(s), true) => scan.policy(PolicyLayer::SessionPolicy, s, req),
            _ => true,
        };
        // SCPs restrict principals of the organisation's accounts, not
        // anonymous callers or AWS services.
        let scp_ok = match (&self.scps, has_identity) {
            (Some(levels), true) => scan.levels(PolicyLayer::Scp, levels, req),
            _ => true,
        };
        let rcp_ok = match &self.rcps {
            Some(levels) => scan.levels(PolicyLayer::Rcp, levels, req),
            None => true,
        };

        if !scan.denies.is_empty() {
            let mut blocked: Vec<PolicyLayer> = Vec::new();
            for d in &scan.denies {
                if !blocked.contains(&d.layer) {
                    blocked.push(d.layer);
                }
            }
            return PermissionVerdict {
                decision: Decision::ExplicitDeny,
                blocked_by: blocked,
                statements: scan.denies.iter().map(Hit::deciding).collect(),
            };
        }

        let root = caller.kind == CallerKind::Root;
        let identity_ok = root || identity_allows;
        let identity_path = has_identity && identity_ok && boundary_ok && session_ok;
        let best_grant = scan
            .allows
            .iter()
            .filter(|h| h.layer == PolicyLayer::Resource)
            .map(|h| h.grant)
            .max();
        let resource_grants = match best_grant {
            Some(Grant::Direct) => true,
            Some(Grant::Role) => boundary_ok && session_ok,
            Some(Grant::Account) => identity_path,
            None => false,
        };
        let cross_account = match (caller.account, res_account) {
            (Some(p), Some(r)) => p != r,
            _ => false,
        };
        // A key named without its key policy: nothing says the key policy
        // allows, and IAM policies alone never open a KMS key.
        let key_without_policy = is_kms_key(req.resource) && req.action.starts_with("kms:");
        let required = (self.resource.is_some() || key_without_policy)
            && resource_policy_required(&req.action);
        let allowed = if !has_identity {
            resource_grants
        } else if cross_account {
            identity_path && resource_allows
        } else if required {
            resource_grants
        } else {
            identity_path || resource_grants
        };

        let mut blocked = Vec::new();
        if !rcp_ok {
            blocked.push(PolicyLayer::Rcp);
        }
        if !scp_ok {
            blocked.push(PolicyLayer::Scp);
        }
        if !allowed {
            if has_identity && !identity_ok {
                blocked.push(PolicyLayer::Identity);
            }
            if !resource_allows && (self.resource.is_some() || cross_account || !has_identity) {
                blocked.push(PolicyLayer::Resource);
            }
            if bounded && !boundary_ok {
                blocked.push(PolicyLayer::PermissionsBoundary);
            }
            if bounded && !session_ok {
                blocked.push(PolicyLayer::SessionPolicy);
            }
            if blocked.is_empty() {
                // Every layer allowed something, but not in a combination
                // that grants (e.g. a role-ARN grant outside the boundary).
                blocked.push(PolicyLayer::Resource);
            }
        }
        if !blocked.is_empty() {
            return PermissionVerdict {
                decision: Decision::ImplicitDeny,
                blocked_by: blocked,
                statements: Vec::new(),
            };
        }
        PermissionVerdict {
            decision: Decision::Allow,
            blocked_by: Vec::new(),
            statements: scan.allows.iter().map(Hit::deciding).collect(),
        }
    }
}

/// The verdict of a rule AWS applies whatever the policies say; it cites
/// the rule where a statement would be.
fn built_in(rule: Rule) -> PermissionVerdict {
    let (decision, blocked_by, effect) = match rule {
        Rule::Allow(_) => (Decision::Allow, Vec::new(), "Allow"),
        Rule::Deny(_) => (Decision::ExplicitDeny, vec![PolicyLayer::Aws], "Deny"),
    };
    PermissionVerdict {
        decision,
        blocked_by,
        statements: vec![DecidingStatement {
            policy: "AWS".to_owned(),
            index: 0,
            sid: Some(rule.name().to_owned()),
            effect: effect.to_owned(),
        }],
    }
}

impl PermissionChecker for PolicySet {
    fn check(&self, request: &PermissionRequest) -> Result<PermissionVerdict, PermissionError> {
        self.evaluate(request)
            .map_err(|e| PermissionError::InvalidRequest(e.to_string()))
    }
}
