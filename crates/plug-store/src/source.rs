//! Where a plugin is installed from, as the user writes it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// An install source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A folder on this machine (stored absolute).
    Local {
        /// The folder.
        path: PathBuf,
    },
    /// A git repository, at a branch, tag or commit, in a sub-folder.
    Git {
        /// The clone URL.
        url: String,
        /// Branch, tag or commit; the default branch when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The plugin's folder inside the repository.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// An entry of a marketplace added with `plugctl marketplace add`.
    Marketplace {
        /// The entry's name.
        plugin: String,
        /// The marketplace's name.
        marketplace: String,
    },
    /// A plugin of an S3 registry (`s3://BUCKET/PREFIX#NAME[@VERSION]`).
    Registry {
        /// The registry, `s3://BUCKET/PREFIX`.
        registry: String,
        /// The plugin's name.
        name: String,
        /// The version; its highest when absent (and on update).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
}

impl Source {
    /// Reads a source as written: `name@marketplace`, a git URL (`https://`,
    /// `ssh://`, `git://`, `file://`, `git@host:path`, or anything ending in
    /// `.git`, with an optional `#ref`), else a local folder.
    pub fn parse(text: &str) -> Source {
        if let Some(rest) = text.strip_prefix("s3://")
            && let Some((registry, plugin)) = rest.split_once('#')
        {
            let (name, version) = match plugin.split_once('@') {
                Some((name, version)) => (name, Some(version.to_owned())),
                None => (plugin, None),
            };
            return Source::Registry {
                registry: format!("s3://{registry}"),
                name: name.to_owned(),
                version,
            };
        }
        if let Some((plugin, marketplace)) = text.split_once('@')
            && is_name(plugin)
            && is_name(marketplace)
        {
            return Source::Marketplace {
                plugin: plugin.to_owned(),
                marketplace: marketplace.to_owned(),
            };
        }
        let (url, reference) = match text.rsplit_once('#') {
            Some((url, r)) if !r.is_empty() => (url, Some(r.to_owned())),
            _ => (text, None),
        };
        let schemes = ["https://", "http://", "ssh://", "git://", "file://"];
        let git = schemes.iter().any(|s| url.starts_with(s))
            || url.starts_with("git@")
            || url.trim_end_matches('/').ends_with(".git");
        match git {
            true => Source::Git {
                url: url.to_owned(),
                reference,
                path: None,
            },
            false => Source::Local {
                path: PathBuf::from(text),
            },
        }
    }
}

/// A plugin or marketplace name usable as a folder name.
pub(crate) fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && !text.starts_with(['.', '-'])
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Local { path } => write!(f, "{}", path.display()),
            Source::Git {
                url,
                reference,
                path,
            } => {
                write!(f, "{url}")?;
                if let Some(r) = reference {
                    write!(f, "#{r}")?;
                }
                match path {
                    Some(p) => write!(f, " ({p})"),
                    None => Ok(()),
                }
            }
            Source::Marketplace {
                plugin,
                marketplace,
            } => write!(f, "{plugin}@{marketplace}"),
            Source::Registry {
                registry,
                name,
                version,
            } => match version {
                Some(v) => write!(f, "{registry}#{name}@{v}"),
                None => write!(f, "{registry}#{name}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_folders() {
        assert_eq!(
            Source::parse("changelog@team-market"),
            Source::Marketplace {
                plugin: "changelog".into(),
                marketplace: "team-market".into()
            }
        );
        assert_eq!(
            Source::parse("https://example.test/p.git#v1.2.0"),
            Source::Git {
                url: "https://example.test/p.git".into(),
                reference: Some("v1.2.0".into()),
                path: None
            }
        );
        assert!(matches!(
            Source::parse("git@host:org/p"),
            Source::Git { .. }
        ));
        assert!(matches!(Source::parse("file:///srv/p"), Source::Git { .. }));
        assert!(matches!(Source::parse("./plugins/p"), Source::Local { .. }));
        assert!(matches!(Source::parse("../a@b"), Source::Local { .. }));
        assert!(!is_name("..") && !is_name("a/b") && is_name("aws-style"));
    }
}
