//! The guest's heap: [talc](https://docs.rs/talc), starting in the memory the guest starts with.
//!
//! Rust's default allocator on `wasm32-unknown-unknown` (dlmalloc) takes every region it uses
//! from `memory.grow`: the free end of the initial memory (after the stack and the data, from
//! `__heap_base` on) is never used, and the first allocation grows memory by a page. A guest
//! that allocates at all then runs in two pages where one would do, and every runtime pays for
//! the growth on each new instance: interpreters allocate and zero the page, wasmtime's pooling
//! allocator makes it accessible (`mprotect`) and takes it back when the slot is reused (README,
//! Where a request's time goes).
//!
//! This source gives talc that free end first, and grows memory only when it is used up, then
//! extends the heap over the new pages (or starts a new one, if something else grew memory in
//! between: `handle_grows` does).

use core::alloc::Layout;
use core::arch::wasm32::{memory_grow, memory_size};
use core::ptr::NonNull;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

/// A page of linear memory.
const PAGE: usize = 64 * 1024;

/// Room talc keeps beside an allocation in a heap (`talc::base::CHUNK_UNIT` on wasm32).
const OVERHEAD: usize = 4 * size_of::<usize>();

unsafe extern "C" {
    /// Where the linker put the end of the stack and the data: the first free byte of memory.
    static __heap_base: u8;
}

#[global_allocator]
static ALLOCATOR: TalcSyncCell<InitialMemoryFirst, WasmBinning> =
    TalcSyncCell::new_wasm(InitialMemoryFirst { end: None, claimed_initial: false });

/// The free end of the initial memory, then pages from `memory.grow`.
#[derive(Debug)]
struct InitialMemoryFirst {
    /// The end of the heap talc allocates from, once it has one.
    end: Option<NonNull<u8>>,
    /// Whether the free end of the initial memory was offered (once, at the first allocation).
    claimed_initial: bool,
}

// SAFETY: `acquire` uses only the `talc` it is given (no allocation: nothing here allocates), and
// hands it memory no one else uses: from `__heap_base` to the end of memory (above the stack and
// the data, which the linker placed below `__heap_base`), or pages `memory.grow` just added.
unsafe impl Source for InitialMemoryFirst {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.claimed_initial {
            talc.source.claimed_initial = true;
            let base = (&raw const __heap_base).cast_mut();
            let memory_end = memory_size::<0>() * PAGE;
            if let Some(free) = memory_end.checked_sub(base as usize).filter(|&free| free > 0) {
                // SAFETY: `[base, memory_end)` is in bounds of linear memory and used by nothing
                // else (see the `unsafe impl`).
                if let Some(end) = unsafe { talc.claim(base, free) } {
                    talc.source.end = Some(end);
                    return Ok(());
                }
            }
        }

        let pages = layout.size().checked_add(OVERHEAD + PAGE - 1).ok_or(())? / PAGE;
        let previous = memory_grow::<0>(pages);
        if previous == usize::MAX {
            return Err(());
        }
        let new_base = (previous * PAGE) as *mut u8;
        let new_end = new_base.wrapping_add(pages * PAGE);
        if let Some(end) = talc.source.end.take()
            && end.as_ptr() == new_base
        {
            // SAFETY: the heap ending at `end` is talc's, and the pages after it were just added
            // by `memory.grow`.
            talc.source.end = Some(unsafe { talc.extend(end, new_end) });
            return Ok(());
        }
        // SAFETY: the pages at `new_base` were just added by `memory.grow`.
        talc.source.end = unsafe { talc.claim(new_base, pages * PAGE) };
        talc.source.end.map(|_| ()).ok_or(())
    }
}
