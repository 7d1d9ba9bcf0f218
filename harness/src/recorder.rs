//! The body every host's imports share: decode (guarded), then record.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{Event, Import, decode_import};

use crate::fault::{HostError, HostErrorKind};

/// Where an instance's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Keep every event, made owned (its text copied out of guest memory), up to
    /// [`crate::Limits::max_log_bytes`].
    Record,
    /// Decode every event fully, then drop it: for benchmarks. Nothing is allocated (decoded text
    /// borrows guest memory).
    Discard,
}

/// An instance's events, kept in its store.
#[derive(Debug)]
pub struct Recorder {
    sink: Sink,
    events: Vec<Event<'static>>,
    count: u64,
    logged_bytes: usize,
    max_log_bytes: usize,
}

impl Recorder {
    /// A recorder that keeps at most `max_log_bytes` of event payload.
    pub fn new(sink: Sink, max_log_bytes: usize) -> Self {
        Recorder { sink, events: Vec::new(), count: 0, logged_bytes: 0, max_log_bytes }
    }

    /// Records one decoded event.
    fn record(&mut self, import: Import, event: Event<'_>) -> Result<(), HostError> {
        match self.sink {
            Sink::Discard => {
                black_box(&event);
            }
            Sink::Record => {
                let size = match &event {
                    Event::Int(_) => 4,
                    Event::Str(s) => s.len(),
                    Event::Ab(ab) => ab.b.len().saturating_add(4),
                    Event::Cd(_) => common::CD_WIRE_SIZE,
                };
                self.logged_bytes = self.logged_bytes.saturating_add(size);
                if self.logged_bytes > self.max_log_bytes {
                    let limit = self.max_log_bytes;
                    return Err(HostError { import, kind: HostErrorKind::LogLimit { limit } });
                }
                self.events.push(event.into_owned());
            }
        }
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// The events recorded so far.
    pub fn take_events(&mut self) -> Vec<Event<'static>> {
        std::mem::take(&mut self.events)
    }

    /// How many events were logged, recorded or discarded.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The body of `log_int`.
    pub fn log_int(&mut self, value: i32) -> Result<(), HostError> {
        self.record(Import::LogInt, Event::Int(value))
    }

    /// The body of `log_str`, `log_ab` and `log_cd`: decodes the guest's `(ptr, len)` in
    /// `memory` with the `common` decoders and records the event.
    ///
    /// The decoders never panic; should one ever do (a bug), the panic is caught here and becomes
    /// an error, because a panic unwinding out of a host function aborts the process on some
    /// runtimes (wasmi).
    pub fn log_from_memory(&mut self, import: Import, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostError> {
        let decoded = catch_unwind(AssertUnwindSafe(|| decode_import(import, memory, ptr, len)));
        let event = match decoded {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => {
                return Err(HostError { import, kind: HostErrorKind::Abi(e) });
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                return Err(HostError { import, kind: HostErrorKind::Panic(message) });
            }
        };
        self.record(import, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_until_the_log_limit() {
        let memory = b"abcdefgh";
        let mut recorder = Recorder::new(Sink::Record, 10);
        recorder.log_from_memory(Import::LogStr, memory, 0, 8).unwrap();
        let e = recorder.log_from_memory(Import::LogStr, memory, 0, 8).unwrap_err();
        assert_eq!(e.kind, HostErrorKind::LogLimit { limit: 10 });
        assert_eq!(recorder.count(), 1);
        assert_eq!(recorder.take_events(), vec![Event::Str("abcdefgh".into())]);
    }

    #[test]
    fn discard_keeps_nothing_but_counts() {
        let mut recorder = Recorder::new(Sink::Discard, 0);
        recorder.log_int(3).unwrap();
        recorder.log_from_memory(Import::LogStr, b"xyz", 0, 3).unwrap();
        assert_eq!(recorder.count(), 2);
        assert!(recorder.take_events().is_empty());
    }

    #[test]
    fn decode_errors_name_the_import() {
        let mut recorder = Recorder::new(Sink::Record, 100);
        let e = recorder.log_from_memory(Import::LogCd, &[0; 8], 0, 8).unwrap_err();
        assert_eq!(e.to_string(), "log_cd: CD at offset 0 has length 8, expected 40");
    }
}
