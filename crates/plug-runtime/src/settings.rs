//! [`RunSettings`]: everything a command needs to know about the operator's
//! set-up, resolved once per process from its flags, the environment and the
//! configuration file. Precedence, highest first: flags, environment
//! variables, the configuration file, built-in defaults. Every front end
//! (CLI, serve, a worker) resolves through [`RunSettings::resolve`], so no
//! command sees a different set-up than another.

use std::path::PathBuf;
use std::time::Duration;

use plug_core::Actor;
use plug_core::RunId;

use crate::config_file::{self, ConfigError, TelemetrySettings};
use crate::governance::{AllowList, GovernanceSettings};
use crate::state::{StateDir, current_user};

/// What a front end was told directly (command-line flags, a request's fields).
/// `None` and empty mean "not given": lower layers fill them.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// The role runs assume.
    pub role_arn: Option<String>,
    /// The AWS profile of the base credentials.
    pub profile: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// The operator, recorded as the session's `SourceIdentity`.
    pub operator: Option<String>,
    /// Identity policy files for the permission gate.
    pub policies: Vec<PathBuf>,
    /// Plugin configuration values, `name=value`.
    pub set: Vec<(String, String)>,
    /// The runs' working directory.
    pub workdir: Option<PathBuf>,
    /// How long a run waits for a human approval.
    pub approval_timeout: Option<Duration>,
    /// `--unchecked`: run without a permission source (recorded as such).
    pub unchecked: bool,
    /// `--allow SKILL...`: the skills agents may run.
    pub allow: Vec<String>,
    /// `--allow-all`: every skill.
    pub allow_all: bool,
}

/// Who a run's AWS calls are made as, and where they go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentitySettings {
    /// The role to assume for runs (`None`: the base credentials act).
    pub role_arn: Option<String>,
    /// The AWS profile of the base credentials.
    pub profile: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// The operator: `SourceIdentity` of the run's sessions.
    pub operator: String,
    /// `identity: base`: an agent run without a role may act with the base
    /// credentials (recorded as such); otherwise it is refused.
    pub base_allowed: bool,
}

impl IdentitySettings {
    /// The operator's own configuration: the base credential chain, no role.
    /// Telemetry publishes and IAM is read as the operator, never as a run.
    pub fn operator_config(&self) -> plug_aws::IdentityConfig {
        plug_aws::IdentityConfig {
            profile: self.profile.clone(),
            region: self.region.clone(),
            ..Default::default()
        }
    }

    /// A run's configuration: the operator's, plus the role to assume with the
    /// run's attribution (actor tag, operator as SourceIdentity, session name).
    pub fn run_config(&self, run_id: &RunId, actor: Actor) -> plug_aws::IdentityConfig {
        let role = self.role_arn.as_ref().map(|role_arn| plug_aws::RoleConfig {
            role_arn: role_arn.clone(),
            actor,
            run_id: run_id.clone(),
            source_identity: Some(self.operator.clone()),
            tags: Vec::new(),
            transitive: false,
            duration: None,
            external_id: None,
            session_policy: None,
        });
        plug_aws::IdentityConfig {
            role,
            ..self.operator_config()
        }
    }

    /// The principal the permission gate asks about: the run's role session
    /// when a role is assumed, else the operator as an IAM user of an
    /// unknown account.
    pub fn principal(&self, run_id: &RunId) -> String {
        if let Some(role) = &self.role_arn
            && let Some((head, name)) = role.split_once(":role/")
        {
            let role_name = name.rsplit('/').next().unwrap_or(name);
            return format!(
                "{}:assumed-role/{role_name}/{}",
                head.replacen(":iam:", ":sts:", 1),
                run_id.role_session_name()
            );
        }
        format!("arn:aws:iam::000000000000:user/{}", self.operator)
    }
}

/// The resolved set-up of one process.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// AWS identity.
    pub identity: IdentitySettings,
    /// Identity policy files the permission gate decides with.
    pub policies: Vec<PathBuf>,
    /// Plugin configuration values: the file's, then the flags' (later win).
    pub set: Vec<(String, String)>,
    /// Where runs report besides the audit log.
    pub telemetry: TelemetrySettings,
    /// Journals, approvals, spool, audit log.
    pub state: StateDir,
    /// The runs' working directory.
    pub workdir: PathBuf,
    /// How long a run waits for a human approval.
    pub approval_timeout: Duration,
    /// What decides and limits a run: permission sources, the allow-list.
    pub governance: GovernanceSettings,
}

