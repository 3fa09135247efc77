//! Keeps `crates/plugctl` a thin front end (ARCHITECTURE.md): at most
//! `MAX_LINES` lines under `src/`, command modules that never import one
//! another, and no import cycle among its modules. plug-runtime assembles
//! runs; when this check fails, the logic belongs in a library crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The binary's budget: grammar, output, exit codes and terminal pieces.
const MAX_LINES: usize = 2_500;

/// Checks the binary's shape; the error lists every violation.
pub fn check(root: &Path) -> Result<(), String> {
    let src = root.join("crates/plugctl/src");
    let files = rust_files(&src)?;
    let mut problems = Vec::new();
    let mut lines = 0;
    let mut modules = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        lines += text.lines().count();
        modules.insert(module_of(&src, file), text);
    }
    if lines > MAX_LINES {
        problems.push(format!(
            "crates/plugctl/src has {lines} lines (at most {MAX_LINES}): move run logic into plug-runtime"
        ));
    }
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &modules {
        for used in uses(module, text, &known) {
            if is_command(module) && is_command(&used) && used != *module {
                problems.push(format!("command `{module}` imports command `{used}`"));
            }
            edges.entry(module.clone()).or_default().insert(used);
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        problems.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("plugctl is not thin:\n  {}", problems.join("\n  ")))
    }
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(out)
}

/// `commands/run.rs` is `commands::run`, `commands/mod.rs` is `commands`, `main.rs` is `crate`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p != "mod" && p != "main")
        .collect();
    if parts.is_empty() {
        "crate".to_owned()
    } else {
        parts.join("::")
    }
}

fn is_command(module: &str) -> bool {
    module.starts_with("commands::")
}

/// The modules `text` (outside its test module) refers to through `crate::`
/// or `super::` paths, as the longest known module prefix of each path.
fn uses(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let parent = module.rsplit_once("::").map_or("crate", |(p, _)| p);
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::", None), ("super::", Some(parent))] {
        for (at, _) in code.match_indices(prefix) {
            let path: String = code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut full: Vec<&str> = base.filter(|b| *b != "crate").into_iter().collect();
            full.extend(path.split("::").filter(|p| !p.is_empty()));
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].join("::"))
                .find(|m| known.contains(m));
            if let Some(target) = target.filter(|t| t != module) {
                found.insert(target);
            }
        }
    }
    found
}

/// A path that comes back to where it started, if the graph has one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("thin-binary-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join("crates/plugctl/src").join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        root
    }

    #[test]
    fn commands_importing_each_other_and_cycles_are_refused() {
        let root = tree(&[
            ("main.rs", "mod commands;\nmod exit;\n"),
            ("exit.rs", "pub fn usage() {}\n"),
            (
                "commands/mod.rs",
                "mod a;\nmod b;\nfn run() { a::run(); }\n",
            ),
            (
                "commands/a.rs",
                "use crate::exit::usage;\npub fn run() { super::b::go(); }\n",
            ),
            (
                "commands/b.rs",
                "pub fn go() { crate::commands::a::run(); }\n",
            ),
        ]);
        let error = check(&root).expect_err("not thin");
        assert!(
            error.contains("command `commands::a` imports command `commands::b`"),
            "{error}"
        );
        assert!(error.contains("import cycle"), "{error}");
        let root = tree(&[
            ("main.rs", "mod commands;\nmod exit;\n"),
            ("exit.rs", "pub fn usage() {}\n"),
            ("commands/mod.rs", "mod a;\nfn run() { a::run(); }\n"),
            (
                "commands/a.rs",
                "use crate::exit::usage;\npub fn run() {}\n#[cfg(test)]\nmod tests { use super::*; }\n",
            ),
        ]);
        assert_eq!(check(&root), Ok(()));
        let _ = std::fs::remove_dir_all(root);
    }
}
