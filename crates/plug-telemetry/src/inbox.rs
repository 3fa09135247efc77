//! Where recorded events wait for the worker.
//!
//! The per-step events, which make up nearly all of a run's, are copied onto
//! a [`Tape`] of bytes and the event itself is dropped right away by the
//! thread that made it, as a sink that does nothing would. Moving the event
//! to the worker instead kept its strings alive across threads: the worker
//! read them from the other core's cache and the recording thread later
//! freed lines the worker had touched, and in the 1,000-step benchmark those
//! cache misses on both sides cost more than everything the worker does.
//! A tape is read front to back, so the worker streams through it instead.
//!
//! Two tapes trade places: the recorders write to one while the worker
//! reads the other, and neither is reallocated once warm.
//!
//! The inbox is bounded. A recorder that finds it full wakes the worker and
//! waits until it has taken the tape: memory stays bounded and nothing is
//! dropped. At the interpreter's pace the worker keeps up by far, so only a
//! flood of events (or a stalled disk under the audit log) ever waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use plug_core::RunId;
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::Decision;

/// The events recorded and not yet taken by the worker.
pub(crate) struct Inbox {
    waiting: Mutex<Tape>,
    /// Signalled when the worker takes the tape, for recorders waiting for room.
    room: Condvar,
    /// Events the inbox holds at most.
    capacity: usize,
    /// The worker found nothing to do and sleeps until woken: the next
    /// event into an empty inbox wakes it, so a run's events are handled
    /// while the run goes on instead of piling up for its final flush.
    idle: AtomicBool,
}

/// How often a recorder waiting for room wakes the worker again, in case
/// the first wake-up found it between two looks.
const ROOM_RECHECK: Duration = Duration::from_millis(50);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Inbox {
    /// An empty inbox holding at most `capacity` events (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Inbox {
            waiting: Mutex::new(Tape::default()),
            room: Condvar::new(),
            capacity: capacity.max(1),
            idle: AtomicBool::new(false),
        }
    }

    /// Adds an event and returns the number now waiting. `wake` wakes the
    /// worker and tells whether it still runs; it is called when the worker
    /// sleeps and this is the first event, and while the inbox is full.
    /// With no worker left to make room, the event goes in regardless: a
    /// recorder never waits forever, and nothing is dropped.
    pub(crate) fn push(&self, event: RunEvent, wake: impl Fn() -> bool) -> usize {
        let waiting = {
            let mut tape = lock(&self.waiting);
            while tape.len() >= self.capacity && wake() {
                tape = self
                    .room
                    .wait_timeout(tape, ROOM_RECHECK)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
            tape.push(&event);
            tape.len()
        };
        // Dropped here, on the thread that allocated it and while it is
        // still in this core's cache.
        drop(event);
        if waiting == 1 && self.idle.swap(false, Ordering::SeqCst) {
            wake();
        }
        waiting
    }

    /// Marks the worker asleep unless an event slipped in since it last
    /// looked; whether it may sleep. Pairs with the check in `push`: the
    /// event is either seen here or its recorder sees the flag.
    pub(crate) fn sleep_if_empty(&self) -> bool {
        self.idle.store(true, Ordering::SeqCst);
        if lock(&self.waiting).is_empty() {
            return true;
        }
        self.idle.store(false, Ordering::SeqCst);
        false
    }

    /// Events waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.waiting).len()
    }

    /// Swaps the waiting events into `tape`, which must be empty, so the
    /// recorders go on writing into its allocation.
    pub(crate) fn take(&self, tape: &mut Tape) {
        debug_assert!(tape.is_empty());
        std::mem::swap(&mut *lock(&self.waiting), tape);
        if tape.len() >= self.capacity {
            // Only a full tape can have kept a recorder waiting.
            self.room.notify_all();
        }
    }
}

/// Events in order, the frequent kinds as bytes and the rest whole.
///
/// The bytes are a sequence of entries, each a tag byte and its fields:
/// integers little-endian, strings as a `u32` length and their UTF-8 bytes.
/// A [`RUN`] entry names the run of the entries after it (the next id in
/// `runs`), so the id is not repeated per event; a [`WHOLE`] entry stands
/// for the next event in `whole`.
#[derive(Default)]
pub(crate) struct Tape {
    bytes: Vec<u8>,
    runs: Vec<RunId>,
    whole: Vec<RunEvent>,
    len: usize,
}

const RUN: u8 = 0;
const WHOLE: u8 = 1;
const STEP_STARTED: u8 = 2;
const STEP_FINISHED: u8 = 3;
const PERMISSION_CHECKED: u8 = 4;

