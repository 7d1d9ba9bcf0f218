//! Runtime-neutral errors: every way a run can fail, the same on every runtime.

use std::fmt;

use host_imports::HostError;

use crate::shape::LinkError;

/// A WebAssembly trap, in terms shared by all runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trap {
    /// `unreachable` was executed (a Rust guest's panic ends here too).
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// A table access out of bounds.
    TableOutOfBounds,
    /// `call_indirect` to a null entry.
    IndirectCallToNull,
    /// `call_indirect` with the wrong signature.
    BadSignature,
    /// Integer overflow (e.g. `i32.div_s` of `i32::MIN` by -1).
    IntegerOverflow,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// A float that does not fit the integer it is converted to.
    BadConversionToInteger,
    /// The wasm call stack is exhausted.
    StackOverflow,
    /// The guest used up its fuel budget.
    OutOfFuel,
    /// The guest was still running when its wall-clock budget ([`crate::Limits::timeout`]) ran out.
    Timeout,
    /// An atomic access at a misaligned address.
    MisalignedAtomic,
    /// Any other trap the runtime reports; the runtime's own words are in [`Failure::detail`].
    Other,
}

impl Trap {
    /// A short, stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Trap::Unreachable => "unreachable",
            Trap::MemoryOutOfBounds => "memory-out-of-bounds",
            Trap::TableOutOfBounds => "table-out-of-bounds",
            Trap::IndirectCallToNull => "indirect-call-to-null",
            Trap::BadSignature => "bad-signature",
            Trap::IntegerOverflow => "integer-overflow",
            Trap::IntegerDivisionByZero => "integer-division-by-zero",
            Trap::BadConversionToInteger => "bad-conversion-to-integer",
            Trap::StackOverflow => "stack-overflow",
            Trap::OutOfFuel => "out-of-fuel",
            Trap::Timeout => "timeout",
            Trap::MisalignedAtomic => "misaligned-atomic",
            Trap::Other => "other",
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            Trap::Unreachable => "the guest executed `unreachable`",
            Trap::MemoryOutOfBounds => "the guest accessed memory out of bounds",
            Trap::TableOutOfBounds => "the guest accessed a table out of bounds",
            Trap::IndirectCallToNull => "the guest called a null table entry",
            Trap::BadSignature => "the guest made an indirect call with the wrong signature",
            Trap::IntegerOverflow => "integer overflow in the guest",
            Trap::IntegerDivisionByZero => "integer division by zero in the guest",
            Trap::BadConversionToInteger => "invalid float-to-integer conversion in the guest",
            Trap::StackOverflow => "the guest exhausted its call stack",
            Trap::OutOfFuel => "the guest ran out of fuel (CPU budget)",
            Trap::Timeout => "the guest ran past its deadline (wall-clock timeout)",
            Trap::MisalignedAtomic => "misaligned atomic access in the guest",
            Trap::Other => "the guest trapped",
        }
    }
}

/// Every way a run can fail, in runtime-neutral terms. Two runtimes that fail the same way give
/// equal `Fault`s (the runtime's own words, where they add something, are in [`Failure::detail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The bytes are not a valid WebAssembly module (binary or text).
    InvalidModule,
    /// The module's imports or exports do not fit the ABI.
    Link(LinkError),
    /// The export to call does not exist or is not a function.
    MissingExport {
        /// The name asked for.
        name: String,
        /// The exported functions there are.
        available: Vec<String>,
    },
    /// The export to call has parameters or results the caller cannot use.
    ExportSignature {
        /// The export.
        name: String,
        /// Its signature, as `(i32, i64) -> (f32)`.
        found: String,
        /// What the caller can call.
        expected: String,
    },
    /// A host function refused the guest's call.
    Host(HostError),
    /// The guest trapped.
    Trap(Trap),
    /// A resource limit stopped instantiation (e.g. initial memory above the maximum).
    Limit(String),
    /// The host process could not get what a module within the limits needs (address space,
    /// memory, a pool slot): the host's failure, not the module's. The runtime's reason is in the
    /// [`Failure`]'s detail.
    HostResources,
    /// The engine cannot be set up as asked (an unknown tier, a feature this build lacks).
    Setup(String),
    /// The runtime failed in a way none of the above covers.
    Runtime,
    /// The component model's canonical ABI (the runtime's own lifting and lowering) refused what
    /// the guest passed: a string or list past memory, `cabi_realloc`'s answer out of bounds or
    /// misaligned, an import called from `cabi_realloc`.
    Canon {
        /// A short, stable name (`out-of-bounds`, `realloc-out-of-bounds`, ...).
        kind: &'static str,
        /// The runtime's message.
        message: String,
    },
    /// A call with input returned 0 (success) without a response.
    NoResponse {
        /// The export called.
        export: String,
    },
    /// A call with input returned a status other than 0.
    GuestStatus {
        /// The export called.
        export: String,
        /// Its status.
        status: i32,
    },
    /// A handler returned an error (a component's `result` `err`), with its message.
    GuestError {
        /// The export called.
        export: String,
        /// The guest's error message.
        message: String,
    },
    /// The input is too large to pass its length as an `i32`.
    InputTooLarge {
        /// Its length in bytes.
        len: usize,
    },
}

