//! Memory and table limits for wasmer, which has no per-store limiter like wasmtime's and
//! wasmi's `StoreLimits`: tunables that cap every memory's and table's maximum.
//!
//! Capping the *maximum* makes `memory.grow` past the limit return -1 to the guest, exactly as
//! `StoreLimits` does on the other runtimes; an *initial* size above the limit fails to
//! instantiate.

use std::ptr::NonNull;

use wasmer::sys::vm::{MemoryError, MemoryStyle, TableStyle, VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryType, Pages, TableType};

/// [`BaseTunables`], with every memory capped at `max_pages` and every table at
/// `max_table_elements`.
pub(crate) struct LimitingTunables {
    base: BaseTunables,
    max_pages: Pages,
    max_table_elements: u32,
}

impl LimitingTunables {
    pub(crate) fn new(base: BaseTunables, max_memory_bytes: usize, max_table_elements: u32) -> Self {
        LimitingTunables { base, max_pages: Self::max_pages(max_memory_bytes), max_table_elements }
    }

    /// The most pages a memory may have under a limit of `max_memory_bytes`.
    pub(crate) fn max_pages(max_memory_bytes: usize) -> Pages {
        let pages = max_memory_bytes / wasmer::WASM_PAGE_SIZE;
        Pages(u32::try_from(pages).unwrap_or(u32::MAX).min(wasmer::WASM_MAX_PAGES))
    }

    /// The memory type with its maximum capped at the limit.
    fn memory(&self, ty: &MemoryType) -> MemoryType {
        let mut capped = *ty;
        capped.maximum = Some(ty.maximum.map_or(self.max_pages, |max| max.min(self.max_pages)));
        capped
    }

    fn check_memory(&self, ty: &MemoryType) -> Result<(), MemoryError> {
        if ty.minimum > self.max_pages {
            return Err(MemoryError::Generic(format!(
                "memory starts at {} pages, above the limit of {} pages",
                ty.minimum.0, self.max_pages.0
            )));
        }
        Ok(())
    }

    /// The table type with its maximum capped at the limit.
    fn table(&self, ty: &TableType) -> Result<TableType, String> {
        if ty.minimum > self.max_table_elements {
            return Err(format!(
                "table starts at {} elements, above the limit of {}",
                ty.minimum, self.max_table_elements
            ));
        }
        let mut capped = *ty;
        capped.maximum = Some(ty.maximum.map_or(self.max_table_elements, |max| max.min(self.max_table_elements)));
        Ok(capped)
    }
}

impl Tunables for LimitingTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(&self.memory(memory))
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(table)
    }

    fn create_host_memory(&self, ty: &MemoryType, style: &MemoryStyle) -> Result<VMMemory, MemoryError> {
        self.check_memory(ty)?;
        self.base.create_host_memory(&self.memory(ty), style)
    }

    #[allow(unsafe_code)]
    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        self.check_memory(ty)?;
        // SAFETY: we pass the caller's location on unchanged; the caller guarantees it is valid,
        // as this function's contract requires.
        unsafe { self.base.create_vm_memory(&self.memory(ty), style, vm_definition_location) }
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.base.create_host_table(&self.table(ty)?, style)
    }

    #[allow(unsafe_code)]
    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        let ty = self.table(ty)?;
        // SAFETY: we pass the caller's location on unchanged; the caller guarantees it is valid,
        // as this function's contract requires.
        unsafe { self.base.create_vm_table(&ty, style, vm_definition_location) }
    }
}
