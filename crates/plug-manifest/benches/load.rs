//! Load + validate throughput of skill files (issue target: at most 20 µs per 40-line skill, median).
#![allow(missing_docs)]
fn main() {}
