//! Identity policies for the permission gate and `check`: read from files,
//! or fetched from IAM for a role. Loading never prints: it returns every
//! diagnostic, located, for the front end to show.

use std::path::PathBuf;
use std::sync::Arc;

use plug_policy::{Catalogue, Diagnostic, NamedPolicy, Policy, PolicySet, Severity};

/// One problem in one policy: the file or fetched policy it is in, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFinding {
    /// The file's path, or the fetched policy's name (`inline:NAME`, an ARN).
    pub source: String,
    /// What is wrong, with line and column.
    pub diagnostic: Diagnostic,
}

impl std::fmt::Display for PolicyFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.diagnostic)
    }
}

/// Why policies cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// At least one policy has errors; every finding, errors and warnings.
    #[error("{} error(s) in the policies", .0.iter().filter(|f| f.diagnostic.severity == Severity::Error).count())]
    Invalid(Vec<PolicyFinding>),
    /// A role's policies could not be fetched from IAM.
    #[error("--role {role}: {source}")]
    Fetch {
        /// The role as given.
        role: String,
        /// Why.
        source: plug_aws::role_policies::FetchError,
    },
}

/// Policies ready to decide, with the warnings found while reading them.
#[derive(Debug, Default)]
pub struct LoadedPolicies {
    /// The layers.
    pub set: PolicySet,
    /// Warnings (nothing here is an error).
    pub warnings: Vec<PolicyFinding>,
}

impl LoadedPolicies {
    /// Reads identity policy files; with a catalogue, unknown actions and
    /// keys are warnings too.
    pub fn from_files(
        files: &[PathBuf],
        catalogue: Option<&Catalogue>,
    ) -> Result<LoadedPolicies, PolicyError> {
        let mut loaded = LoadedPolicies::default();
        let mut errors = Vec::new();
        for file in files {
            let text =
                plug_manifest::paths::read_source(file).map_err(|source| PolicyError::Read {
                    path: file.clone(),
                    source,
                })?;
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let shown = file.display().to_string();
            if let Some(policy) = loaded.parse(&text, &shown, catalogue, &mut errors) {
                loaded
                    .set
                    .identity
                    .push(NamedPolicy::new(name, Arc::new(policy)));
            }
        }
        loaded.finish(errors)
    }

    /// Adds a role's policies fetched from IAM: inline and attached managed
    /// ones as identity policies, its boundary as the boundary layer.
    pub fn add_role(
        mut self,
        fetched: &plug_aws::role_policies::RolePolicies,
        catalogue: Option<&Catalogue>,
    ) -> Result<LoadedPolicies, PolicyError> {
        let mut errors = Vec::new();
        for p in &fetched.identity {
            if let Some(policy) = self.parse(&p.document, &p.name, catalogue, &mut errors) {
                let named = NamedPolicy::new(p.name.clone(), Arc::new(policy));
                self.set.identity.push(named);
            }
        }
        if let Some(b) = &fetched.boundary
            && let Some(policy) = self.parse(&b.document, &b.name, catalogue, &mut errors)
        {
            let named = NamedPolicy::new(b.name.clone(), Arc::new(policy));
            self.set.boundaries = Some(vec![named]);
        }
        self.finish(errors)
    }

    fn parse(
        &mut self,
        text: &str,
        source: &str,
        catalogue: Option<&Catalogue>,
        errors: &mut Vec<PolicyFinding>,
    ) -> Option<Policy> {
        let parsed = match catalogue {
            Some(c) => plug_policy::parse_policy_linted(text, c),
            None => plug_policy::parse_policy(text),
        };
        let found = |diagnostic: Diagnostic| PolicyFinding {
            source: source.to_owned(),
            diagnostic,
        };
        match parsed {
            Ok(policy) => {
                let warnings = policy.warnings.iter().cloned();
                let warnings = warnings.filter(|w| w.severity == Severity::Warning);
                self.warnings.extend(warnings.map(found));
                Some(policy)
            }
            Err(diagnostics) => {
                errors.extend(diagnostics.into_iter().map(found));
                None
            }
        }
    }

    fn finish(self, errors: Vec<PolicyFinding>) -> Result<LoadedPolicies, PolicyError> {
        if errors.is_empty() {
            return Ok(self);
        }
        Err(PolicyError::Invalid(
            errors.into_iter().chain(self.warnings).collect(),
        ))
    }
}
