//! The host imports, declared once, behind safe wrappers, and the allocator the host calls.

extern crate alloc;

use core::alloc::Layout;

use common::{AB, CD, ab_config};

/// The raw imports. Names and signatures must match `common::Import` (the hosts check every
/// module's imports against that table before they instantiate it).
mod ffi {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub(super) fn log_int(value: i32);
        pub(super) fn log_str(ptr: *const u8, len: usize);
        pub(super) fn log_ab(ptr: *const u8, len: usize);
        pub(super) fn log_cd(ptr: *const u8, len: usize);
    }
}

/// Logs a plain value.
pub(crate) fn log_int(value: i32) {
    // SAFETY: the import takes a plain value and reads no memory.
    unsafe { ffi::log_int(value) }
}

/// Logs a string; the host reads it in place.
pub(crate) fn log_str(s: &str) {
    // SAFETY: `s` is valid for `s.len()` bytes for the whole call, and the host only reads them.
    unsafe { ffi::log_str(s.as_ptr(), s.len()) }
}

/// Logs an [`AB`], bincode-encoded.
pub(crate) fn log_ab(ab: &AB) {
    log_ab_bytes(&ab_bytes(ab));
}

/// Passes raw bytes to `log_ab` (for testing what the host does with them).
pub(crate) fn log_ab_bytes(bytes: &[u8]) {
    // SAFETY: `bytes` is valid for `bytes.len()` bytes for the whole call; the host only reads.
    unsafe { ffi::log_ab(bytes.as_ptr(), bytes.len()) }
}

/// Logs a [`CD`] as its 40-byte wire image.
pub(crate) fn log_cd(cd: &CD) {
    let bytes = cd_bytes(cd);
    // SAFETY: `bytes` is valid for 40 bytes for the whole call; the host only reads them.
    unsafe { ffi::log_cd(bytes.as_ptr(), bytes.len()) }
}

/// The return-path imports. Names and signatures must match `common::Import`.
mod answer_ffi {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub(super) fn answer_str(ptr: *const u8, len: usize, out: *mut u8, cap: usize, out_len: *mut u32) -> i32;
        pub(super) fn answer_ab(ptr: *const u8, len: usize, out: *mut u8, cap: usize, out_len: *mut u32) -> i32;
        pub(super) fn answer_cd(ptr: *const u8, len: usize, out: *mut u8, cap: usize, out_len: *mut u32) -> i32;
        pub(super) fn answer_str_alloc(ptr: *const u8, len: usize, ret: *mut [u32; 2]);
        pub(super) fn answer_ab_alloc(ptr: *const u8, len: usize, ret: *mut [u32; 2]);
        pub(super) fn answer_cd_alloc(ptr: *const u8, len: usize, ret: *mut [u32; 2]);
        pub(super) fn request_read(out: *mut u8, cap: usize, out_len: *mut u32) -> i32;
        pub(super) fn respond_str(ptr: *const u8, len: usize);
        pub(super) fn respond_ab(ptr: *const u8, len: usize);
        pub(super) fn respond_cd(ptr: *const u8, len: usize);
        pub(super) fn kv_get(key: *const u8, key_len: usize, out: *mut u8, cap: usize, out_len: *mut u32) -> i32;
    }
}

/// Looks `key` up in the host's key-value store with `kv_get`, into `buf`: `Ok(Some(len))` with
/// the value in `buf[..len]`, `Ok(None)` when the store has no such key, `Err(needed)` when `buf`
/// is too small (the host then wrote nothing into it).
pub(crate) fn kv_get_into(key: &str, buf: &mut [u8]) -> Result<Option<usize>, usize> {
    let mut len = 0u32;
    // SAFETY: `key` is valid for reads of `key.len()` bytes, `buf` for writes of `buf.len()` bytes
    // and `len` for a 4-byte write, for the whole call; they do not overlap; the host writes only
    // inside `buf` and `len`.
    let status = unsafe { answer_ffi::kv_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), buf.len(), &raw mut len) };
    match common::Status::from_code(status) {
        Some(common::Status::Ok) => Ok(Some(len as usize)),
        Some(common::Status::NotFound) => Ok(None),
        Some(common::Status::BufferTooSmall) => Err(len as usize),
        None => panic!("unknown status {status}"),
    }
}

