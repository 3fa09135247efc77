//! `plugctl validate`.

mod marketplace;
mod permissions;

use std::path::PathBuf;
use std::sync::Arc;

use plug_manifest::{Severity, load_plugin};

use crate::cli::Output;
use crate::exit::Exit;

/// Validates each path; all findings of all plugins are reported.
pub fn run(paths: &[PathBuf], strict: bool, output: Output) -> Exit {
    let mut records = Vec::new();
    let mut failed = false;
    let mut unreadable = false;
    for path in paths {
        let plugin = match load_plugin(path) {
            Ok(mut plugin) => {
                check_aws_calls(&mut plugin);
                permissions::check_permissions(&mut plugin);
                in_source_order(&mut plugin);
                plugin
            }
            Err(e) => {
                if let Some(market_failed) =
                    marketplace::validate(path, strict, output, &mut records)
                {
                    failed |= market_failed;
                    continue;
                }
                super::report_load_error(&e);
                unreadable = true;
                continue;
            }
        };
        failed |= plugin.has_failures(strict);
        match output {
            Output::Human => print_human(&plugin, path),
            Output::Json => records.extend(plugin.findings.iter().map(|f| f.to_record())),
        }
    }
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).unwrap_or_else(|_| "[]".into())
        );
    }
    if unreadable {
        Exit::Usage
    } else if failed {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn print_human(plugin: &plug_manifest::Plugin, path: &std::path::Path) {
    for finding in &plugin.findings {
        eprintln!("{:?}", finding.to_report());
    }
    let errors = plugin
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = plugin.findings.len() - errors;
    let name = plugin
        .manifest
        .as_ref()
        .map_or_else(|| path.display().to_string(), |m| m.name.value.clone());
    if plugin.findings.is_empty() {
        println!("{name}: ok ({} skills)", plugin.skills.len());
    } else {
        println!("{name}: {errors} error(s), {warnings} warning(s)");
    }
}

/// Puts the findings the checks above appended back in source order, file
/// by file (the manifest first, then files as they first appear).
fn in_source_order(plugin: &mut plug_manifest::Plugin) {
    let mut files = vec![Arc::as_ptr(&plugin.manifest_file)];
    for finding in &plugin.findings {
        let file = Arc::as_ptr(&finding.file);
        if !files.contains(&file) {
            files.push(file);
        }
    }
    plugin.findings.sort_by_key(|f| {
        let file = Arc::as_ptr(&f.file);
        (files.iter().position(|&p| p == file), f.span.offset())
    });
}

/// Checks every `aws_api` and `wait_for` call (and fallback) against the AWS
/// service models. plug-manifest stays independent of plug-aws; the binary,
/// which knows both, adds these findings.
pub(crate) fn check_aws_calls(plugin: &mut plug_manifest::Plugin) {
    use plug_manifest::native::model::Action;
    let mut found = Vec::new();
    for loaded in &plugin.skills {
        let Some(skill) = &loaded.skill else { continue };
        for step in &skill.steps {
            let actions =
                std::iter::once(&step.action).chain(step.fallback.as_ref().map(|f| &f.action));
            for (n, action) in actions.enumerate() {
                let (Action::AwsApi {
                    service,
                    method,
                    params,
                    ..
                }
                | Action::WaitFor {
                    service,
                    method,
                    params,
                    ..
                }) = action
                else {
                    continue;
                };
                let span = method_span(&loaded.file, step.span, n);
                for action in plug_aws::iam_actions(service, method).unwrap_or_default() {
                    if !loaded
                        .required_permissions
                        .iter()
                        .any(|declared| action_matches(declared, &action))
                    {
                        let message = format!(
                            "step `{}` calls {service} {method}, which needs `{action}`, but the manifest does not list it in this skill's required_permissions",
                            step.name
                        );
                        let help = Some(format!(
                            "add `{action}` to required_permissions (least privilege: declare exactly what the skill uses)"
                        ));
                        found.push(plug_manifest::Finding::warning(
                            loaded.file.clone(),
                            span,
                            plug_manifest::Code::UndeclaredPermission,
                            message,
                            help,
                        ));
                    }
                }
                for problem in plug_aws::validate_call(service, method, params) {
                    let member = if problem.path.is_empty() {
                        String::new()
                    } else {
                        format!(", `{}`", problem.path)
                    };
                    let message = format!("step `{}`{member}: {}", step.name, problem.message);
                    let help = problem
                        .suggestion
                        .as_ref()
                        .map(|s| format!("did you mean `{s}`?"));
                    found.push(plug_manifest::Finding::error(
                        loaded.file.clone(),
                        span,
                        plug_manifest::Code::AwsCall,
                        message,
                        help,
                    ));
                }
            }
        }
    }
    plugin.findings.extend(found);
}

/// The `n`-th `method:` value inside a step (0: the step's, 1: its fallback's),
/// or the whole step when it cannot be found.
fn method_span(
    file: &plug_manifest::SourceFile,
    step: miette::SourceSpan,
    n: usize,
) -> miette::SourceSpan {
    let start = step.offset();
    let text = file.text.get(start..start + step.len()).unwrap_or_default();
    let Some((at, _)) = text.match_indices("method:").nth(n) else {
        return step;
    };
    let value = at + "method:".len();
    let skip = text[value..].len() - text[value..].trim_start().len();
    let len = text[value + skip..]
        .find(['\n', ' ', '#'])
        .unwrap_or(text.len() - value - skip);
    miette::SourceSpan::new((start + value + skip).into(), len)
}

/// Whether a declared IAM action (`*` and `?` allowed) covers `action`;
/// actions match case-insensitively, as IAM matches them.
fn action_matches(declared: &str, action: &str) -> bool {
    plug_policy::glob::Glob::new(&declared.to_ascii_lowercase())
        .matches(&action.to_ascii_lowercase())
}
