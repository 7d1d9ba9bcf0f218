//! The wasm-hostcall world (`wit/wasm-hostcall.wit`) bound on wasmtime's component model: the
//! file to copy into your own host of components.
//!
//! Bound with [`LinkerInstance::func_wrap`] rather than `bindgen!`, for two reasons: a string
//! parameter arrives as a [`WasmStr`], a view of guest memory that the host validates in place
//! (zero-copy, as the core hosts read `log_str`; `bindgen!` hands the host an owned `String`,
//! copied first), and every body makes one call to the runtime-neutral [`Recorder`], so that the
//! events, limits and error kinds are the core hosts' own. `examples/embed.rs` shows `bindgen!`.
//!
//! The canonical ABI does the rest: it checks that a string or list lies inside memory, calls
//! the guest's `cabi_realloc` for what the host returns (and checks its answer), and refuses
//! every import while `cabi_realloc` runs. What the WIT types cannot say (an `ab` over 64 KiB, a
//! `cd` text over 32 bytes) is checked here, with [`common::value`].
//!
//! ```text
//! log-int(value: s32)            log-str(text: string)        log-ab(value: ab)      log-cd(value: cd)
//! answer-str(text: string) -> string      answer-ab(value: ab) -> ab      answer-cd(value: cd) -> cd
//! ```

use std::borrow::Cow;

use common::{Event, Import};
use host_imports::{HostError, HostErrorKind, Recorder, Sink};
use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, Lower, WasmStr};
use wasmtime::{AsContext, StoreContextMut, StoreLimits};

/// What each store holds.
pub(crate) struct State {
    /// Events.
    pub(crate) recorder: Recorder,
    pub(crate) store_limits: StoreLimits,
}

/// The world's `ab` record, its text borrowed from guest memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct AbIn {
    a: u32,
    b: WasmStr,
}

/// The world's `cd` record, its text borrowed from guest memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct CdIn {
    c: i32,
    d: WasmStr,
}

/// The world's `ab` record, owned: what the host returns.
#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq, Eq)]
#[component(record)]
pub struct Ab {
    /// A number.
    pub a: u32,
    /// Some text.
    pub b: String,
}

/// The world's `cd` record, owned: what the host returns.
#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq, Eq)]
#[component(record)]
pub struct Cd {
    /// A number.
    pub c: i32,
    /// Up to 32 bytes of text.
    pub d: String,
}

/// The world's names of the imports, with the core ABI's import of the same kind (whose name
/// the error messages use).
pub(crate) const IMPORTS: [(&str, Import); 7] = [
    ("log-int", Import::LogInt),
    ("log-str", Import::LogStr),
    ("log-ab", Import::LogAb),
    ("log-cd", Import::LogCd),
    ("answer-str", Import::AnswerStrAlloc),
    ("answer-ab", Import::AnswerAbAlloc),
    ("answer-cd", Import::AnswerCdAlloc),
];

/// Binds every import of the world.
pub(crate) fn define_imports(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let mut root = linker.root();
    root.func_wrap("log-int", |mut cx: StoreContextMut<'_, State>, (value,): (i32,)| {
        cx.data_mut().recorder.log_int(value).map_err(wasmtime::Error::new)
    })?;
    root.func_wrap("log-str", |cx: StoreContextMut<'_, State>, (text,): (WasmStr,)| {
        with_recorder(cx, |cx, recorder| {
            let text = text_of(&text, cx, Import::LogStr)?;
            recorder.log_value(Import::LogStr, Event::Str(text))
        })
    })?;
    root.func_wrap("log-ab", |cx: StoreContextMut<'_, State>, (value,): (AbIn,)| {
        with_recorder(cx, |cx, recorder| {
            let ab = ab_of(&value, cx, Import::LogAb)?;
            recorder.log_value(Import::LogAb, Event::Ab(ab))
        })
    })?;
    root.func_wrap("log-cd", |cx: StoreContextMut<'_, State>, (value,): (CdIn,)| {
        with_recorder(cx, |cx, recorder| {
            let cd = cd_of(&value, cx, Import::LogCd)?;
            recorder.log_value(Import::LogCd, Event::Cd(cd))
        })
    })?;
    define_answers(&mut root)
}