/// The value of `key` in the host's store, if it has one: a try with a small buffer on the stack,
/// then, if the value is larger, one in a buffer of the exact size.
pub(crate) fn kv_get(key: &str) -> Option<Vec<u8>> {
    let mut small = [0u8; 64];
    let needed = match kv_get_into(key, &mut small) {
        Ok(found) => return found.map(|len| small[..len].to_vec()),
        Err(needed) => needed,
    };
    let mut buf = vec![0; needed];
    match kv_get_into(key, &mut buf) {
        Ok(found) => found.map(|len| {
            buf.truncate(len);
            buf
        }),
        Err(needed) => panic!("the host needs {needed} bytes after asking for {}", buf.len()),
    }
}

/// The kinds of value the host answers, and their imports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Ab,
    Cd,
}

/// Asks the host for its answer to the argument `arg` (the wire bytes of a value of `kind`) into
/// `buf`: `Ok(len)` with the answer in `buf[..len]`, or `Err(needed)` when `buf` is too small (the
/// host then wrote nothing into it).
pub(crate) fn answer_into(kind: Kind, arg: &[u8], buf: &mut [u8]) -> Result<usize, usize> {
    let mut len = 0u32;
    let import = match kind {
        Kind::Str => answer_ffi::answer_str,
        Kind::Ab => answer_ffi::answer_ab,
        Kind::Cd => answer_ffi::answer_cd,
    };
    // SAFETY: `arg` is valid for reads of `arg.len()` bytes, `buf` for writes of `buf.len()` bytes
    // and `len` for a 4-byte write, for the whole call; they do not overlap; the host writes only
    // inside `buf` and `len`.
    let status = unsafe { import(arg.as_ptr(), arg.len(), buf.as_mut_ptr(), buf.len(), &raw mut len) };
    let len = len as usize;
    match common::Status::from_code(status) {
        Some(common::Status::Ok) => Ok(len),
        Some(common::Status::BufferTooSmall) => Err(len),
        Some(common::Status::NotFound) | None => panic!("unexpected status {status}"),
    }
}

/// The host's answer to `arg`, in a buffer of the exact size: a size query (`cap = 0`), then the
/// call. What a guest without an allocator the host may call does.
pub(crate) fn answer(kind: Kind, arg: &[u8]) -> Vec<u8> {
    let needed = match answer_into(kind, arg, &mut []) {
        Ok(len) | Err(len) => len,
    };
    let mut buf = vec![0; needed];
    match answer_into(kind, arg, &mut buf) {
        Ok(len) => buf.truncate(len),
        Err(needed) => panic!("the host needs {needed} bytes after asking for {}", buf.len()),
    }
    buf
}

/// The host's answer to `arg`, in memory the host got from [`guest_alloc`]: ours to free.
pub(crate) fn answer_alloc(kind: Kind, arg: &[u8]) -> Vec<u8> {
    let mut ret = [0u32; 2];
    let import = match kind {
        Kind::Str => answer_ffi::answer_str_alloc,
        Kind::Ab => answer_ffi::answer_ab_alloc,
        Kind::Cd => answer_ffi::answer_cd_alloc,
    };
    // SAFETY: `arg` is valid for reads of `arg.len()` bytes and `ret` for an 8-byte write for the
    // whole call; the host writes only `ret` and the memory it got from `guest_alloc`.
    unsafe { import(arg.as_ptr(), arg.len(), &raw mut ret) };
    let [ptr, len] = ret;
    let (ptr, len) = (ptr as usize as *mut u8, len as usize);
    let align = match kind {
        Kind::Cd => 4,
        Kind::Str | Kind::Ab => 1,
    };
    let layout = Layout::from_size_align(len, align).expect("the host's answer has a valid layout");
    // SAFETY: the host wrote `len` initialised bytes at `ptr`, which `guest_alloc` allocated with
    // exactly `layout` (the host asks for the answer's size and alignment, and checked the
    // pointer); it is ours from now on, and freed here once copied.
    unsafe {
        let answer = core::slice::from_raw_parts(ptr, len).to_vec();
        alloc::alloc::dealloc(ptr, layout);
        answer
    }
}

