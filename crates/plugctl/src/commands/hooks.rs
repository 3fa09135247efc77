//! `plugctl hooks run`: fire one event's hooks of a plugin, isolated as in a real run.

use std::fmt::Write as _;
use std::path::Path;

use plug_core::ports::{HookDecision, HookError, HookInput};
use plug_core::{Actor, RunId};
use plug_hooks::{HookReport, HostConfig, ProcessHookHost, Verdict, claude_layout};
use plug_manifest::{LoadError, load_plugin};
use serde::Deserialize;
use serde_json::json;

use crate::cli::{HooksCommand, Output};
use crate::exit::Exit;
use plug_runtime::PluginSettings;

/// The optional `--input` file. Unknown fields are ignored, so the JSON a hook
/// was given (which has Claude Code's fields too) can be replayed as is.
#[derive(Debug, Default, Deserialize)]
struct InputFile {
    run_id: Option<String>,
    skill: Option<String>,
    step: Option<String>,
    action: Option<String>,
    params: Option<serde_json::Value>,
    actor: Option<Actor>,
}

/// Runs a `plugctl hooks` subcommand.
pub fn run(command: HooksCommand) -> Exit {
    match command {
        HooksCommand::Run {
            plugin,
            event,
            input,
            step,
            action,
            set,
            output,
        } => {
            let moment = Moment {
                event,
                step,
                action,
            };
            run_event(&plugin, moment, input.as_deref(), &set, output)
        }
    }
}

/// The event to fire and the step it is about.
struct Moment {
    event: String,
    step: Option<String>,
    action: Option<String>,
}

fn run_event(
    path: &Path,
    moment: Moment,
    input_file: Option<&Path>,
    set: &[(String, String)],
    output: Output,
) -> Exit {
    let file = match read_input(input_file) {
        Ok(file) => file,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let plugin = match load_plugin(path) {
        Ok(plugin) => plugin,
        Err(LoadError::NoManifest(_)) if path.join(claude_layout::HOOKS_FILE).is_file() => {
            return run_claude_layout(path, moment, file, output);
        }
        Err(e) => {
            super::report_load_error(&e);
            return Exit::Usage;
        }
    };
    if plugin.has_failures(false) {
        for finding in &plugin.findings {
            eprintln!("{:?}", finding.to_report());
        }
        return Exit::Findings;
    }
    let settings = match PluginSettings::load(&plugin, set) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let input = hook_input(&plugin, moment, file);
    let host = ProcessHookHost::for_plugin(&plugin, settings.host_config());
    fire(host, input, output, &settings)
}

/// A plugin in the Claude Code layout: its `hooks/hooks.json` on the same moments.
fn run_claude_layout(root: &Path, moment: Moment, file: InputFile, output: Output) -> Exit {
    let hooks = match claude_layout::load(root) {
        Ok(hooks) => hooks.map(|h| h.hooks).unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let name = claude_plugin_name(root);
    let input = build_input(name, String::new(), moment, file);
    let host = ProcessHookHost::new(root, hooks, HostConfig::default());
    fire(host, input, output, &PluginSettings::empty())
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

/// Runs the hooks and prints the reports and the decision, with the
/// plugin's sensitive values redacted from all of it.
fn fire(
    host: Result<ProcessHookHost, plug_hooks::HostError>,
    input: Result<HookInput, String>,
    output: Output,
    settings: &PluginSettings,
) -> Exit {
    let (host, input) = match (host, input) {
        (Ok(host), Ok(input)) => (host, input),
        (Err(e), _) => {
            eprintln!("error: {}", settings.redact(&e.to_string()));
            return Exit::Usage;
        }
        (_, Err(message)) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Usage;
        }
    };
    let reports = runtime.block_on(host.run(&input));
    let decision = plug_hooks::combine(&reports);
    let shown = match output {
        Output::Json => {
            let report = json_report(&input, &reports, &decision);
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        }
        Output::Human => render(&input, &reports, &decision),
    };
    print!("{}", settings.redact(&shown));
    match decision {
        Ok(HookDecision::Continue { .. }) => Exit::Success,
        Ok(HookDecision::Block { .. }) | Err(_) => Exit::Findings,
    }
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

fn render(
    input: &HookInput,
    reports: &[HookReport],
    decision: &Result<HookDecision, HookError>,
) -> String {
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
    out
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
