//! `plugctl policy eval`: decide IAM requests with plug-policy;
//! `plugctl policy lint`: show a policy file's problems.

use std::io::{BufRead, BufWriter};
use std::path::{Path, PathBuf};

use plug_core::ports::Decision;
use plug_policy::input::{InputError, PolicyCache, evaluate_input, evaluate_lines, output_line};
use plug_policy::{Catalogue, Severity, parse_policy_linted};

use crate::cli::PolicyCommand;
use crate::exit::Exit;

/// Runs a `policy` subcommand.
pub fn run(command: PolicyCommand) -> Exit {
    match command {
        PolicyCommand::Eval {
            request: Some(path),
            ..
        } => eval_one(&path),
        PolicyCommand::Eval {
            requests: Some(path),
            ..
        } => eval_many(&path),
        PolicyCommand::Eval { .. } => {
            eprintln!("error: give --request FILE or --requests FILE");
            Exit::Usage
        }
        PolicyCommand::Lint { files, strict } => lint(&files, strict),
    }
}

/// Every diagnostic of each file on stderr, a summary line per file on
/// stdout; exit 1 on an error (or a warning with `strict`).
fn lint(files: &[PathBuf], strict: bool) -> Exit {
    let catalogue = match Catalogue::bundled() {
        Ok(c) => c,
        Err(e) => return crate::exit::usage(&e.to_string()),
    };
    let mut failed = false;
    for file in files {
        let text = match plug_manifest::paths::read_source(file) {
            Ok(t) => t,
            Err(e) => return crate::exit::usage(&format!("{}: {e}", file.display())),
        };
        let diagnostics = parse_policy_linted(&text, catalogue).map_or_else(|d| d, |p| p.warnings);
        diagnostics
            .iter()
            .for_each(|d| eprintln!("{}:{d}", file.display()));
        let errors = (diagnostics.iter())
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = diagnostics.len() - errors;
        failed |= errors > 0 || (strict && warnings > 0);
        println!(
            "{}: {errors} error(s), {warnings} warning(s)",
            file.display()
        );
    }
    crate::exit::findings_if(failed)
}

fn eval_one(path: &Path) -> Exit {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return Exit::Usage;
        }
    };
    let result = evaluate_input(&text, &mut PolicyCache::new());
    println!("{}", output_line(&result));
    match result {
        Ok(v) if v.decision == Decision::Allow => Exit::Success,
        Ok(_) => Exit::Findings,
        Err(e) => {
            report(path, &e);
            Exit::Usage
        }
    }
}

fn report(path: &Path, error: &InputError) {
    match error {
        InputError::Policy {
            policy,
            diagnostics,
        } => {
            for d in diagnostics {
                eprintln!("{}:{d} (in {policy})", path.display());
            }
        }
        other => eprintln!("error: {}: {other}", path.display()),
    }
}

/// JSON Lines: one output line per non-blank input line, in order. Exit 1
/// when any line could not be evaluated (its output line says why).
fn eval_many(path: &Path) -> Exit {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Exit::Usage;
            }
        }
    };
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match evaluate_lines(reader, &mut out) {
        Ok(true) => Exit::Success,
        Ok(false) => Exit::Findings,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            Exit::Usage
        }
    }
}
