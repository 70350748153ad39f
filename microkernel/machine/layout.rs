//! The kernel's virtual address layout (upper half of every address space).
//!
//! | PML4 slot | address                 | what                                   |
//! |-----------|-------------------------|----------------------------------------|
//! | 256       | `0xffff_8000_0000_0000` | direct map of all physical memory      |
//! | 511       | `0xffff_ffff_8000_0000` | the kernel image (linked at -2 GiB)    |
//!
//! The kernel heap lives inside the direct map (a physically contiguous
//! region), so the upper half never changes after boot and every space can
//! simply share the kernel's PML4 slots.

/// Start of the direct map of physical memory.
pub const PHYS_BASE: u64 = 0xffff_8000_0000_0000;
/// Physical memory the direct map can cover (one PDPT of 1 GiB entries).
pub const PHYS_MAP_MAX: u64 = 512 << 30;
/// Where the kernel image is linked.
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;

/// The direct-map address of physical address `pa`.
pub const fn phys_to_virt(pa: u64) -> u64 {
    PHYS_BASE + pa
}

/// Where the root pager's main thread's UTCB goes (in its window slot).
pub const PAGER_UTCB: u64 = abi::window::PAGER_SLOT + 0x1000_0000;
/// Where the second initial server's main thread's UTCB goes.
pub const SERVER_UTCB: u64 = abi::window::SERVER_SLOT + 0x1000_0000;