/// The default approval wait.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl RunSettings {
    /// Resolves `flags` over the environment over the configuration file
    /// (`--config`, else `$PLUGCTL_CONFIG`, else the default one if present).
    pub fn resolve(flags: Flags) -> Result<RunSettings, ConfigError> {
        let file = match config_file::locate(flags.config.as_deref()) {
            Some(path) => config_file::load(&path)?,
            None => config_file::ConfigFile::default(),
        };
        Ok(RunSettings::layer(flags, file))
    }

    fn layer(flags: Flags, file: config_file::ConfigFile) -> RunSettings {
        let pick = |flag: Option<String>, var: &str, file: Option<String>| {
            flag.or_else(|| env(var)).or(file)
        };
        let identity = IdentitySettings {
            role_arn: pick(flags.role_arn, "PLUGCTL_ROLE_ARN", file.role_arn),
            profile: pick(flags.profile, "AWS_PROFILE", file.profile),
            region: pick(flags.region, "AWS_REGION", file.region),
            operator: pick(flags.operator, "PLUGCTL_OPERATOR", file.operator)
                .unwrap_or_else(current_user),
            base_allowed: env("PLUGCTL_IDENTITY").map_or(file.base_identity, |v| v == "base"),
        };
        let allow = if flags.allow_all || (flags.allow.is_empty() && file.allow_all) {
            AllowList::All
        } else if !flags.allow.is_empty() {
            AllowList::Only(flags.allow)
        } else {
            file.allow.map_or(AllowList::Unset, AllowList::Only)
        };
        let governance = GovernanceSettings {
            unchecked: flags.unchecked,
            role_policies: file.role_policies.unwrap_or(true),
            allow,
        };
        let policies = if flags.policies.is_empty() {
            file.policies
        } else {
            flags.policies
        };
        let mut set: Vec<(String, String)> = file
            .set
            .into_iter()
            .filter(|(k, _)| !flags.set.iter().any(|(given, _)| given == k))
            .collect();
        set.extend(flags.set);
        RunSettings {
            identity,
            policies,
            set,
            telemetry: telemetry_from_env(file.telemetry.unwrap_or_default()),
            state: StateDir::from_env(),
            workdir: flags.workdir.unwrap_or_else(|| PathBuf::from(".")),
            approval_timeout: flags.approval_timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
            governance,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The environment's telemetry switches over the file's.
fn telemetry_from_env(mut settings: TelemetrySettings) -> TelemetrySettings {
    if let Some(mode) = env("PLUGCTL_TELEMETRY") {
        settings.cloudwatch = mode != "local" && mode != "off";
    }
    if let Some(url) = env("PLUGCTL_TELEMETRY_ENDPOINT_URL") {
        settings.target.endpoint_url = Some(url);
    }
    if let Some(namespace) = env("PLUGCTL_METRICS_NAMESPACE") {
        settings.target.namespace = namespace;
    }
    if let Some(group) = env("PLUGCTL_LOG_GROUP") {
        settings.target.log_group = group;
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_fills_the_rest() {
        let file = config_file::ConfigFile {
            role_arn: Some("arn:aws:iam::111122223333:role/file".into()),
            operator: Some("from-file".into()),
            policies: vec![PathBuf::from("file.json")],
            set: [
                ("a".to_owned(), "file".to_owned()),
                ("b".into(), "file".into()),
            ]
            .into(),
            ..Default::default()
        };
        let flags = Flags {
            operator: Some("alice".into()),
            set: vec![("a".into(), "flag".into())],
            ..Flags::default()
        };
        let settings = RunSettings::layer(flags, file);
        assert_eq!(settings.identity.operator, "alice");
        assert_eq!(settings.policies, [PathBuf::from("file.json")]);
        assert_eq!(
            settings.set,
            [("b".into(), "file".into()), ("a".into(), "flag".into())]
        );
    }

    #[test]
    fn the_gate_asks_about_the_runs_role_session() {
        let run_id = RunId::new("r-1").expect("id");
        let identity = IdentitySettings {
            role_arn: Some("arn:aws:iam::111122223333:role/team/deployer".into()),
            operator: "alice".into(),
            ..Default::default()
        };
        assert_eq!(
            identity.principal(&run_id),
            format!(
                "arn:aws:sts::111122223333:assumed-role/deployer/{}",
                run_id.role_session_name()
            )
        );
        let operator_config = identity.operator_config();
        assert!(
            operator_config.role.is_none(),
            "the operator never assumes the run's role"
        );
        assert!(identity.run_config(&run_id, Actor::Agent).role.is_some());
    }
}
