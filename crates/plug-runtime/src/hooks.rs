//! `plugctl hooks run`: fire one event's hooks of a plugin, isolated and
//! configured exactly as in a real run (the plugin's settings, data folder
//! and sandbox), for writing and debugging hooks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plug_core::ports::{HookDecision, HookError, HookInput};
use plug_core::{Actor, RunId};
use plug_hooks::{HookReport, HostConfig, ProcessHookHost, Verdict, claude_layout};
use plug_manifest::{Finding, LoadError, load_plugin};
use serde::Deserialize;
use serde_json::json;

use crate::plugin_settings::PluginSettings;

/// The optional `--input` file. Unknown fields are ignored, so the JSON a hook
/// was given (which has Claude Code's fields too) can be replayed as is.
#[derive(Debug, Default, Deserialize)]
pub struct InputFile {
    /// The run.
    pub run_id: Option<String>,
    /// The skill.
    pub skill: Option<String>,
    /// The step.
    pub step: Option<String>,
    /// The step's action.
    pub action: Option<String>,
    /// The params.
    pub params: Option<serde_json::Value>,
    /// Who acts.
    pub actor: Option<Actor>,
}

/// The event to fire and the step it is about.
pub struct Moment {
    /// The event: pre_skill, post_step, pre_<kind>, ...
    pub event: String,
    /// The step it is about.
    pub step: Option<String>,
    /// The step's action, matched by the hooks' matchers.
    pub action: Option<String>,
}

/// Why the hooks could not be fired.
#[derive(Debug, thiserror::Error)]
pub enum FireError {
    /// The plugin cannot be read at all.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin has errors.
    #[error("{} does not validate", path.display())]
    Invalid {
        /// The plugin.
        path: PathBuf,
        /// Its findings.
        findings: Vec<Finding>,
    },
    /// Anything else (settings, the host, the input), sensitive values redacted.
    #[error("{0}")]
    Other(String),
}

/// What the hooks did.
pub struct Fired {
    /// The input they got.
    pub input: HookInput,
    /// One report per hook that ran.
    pub reports: Vec<HookReport>,
    /// Their combined decision.
    pub decision: Result<HookDecision, HookError>,
    /// The plugin's settings (for redacting what is printed).
    pub settings: PluginSettings,
}

impl Fired {
    /// What the hooks did and decided, as `plugctl hooks run` shows it
    /// (not yet redacted: see [`PluginSettings::redact`]).
    pub fn render(&self) -> String {
        let Fired {
            input,
            reports,
            decision,
            ..
        } = self;
        let mut out = String::new();
        let what = match &input.action {
            Some(action) => format!("{} (action {action})", input.event),
            None => input.event.clone(),
        };
        let _ = writeln!(
            out,
            "{}: {} hook(s) for {what}",
            input.plugin,
            reports.len()
        );
        for report in reports {
            render_report(&mut out, report);
        }
        let _ = writeln!(out);
        render_decision(&mut out, decision);
        out
    }
}

/// Fires `moment`'s hooks of the plugin at `path` (native, or a Claude Code
/// layout with only `hooks/hooks.json`) with the `--input` file's fields.
pub async fn fire(
    path: &Path,
    moment: Moment,
    input_file: Option<&Path>,
    set: &[(String, String)],
) -> Result<Fired, FireError> {
    let file = read_input(input_file).map_err(FireError::Other)?;
    let plugin = match load_plugin(path) {
        Ok(plugin) => plugin,
        Err(LoadError::NoManifest(_)) if path.join(claude_layout::HOOKS_FILE).is_file() => {
            let hooks = claude_layout::load(path).map_err(|e| FireError::Other(e.to_string()))?;
            let input = build_input(claude_plugin_name(path), String::new(), moment, file);
            let host = ProcessHookHost::new(
                path,
                hooks.map(|h| h.hooks).unwrap_or_default(),
                HostConfig::default(),
            );
            return run(host, input, PluginSettings::empty()).await;
        }
        Err(e) => return Err(e.into()),
    };
    if plugin.has_failures(false) {
        return Err(FireError::Invalid {
            path: path.to_path_buf(),
            findings: plugin.findings,
        });
    }
    let settings =
        PluginSettings::load(&plugin, set).map_err(|e| FireError::Other(e.to_string()))?;
    let input = hook_input(&plugin, moment, file);
    let host = ProcessHookHost::for_plugin(&plugin, settings.host_config());
    run(host, input, settings).await
}

async fn run(
    host: Result<ProcessHookHost, plug_hooks::HostError>,
    input: Result<HookInput, String>,
    settings: PluginSettings,
) -> Result<Fired, FireError> {
    let host = host.map_err(|e| FireError::Other(settings.redact(&e.to_string())))?;
    let input = input.map_err(FireError::Other)?;
    let reports = host.run(&input).await;
    let decision = plug_hooks::combine(&reports);
    Ok(Fired {
        input,
        reports,
        decision,
        settings,
    })
}

