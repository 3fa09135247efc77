//! The environment a hook sees: an allow-list, never the runtime's secrets.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::plugin_options::option_variable;

/// Variables copied from plugctl's own environment when set. `TMPDIR` and
/// `HOME` are not copied but point at the hook's own temp dir (the only place
/// it may write), so nothing under the operator's home (`~/.aws` above all)
/// is found through them.
pub const PASSED_THROUGH: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ"];

/// What a hook's AWS SDK or CLI would otherwise fall back to: the shared
/// files point at an empty file and instance metadata is off, so a hook
/// finds no credentials at all.
const NO_AWS_CREDENTIALS: &[(&str, &str)] = &[
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The `PATH` a hook gets when plugctl has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Whether a variable name may never be given to a hook, even when declared:
/// AWS credentials and settings, plugctl's own variables, and anything named
/// like a key, token, secret or password.
pub fn is_forbidden(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const PREFIXES: &[&str] = &["AWS_", "PLUGCTL_"];
    const PARTS: &[&str] = &[
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "SESSION",
    ];
    PREFIXES.iter().any(|p| upper.starts_with(p)) || PARTS.iter().any(|p| upper.contains(p))
}

/// What the environment of one hook is built from.
pub(crate) struct EnvSources<'a> {
    /// Reads plugctl's own environment (a parameter so tests need not mutate it).
    pub runtime: &'a dyn Fn(&str) -> Option<OsString>,
    /// Variables the operator declared for hooks (already checked with [`is_forbidden`]).
    pub declared: &'a BTreeMap<String, String>,
    /// The plugin root, exported as `CLAUDE_PLUGIN_ROOT` like Claude Code does.
    pub plugin_root: &'a Path,
    /// The plugin's user configuration, exported as `CLAUDE_PLUGIN_OPTION_<KEY>`.
    /// Not filtered by [`is_forbidden`]: these are the plugin's own settings,
    /// given to it on purpose (an `api_token` option is meant for its hooks).
    pub options: &'a BTreeMap<String, String>,
    /// The plugin's persistent data folder, exported as `CLAUDE_PLUGIN_DATA`.
    pub data_dir: Option<&'a Path>,
    /// The hook's temp dir, exported as `TMPDIR`.
    pub temp_dir: &'a Path,
    /// When set, `PATH` keeps only directories beneath these (what the sandbox lets it read).
    pub readable: Option<&'a [PathBuf]>,
}

/// Builds the complete environment of a hook (the command starts from `env_clear`).
pub(crate) fn hook_env(src: &EnvSources<'_>) -> Vec<(String, OsString)> {
    let mut env: BTreeMap<String, OsString> = BTreeMap::new();
    for name in PASSED_THROUGH {
        if let Some(value) = (src.runtime)(name) {
            env.insert((*name).to_owned(), value);
        }
    }
    let path = env
        .remove("PATH")
        .unwrap_or_else(|| OsString::from(DEFAULT_PATH));
    let path = match src.readable {
        Some(roots) => readable_path(&path, roots),
        None => path,
    };
    env.insert("PATH".into(), path);
    for (name, value) in src.declared {
        if !is_forbidden(name) {
            env.insert(name.clone(), value.into());
        }
    }
    for (key, value) in src.options {
        env.insert(option_variable(key), value.into());
    }
    if let Some(data) = src.data_dir {
        env.insert("CLAUDE_PLUGIN_DATA".into(), data.into());
    }
    env.insert("TMPDIR".into(), src.temp_dir.into());
    env.insert("HOME".into(), src.temp_dir.into());
    for (name, value) in NO_AWS_CREDENTIALS {
        env.insert((*name).to_owned(), value.into());
    }
    env.insert("CLAUDE_PLUGIN_ROOT".into(), src.plugin_root.into());
    env.into_iter().collect()
}

/// Keeps the `PATH` entries the sandbox lets the hook read, so that a command
/// found on `PATH` is one that can actually run (for instance `/usr/bin/python3`
/// rather than a version-manager shim in the home directory).
fn readable_path(path: &OsString, roots: &[PathBuf]) -> OsString {
    let kept: Vec<PathBuf> = std::env::split_paths(path)
        .filter(|dir| {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            dir.is_absolute() && roots.iter().any(|root| dir.starts_with(root))
        })
        .collect();
    std::env::join_paths(kept).unwrap_or_else(|_| OsString::from(DEFAULT_PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_forbidden_by_name() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
            "PLUGCTL_STATE_DIR",
            "GITHUB_TOKEN",
            "OPENAI_API_KEY",
            "db_password",
        ] {
            assert!(is_forbidden(name), "{name}");
        }
        for name in ["PATH", "LANG", "PRICING_REGION"] {
            assert!(!is_forbidden(name), "{name}");
        }
    }

    #[test]
    fn only_allowed_and_declared_variables_reach_the_hook() {
        let runtime = |name: &str| match name {
            "PATH" => Some(OsString::from("/usr/bin:/root/.pyenv/shims:relative")),
            "HOME" => Some(OsString::from("/home/op")),
            _ => None,
        };
        let declared = BTreeMap::from([
            ("REGION".to_owned(), "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "AKIA".to_owned()),
        ]);
        let roots = [PathBuf::from("/usr")];
        let options = BTreeMap::from([("api_token".to_owned(), "t0k".to_owned())]);
        let env = hook_env(&EnvSources {
            runtime: &runtime,
            declared: &declared,
            plugin_root: Path::new("/plug in"),
            options: &options,
            data_dir: Some(Path::new("/store/data/p")),
            temp_dir: Path::new("/tmp/h"),
            readable: Some(&roots),
        });
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "AWS_CONFIG_FILE",
                "AWS_EC2_METADATA_DISABLED",
                "AWS_SHARED_CREDENTIALS_FILE",
                "CLAUDE_PLUGIN_DATA",
                "CLAUDE_PLUGIN_OPTION_API_TOKEN",
                "CLAUDE_PLUGIN_ROOT",
                "HOME",
                "PATH",
                "REGION",
                "TMPDIR"
            ]
        );
        let home = &env.iter().find(|(k, _)| k == "HOME").expect("HOME").1;
        assert_eq!(home, &OsString::from("/tmp/h"), "never the operator's home");
        let path = &env.iter().find(|(k, _)| k == "PATH").expect("PATH").1;
        assert_eq!(path, &OsString::from("/usr/bin"));
    }
}
