//! The request context: condition keys and their values, with the global
//! keys AWS derives from the request itself filled in when not given.
//!
//! Key names are case-insensitive (IAM User Guide, "Condition element":
//! "Condition key names are not case-sensitive"), so lookups compare with
//! ASCII case folding against keys compiled to lowercase.

use std::borrow::Cow;
use std::collections::BTreeMap;

use plug_core::ports::ContextValue;

use crate::principal::{Caller, CallerKind};

/// The values of one key, however they were given.
#[derive(Debug, Clone)]
pub enum Values<'c> {
    /// One value.
    One(&'c str),
    /// Several values (a multi-valued key such as `aws:TagKeys`).
    Many(&'c [String]),
}

impl<'c> Values<'c> {
    /// Each value.
    pub fn iter(&self) -> impl Iterator<Item = &'c str> + '_ {
        let (one, many): (Option<&'c str>, &'c [String]) = match self {
            Values::One(v) => (Some(v), &[]),
            Values::Many(m) => (None, m),
        };
        one.into_iter().chain(many.iter().map(String::as_str))
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::One(_) => 1,
            Values::Many(m) => m.len(),
        }
    }

    /// Whether there are none (an empty multi-valued key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// All condition keys of one request.
#[derive(Debug)]
pub struct Context<'a> {
    given: &'a BTreeMap<String, ContextValue>,
    caller: Caller<'a>,
    resource_account: Option<&'a str>,
    derived: std::cell::OnceCell<Vec<(&'static str, String)>>,
    now: std::cell::OnceCell<(String, String)>,
}

impl<'a> Context<'a> {
    /// Builds the context from the request's keys, adding derived global keys.
    pub fn new(
        given: &'a BTreeMap<String, ContextValue>,
        caller: &Caller<'a>,
        resource_account: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            given,
            caller: caller.clone(),
            resource_account,
            derived: std::cell::OnceCell::new(),
            now: std::cell::OnceCell::new(),
        }
    }

    /// The values of a key (`key` must be lowercase).
    pub fn get(&self, key: &str) -> Option<Values<'_>> {
        let given = self
            .given
            .iter()
            .find(|(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key));
        match given {
            Some((_, ContextValue::One(v))) => return Some(Values::One(v)),
            Some((_, ContextValue::Many(m))) => return Some(Values::Many(m)),
            None => {}
        }
        // Derived keys are computed on first use: most requests never ask.
        let derived = self
            .derived
            .get_or_init(|| derived(&self.caller, self.resource_account));
        match derived.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some((_, v)) => Some(Values::One(v)),
            None => self.clock(key).map(Values::One),
        }
    }

    /// The value of a single-valued key, for policy variables.
    pub fn single(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.get(key)? {
            Values::One(v) => Some(Cow::Borrowed(v)),
            Values::Many(_) => None,
        }
    }

    /// `aws:CurrentTime` and `aws:EpochTime` are in every real request; they
    /// are read from the clock only when a policy asks and the context does
    /// not pin them.
    fn clock(&self, key: &str) -> Option<&str> {
        let which = match key {
            "aws:currenttime" => 0,
            "aws:epochtime" => 1,
            _ => return None,
        };
        let (iso, epoch) = self.now.get_or_init(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            (crate::values::format_iso(secs), secs.to_string())
        });
        Some(if which == 0 { iso } else { epoch })
    }
}

/// The global keys AWS puts in every request context, derived from the
/// principal and the resource (IAM User Guide, "AWS global condition context
/// keys": aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType,
/// aws:username, aws:userid, aws:PrincipalIsAWSService, aws:ResourceAccount).
fn derived(caller: &Caller<'_>, resource_account: Option<&str>) -> Vec<(&'static str, String)> {
    use CallerKind as K;
    let mut out = Vec::with_capacity(7);
    let p = caller.partition;
    let account = caller.account.unwrap_or_default();
    let name = caller.name.unwrap_or_default();
    let arn = match caller.kind {
        K::Root => Some(format!("arn:{p}:iam::{account}:root")),
        // For a role session, aws:PrincipalArn is the role's ARN, not the session's.
        K::AssumedRole => Some(format!("arn:{p}:iam::{account}:role/{name}")),
        K::User | K::Role | K::FederatedUser => Some(caller.raw.to_owned()),
        K::Service | K::Anonymous => None,
    };
    if let Some(arn) = arn {
        out.push(("aws:PrincipalArn", arn));
    }
    if let Some(account) = caller.account {
        out.push(("aws:PrincipalAccount", account.to_owned()));
    }
    let kind = match caller.kind {
        K::Root => Some("Account"),
        K::User => Some("User"),
        K::FederatedUser => Some("FederatedUser"),
        K::AssumedRole | K::Role => Some("AssumedRole"),
        K::Anonymous => Some("Anonymous"),
        K::Service => None,
    };
    if let Some(kind) = kind {
        out.push(("aws:PrincipalType", kind.to_owned()));
    }
    match caller.kind {
        K::User => out.push(("aws:username", name.to_owned())),
        K::Root => out.push(("aws:userid", account.to_owned())),
        K::FederatedUser => out.push(("aws:userid", format!("{account}:{name}"))),
        K::Anonymous => out.push(("aws:userid", "anonymous".to_owned())),
        _ => {}
    }
    let is_service = caller.kind == K::Service;
    out.push(("aws:PrincipalIsAWSService", is_service.to_string()));
    if is_service {
        out.push(("aws:PrincipalServiceName", name.to_owned()));
    }
    if let Some(ra) = resource_account {
        out.push(("aws:ResourceAccount", ra.to_owned()));
    }
    out
}
