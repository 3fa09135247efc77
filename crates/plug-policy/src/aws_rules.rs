//! Rules AWS applies whatever the policies say. They decide before (and
//! instead of) any policy layer, so no statement can grant or refuse them.
//!
//! - `sts:GetCallerIdentity` needs no permission and works even under an
//!   explicit deny (STS API Reference, "GetCallerIdentity": "No permissions
//!   are required to perform this operation. If an administrator attaches a
//!   policy to your identity that explicitly denies access to the
//!   sts:GetCallerIdentity action, you can still perform this operation.").
//!   Only an authenticated caller can ask, so anonymous callers are left to
//!   the policies.
//! - AWS managed policies (`arn:aws:iam::aws:policy/...`) are AWS's to
//!   change: customers cannot create, version, delete, tag or set the default
//!   version of one (IAM User Guide, "AWS managed policies": "You cannot
//!   change the permissions defined in AWS managed policies").
//! - Service-linked roles (`/aws-service-role/` path) are changed only by
//!   their service: customers cannot attach, detach, put or delete their
//!   policies, set a boundary, change the trust policy or tags, or delete them
//!   with `DeleteRole` (IAM User Guide, "Using service-linked roles": the
//!   service defines the permissions and only it can assume the role;
//!   deletion goes through `DeleteServiceLinkedRole`; the API Reference's
//!   `UnmodifiableEntity` error: "service-linked roles are protected AWS
//!   resources"). The description stays editable, and a service-linked role
//!   can still be passed (`iam:PassRole`, e.g. EC2 Auto Scaling's
//!   non-default service-linked role), so neither is refused here.
//! - AWS-reserved roles (`/aws-reserved/` path, such as IAM Identity
//!   Center's `AWSReservedSSO_*`) cannot be changed or deleted in IAM at all
//!   (IAM Identity Center User Guide, "Permission sets": the roles it creates
//!   can be changed only through the permission set).
//! - KMS aliases under `alias/aws/` belong to AWS managed keys: customers
//!   cannot create, update or delete them (KMS Developer Guide, "Aliases in
//!   AWS KMS": "You cannot create, update or delete an alias that begins with
//!   alias/aws/").

/// What a built-in rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Allowed, whatever the policies say.
    Allow(&'static str),
    /// Denied, whatever the policies say.
    Deny(&'static str),
}

impl Rule {
    /// The rule's name, shown where a statement's Sid would be.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Rule::Allow(name) | Rule::Deny(name) => name,
        }
    }
}

/// Changes to a managed policy only AWS may make.
const MANAGED_POLICY_CHANGES: &[&str] = &[
    "iam:createpolicy",
    "iam:createpolicyversion",
    "iam:deletepolicy",
    "iam:deletepolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:tagpolicy",
    "iam:untagpolicy",
];

/// Changes to a role that only its service (or AWS) may make.
const ROLE_CHANGES: &[&str] = &[
    "iam:attachrolepolicy",
    "iam:deleterole",
    "iam:deleterolepermissionsboundary",
    "iam:deleterolepolicy",
    "iam:detachrolepolicy",
    "iam:putrolepermissionsboundary",
    "iam:putrolepolicy",
    "iam:tagrole",
    "iam:untagrole",
    "iam:updateassumerolepolicy",
];

/// Reserved roles cannot even have their description edited (a
/// service-linked role's description, through either call, stays editable).
const RESERVED_ROLE_ONLY: &[&str] = &["iam:updaterole", "iam:updateroledescription"];

const AWS_ALIAS_CHANGES: &[&str] = &["kms:createalias", "kms:deletealias", "kms:updatealias"];

/// The built-in rule for `action` (lowercase) on `resource`, if one applies.
pub(crate) fn rule(action: &str, resource: &str, authenticated: bool) -> Option<Rule> {
    // Every request passes here: leave other services at once.
    if !(action.starts_with("iam:") || action.starts_with("kms:") || action.starts_with("sts:")) {
        return None;
    }
    if action == "sts:getcalleridentity" {
        return authenticated.then_some(Rule::Allow("AwsGetCallerIdentityNeedsNoPermission"));
    }
    let (service, resource_path) = arn_service_and_resource(resource)?;
    match service {
        "iam" if is_managed_policy(resource) && MANAGED_POLICY_CHANGES.contains(&action) => {
            Some(Rule::Deny("AwsManagedPolicyIsReadOnly"))
        }
        "iam"
            if resource_path.starts_with("role/aws-service-role/")
                && ROLE_CHANGES.contains(&action) =>
        {
            Some(Rule::Deny("AwsServiceLinkedRoleIsManagedByItsService"))
        }
        "iam"
            if resource_path.starts_with("role/aws-reserved/")
                && (ROLE_CHANGES.contains(&action) || RESERVED_ROLE_ONLY.contains(&action)) =>
        {
            Some(Rule::Deny("AwsReservedRoleIsReadOnly"))
        }
        "kms" if resource_path.starts_with("alias/aws/") && AWS_ALIAS_CHANGES.contains(&action) => {
            Some(Rule::Deny("AwsManagedKeyAliasIsReadOnly"))
        }
        _ => None,
    }
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` → (SERVICE, RESOURCE).
fn arn_service_and_resource(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let service = parts.next()?;
    let _region = parts.next()?;
    let _account = parts.next()?;
    Some((service, parts.next()?))
}

/// A policy in AWS's own account: `arn:PARTITION:iam::aws:policy/...`.
fn is_managed_policy(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "iam", "", "aws", resource] if resource.starts_with("policy/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_applies_to_its_resources_only() {
        let managed = "arn:aws:iam::aws:policy/AdministratorAccess";
        let own = "arn:aws:iam::111122223333:policy/Mine";
        assert_eq!(
            rule("iam:createpolicyversion", managed, true),
            Some(Rule::Deny("AwsManagedPolicyIsReadOnly"))
        );
        assert_eq!(rule("iam:createpolicyversion", own, true), None);
        assert_eq!(rule("iam:getpolicy", managed, true), None);
        let slr = "arn:aws:iam::111122223333:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk";
        assert!(matches!(
            rule("iam:putrolepolicy", slr, true),
            Some(Rule::Deny(_))
        ));
        assert_eq!(rule("iam:updateroledescription", slr, true), None);
        assert_eq!(rule("iam:deleteservicelinkedrole", slr, true), None);
        let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123";
        assert!(matches!(
            rule("iam:updateroledescription", sso, true),
            Some(Rule::Deny(_))
        ));
        let alias = "arn:aws:kms:us-east-1:111122223333:alias/aws/s3";
        assert!(matches!(
            rule("kms:deletealias", alias, true),
            Some(Rule::Deny(_))
        ));
        let mine = "arn:aws:kms:us-east-1:111122223333:alias/mine";
        assert_eq!(rule("kms:deletealias", mine, true), None);
        assert!(matches!(
            rule("sts:getcalleridentity", "*", true),
            Some(Rule::Allow(_))
        ));
        assert_eq!(rule("sts:getcalleridentity", "*", false), None);
    }
}
