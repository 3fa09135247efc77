//! Run events as CloudWatch Logs events, cut into PutLogEvents batches.
//!
//! Limits (CloudWatch Logs API reference, PutLogEvents): at most 10,000 events
//! and 1,048,576 bytes per call, counting 26 bytes of overhead per event; one
//! call spans at most 24 hours; events in chronological order.

use serde::{Deserialize, Serialize};

/// Events per PutLogEvents call.
pub const MAX_EVENTS_PER_CALL: usize = 10_000;
/// Bytes per PutLogEvents call, overhead included.
pub const MAX_BYTES_PER_CALL: usize = 1_048_576;
/// What CloudWatch Logs counts for each event beyond its message.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest message kept whole; longer ones are cut (a run event is far
/// smaller; this guards against a pathological error message).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD;
const MAX_SPAN_MS: u64 = 24 * 3600 * 1000 - 1;

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    /// Milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// The message: one audit record as JSON.
    pub message: String,
}

/// One PutLogEvents call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBatch {
    /// The log group.
    pub group: String,
    /// The log stream.
    pub stream: String,
    /// The events, oldest first.
    pub events: Vec<LogEvent>,
}

/// The stream a run's events go to: one per run, so a run reads as one story.
pub fn stream_name(plugin: &str, skill: &str, run_id: &str) -> String {
    // Stream names may not contain ':' or '*'; ours come from validated names,
    // but a plugin loaded from another ecosystem might carry anything.
    format!("{plugin}/{skill}/{run_id}").replace([':', '*'], "_")
}

/// Cuts a message to the largest size CloudWatch accepts, on a char boundary.
pub fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Splits one stream's events into calls within every limit.
pub fn batches(group: &str, stream: &str, mut events: Vec<LogEvent>) -> Vec<LogBatch> {
    events.sort_by_key(|e| e.timestamp_ms);
    let mut out = Vec::new();
    let mut current: Vec<LogEvent> = Vec::new();
    let mut bytes = 0;
    for event in events {
        let size = event.message.len() + EVENT_OVERHEAD;
        let too_long = current
            .first()
            .is_some_and(|first| event.timestamp_ms - first.timestamp_ms > MAX_SPAN_MS);
        if !current.is_empty()
            && (current.len() == MAX_EVENTS_PER_CALL
                || bytes + size > MAX_BYTES_PER_CALL
                || too_long)
        {
            out.push(batch(group, stream, std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += size;
        current.push(event);
    }
    if !current.is_empty() {
        out.push(batch(group, stream, current));
    }
    out
}

fn batch(group: &str, stream: &str, events: Vec<LogEvent>) -> LogBatch {
    LogBatch {
        group: group.to_owned(),
        stream: stream.to_owned(),
        events,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event(timestamp_ms: u64, len: usize) -> LogEvent {
        LogEvent {
            timestamp_ms,
            message: "x".repeat(len),
        }
    }

    #[test]
    fn many_small_events_split_by_count() {
        let events = (0..25_000).map(|i| event(i, 10)).collect();
        let calls = batches("g", "s", events);
        let sizes: Vec<usize> = calls.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, vec![10_000, 10_000, 5_000]);
    }

    #[test]
    fn large_events_split_by_bytes() {
        let events = (0..10).map(|i| event(i, 200_000)).collect();
        let calls = batches("g", "s", events);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].events.len(), 5);
    }

    #[test]
    fn a_day_apart_never_share_a_call() {
        let calls = batches("g", "s", vec![event(0, 1), event(MAX_SPAN_MS + 1, 1)]);
        assert_eq!(calls.len(), 2);
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded_message(message);
        assert!(cut.len() <= MAX_MESSAGE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    proptest! {
        #[test]
        fn every_batch_is_within_limits_and_nothing_is_lost(
            raw in proptest::collection::vec((0u64..200_000_000, 0usize..60_000), 0..200)
        ) {
            let events: Vec<LogEvent> = raw.iter().map(|&(t, n)| event(t, n)).collect();
            let calls = batches("g", "s", events.clone());
            let total: usize = calls.iter().map(|b| b.events.len()).sum();
            prop_assert_eq!(total, events.len());
            let mut previous = 0;
            for call in &calls {
                let bytes: usize = call.events.iter().map(|e| e.message.len() + EVENT_OVERHEAD).sum();
                prop_assert!(bytes <= MAX_BYTES_PER_CALL);
                prop_assert!(call.events.len() <= MAX_EVENTS_PER_CALL);
                let first = call.events[0].timestamp_ms;
                let last = call.events[call.events.len() - 1].timestamp_ms;
                prop_assert!(last - first <= MAX_SPAN_MS);
                prop_assert!(first >= previous);
                previous = last;
            }
        }
    }
}
