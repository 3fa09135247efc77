//! From "this skill of this plugin with these params" to a [`Prepared`] run:
//! the plugin loaded and validated, params typed by their declarations,
//! the plugin's settings, the principal and the actions the gate decides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use plug_core::{Actor, RunId, Value};
use plug_manifest::native::model::{ParamType, Skill};
use plug_manifest::{Finding, LoadedSkill, Plugin, load_plugin};
use plug_skill::RunRequest;

use crate::actions::{implied_calls, required_actions, undeclared};
use crate::governance::{Refusal, admit};
use crate::plugin_settings::{PluginSettings, SettingsError};
use crate::session_policy::SessionPolicy;
use crate::settings::RunSettings;

/// A param as a front end received it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Text from a command line (`--param name=value`): a declared
    /// non-string param is read as JSON, anything else stays text.
    Text(String),
    /// A typed value (an MCP call's arguments, a journal): it must already
    /// have the declared type.
    Typed(Value),
}

/// What to run, as a front end asks for it.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// A plugin folder or manifest file.
    pub plugin: PathBuf,
    /// The skill's name.
    pub skill: String,
    /// Params by name.
    pub params: BTreeMap<String, ParamValue>,
    /// Who the run acts for.
    pub actor: Actor,
    /// The working directory, instead of the settings' (a resumed run keeps its own).
    pub workdir: Option<PathBuf>,
    /// Plugin configuration values over the settings' (a resumed run's journaled ones).
    pub set: Vec<(String, String)>,
}

/// A plugin, a skill and a request, ready to run or plan.
pub struct Prepared {
    /// The loaded plugin (its hooks and MCP servers serve the run).
    pub plugin: Plugin,
    /// What to run.
    pub request: RunRequest,
    /// The plugin's user configuration and data folder, for its hooks and servers.
    pub settings: PluginSettings,
    /// Whether deny-by-default lets the run start ([`crate::governance::admit`]);
    /// what it waives is in the request's `governance`.
    pub admission: Result<(), Refusal>,
    /// What the run's role sessions are limited to (`None` without a role).
    pub session_policy: Option<SessionPolicy>,
}

/// Why a run cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The plugin cannot be read at all.
    #[error(transparent)]
    Load(#[from] plug_manifest::LoadError),
    /// The plugin has errors (every finding is kept for the front end to show).
    #[error("{} does not validate; fix it first (plugctl validate)", path.display())]
    Invalid {
        /// The plugin as given.
        path: PathBuf,
        /// Its findings.
        findings: Vec<Finding>,
    },
    /// The manifest could not be decoded.
    #[error("{}: no manifest", .0.display())]
    NoManifest(PathBuf),
    /// No skill of that name.
    #[error("no skill `{skill}` in {plugin} (skills: {})", known.join(", "))]
    UnknownSkill {
        /// The name asked for.
        skill: String,
        /// The plugin's name.
        plugin: String,
        /// The skills it has.
        known: Vec<String>,
    },
    /// Required params are missing.
    #[error("skill {skill} needs: {}", missing.iter().map(|m| format!("--param {m}=...")).collect::<Vec<_>>().join(" "))]
    MissingParams {
        /// The skill.
        skill: String,
        /// The params without a value.
        missing: Vec<String>,
    },
    /// A param's value does not have its declared type.
    #[error("--param {name}: {message}")]
    BadParam {
        /// The param.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The plugin's settings cannot be assembled.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The working directory does not exist.
    #[error("{}: {source}", path.display())]
    Workdir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Loads the plugin and turns `input` into a run request with `run_id`.
pub fn prepare(
    settings: &RunSettings,
    input: RunInput,
    run_id: RunId,
) -> Result<Prepared, PrepareError> {
    let plugin = load_plugin(&input.plugin)?;
    if plugin.has_failures(false) {
        return Err(PrepareError::Invalid {
            path: input.plugin,
            findings: plugin.findings,
        });
    }
    let manifest = plugin
        .manifest
        .as_ref()
        .ok_or_else(|| PrepareError::NoManifest(input.plugin.clone()))?;
    let loaded = find_skill(&plugin, &input.skill)?;
    let skill = loaded
        .skill
        .clone()
        .ok_or_else(|| PrepareError::NoManifest(input.plugin.clone()))?;
    let params = typed_params(&skill, loaded, input.params)?;
    missing_params(&skill, loaded, &params)?;
    let set: Vec<(String, String)> = settings.set.iter().cloned().chain(input.set).collect();
    let plugin_settings = PluginSettings::load(&plugin, &set)?;
    let workdir = input.workdir.unwrap_or_else(|| settings.workdir.clone());
    let workdir = workdir
        .canonicalize()
        .map_err(|source| PrepareError::Workdir {
            path: workdir,
            source,
        })?;
    let mut builtins = BTreeMap::new();
    if let Some(region) = &settings.identity.region {
        builtins.insert("region".to_owned(), Value::String(region.clone()));
    }
    let actions = required_actions(&loaded.required_permissions, &skill);
    let admission = admit(
        settings,
        &manifest.name.value,
        &skill,
        &actions,
        input.actor,
    );
    let undeclared_calls = undeclared_calls(&loaded.required_permissions, &skill);
    let session_policy =
        (settings.identity.role_arn.is_some()).then(|| SessionPolicy::for_actions(&actions));
    let mut request = RunRequest {
        plugin: manifest.name.value.clone(),
        plugin_version: manifest
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        actions,
        principal: settings.identity.principal(&run_id),
        run_id,
        skill,
        params,
        sensitive: BTreeSet::new(),
        config: plugin_settings.journal_values(),
        actor: input.actor,
        operator: settings.identity.operator.clone(),
        workdir,
        plugin_root: plugin.root.clone(),
        builtins,
        governance: admission.clone().unwrap_or_default(),
        undeclared_calls,
    };
    request.apply_defaults();
    Ok(Prepared {
        plugin,
        request,
        settings: plugin_settings,
        admission: admission.map(|_| ()),
        session_policy,
    })
}

/// The skill's calls whose IAM actions its declaration does not cover.
fn undeclared_calls(declared: &[String], skill: &Skill) -> BTreeSet<(String, String)> {
    implied_calls(skill)
        .into_iter()
        .filter(|call| !undeclared(call, declared).is_empty())
        .map(|call| (call.service.to_owned(), call.method.to_owned()))
        .collect()
}

fn find_skill<'p>(plugin: &'p Plugin, name: &str) -> Result<&'p LoadedSkill, PrepareError> {
    let named = |s: &&LoadedSkill| s.skill.as_ref().is_some_and(|k| k.name.value == name);
    plugin
        .skills
        .iter()
        .find(named)
        .ok_or_else(|| PrepareError::UnknownSkill {
            skill: name.to_owned(),
            plugin: (plugin.manifest.as_ref())
                .map(|m| m.name.value.clone())
                .unwrap_or_default(),
            known: (plugin.skills.iter())
                .filter_map(|s| s.skill.as_ref())
                .map(|s| s.name.value.clone())
                .collect(),
        })
}

