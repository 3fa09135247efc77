//! Relative links in a Markdown body (`[setup](references/setup.md)`): the
//! files a skill tells the model to read must ship with the plugin.

use std::path::Path;

use miette::SourceSpan;

use crate::diagnostic::{Code, Findings};
use crate::paths::lexically_inside;

/// Reports every relative link target from `body` on that is missing or
/// leaves the plugin root; `dir` is the file's folder relative to `root`.
/// Fenced code blocks and inline code are not links, so they are skipped.
pub(crate) fn check_links(f: &mut Findings, body: usize, root: &Path, dir: &str) {
    let text = f.file().text.clone();
    let mut fenced = false;
    let mut at = body;
    for line in text[body.min(text.len())..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        } else if !fenced && line.contains("](") {
            for (start, target) in targets(line) {
                check(f, root, dir, target, at + start);
            }
        }
        at += line.len();
    }
}

/// `(offset in line, target)` of each `](target)` outside inline code.
fn targets(line: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut in_code = false;
    let mut i = 0;
    let bytes = line.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'`' => in_code = !in_code,
            b']' if !in_code && bytes.get(i + 1) == Some(&b'(') => {
                let start = i + 2;
                if let Some(len) = line[start..].find(')') {
                    let target = line[start..start + len].split_whitespace().next();
                    if let Some(target) = target {
                        found.push((start, target));
                    }
                    i = start + len;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn check(f: &mut Findings, root: &Path, dir: &str, target: &str, offset: usize) {
    let path = target.split('#').next().unwrap_or_default();
    let external = path.is_empty()
        || path.contains(':')
        || path.starts_with('/')
        || path.starts_with('<')
        || path.contains(['$', '{', '*']);
    if external {
        return;
    }
    let decoded = path.replace("%20", " ");
    let relative = match dir.is_empty() {
        true => decoded,
        false => format!("{dir}/{decoded}"),
    };
    let span = SourceSpan::new(offset.into(), path.len());
    // plugctl never reads link targets, so a lexical check and one `stat`
    // are enough here (and keep 1,000 skills fast).
    if !lexically_inside(&relative) {
        let message =
            format!("the link target `{path}` is outside the plugin, which hosts do not ship");
        f.warning(span, Code::PathOutsideRoot, message);
    } else if !root.join(&relative).exists() {
        let message = format!("the link target `{path}` does not exist in the plugin");
        f.warning(span, Code::PathNotFound, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_link_targets_but_not_code() {
        let line = "see [a](ref/a.md \"t\") and `[b](no.md)` or [c](https://x) [d](#top)";
        let got: Vec<&str> = targets(line).into_iter().map(|(_, t)| t).collect();
        assert_eq!(got, ["ref/a.md", "https://x", "#top"]);
    }
}
