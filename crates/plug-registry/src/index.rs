//! `index.json`: every plugin of a registry, its versions and each
//! version's archive digest. Written by publishers, read by installers and
//! workers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The registry's index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Format version of this file.
    pub schema: u32,
    /// Plugin name -> version -> release.
    pub plugins: BTreeMap<String, BTreeMap<String, Release>>,
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The archive's sha256, hex.
    pub sha256: String,
    /// The archive's key, under the registry's prefix.
    pub key: String,
    /// When it was published, ms since the epoch.
    pub published_ms: u64,
}

/// The index's format version.
pub const INDEX_SCHEMA: u32 = 1;

impl Index {
    /// The release of `name` at `version`, or at its highest version.
    pub fn find(&self, name: &str, version: Option<&str>) -> Option<(String, &Release)> {
        let versions = self.plugins.get(name)?;
        match version {
            Some(v) => versions.get(v).map(|r| (v.to_owned(), r)),
            None => versions
                .iter()
                .filter_map(|(v, r)| Some((semver::Version::parse(v).ok()?, v, r)))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, v, r)| (v.clone(), r)),
        }
    }
}
