//! The guest's linear memory, in storage this host shares with tinywasm, under the memory limit.
//!
//! tinywasm 0.10 has no API that lends out a memory's bytes as a slice (only copying reads and
//! writes), and the [`harness::Recorder`] works on the whole memory in place. So the engine gives
//! tinywasm a custom [`MemoryBackend`] whose memories keep their bytes in a
//! [`GuestMemory`] (`Rc<RefCell<Vec<u8>>>`), and the host keeps a second handle to the same
//! bytes. The backend is also where the memory limit lives: it refuses to grow past
//! [`harness::Limits::max_memory_bytes`] (tinywasm turns that into `memory.grow` returning -1) and
//! to create a memory that starts above it.
//!
//! The backend's factory is shared by every store (it must be `Send + Sync`) and is called inside
//! tinywasm's instantiation, so it hands each memory it creates to the instantiating thread
//! through a thread-local list, which [`take_created`] empties.

use std::cell::RefCell;
use std::rc::Rc;

use tinywasm::types::MemoryType;
use tinywasm::{Error, LinearMemory, MemoryBackend, Trap};

/// The bytes of one guest memory, shared between tinywasm and the host.
///
/// The host borrows them only inside an import body or between calls, never while guest code
/// runs; should tinywasm find them borrowed anyway, its access fails as out of bounds instead of
/// panicking.
#[derive(Clone, Default)]
pub(crate) struct GuestMemory(Rc<RefCell<Vec<u8>>>);

impl GuestMemory {
    /// The bytes, mutably, or `None` if they are already borrowed.
    pub(crate) fn bytes_mut(&self) -> Option<std::cell::RefMut<'_, Vec<u8>>> {
        self.0.try_borrow_mut().ok()
    }
}

thread_local! {
    /// The memories the backend created on this thread since the last [`take_created`].
    static CREATED: RefCell<Vec<GuestMemory>> = const { RefCell::new(Vec::new()) };
}

/// The memories the backend created on this thread since the last call, in creation order
/// (tinywasm creates a module's memories in the order of its memory section).
pub(crate) fn take_created() -> Vec<GuestMemory> {
    CREATED.with(|created| std::mem::take(&mut *created.borrow_mut()))
}

/// A memory backend whose memories never exceed `max_len` bytes.
pub(crate) fn backend(max_len: usize) -> MemoryBackend {
    MemoryBackend::custom(move |ty: MemoryType| {
        let len = usize::try_from(ty.initial_size()).ok().filter(|len| *len <= max_len);
        // An error other than a trap would make a lazily created memory panic in tinywasm; this
        // host has tinywasm create memories eagerly, but keeps to traps anyway.
        let len = len.ok_or(Error::Trap(Trap::OutOfMemory))?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(len).map_err(|_| Error::Trap(Trap::OutOfMemory))?;
        bytes.resize(len, 0);
        let memory = GuestMemory(Rc::new(RefCell::new(bytes)));
        CREATED.with(|created| created.borrow_mut().push(memory.clone()));
        Ok(LimitedMemory { memory, max_len })
    })
}

/// A [`GuestMemory`] as tinywasm's storage for it.
struct LimitedMemory {
    memory: GuestMemory,
    max_len: usize,
}

impl LinearMemory for LimitedMemory {
    fn len(&self) -> usize {
        self.memory.0.try_borrow().map_or(0, |bytes| bytes.len())
    }

    fn grow_to(&mut self, new_len: usize) -> Result<(), Trap> {
        if new_len > self.max_len {
            return Err(Trap::OutOfMemory);
        }
        let mut bytes = self.memory.bytes_mut().ok_or(Trap::OutOfMemory)?;
        let additional = new_len.checked_sub(bytes.len()).ok_or(Trap::OutOfMemory)?;
        bytes.try_reserve_exact(additional).map_err(|_| Trap::OutOfMemory)?;
        bytes.resize(new_len, 0);
        Ok(())
    }

    fn read(&self, addr: usize, dst: &mut [u8]) -> usize {
        let Ok(bytes) = self.memory.0.try_borrow() else { return 0 };
        let Some(src) = bytes.get(addr..) else { return 0 };
        let len = dst.len().min(src.len());
        dst[..len].copy_from_slice(&src[..len]);
        len
    }

    fn write(&mut self, addr: usize, src: &[u8]) -> usize {
        let Some(mut bytes) = self.memory.bytes_mut() else { return 0 };
        let Some(dst) = bytes.get_mut(addr..) else { return 0 };
        let len = dst.len().min(src.len());
        dst[..len].copy_from_slice(&src[..len]);
        len
    }

    fn read_exact(&self, addr: usize, dst: &mut [u8]) -> Option<()> {
        let bytes = self.memory.0.try_borrow().ok()?;
        dst.copy_from_slice(bytes.get(addr..addr.checked_add(dst.len())?)?);
        Some(())
    }

    fn write_all(&mut self, addr: usize, src: &[u8]) -> Option<()> {
        let mut bytes = self.memory.bytes_mut()?;
        bytes.get_mut(addr..addr.checked_add(src.len())?)?.copy_from_slice(src);
        Some(())
    }

    fn fill(&mut self, addr: usize, len: usize, val: u8) -> Option<()> {
        let mut bytes = self.memory.bytes_mut()?;
        bytes.get_mut(addr..addr.checked_add(len)?)?.fill(val);
        Some(())
    }

    fn copy_within(&mut self, dst: usize, src: usize, len: usize) -> Option<()> {
        let mut bytes = self.memory.bytes_mut()?;
        let src_end = src.checked_add(len)?;
        if dst.checked_add(len)? > bytes.len() || src_end > bytes.len() {
            return None;
        }
        bytes.copy_within(src..src_end, dst);
        Some(())
    }
}
