//! Who is calling: the request's principal string read into its kind, and the
//! `Principal`/`NotPrincipal` element of resource-based policies.
//!
//! A caller has several *identity forms* (IAM User Guide, "AWS JSON policy
//! elements: Principal" and "NotPrincipal"): an assumed-role session is the
//! session, its role and its account; a user is the user and its account.
//! `Principal` matches when any form is listed, and which form matched decides
//! how far the grant reaches (see `eval`). `NotPrincipal` excludes a caller
//! only when every form is listed, which is why AWS tells you to list the
//! account and role ARNs next to a session ARN.

/// What kind of caller made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// The account root user.
    Root,
    /// An IAM user.
    User,
    /// A role ARN given as the caller (treated as a session of that role).
    Role,
    /// An assumed-role session (`sts::...:assumed-role/role/session`).
    AssumedRole,
    /// A federated user session (`sts::...:federated-user/name`).
    FederatedUser,
    /// An AWS service principal such as `lambda.amazonaws.com`.
    Service,
    /// An unauthenticated caller.
    Anonymous,
}

/// The request's principal, parsed.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    /// As given.
    pub raw: &'a str,
    /// Its kind.
    pub kind: CallerKind,
    /// The ARN partition (`aws`, `aws-cn`, ...), when an ARN was given.
    pub partition: &'a str,
    /// Its account.
    pub account: Option<&'a str>,
    /// User name, role name or federated user name.
    pub name: Option<&'a str>,
}

/// Why a principal string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a principal (expected an IAM user, role, assumed-role, root, federated-user or service principal ARN/name, or `anonymous`)"
)]
pub struct BadCaller(pub String);

impl<'a> Caller<'a> {
    /// Reads a principal as the input format gives it.
    pub fn parse(raw: &'a str) -> Result<Caller<'a>, BadCaller> {
        let bad = || BadCaller(raw.to_owned());
        let simple = |kind| Caller {
            raw,
            kind,
            partition: "aws",
            account: None,
            name: None,
        };
        if raw == "anonymous" || raw == "*" {
            return Ok(simple(CallerKind::Anonymous));
        }
        if is_account_id(raw) {
            let mut c = simple(CallerKind::Root);
            c.account = Some(raw);
            return Ok(c);
        }
        if !raw.starts_with("arn:") {
            return if raw.contains('.') && !raw.contains(char::is_whitespace) {
                let mut c = simple(CallerKind::Service);
                c.name = Some(raw);
                Ok(c)
            } else {
                Err(bad())
            };
        }
        let mut parts = raw.splitn(6, ':');
        let mut next = || parts.next().ok_or_else(bad);
        let (_, partition, service, _, account, resource) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        if !is_account_id(account) {
            return Err(bad());
        }
        let (kind, name) = match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => (CallerKind::Root, None),
            ("iam", Some(("user", path))) => (CallerKind::User, last_segment(path)),
            ("iam", Some(("role", path))) => (CallerKind::Role, last_segment(path)),
            ("sts", Some(("assumed-role", rest))) => {
                let (role, session) = rest.split_once('/').ok_or_else(bad)?;
                if role.is_empty() || session.is_empty() {
                    return Err(bad());
                }
                (CallerKind::AssumedRole, Some(role))
            }
            ("sts", Some(("federated-user", name))) if !name.is_empty() => {
                (CallerKind::FederatedUser, Some(name))
            }
            _ => return Err(bad()),
        };
        if matches!(kind, CallerKind::User | CallerKind::Role) && name.is_none() {
            return Err(bad());
        }
        Ok(Caller {
            raw,
            kind,
            partition,
            account: Some(account),
            name,
        })
    }

    /// Whether the caller has identity-based policies at all.
    pub fn has_identity(&self) -> bool {
        !matches!(self.kind, CallerKind::Service | CallerKind::Anonymous)
    }
}

