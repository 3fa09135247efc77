//! [`Scratch`]: the world a run's commands start in. They get none of the
//! operator's environment beyond what finds programs and speaks the locale:
//! `HOME` is a folder of the run's own, the AWS shared config and credentials
//! files are empty files, and instance metadata is switched off, so an AWS
//! SDK or CLI inside a command finds no credentials but the run's session
//! (given only to steps that declare `aws: true`).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use plug_core::RunId;

use crate::state::StateDir;

/// Variables passed through from plugctl's own environment when set.
const PASSED_THROUGH: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// A run's scratch folder, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Creates (or empties and recreates, on resume) `run_id`'s scratch folder.
    pub fn create(state: &StateDir, run_id: &RunId) -> io::Result<Scratch> {
        let dir = state.scratch(run_id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        private_dir(&dir)?;
        let scratch = Scratch { dir };
        private_dir(&scratch.home())?;
        private_dir(&scratch.dir.join("aws"))?;
        for file in [scratch.aws_config(), scratch.aws_credentials()] {
            std::fs::write(file, b"")?;
        }
        Ok(scratch)
    }

    /// The commands' `HOME`.
    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    fn aws_config(&self) -> PathBuf {
        self.dir.join("aws/config")
    }

    fn aws_credentials(&self) -> PathBuf {
        self.dir.join("aws/credentials")
    }

    /// The complete base environment of a command: passed-through
    /// variables from `runtime`, then the run's own `HOME` and AWS settings.
    pub fn command_env(
        &self,
        runtime: impl Fn(&str) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = PASSED_THROUGH
            .iter()
            .filter_map(|k| runtime(k).map(|v| ((*k).to_owned(), v)))
            .collect();
        let mut set = |k: &str, v: &Path| env.insert(k.to_owned(), v.display().to_string());
        set("HOME", &self.home());
        set("AWS_CONFIG_FILE", &self.aws_config());
        set("AWS_SHARED_CREDENTIALS_FILE", &self.aws_credentials());
        env.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
        env
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover folder holds no credentials, only what commands wrote.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_get_the_runs_home_and_empty_aws_files_never_the_operators() {
        let root = tempfile::tempdir().expect("tempdir");
        let run_id = RunId::new("r-scratch").expect("id");
        let scratch = Scratch::create(&StateDir::new(root.path()), &run_id).expect("scratch");
        let operator = |k: &str| match k {
            "PATH" => Some("/usr/bin".to_owned()),
            "HOME" => Some("/home/operator".to_owned()),
            "AWS_PROFILE" => Some("prod".to_owned()),
            "AWS_ACCESS_KEY_ID" => Some("AKIAOPERATOR".to_owned()),
            _ => None,
        };
        let env = scratch.command_env(operator);
        assert_eq!(env["PATH"], "/usr/bin");
        assert!(env["HOME"].starts_with(&root.path().display().to_string()));
        assert!(!env.contains_key("AWS_PROFILE") && !env.contains_key("AWS_ACCESS_KEY_ID"));
        assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
        let config = std::fs::read(&env["AWS_CONFIG_FILE"]).expect("config file");
        assert!(config.is_empty());
        let dir = state_dir_of(&scratch);
        drop(scratch);
        assert!(!dir.exists(), "the scratch folder goes with the run");
    }

    fn state_dir_of(scratch: &Scratch) -> PathBuf {
        scratch.dir.clone()
    }
}