/// `.claude-plugin/plugin.json`'s `name`, else the folder's name.
fn claude_plugin_name(root: &Path) -> String {
    std::fs::read_to_string(root.join(".claude-plugin/plugin.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v["name"].as_str().map(str::to_owned))
        .or_else(|| {
            root.canonicalize()
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}

fn read_input(path: Option<&Path>) -> Result<InputFile, String> {
    let Some(path) = path else {
        return Ok(InputFile::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a hook input: {e}", path.display()))
}

/// The input for a native plugin: the default skill is the one whose kind a
/// `pre_<kind>`/`post_<kind>` event names, else the first.
fn hook_input(
    plugin: &plug_manifest::Plugin,
    moment: Moment,
    file: InputFile,
) -> Result<HookInput, String> {
    let skills: Vec<_> = plugin
        .skills
        .iter()
        .filter_map(|s| s.skill.as_ref())
        .collect();
    let kind = moment
        .event
        .strip_prefix("pre_")
        .or_else(|| moment.event.strip_prefix("post_"));
    let default_skill = skills
        .iter()
        .find(|s| Some(s.kind.as_str()) == kind)
        .or(skills.first())
        .map(|s| s.name.value.clone())
        .unwrap_or_default();
    let name = plugin
        .manifest
        .as_ref()
        .map(|m| m.name.value.clone())
        .unwrap_or_default();
    build_input(name, default_skill, moment, file)
}

/// The input the hooks get: the file's fields, overridden by the flags, then defaults.
fn build_input(
    plugin: String,
    default_skill: String,
    moment: Moment,
    file: InputFile,
) -> Result<HookInput, String> {
    let run_id = file.run_id.unwrap_or_else(|| "manual".into());
    let run_id = RunId::new(run_id).map_err(|e| e.to_string())?;
    Ok(HookInput {
        event: moment.event,
        run_id,
        plugin,
        skill: file.skill.unwrap_or(default_skill),
        step: moment.step.or(file.step),
        action: moment.action.or(file.action),
        params: file.params.unwrap_or_else(|| json!({})),
        actor: file.actor.unwrap_or_default(),
        trace: None,
    })
}

impl Fired {
    /// The machine-readable report: each hook's report and the decision.
    pub fn to_json(&self) -> serde_json::Value {
        json_report(&self.input, &self.reports, &self.decision)
    }
}

fn json_report(
    input: &HookInput,
    reports: &[HookReport],
    decision: &Result<HookDecision, HookError>,
) -> serde_json::Value {
    let decision = match decision {
        Ok(HookDecision::Continue {
            updated_input,
            messages,
        }) => json!({"outcome": "continue", "messages": messages, "updated_input": updated_input}),
        Ok(HookDecision::Block { reasons }) => json!({"outcome": "block", "reasons": reasons}),
        Err(HookError::CriticalFailure { hook, reason }) => {
            json!({"outcome": "abort", "hook": hook, "reason": reason})
        }
    };
    json!({
        "plugin": input.plugin,
        "event": input.event,
        "hooks": reports,
        "decision": decision,
    })
}

fn render_decision(out: &mut String, decision: &Result<HookDecision, HookError>) {
    match decision {
        Ok(HookDecision::Continue {
            updated_input,
            messages,
        }) => {
            let _ = writeln!(out, "decision: continue");
            for message in messages {
                let _ = writeln!(out, "  - {message}");
            }
            if let Some(updated) = updated_input {
                let _ = writeln!(out, "  updated input: {updated}");
            }
        }
        Ok(HookDecision::Block { reasons }) => {
            let _ = writeln!(out, "decision: block");
            for reason in reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "decision: abort: {e}");
        }
    }
}

fn render_report(out: &mut String, r: &HookReport) {
    let critical = if r.critical {
        "critical"
    } else {
        "best-effort"
    };
    let _ = writeln!(out, "\n[{}] {} ({critical})", r.index + 1, r.handler);
    let result = match &r.verdict {
        Verdict::Allowed => "allowed".to_owned(),
        Verdict::Blocked { reason } => format!("blocked: {reason}"),
        Verdict::Failed { reason } => format!("failed: {reason}"),
    };
    let _ = writeln!(out, "    result:  {result}");
    let _ = writeln!(out, "    sandbox: {}", r.sandbox.landlock);
    if let Some(message) = &r.advice.system_message {
        let _ = writeln!(out, "    message: {message}");
    }
    if let Some(context) = &r.advice.additional_context {
        let _ = writeln!(out, "    context: {context}");
    }
    let stderr = r.stderr.trim();
    if !stderr.is_empty() && !matches!(r.verdict, Verdict::Blocked { .. } | Verdict::Failed { .. })
    {
        let _ = writeln!(
            out,
            "    stderr:  {}",
            stderr.replace('\n', "\n             ")
        );
    }
}