fn last_segment(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|s| !s.is_empty())
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One value of a `Principal` element, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    Everyone,
    /// An account: `123456789012` or `arn:aws:iam::123456789012:root`.
    Account(Box<str>),
    /// A role: matches its sessions (by account and role name; session ARNs carry no path).
    Role {
        /// The role's account.
        account: Box<str>,
        /// The role's name (last path segment).
        name: Box<str>,
    },
    /// Any other AWS ARN (user, assumed-role session, federated user), matched exactly.
    Arn(Box<str>),
    /// `{"Service": ...}`, matched case-insensitively.
    Service(Box<str>),
    /// `{"Federated": ...}` or `{"CanonicalUser": ...}`, matched exactly.
    Other(Box<str>),
}

/// How a resource-based policy's `Principal` reached the caller; this decides
/// whether the grant stands alone (IAM User Guide, "Policy evaluation logic",
/// resource-based policies within one account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Named the account: a delegation, the identity side must allow too.
    Account,
    /// Named the role (for a role session): limited by an implicit deny in the
    /// permissions boundary or the session policy.
    Role,
    /// Named the caller itself (user, session, service, `*`): stands alone.
    Direct,
}

impl PrincipalEntry {
    /// Compiles one `AWS` value (`*`, account id or ARN); `None` if malformed.
    pub fn aws(value: &str) -> Option<PrincipalEntry> {
        if value == "*" {
            return Some(PrincipalEntry::Everyone);
        }
        if is_account_id(value) {
            return Some(PrincipalEntry::Account(value.into()));
        }
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let ["arn", _, service @ ("iam" | "sts"), "", account, resource] = parts[..] else {
            return None;
        };
        if !is_account_id(account) || resource.is_empty() {
            return None;
        }
        if service == "iam" && resource == "root" {
            return Some(PrincipalEntry::Account(account.into()));
        }
        if let (Some(("role", path)), "iam") = (resource.split_once('/'), service) {
            let name = last_segment(path)?;
            return Some(PrincipalEntry::Role {
                account: account.into(),
                name: name.into(),
            });
        }
        Some(PrincipalEntry::Arn(value.into()))
    }

    /// The strongest grant this entry gives the caller, if it names it at all.
    pub fn grant(&self, caller: &Caller<'_>) -> Option<Grant> {
        use CallerKind as K;
        match self {
            PrincipalEntry::Everyone => Some(Grant::Direct),
            PrincipalEntry::Account(a) => (caller.account == Some(&**a)).then_some(Grant::Account),
            PrincipalEntry::Role { account, name } => {
                let same = caller.account == Some(&**account) && caller.name == Some(&**name);
                match caller.kind {
                    K::AssumedRole if same => Some(Grant::Role),
                    K::Role if same => Some(Grant::Role),
                    _ => None,
                }
            }
            PrincipalEntry::Arn(arn) => {
                (caller.has_identity() && **arn == *caller.raw).then_some(Grant::Direct)
            }
            PrincipalEntry::Service(s) => (caller.kind == K::Service
                && caller.name.is_some_and(|n| n.eq_ignore_ascii_case(s)))
            .then_some(Grant::Direct),
            PrincipalEntry::Other(s) => (**s == *caller.raw).then_some(Grant::Direct),
        }
    }
}

/// Whether `entries` name every identity form of the caller (for `NotPrincipal`).
pub fn covers_every_form(entries: &[PrincipalEntry], caller: &Caller<'_>) -> bool {
    use CallerKind as K;
    let named = |want: Grant| entries.iter().any(|e| e.grant(caller) == Some(want));
    let everyone = entries.contains(&PrincipalEntry::Everyone);
    if everyone {
        return true;
    }
    match caller.kind {
        K::Root => named(Grant::Account),
        K::User | K::FederatedUser => named(Grant::Direct) && named(Grant::Account),
        K::AssumedRole => named(Grant::Direct) && named(Grant::Role) && named(Grant::Account),
        K::Role => named(Grant::Role) && named(Grant::Account),
        K::Service | K::Anonymous => named(Grant::Direct),
    }
}
