//! The error a host function returns to make the guest's call trap.

use std::fmt;

use common::{ALLOCATOR_EXPORT, AbiError, AnswerError, Import, ValueError};

/// Why a host function made the guest's call trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostErrorKind {
    /// The guest's arguments did not decode.
    Abi(AbiError),
    /// A value the component model lifted whole is over a limit of the ABI.
    Value(ValueError),
    /// The guest's memory is not bound yet: the import was called from the module's start
    /// function, which runs before the host can look up the exported memory.
    MemoryUnavailable,
    /// The guest logged more than the host keeps (the `max_log_bytes` of [`crate::Recorder::new`]).
    LogLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// The host function panicked. A bug in the host, caught so that it cannot abort the process.
    Panic(String),
    /// The host could not answer: a bad argument, a bad output range, a bad allocator answer.
    Answer(AnswerError),
    /// `request_read` or `respond_*` outside a call the host made with input.
    NoCall,
    /// `respond_*` a second time in one call.
    RespondedTwice,
    /// An `answer_*_alloc` import, and the guest exports no allocator.
    AllocatorMissing,
    /// An `answer_*_alloc` import, and the guest's allocator export has another type.
    AllocatorType,
    /// An import called while the host waits on the guest's allocator (from inside the
    /// allocator): refused, so that a host call can never re-enter the guest without bound.
    Reentered {
        /// The import waiting on the allocator.
        during: Import,
    },
}

/// The error a host function returns to make the guest's call trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// The import that failed.
    pub import: Import,
    /// What went wrong.
    pub kind: HostErrorKind,
}

impl HostError {
    /// A short, stable name for the kind of failure.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            HostErrorKind::Abi(e) => e.kind(),
            HostErrorKind::Value(e) => e.kind(),
            HostErrorKind::MemoryUnavailable => "memory-unavailable",
            HostErrorKind::LogLimit { .. } => "log-limit",
            HostErrorKind::Panic(_) => "host-panic",
            HostErrorKind::Answer(e) => e.kind(),
            HostErrorKind::NoCall => "no-call",
            HostErrorKind::RespondedTwice => "respond-twice",
            HostErrorKind::AllocatorMissing => "alloc-missing",
            HostErrorKind::AllocatorType => "alloc-type",
            HostErrorKind::Reentered { .. } => "reentered",
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let import = self.import;
        match &self.kind {
            HostErrorKind::Abi(e) => write!(f, "{import}: {e}"),
            HostErrorKind::Value(e) => write!(f, "{import}: {e}"),
            HostErrorKind::MemoryUnavailable => write!(
                f,
                "{import}: guest memory is not available yet (imports that read memory cannot be called from a start function)"
            ),
            HostErrorKind::LogLimit { limit } => {
                write!(f, "{import}: the guest logged more than {limit} bytes")
            }
            HostErrorKind::Panic(message) => {
                write!(f, "{import}: host function panicked: {message}")
            }
            HostErrorKind::Answer(e) => write!(f, "{import}: {e}"),
            HostErrorKind::NoCall => write!(
                f,
                "{import}: no call with input is in progress (request_read and respond_* work only inside a call the host makes with input)"
            ),
            HostErrorKind::RespondedTwice => write!(f, "{import}: the guest already responded to this call"),
            HostErrorKind::AllocatorMissing => {
                write!(f, "{import}: the guest exports no allocator {ALLOCATOR_EXPORT:?}")
            }
            HostErrorKind::AllocatorType => {
                write!(f, "{import}: the guest's {ALLOCATOR_EXPORT:?} is not a function (i32, i32) -> (i32)")
            }
            HostErrorKind::Reentered { during } => write!(
                f,
                "{import}: called from the guest's allocator while the host waits on it for {during} (refused: no re-entry)"
            ),
        }
    }
}

impl std::error::Error for HostError {}
