//! A YAML document as a tree of nodes that remember where they came from.
//!
//! Diagnostics must underline any node (an unknown action three levels down),
//! so the loader keeps a span on every node. `serde_yaml` is deprecated and
//! only locates syntax errors; `saphyr-parser` is maintained and reports a
//! span for every event, from which [`parse`] builds this tree.

mod node;
mod parse;

pub use node::{Node, NodeKind, Scalar};
pub use parse::{SyntaxError, parse};