impl Tape {
    /// Events on the tape.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the tape holds no event.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `event`.
    pub(crate) fn push(&mut self, event: &RunEvent) {
        self.len += 1;
        if self.runs.last() != Some(&event.run_id) {
            self.bytes.push(RUN);
            self.runs.push(event.run_id.clone());
        }
        match &event.kind {
            EventKind::StepStarted { step, action } => {
                self.bytes.push(STEP_STARTED);
                self.put_u64(event.at_ms);
                self.put_str(step);
                self.put_str(action);
            }
            EventKind::StepFinished {
                step,
                outcome,
                duration_ms,
            } => {
                self.bytes.push(STEP_FINISHED);
                self.put_u64(event.at_ms);
                self.put_u64(*duration_ms);
                self.put_str(step);
                self.put_str(outcome);
            }
            EventKind::PermissionChecked { action, decision } => {
                self.bytes.push(PERMISSION_CHECKED);
                self.put_u64(event.at_ms);
                self.bytes.push(decision_byte(*decision));
                self.put_str(action);
            }
            _ => {
                self.bytes.push(WHOLE);
                self.whole.push(event.clone());
            }
        }
    }

    fn put_u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn put_str(&mut self, text: &str) {
        // A string over 4 GiB cannot be in an event the runtime builds;
        // saturating keeps the tape readable even so (the text is cut).
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes
            .extend_from_slice(&text.as_bytes()[..len as usize]);
    }

    /// Hands every event to `each` in the order recorded, then empties the
    /// tape, keeping its allocations.
    pub(crate) fn drain(&mut self, mut each: impl FnMut(RunEvent)) {
        {
            let mut reader = Reader {
                bytes: &self.bytes,
                runs: self.runs.iter(),
                whole: self.whole.drain(..),
                run: None,
            };
            while let Some(event) = reader.next_event() {
                each(event);
            }
        }
        self.bytes.clear();
        self.runs.clear();
        self.len = 0;
    }
}

fn decision_byte(decision: Decision) -> u8 {
    match decision {
        Decision::Allow => 0,
        Decision::ExplicitDeny => 1,
        Decision::ImplicitDeny => 2,
    }
}

fn decision_from(byte: u8) -> Option<Decision> {
    match byte {
        0 => Some(Decision::Allow),
        1 => Some(Decision::ExplicitDeny),
        2 => Some(Decision::ImplicitDeny),
        _ => None,
    }
}

/// Reads a tape back into events. The tape is written only by [`Tape::push`]
/// in this process, so a read that fails is a bug; `None` ends the batch.
struct Reader<'a> {
    bytes: &'a [u8],
    runs: std::slice::Iter<'a, RunId>,
    whole: std::vec::Drain<'a, RunEvent>,
    /// The current run's id, as a copy of the recorder's: cloning the
    /// recorder's `Arc` here for every event would bounce its counter
    /// between the two threads, which costs both of them.
    run: Option<RunId>,
}