/// Each param as its declaration types it: declared ones by their `type`,
/// implicit ones (used in a placeholder, never declared) as strings.
fn typed_params(
    skill: &Skill,
    loaded: &LoadedSkill,
    given: BTreeMap<String, ParamValue>,
) -> Result<BTreeMap<String, Value>, PrepareError> {
    let mut params = BTreeMap::new();
    for (name, value) in given {
        let declared = skill.params.iter().find(|p| p.name == name).map(|p| p.ty);
        let implicit = loaded.implicit_params.iter().any(|p| p.name == name);
        let ty = declared.unwrap_or(ParamType::String);
        let bad = |message: String| PrepareError::BadParam {
            name: name.clone(),
            message,
        };
        let value = match value {
            ParamValue::Text(text) => from_text(ty, &text).map_err(bad)?,
            // Undeclared names are the front end's business (serve refuses
            // them); an implicit param is a string, as its schema says.
            ParamValue::Typed(value) if declared.is_some() || implicit => {
                check_type(ty, value).map_err(bad)?
            }
            ParamValue::Typed(value) => value,
        };
        params.insert(name, value);
    }
    Ok(params)
}

fn from_text(ty: ParamType, text: &str) -> Result<Value, String> {
    match ty {
        ParamType::String | ParamType::Bytes => Ok(Value::String(text.to_owned())),
        _ => serde_json::from_str::<serde_json::Value>(text)
            .map_err(|_| format!("`{text}` is not a valid {}", ty.as_str()))
            .and_then(|json| check_type(ty, Value::from(json))),
    }
}

/// `value` when it has type `ty`; an integer is a number too.
fn check_type(ty: ParamType, value: Value) -> Result<Value, String> {
    let ok = match (&value, ty) {
        (Value::String(_), ParamType::String | ParamType::Bytes) => true,
        (Value::Bytes(_), ParamType::Bytes) => true,
        (Value::Bool(_), ParamType::Boolean) => true,
        (Value::Number(_), ParamType::Number) => true,
        (Value::Number(n), ParamType::Integer) => n.is_i64() || n.is_u64(),
        (Value::List(_), ParamType::List) => true,
        (Value::Map(_), ParamType::Object) => true,
        _ => false,
    };
    if ok {
        Ok(value)
    } else {
        Err(format!(
            "{} is not a valid {}",
            value.to_json(),
            ty.as_str()
        ))
    }
}

fn missing_params(
    skill: &Skill,
    loaded: &LoadedSkill,
    params: &BTreeMap<String, Value>,
) -> Result<(), PrepareError> {
    let implicit = loaded
        .implicit_params
        .iter()
        .filter(|p| p.may_come_from.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.clone());
    let declared = skill
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.clone());
    let missing: Vec<String> = implicit.chain(declared).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(PrepareError::MissingParams {
        skill: skill.name.value.clone(),
        missing,
    })
}

/// A sortable, session-name-safe id: UTC time plus randomness.
pub fn new_run_id() -> Result<RunId, plug_core::ids::InvalidRunId> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    let random = uuid::Uuid::new_v4().simple().to_string();
    RunId::new(format!("{}-{}", stamp.trim_end_matches('Z'), &random[..6]))
}
