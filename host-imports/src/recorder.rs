//! The bodies every host's imports share: decode (guarded), then record or answer.
//!
//! A [`Recorder`] lives in each instance's store. Every import of the ABI is one call to it, with
//! the guest's memory (borrowed from the runtime) and the guest's arguments; it decodes with the
//! `common` decoders, keeps the events, the request and response of a call with input, and the
//! state that bounds re-entry into the guest. Hosts never parse guest bytes themselves.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use common::{Event, Import, OutputBuffer, PendingAnswer, ValueKind, decode_value};

use crate::error::{HostError, HostErrorKind};
use crate::kv::{DemoStore, KvStore};

/// Where an instance's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Keep every event, made owned (its text copied out of guest memory), up to the
    /// `max_log_bytes` given to [`Recorder::new`].
    Record,
    /// Decode every event fully, then drop it: for benchmarks. Nothing is allocated (decoded text
    /// borrows guest memory).
    Discard,
}

/// An instance's host-side state, kept in its store: its events, and the call in progress.
#[derive(Debug)]
pub struct Recorder {
    sink: Sink,
    events: Vec<Event<'static>>,
    count: u64,
    logged_bytes: usize,
    max_log_bytes: usize,
    /// The request of the call with input in progress, if one is (`in_call`). The buffer is kept
    /// between calls, so that a call copies its request without allocating.
    request: Vec<u8>,
    /// Whether a call with input is in progress.
    in_call: bool,
    /// The response to it, once the guest gave one.
    response: Option<Event<'static>>,
    /// The import waiting on the guest's allocator, if any: while it is set, every import is
    /// refused, so that the guest cannot re-enter the host (and the host the guest) without bound.
    allocating: Option<Import>,
    /// The store `kv_get` reads; `None`: [`DemoStore`] with no delay.
    store: Option<Arc<dyn KvStore>>,
}

/// A `kv_get` call waiting for its lookup: from [`Recorder::kv_begin`] to [`Recorder::kv_finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvLookup {
    /// The key, copied out of guest memory.
    pub key: String,
    out: OutputBuffer,
}

/// The guest's allocator export ([`common::ALLOCATOR_EXPORT`]) as an instance found it: `F` is the
/// runtime's typed function handle.
#[derive(Debug, Clone)]
pub enum GuestAllocator<F> {
    /// Exported with the right type.
    Found(F),
    /// Not exported.
    Missing,
    /// Exported, with another type (or not as a function).
    Mistyped,
}

impl<F: Clone> GuestAllocator<F> {
    /// The allocator, or the error `import` fails with when there is none.
    pub fn get(&self, import: Import) -> Result<F, HostError> {
        match self {
            GuestAllocator::Found(f) => Ok(f.clone()),
            GuestAllocator::Missing => Err(HostError { import, kind: HostErrorKind::AllocatorMissing }),
            GuestAllocator::Mistyped => Err(HostError { import, kind: HostErrorKind::AllocatorType }),
        }
    }
}

/// Runs a host function's body, turning a panic (a bug) into an error: a panic unwinding out of
/// a host function aborts the process on some runtimes (wasmi).
fn guarded<T>(import: Import, body: impl FnOnce() -> Result<T, HostErrorKind>) -> Result<T, HostError> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result.map_err(|kind| HostError { import, kind }),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(HostError { import, kind: HostErrorKind::Panic(message) })
        }
    }
}

/// The largest request buffer a recorder keeps between calls (a larger one is freed when its
/// call ends).
const KEPT_REQUEST_BYTES: usize = 64 * 1024;

/// The kind of value `import` carries; every import but `request_read` carries one.
fn kind_of(import: Import) -> Result<ValueKind, HostErrorKind> {
    import.value_kind().ok_or_else(|| HostErrorKind::Panic(format!("{import} carries no value")))
}

impl Recorder {
    /// A recorder that keeps at most `max_log_bytes` of event payload.
    pub fn new(sink: Sink, max_log_bytes: usize) -> Self {
        Recorder {
            sink,
            events: Vec::new(),
            count: 0,
            logged_bytes: 0,
            max_log_bytes,
            request: Vec::new(),
            in_call: false,
            response: None,
            allocating: None,
            store: None,
        }
    }

    /// The same recorder, with `store` as the store `kv_get` reads.
    #[must_use]
    pub fn with_store(self, store: Arc<dyn KvStore>) -> Self {
        Recorder { store: Some(store), ..self }
    }

    /// Refuses any import while the host waits on the guest's allocator.
    fn enter(&self, import: Import) -> Result<(), HostError> {
        match self.allocating {
            Some(during) => Err(HostError { import, kind: HostErrorKind::Reentered { during } }),
            None => Ok(()),
        }
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
        self.enter(Import::LogInt)?;
        self.record(Import::LogInt, Event::Int(value))
    }

