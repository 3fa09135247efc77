//! The native format: a `plugin:` manifest (the seed's `plugin.yaml`) and
//! `skill:` files with steps.

mod check;
mod condition;
mod manifest;
pub mod model;
mod skill;

pub use check::ImplicitParam;
pub(crate) use check::{check_plugin, skill_placeholders};
pub(crate) use manifest::FIXED_EVENTS;
pub(crate) use manifest::{check_url, decode_manifest};
pub(crate) use skill::decode_skill;

use miette::SourceSpan;

use crate::diagnostic::SourceFile;
use crate::placeholder;
use crate::yaml::{Node, NodeKind};

/// Every placeholder in the string scalars under `node`: its inside and its span.
///
/// The span is exact for plain and simply quoted scalars; where escapes or line
/// folding make the source differ from the value, it falls back to the node.
pub(crate) fn placeholders_in(file: &SourceFile, node: &Node, out: &mut Vec<(String, SourceSpan)>) {
    match &node.kind {
        NodeKind::Scalar(_) => {
            let Some(text) = node.as_str() else { return };
            let start = node.span.offset();
            let source = file.text.get(start..start + node.span.len()).unwrap_or("");
            for (range, inner) in placeholder::scan(text) {
                let written = &text[range.clone()];
                let span = match source.find(written) {
                    Some(at) => SourceSpan::new((start + at).into(), written.len()),
                    None => node.span,
                };
                out.push((inner.to_owned(), span));
            }
        }
        NodeKind::Seq(items) => items
            .iter()
            .for_each(|item| placeholders_in(file, item, out)),
        NodeKind::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| placeholders_in(file, v, out)),
    }
}
