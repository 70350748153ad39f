//! Where things go in a Linux process's address space here.
//!
//! Linux uses the whole lower half up to `0x7fff_ffff_f000`; this system
//! reserves the top 512 GiB slot (`abi::WINDOW_BASE`) for the kernel
//! interface page and the servers (so they can become small address spaces
//! later), so everything Linux would put near the top moves below the window.
//! Address-space randomisation is off (as with `setarch -R`): the same
//! program gets the same addresses on every run.

/// End (exclusive) of the addresses a process may use.
pub const TASK_END: u64 = abi::WINDOW_BASE;
/// Top of the main thread's stack (one guard page below the window).
pub const STACK_TOP: u64 = TASK_END - 0x1000;
/// Most the stack may grow (RLIMIT_STACK's default).
pub const STACK_MAX: u64 = 8 << 20;
/// The top of the area `mmap` places mappings in, top-down (Linux leaves at
/// least 128 MiB for the stack).
pub const MMAP_BASE: u64 = STACK_TOP - (128 << 20);
/// Lowest address `mmap` hands out (Linux's default `vm.mmap_min_addr`).
pub const MMAP_MIN: u64 = 0x10000;
/// Where a static PIE is loaded (Linux's ELF_ET_DYN_BASE without randomisation).
pub const PIE_BASE: u64 = 0x5555_5555_4000;
/// Largest program image we load.
pub const IMAGE_MAX: u64 = 1 << 30;
