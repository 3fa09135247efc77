//! W3C trace context for a run, so the spans of hooks and MCP servers join
//! the run's trace.
//!
//! Ids are derived, not random: the trace id from the run id (every attempt
//! of a run, a `resume` too, lands in one trace), a span id from the run,
//! what the span is and when it started. The trace id is a name-based uuid
//! (SHA-1, once per run); span ids, made once per step, use FNV-1a, which
//! is cheap enough for the interpreter's hot path. The interpreter derives the context
//! it hands to hooks and MCP calls, and `plug-telemetry` rebuilds the spans
//! from the events afterwards; both use these functions, so they agree
//! without sharing any state.

use crate::RunId;

/// The parent a hook or an MCP call is told about (`traceparent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The run's trace (never zero).
    pub trace_id: u128,
    /// The enclosing span: the step's, or the run's outside a step (never zero).
    pub span_id: u64,
}

impl TraceContext {
    /// The context of the run span started at `at_ms`.
    pub fn run(run: &RunId, at_ms: u64) -> Self {
        Self::span(run, "run", at_ms)
    }

    /// The context of the span `what` (a step's name, or `run`) started at `at_ms`.
    pub fn span(run: &RunId, what: &str, at_ms: u64) -> Self {
        TraceContext {
            trace_id: trace_id(run),
            span_id: span_id(run, what, at_ms),
        }
    }

    /// Another span of the same run: [`TraceContext::span`] without
    /// deriving the trace id again.
    pub fn sibling(&self, run: &RunId, what: &str, at_ms: u64) -> Self {
        TraceContext {
            trace_id: self.trace_id,
            span_id: span_id(run, what, at_ms),
        }
    }

    /// The W3C `traceparent` value: version 00, sampled.
    pub fn traceparent(&self) -> String {
        format!("00-{:032x}-{:016x}-01", self.trace_id, self.span_id)
    }

    /// Parses a version-00 `traceparent`; `None` for anything else.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let mut parts = traceparent.split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if parts.next().is_some()
            || version != "00"
            || !lower_hex(trace, 32)
            || !lower_hex(span, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let span_id = u64::from_str_radix(span, 16).ok()?;
        (trace_id != 0 && span_id != 0).then_some(TraceContext { trace_id, span_id })
    }
}

/// The trace id of a run: the same for every attempt of it.
pub fn trace_id(run: &RunId) -> u128 {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, run.as_str().as_bytes()).as_u128();
    // A v5 uuid has version bits set, so it is never zero; keep the rule explicit.
    id.max(1)
}

/// The id of the span `what` of `run` started at `at_ms`: unique and stable.
pub fn span_id(run: &RunId, what: &str, at_ms: u64) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(run.as_str().as_bytes());
    hasher.write_u8(b'/');
    hasher.write(what.as_bytes());
    hasher.write_u8(b'/');
    hasher.write_u64(at_ms);
    // Never zero (an all-zero span id is invalid).
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunId {
        RunId::new("20261126T164704-a1b2c3").expect("id")
    }

    #[test]
    fn traceparent_round_trips_and_has_the_w3c_layout() {
        let context = TraceContext::span(&run(), "deploy", 1_764_175_624_000);
        let header = context.traceparent();
        assert_eq!(header.len(), 55);
        assert!(
            header.starts_with("00-") && header.ends_with("-01"),
            "{header}"
        );
        assert_eq!(TraceContext::parse(&header), Some(context));
    }

    #[test]
    fn a_sibling_is_the_span_derived_from_scratch() {
        let run_span = TraceContext::run(&run(), 1);
        assert_eq!(
            run_span.sibling(&run(), "deploy", 2),
            TraceContext::span(&run(), "deploy", 2)
        );
    }

    #[test]
    fn every_span_of_a_run_shares_its_trace() {
        let a = TraceContext::run(&run(), 1);
        let b = TraceContext::span(&run(), "deploy", 2);
        assert_eq!(a.trace_id, b.trace_id);
        assert_ne!(a.span_id, b.span_id);
        let other = TraceContext::run(&RunId::new("other").expect("id"), 1);
        assert_ne!(a.trace_id, other.trace_id);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        let zero_span = format!("00-{:032x}-{:016x}-01", 7u128, 0u64);
        for bad in [
            "",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            zero_span.as_str(),
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }
}