/// The guest's allocator, which the host calls for the `answer_*_alloc` imports: `size` bytes
/// aligned to `align`, or 0 if that is not a valid request.
#[unsafe(no_mangle)]
pub extern "C" fn guest_alloc(size: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) if layout.size() > 0 => unsafe { alloc::alloc::alloc(layout) },
        _ => core::ptr::null_mut(),
    }
}

/// The largest request [`with_request`] reads into a buffer on the stack (above it, one of the
/// exact size on the heap). The guest's stack is 32 KiB (`build.rs`).
const INLINE_REQUEST: usize = 1024;

/// Runs `f` on the request of the call in progress, whose length the host passed to the handler
/// (`request_len`): read straight into a buffer of that size, on the stack up to
/// [`INLINE_REQUEST`] bytes. A small request costs one host call and no allocation (no size
/// query: the handler's argument is the size). Should the host have passed a wrong length, the
/// request is read as [`request`] reads it.
pub(crate) fn with_request<R>(request_len: i32, f: impl FnOnce(&[u8]) -> R) -> R {
    let Ok(len) = usize::try_from(request_len) else { return f(&request()) };
    if len > INLINE_REQUEST {
        let mut buf = vec![0; len];
        return match read_request_into(&mut buf) {
            (0, read) if read == len => f(&buf),
            _ => f(&request()),
        };
    }
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); INLINE_REQUEST];
    let mut read = 0u32;
    // SAFETY: `buf` is valid for writes of `len` (<= INLINE_REQUEST) bytes and `read` for a 4-byte
    // write, and they do not overlap; the host writes only there.
    let status = unsafe { answer_ffi::request_read(buf.as_mut_ptr().cast(), len, &raw mut read) };
    if status != common::Status::Ok.code() || read as usize != len {
        return f(&request());
    }
    // SAFETY: the host answered `Ok` having written the whole request, `len` bytes, at the start
    // of `buf`: those bytes are initialised.
    let request = unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
    f(request)
}

/// Reads the request into `buf`: the status and the request's whole length (what the host wrote
/// when the status is `Ok`, what `buf` needs to hold when it is `BufferTooSmall`).
fn read_request_into(buf: &mut [u8]) -> (i32, usize) {
    let mut len = 0u32;
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes and `len` for a 4-byte write, and
    // they do not overlap; the host writes only there.
    let status = unsafe { answer_ffi::request_read(buf.as_mut_ptr(), buf.len(), &raw mut len) };
    (status, len as usize)
}

/// The request of the call in progress: a size query, then a buffer of the exact size.
pub(crate) fn request() -> Vec<u8> {
    let (_, needed) = read_request_into(&mut []);
    let mut buf = vec![0; needed];
    let (status, len) = read_request_into(&mut buf);
    assert_eq!(status, common::Status::Ok.code(), "the request changed size");
    buf.truncate(len);
    buf
}

/// Responds to the call in progress with the wire bytes of a value of `kind`.
pub(crate) fn respond(kind: Kind, bytes: &[u8]) {
    let import = match kind {
        Kind::Str => answer_ffi::respond_str,
        Kind::Ab => answer_ffi::respond_ab,
        Kind::Cd => answer_ffi::respond_cd,
    };
    // SAFETY: `bytes` is valid for `bytes.len()` bytes for the whole call; the host only reads.
    unsafe { import(bytes.as_ptr(), bytes.len()) }
}

/// The wire bytes of an [`AB`].
pub(crate) fn ab_bytes(ab: &AB) -> Vec<u8> {
    match bincode::serde::encode_to_vec(ab, ab_config()) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encoding an AB failed: {e}"),
    }
}

/// The wire bytes of a [`CD`].
pub(crate) fn cd_bytes(cd: &CD) -> [u8; common::CD_WIRE_SIZE] {
    let mut bytes = [0; common::CD_WIRE_SIZE];
    bytes.copy_from_slice(bytemuck::bytes_of(&cd.to_wire()));
    bytes
}
