//! A policy as the evaluator uses it: compiled once (actions lowercased,
//! wildcards split, condition values typed) so a decision does no parsing.

use crate::condition::Condition;
use crate::context::Context;
use crate::diagnostic::Diagnostic;
use crate::glob::Glob;
use crate::principal::{Caller, Grant, PrincipalEntry, covers_every_form};
use crate::template::Template;

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012,
    /// `2008-10-17` or no `Version`: `${...}` is literal text.
    V2008,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Denies, overriding every allow.
    Deny,
}

impl Effect {
    /// As written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A parsed, compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Its version.
    pub version: Version,
    /// Its `Id`, if any.
    pub id: Option<String>,
    /// Its statements, in order.
    pub statements: Vec<Statement>,
    /// Warnings found while reading it (errors prevent a `Policy`).
    pub warnings: Vec<Diagnostic>,
}

/// `Action` (listed) or `NotAction` (everything else).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSet {
    /// `NotAction`.
    pub negated: bool,
    /// Lowercased patterns.
    pub patterns: Vec<Glob>,
}

/// One `Resource` value.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourcePattern {
    /// A pattern without variables.
    Static(Glob),
    /// A pattern with policy variables.
    Template(Template),
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSet {
    /// `NotResource`.
    pub negated: bool,
    /// The patterns.
    pub patterns: Vec<ResourcePattern>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalSet {
    /// `NotPrincipal`.
    pub negated: bool,
    /// The entries.
    pub entries: Vec<PrincipalEntry>,
}

/// One compiled statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in the policy.
    pub index: usize,
    /// `Sid`.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Action`/`NotAction`.
    pub actions: ActionSet,
    /// `Resource`/`NotResource`; `None` in trust policies, which omit it.
    pub resources: Option<ResourceSet>,
    /// `Principal`/`NotPrincipal` (resource-based policies only).
    pub principals: Option<PrincipalSet>,
    /// Condition entries (all must hold).
    pub conditions: Vec<Condition>,
    /// 1-based line and column of the statement.
    pub location: (usize, usize),
}

/// What a statement's principal test said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// The statement names no principal (identity-style statement).
    NotApplicable,
    /// It applies to the caller, through this grant.
    Yes(Grant),
    /// It does not apply.
    No,
}

impl Statement {
    /// Whether the action matches (`action` already lowercased).
    pub fn matches_action(&self, action: &str) -> bool {
        self.actions.patterns.iter().any(|p| p.matches(action)) != self.actions.negated
    }

    /// Whether the resource matches.
    pub fn matches_resource(&self, resource: &str, ctx: &Context<'_>) -> bool {
        let Some(set) = &self.resources else {
            return true;
        };
        let any = set.patterns.iter().any(|p| match p {
            ResourcePattern::Static(g) => g.matches(resource),
            ResourcePattern::Template(t) => {
                t.resolve_glob(ctx).is_some_and(|g| g.matches(resource))
            }
        });
        any != set.negated
    }

    /// Whether the statement's principal element covers the caller.
    /// `has_boundary`: AWS documents that a `NotPrincipal` + `Deny` statement
    /// always applies to a principal that has a permissions boundary.
    pub fn matches_principal(&self, caller: &Caller<'_>, has_boundary: bool) -> PrincipalMatch {
        let Some(set) = &self.principals else {
            return PrincipalMatch::NotApplicable;
        };
        if set.negated {
            let applies = (self.effect == Effect::Deny && has_boundary)
                || !covers_every_form(&set.entries, caller);
            return if applies {
                PrincipalMatch::Yes(Grant::Direct)
            } else {
                PrincipalMatch::No
            };
        }
        match set.entries.iter().filter_map(|e| e.grant(caller)).max() {
            Some(g) => PrincipalMatch::Yes(g),
            None => PrincipalMatch::No,
        }
    }

    /// Whether every condition holds.
    pub fn conditions_hold(&self, ctx: &Context<'_>) -> bool {
        self.conditions.iter().all(|c| c.holds(ctx))
    }
}
