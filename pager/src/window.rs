//! The root pager's view of physical memory: frame `p` appears at
//! `PAGER_PHYS_BASE + p` (the kernel maps it there on first touch, sigma0
//! style). This module is the pager's only `unsafe` code: turning that window
//! into slices.

use abi::window::PAGER_PHYS_BASE;

/// The pager-side address of physical address `pa`.
pub fn addr(pa: u64) -> u64 {
    PAGER_PHYS_BASE + pa
}

/// Read-only view of `len` bytes of a boot module at `pa`.
pub fn module_bytes(pa: u64, len: usize) -> &'static [u8] {
    // SAFETY: boot modules are never written (clients get them read-only),
    // and the kernel maps any RAM page of the window on first touch.
    unsafe { core::slice::from_raw_parts(addr(pa) as *const u8, len) }
}

/// Write `data` into the frame at `pa`, which the pager just took from its
/// pool (nobody else has it mapped yet).
pub fn fill_frame(pa: u64, data: &[u8; 4096]) {
    // SAFETY: the frame is free RAM owned by the pager and not yet mapped to
    // anyone; the window maps it writable on first touch.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr(pa) as *mut u8, 4096) }
}

/// Zero the block at `pa` of `len` bytes (fresh from the pool).
pub fn zero(pa: u64, len: usize) {
    // SAFETY: as for `fill_frame`.
    unsafe { core::ptr::write_bytes(addr(pa) as *mut u8, 0, len) }
}