    /// The body of `log_str`, `log_ab` and `log_cd`: decodes the guest's `(ptr, len)` in
    /// `memory` with the `common` decoders and records the event.
    pub fn log_from_memory(&mut self, import: Import, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostError> {
        self.enter(import)?;
        let event = guarded(import, || decode_value(kind_of(import)?, memory, ptr, len).map_err(HostErrorKind::Abi))?;
        self.record(import, event)
    }

    /// The body of an import that receives its value whole (the component model's `log-*`,
    /// lifted by the runtime, checked with [`common::value`]): records it.
    pub fn log_value(&mut self, import: Import, value: Event<'_>) -> Result<(), HostError> {
        self.enter(import)?;
        self.record(import, value)
    }

    /// The body of an import that receives its value whole and returns its answer by value (the
    /// component model's `answer-*`, whose result the runtime writes into memory from the guest's
    /// `cabi_realloc`): the answer ([`common::answer_to`]), checked against the ABI's limits
    /// like every answer (an `AB` that would encode to more than 64 KiB is `answer-too-large`).
    pub fn answer_value(&mut self, import: Import, value: &Event<'_>) -> Result<Event<'static>, HostError> {
        self.enter(import)?;
        guarded(import, || {
            let answer = common::answer_to(value);
            if let Event::Ab(ab) = &answer
                && let Err(common::ValueError::AbTooLarge { size }) = common::value::ab(ab.a, &ab.b)
            {
                let limit = common::AB_DECODE_LIMIT;
                return Err(HostErrorKind::Answer(common::AnswerError::TooLarge { size, limit }));
            }
            Ok(answer)
        })
    }

    /// The body of `answer_str`, `answer_ab`, `answer_cd` and `kv_get`: checks the output buffer,
    /// decodes the argument `(ptr, len)`, writes the answer (for `kv_get`, the value the store
    /// holds for the key, or nothing if it has none) or only the length it needs. Returns the
    /// [`common::Status`] code.
    #[allow(clippy::too_many_arguments, reason = "the import's five arguments, as the guest passes them")]
    pub fn answer_into(
        &mut self,
        import: Import,
        memory: &mut [u8],
        ptr: i32,
        len: i32,
        out_ptr: i32,
        out_cap: i32,
        out_len_ptr: i32,
    ) -> Result<i32, HostError> {
        self.enter(import)?;
        let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
        if import == Import::KvGet {
            return self.kv_get(memory, ptr, len, out);
        }
        guarded(import, || {
            common::answer::answer_into(kind_of(import)?, memory, ptr, len, out)
                .map(common::Status::code)
                .map_err(HostErrorKind::Answer)
        })
    }

    /// `kv_get`, through [`Recorder::answer_into`]: the key decoded in place, looked up in the
    /// store (which may block), the value written (the output buffer is checked before the key,
    /// as for every `answer_*`).
    fn kv_get(&mut self, memory: &mut [u8], ptr: i32, len: i32, out: OutputBuffer) -> Result<i32, HostError> {
        let store = self.store.as_deref();
        guarded(Import::KvGet, || {
            let key = common::answer::kv_key(memory, ptr, len, out).map_err(HostErrorKind::Answer)?;
            let value = match store {
                Some(store) => store.get(key),
                None => DemoStore::value(key),
            };
            common::answer::kv_answer(memory, value.as_deref(), out)
                .map(common::Status::code)
                .map_err(HostErrorKind::Answer)
        })
    }

    /// The first half of `kv_get` on an async host: checks the output buffer, decodes the key and
    /// copies it out (no view of memory is held while the lookup waits). The host then awaits
    /// [`KvStore::get_async`] of [`Recorder::kv_store`] with [`KvLookup::key`] and ends with
    /// [`Recorder::kv_finish`]. A synchronous host uses [`Recorder::answer_into`], which does the
    /// three.
    pub fn kv_begin(
        &mut self,
        memory: &[u8],
        ptr: i32,
        len: i32,
        out_ptr: i32,
        out_cap: i32,
        out_len_ptr: i32,
    ) -> Result<KvLookup, HostError> {
        self.enter(Import::KvGet)?;
        let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
        guarded(Import::KvGet, || {
            let key = common::answer::kv_key(memory, ptr, len, out).map_err(HostErrorKind::Answer)?;
            Ok(KvLookup { key: key.to_owned(), out })
        })
    }

    /// The store `kv_get` reads.
    pub fn kv_store(&self) -> Arc<dyn KvStore> {
        self.store.clone().unwrap_or_else(|| Arc::new(DemoStore::default()))
    }

    /// The second half of `kv_get`: writes the value the lookup found (checked again against the
    /// memory as it is now). Returns the [`common::Status`] code.
    pub fn kv_finish(&mut self, memory: &mut [u8], lookup: KvLookup, value: Option<&[u8]>) -> Result<i32, HostError> {
        guarded(Import::KvGet, || {
            common::answer::kv_answer(memory, value, lookup.out)
                .map(common::Status::code)
                .map_err(HostErrorKind::Answer)
        })
    }

    /// The body of `request_read`: copies the request of the call in progress into the guest's
    /// buffer, or only its length if it does not fit. Returns the [`common::Status`] code.
    pub fn request_read(
        &mut self,
        memory: &mut [u8],
        out_ptr: i32,
        out_cap: i32,
        out_len_ptr: i32,
    ) -> Result<i32, HostError> {
        let import = Import::RequestRead;
        self.enter(import)?;
        let request = self.in_call.then_some(self.request.as_slice());
        guarded(import, || {
            let request = request.ok_or(HostErrorKind::NoCall)?;
            OutputBuffer::new(out_ptr, out_cap, out_len_ptr)
                .write(memory, request)
                .map(common::Status::code)
                .map_err(HostErrorKind::Answer)
        })
    }

    /// The body of `respond_str`, `respond_ab` and `respond_cd`: decodes the response and keeps
    /// it as the answer of the call in progress. Refused outside a call and the second time.
    pub fn respond(&mut self, import: Import, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostError> {
        self.enter(import)?;
        if !self.in_call {
            return Err(HostError { import, kind: HostErrorKind::NoCall });
        }
        if self.response.is_some() {
            return Err(HostError { import, kind: HostErrorKind::RespondedTwice });
        }
        let event = guarded(import, || decode_value(kind_of(import)?, memory, ptr, len).map_err(HostErrorKind::Abi))?;
        self.response = Some(event.into_owned());
        Ok(())
    }

    /// The first half of an `answer_*_alloc` import: decodes the argument, computes the answer
    /// and checks the return area. The host then calls the guest's allocator with
    /// [`PendingAnswer::size`] and [`PendingAnswer::align`], calls
    /// [`Recorder::allocator_returned`] whatever it returned, and finishes with
    /// [`Recorder::finish_alloc`] on the memory as it is *after* the call (the allocator may
    /// have grown it).
    pub fn begin_alloc(
        &mut self,
        import: Import,
        memory: &[u8],
        ptr: i32,
        len: i32,
        ret_ptr: i32,
    ) -> Result<PendingAnswer, HostError> {
        self.enter(import)?;
        let pending = guarded(import, || {
            PendingAnswer::new(kind_of(import)?, memory, ptr, len, ret_ptr).map_err(HostErrorKind::Answer)
        })?;
        self.allocating = Some(import);
        Ok(pending)
    }

    /// The guest's allocator returned (or trapped): imports are allowed again.
    pub fn allocator_returned(&mut self) {
        self.allocating = None;
    }

    /// The second half of an `answer_*_alloc` import: validates the allocator's pointer against
    /// the memory as it is now, then writes the answer and `(ptr, len)` into the return area.
    pub fn finish_alloc(
        &mut self,
        import: Import,
        memory: &mut [u8],
        pending: PendingAnswer,
        allocated: i32,
    ) -> Result<(), HostError> {
        self.allocating = None;
        guarded(import, || pending.finish(memory, allocated).map_err(HostErrorKind::Answer))
    }

    /// A call with input starts: `request_read` and `respond_*` now work. The request is copied
    /// into a buffer the recorder keeps from call to call.
    pub fn begin_call(&mut self, request: &[u8]) {
        self.request.clear();
        self.request.extend_from_slice(request);
        self.in_call = true;
        self.response = None;
        self.allocating = None;
    }

    /// The call with input ended (returned or failed): its response, if the guest gave one. The
    /// call's state is cleared either way.
    pub fn end_call(&mut self) -> Option<Event<'static>> {
        self.in_call = false;
        if self.request.capacity() > KEPT_REQUEST_BYTES {
            // A large request's buffer is not kept for the instance's lifetime.
            self.request = Vec::new();
        }
        self.allocating = None;
        self.response.take()
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
    fn a_call_reads_its_own_request_only_while_it_lasts() {
        // Memory: the guest's buffer at 0..16, its length word at 16.
        let mut memory = [0u8; 20];
        let read = |recorder: &mut Recorder, memory: &mut [u8]| recorder.request_read(memory, 0, 16, 16);
        let mut recorder = Recorder::new(Sink::Record, 100);
        recorder.begin_call(b"a longer request");
        assert_eq!(read(&mut recorder, &mut memory).unwrap(), common::Status::Ok.code());
        assert_eq!(&memory[..16], b"a longer request");
        assert!(recorder.end_call().is_none());
        // The buffer is reused: the next, shorter request is all the guest sees of it.
        recorder.begin_call(b"short");
        assert_eq!(read(&mut recorder, &mut memory).unwrap(), common::Status::Ok.code());
        assert_eq!(u32::from_le_bytes(memory[16..20].try_into().unwrap()), 5);
        assert_eq!(&memory[..5], b"short");
        recorder.end_call();
        // After the call, the request is gone.
        let e = read(&mut recorder, &mut memory).unwrap_err();
        assert_eq!(e.kind, HostErrorKind::NoCall);
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
