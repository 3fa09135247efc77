//! Any bytes as YAML, straight into the spanned-node parser: aliases that
//! expand without end, nesting thousands deep, anchors in keys. It must
//! answer (a tree or a syntax error) without a panic, an abort or unbounded
//! memory, and every span it returns must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plug_manifest::yaml::{Node, NodeKind, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text) {
        Ok(doc) => check(&doc, text.len()),
        Err(e) => assert!(e.span.offset() <= text.len()),
    }
});

/// Every span inside the input; iterative, so the check itself cannot
/// overflow the stack on a deep tree the parser accepted.
fn check(doc: &Node, len: usize) {
    let mut pending = vec![doc];
    while let Some(node) = pending.pop() {
        assert!(node.span.offset() + node.span.len() <= len);
        match &node.kind {
            NodeKind::Scalar(_) => {}
            NodeKind::Seq(items) => pending.extend(items),
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    pending.push(key);
                    pending.push(value);
                }
            }
        }
    }
    let _ = doc.repeated_keys();
}