/// The `answer-*` imports: each answer is returned by value, and the canonical ABI writes it
/// into memory from the guest's `cabi_realloc`, after checking what that returns.
fn define_answers(root: &mut LinkerInstance<'_, State>) -> wasmtime::Result<()> {
    root.func_wrap("answer-str", |cx: StoreContextMut<'_, State>, (text,): (WasmStr,)| {
        with_recorder(cx, |cx, recorder| {
            let text = text_of(&text, cx, Import::AnswerStrAlloc)?;
            match recorder.answer_value(Import::AnswerStrAlloc, &Event::Str(text))? {
                Event::Str(answer) => Ok((answer.into_owned(),)),
                _ => Err(mismatch(Import::AnswerStrAlloc)),
            }
        })
    })?;
    root.func_wrap("answer-ab", |cx: StoreContextMut<'_, State>, (value,): (AbIn,)| {
        with_recorder(cx, |cx, recorder| {
            let ab = ab_of(&value, cx, Import::AnswerAbAlloc)?;
            match recorder.answer_value(Import::AnswerAbAlloc, &Event::Ab(ab))? {
                Event::Ab(answer) => Ok((Ab { a: answer.a, b: answer.b.into_owned() },)),
                _ => Err(mismatch(Import::AnswerAbAlloc)),
            }
        })
    })?;
    root.func_wrap("answer-cd", |cx: StoreContextMut<'_, State>, (value,): (CdIn,)| {
        with_recorder(cx, |cx, recorder| {
            let cd = cd_of(&value, cx, Import::AnswerCdAlloc)?;
            match recorder.answer_value(Import::AnswerCdAlloc, &Event::Cd(cd))? {
                Event::Cd(answer) => Ok((Cd { c: answer.c(), d: answer.d().to_owned() },)),
                _ => Err(mismatch(Import::AnswerCdAlloc)),
            }
        })
    })?;
    Ok(())
}

/// Runs an import body with the recorder taken out of the store, so that the body can borrow
/// guest memory (through the store) and the recorder at once; puts it back whatever happens.
/// No body calls into the guest, so nothing can see the store without its recorder.
fn with_recorder<R>(
    mut cx: StoreContextMut<'_, State>,
    body: impl FnOnce(&StoreContextMut<'_, State>, &mut Recorder) -> Result<R, HostError>,
) -> wasmtime::Result<R> {
    let mut recorder = std::mem::replace(&mut cx.data_mut().recorder, Recorder::new(Sink::Discard, 0));
    let outcome = body(&cx, &mut recorder);
    cx.data_mut().recorder = recorder;
    outcome.map_err(wasmtime::Error::new)
}

/// The text of a string parameter, validated as UTF-8 where it lies in guest memory.
fn text_of<'a>(text: &WasmStr, cx: &'a StoreContextMut<'_, State>, import: Import) -> Result<Cow<'a, str>, HostError> {
    text.to_str(cx.as_context()).map_err(|e| {
        let valid_up_to = e.downcast_ref::<std::str::Utf8Error>().map(std::str::Utf8Error::valid_up_to);
        let kind = match valid_up_to {
            Some(valid_up_to) => HostErrorKind::Value(common::ValueError::InvalidUtf8 { valid_up_to }),
            None => HostErrorKind::Panic(format!("cannot read a string: {e:#}")),
        };
        HostError { import, kind }
    })
}

/// An `ab` parameter, checked against the ABI's limit.
fn ab_of<'a>(value: &AbIn, cx: &'a StoreContextMut<'_, State>, import: Import) -> Result<common::AbRef<'a>, HostError> {
    let text = text_of(&value.b, cx, import)?;
    let checked =
        common::value::ab(value.a, &text).map(|_| ()).map_err(|e| HostError { import, kind: HostErrorKind::Value(e) });
    checked.map(|()| common::AbRef { a: value.a, b: text })
}

/// A `cd` parameter, checked against the ABI's limit.
fn cd_of(value: &CdIn, cx: &StoreContextMut<'_, State>, import: Import) -> Result<common::CD, HostError> {
    let text = text_of(&value.d, cx, import)?;
    common::value::cd(value.c, &text).map_err(|e| HostError { import, kind: HostErrorKind::Value(e) })
}

/// An answer of another kind than its value: a bug of ours, reported, never a panic.
fn mismatch(import: Import) -> HostError {
    HostError { import, kind: HostErrorKind::Panic("the answer is of another kind than its value".into()) }
}