impl Reader<'_> {
    fn next_event(&mut self) -> Option<RunEvent> {
        loop {
            let (&tag, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            if tag == RUN {
                self.run = Some(RunId::new(self.runs.next()?.as_str()).ok()?);
                continue;
            }
            if tag == WHOLE {
                return self.whole.next();
            }
            let read = self.read_compact(tag);
            debug_assert!(read.is_some(), "telemetry inbox tape is corrupt");
            return read;
        }
    }

    fn read_compact(&mut self, tag: u8) -> Option<RunEvent> {
        let run_id = self.run.clone()?;
        let at_ms = self.u64()?;
        let kind = match tag {
            STEP_STARTED => EventKind::StepStarted {
                step: self.string()?,
                action: self.string()?,
            },
            STEP_FINISHED => {
                let duration_ms = self.u64()?;
                EventKind::StepFinished {
                    step: self.string()?,
                    outcome: self.string()?,
                    duration_ms,
                }
            }
            PERMISSION_CHECKED => {
                let decision = decision_from(self.take(1)?[0])?;
                EventKind::PermissionChecked {
                    action: self.string()?,
                    decision,
                }
            }
            _ => return None,
        };
        Some(RunEvent {
            run_id,
            at_ms,
            kind,
        })
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        let bytes = self.take(usize::try_from(len).ok()?)?;
        std::str::from_utf8(bytes).ok().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plug_core::Actor;

    fn id(text: &str) -> RunId {
        RunId::new(text).expect("run id")
    }

    fn events() -> Vec<RunEvent> {
        let a = id("run-a");
        let b = id("run-b");
        let event = |run: &RunId, at_ms, kind| RunEvent {
            run_id: run.clone(),
            at_ms,
            kind,
        };
        vec![
            event(
                &a,
                1,
                EventKind::RunStarted {
                    plugin: "p".into(),
                    version: "1.0.0".into(),
                    skill: "s".into(),
                    actor: Actor::Agent,
                    governance: Default::default(),
                },
            ),
            event(
                &a,
                2,
                EventKind::StepStarted {
                    step: "héllo".into(),
                    action: "run_command".into(),
                },
            ),
            event(
                &b,
                3,
                EventKind::PermissionChecked {
                    action: "lambda:CreateFunction".into(),
                    decision: Decision::ExplicitDeny,
                },
            ),
            event(
                &a,
                4,
                EventKind::StepFinished {
                    step: String::new(),
                    outcome: "succeeded".into(),
                    duration_ms: u64::MAX,
                },
            ),
            event(
                &a,
                5,
                EventKind::RunFinished {
                    outcome: "succeeded".into(),
                    duration_ms: 7,
                },
            ),
        ]
    }

    #[test]
    fn a_tape_gives_back_the_events_in_order_and_is_empty_after() {
        let mut tape = Tape::default();
        for event in events() {
            tape.push(&event);
        }
        assert_eq!(tape.len(), 5);
        let mut read = Vec::new();
        tape.drain(|event| read.push(event));
        assert_eq!(read, events());
        assert!(tape.is_empty());
        let mut again = Vec::new();
        tape.drain(|event| again.push(event));
        assert!(again.is_empty());
    }

    #[test]
    fn an_event_pushed_into_an_empty_inbox_wakes_a_sleeping_worker_once() {
        let inbox = Inbox::with_capacity(16);
        assert!(inbox.sleep_if_empty());
        let first = events().remove(0);
        let wakes = std::cell::Cell::new(0);
        let wake = || {
            wakes.set(wakes.get() + 1);
            true
        };
        assert_eq!(inbox.push(first.clone(), wake), 1);
        assert_eq!(inbox.push(first, wake), 2);
        assert_eq!(wakes.get(), 1);
        assert!(!inbox.sleep_if_empty(), "events are waiting");
        let mut tape = Tape::default();
        inbox.take(&mut tape);
        assert_eq!(tape.len(), 2);
    }

    #[test]
    fn a_recorder_waits_at_a_full_inbox_until_the_worker_takes_it_and_nothing_is_lost() {
        let inbox = std::sync::Arc::new(Inbox::with_capacity(2));
        let sent = events();
        let recorder = {
            let (inbox, sent) = (inbox.clone(), sent.clone());
            std::thread::spawn(move || {
                for event in sent {
                    inbox.push(event, || true);
                }
            })
        };
        while inbox.len() < 2 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(inbox.len(), 2, "the recorder went past the capacity");
        assert!(!recorder.is_finished(), "the recorder did not wait");
        let mut received = Vec::new();
        let mut tape = Tape::default();
        while received.len() < sent.len() {
            inbox.take(&mut tape);
            assert!(tape.len() <= 2, "a tape held {} events", tape.len());
            tape.drain(|event| received.push(event));
            std::thread::yield_now();
        }
        recorder.join().expect("the recorder finished");
        assert_eq!(received, sent);
    }

    #[test]
    fn with_no_worker_left_a_full_inbox_still_takes_the_event() {
        let inbox = Inbox::with_capacity(1);
        let first = events().remove(0);
        inbox.push(first.clone(), || false);
        assert_eq!(inbox.push(first, || false), 2);
    }

    fn any_event() -> impl proptest::strategy::Strategy<Value = RunEvent> {
        use proptest::prelude::*;
        let decision = prop_oneof![
            Just(Decision::Allow),
            Just(Decision::ExplicitDeny),
            Just(Decision::ImplicitDeny),
        ];
        let kind = prop_oneof![
            (".*", ".*").prop_map(|(step, action)| EventKind::StepStarted { step, action }),
            (".*", ".*", any::<u64>()).prop_map(|(step, outcome, duration_ms)| {
                EventKind::StepFinished {
                    step,
                    outcome,
                    duration_ms,
                }
            }),
            (".*", decision)
                .prop_map(|(action, decision)| EventKind::PermissionChecked { action, decision }),
            ".*".prop_map(|reason| EventKind::ApprovalRefused { reason }),
        ];
        ("[a-z0-9-]{1,20}", any::<u64>(), kind).prop_map(|(run, at_ms, kind)| RunEvent {
            run_id: id(&run),
            at_ms,
            kind,
        })
    }

    proptest::proptest! {
        /// Whatever is recorded, in whatever mix of runs and kinds, the
        /// worker reads back the same events in the same order, over
        /// batches that reuse one tape.
        #[test]
        fn a_tape_reads_back_exactly_what_was_pushed(
            batches in proptest::collection::vec(proptest::collection::vec(any_event(), 0..40), 1..4)
        ) {
            let mut tape = Tape::default();
            for batch in batches {
                for event in &batch {
                    tape.push(event);
                }
                proptest::prop_assert_eq!(tape.len(), batch.len());
                let mut read = Vec::new();
                tape.drain(|event| read.push(event));
                proptest::prop_assert_eq!(read, batch);
            }
        }
    }
}