impl Fault {
    /// The fault for a memory or table the runtime refused to create at instantiation because
    /// it exceeds the [`crate::Limits`]. A runtime that could not create one *within* the
    /// limits (an `mmap` refused under `ulimit -v`) reports [`Fault::HostResources`] instead.
    pub fn instantiation_limit() -> Fault {
        Fault::Limit("a memory or table of the module exceeds the host's limits".into())
    }

    /// A short, stable name: `invalid-module`, `link.unknown-import`, `abi.out-of-bounds`,
    /// `trap.unreachable`, ...
    pub fn kind(&self) -> String {
        match self {
            Fault::InvalidModule => "invalid-module".into(),
            Fault::Link(e) => format!("link.{}", e.kind()),
            Fault::MissingExport { .. } => "missing-export".into(),
            Fault::ExportSignature { .. } => "export-signature".into(),
            Fault::Host(e) => format!("host.{}", e.kind_name()),
            Fault::Trap(t) => format!("trap.{}", t.name()),
            Fault::Limit(_) => "limit".into(),
            Fault::HostResources => "host.resources".into(),
            Fault::Setup(_) => "setup".into(),
            Fault::Runtime => "runtime".into(),
            Fault::Canon { kind, .. } => format!("canon.{kind}"),
            Fault::NoResponse { .. } => "call.no-response".into(),
            Fault::GuestStatus { .. } => "call.guest-status".into(),
            Fault::GuestError { .. } => "call.guest-error".into(),
            Fault::InputTooLarge { .. } => "call.input-too-large".into(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::InvalidModule => f.write_str("not a valid WebAssembly module"),
            Fault::Link(e) => write!(f, "{e}"),
            Fault::MissingExport { name, available } => {
                write!(f, "the module exports no function {name:?}; it exports ")?;
                write_list(f, available)
            }
            Fault::ExportSignature { name, found, expected } => {
                write!(f, "export {name:?} has type {found}, expected {expected}")
            }
            Fault::Host(e) => write!(f, "{e}"),
            Fault::Trap(t) => f.write_str(t.describe()),
            Fault::Limit(what) => write!(f, "resource limit: {what}"),
            Fault::HostResources => f.write_str(
                "the host could not get the resources (address space, memory) for a module within its limits",
            ),
            Fault::Setup(what) => write!(f, "cannot set the engine up: {what}"),
            Fault::Runtime => f.write_str("the runtime failed"),
            Fault::Canon { message, .. } => write!(f, "the canonical ABI refused what the guest did: {message}"),
            Fault::NoResponse { export } => {
                write!(
                    f,
                    "export {export:?} returned 0 (success) but never called respond_str, respond_ab or respond_cd"
                )
            }
            Fault::GuestStatus { export, status } => write!(f, "export {export:?} returned status {status}"),
            Fault::GuestError { export, message } => write!(f, "export {export:?} returned an error: {message:?}"),
            Fault::InputTooLarge { len } => {
                write!(f, "an input of {len} bytes is too large: its length must fit an i32")
            }
        }
    }
}

/// Writes `"a", "b" and "c"`, or `none`.
pub(crate) fn write_list(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    match names {
        [] => f.write_str("none"),
        [only] => write!(f, "{only:?}"),
        [init @ .., last] => {
            for (i, name) in init.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name:?}")?;
            }
            write!(f, " and {last:?}")
        }
    }
}

/// A [`Fault`] with the runtime's own description, where it has one worth showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The runtime-neutral fault.
    pub fault: Fault,
    /// The runtime's (or the text parser's) own message.
    pub detail: Option<String>,
}

impl Failure {
    /// A failure with no runtime detail.
    pub fn new(fault: Fault) -> Self {
        Failure { fault, detail: None }
    }

    /// A failure with the runtime's own description.
    pub fn with_detail(fault: Fault, detail: impl fmt::Display) -> Self {
        Failure { fault, detail: Some(format!("{detail:#}")) }
    }
}

impl From<Fault> for Failure {
    fn from(fault: Fault) -> Self {
        Failure::new(fault)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fault)?;
        match &self.detail {
            Some(detail) => write!(f, " ({})", detail.replace('\n', "; ")),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Failure {}

/// Runs `body`, turning a panic in it into [`Fault::Runtime`] with `"{runtime} panicked: …"`: the
/// boundary that keeps a host process going when its runtime panics on some module (wasmi 2.0.0's
/// translator panics on a valid store whose address and value are the same value with an offset
/// of 2^16 or more: README, Known differences). An instance a panic interrupted may refuse
/// further calls; a host drops it after such a failure.
///
/// The panic's message is the failure's; the panic hook does not also print it (for panics on
/// the thread inside `guarded`: a panic anywhere else is printed as before), so that a host
/// binary still writes exactly one error line.
pub fn guarded<T>(runtime: &str, body: impl FnOnce() -> T) -> Result<T, Failure> {
    thread_local! {
        static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Failure::with_detail(Fault::Runtime, format!("{runtime} panicked: {message}"))
    })
}
