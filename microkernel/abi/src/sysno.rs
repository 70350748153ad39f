//! Kernel syscall numbers and their flag words. The register ABI of each call
//! is documented in `microkernel/doc/syscalls.md`.
//!
//! Numbers live at `0x8000_0000 + n`: as a 32-bit signed integer (which is all
//! Linux looks at) that is negative, so no Linux syscall number — native or
//! x32 — can ever be one of ours. For Linux-personality threads every other
//! `rax` value is a Linux syscall and becomes an exception message.

pub const BASE: u64 = 0x8000_0000;
pub const IPC: u64 = BASE;
pub const YIELD: u64 = BASE + 1;
pub const THREAD_CREATE: u64 = BASE + 2;
pub const THREAD_DELETE: u64 = BASE + 3;
pub const SPACE_DELETE: u64 = BASE + 4;
pub const THREAD_CONFIG: u64 = BASE + 5;
pub const EXREGS: u64 = BASE + 6;
pub const UNMAP: u64 = BASE + 7;
pub const IRQ_CONTROL: u64 = BASE + 8;
pub const KDEBUG_PRINT: u64 = BASE + 9;
pub const COUNTERS: u64 = BASE + 10;
pub const THREAD_STATE: u64 = BASE + 11;
pub const IO_PORTS: u64 = BASE + 12;
pub const SHUTDOWN: u64 = BASE + 13;
pub const LAST: u64 = SHUTDOWN;

/// Is `rax` one of the kernel's own syscall numbers?
pub const fn is_kernel_syscall(rax: u64) -> bool {
    rax >= BASE && rax <= BASE + 0xff
}

/// `THREAD_CREATE` flags (r9).
pub mod create {
    /// Priority in bits 0..7.
    pub const PRIORITY_MASK: u64 = 0xff;
    /// The thread's `syscall` instructions outside the kernel range become
    /// exception messages (the trampoline for unmodified Linux binaries).
    pub const LINUX: u64 = 1 << 8;
    /// With a new space only: the space is privileged (may create threads and
    /// spaces, configure threads, control IRQs). Only a privileged creator may ask.
    pub const PRIVILEGED: u64 = 1 << 9;
    /// With a new space only, privileged creators only: bits 10..12 hold
    /// window slot + 1 (`abi::window::FREE_SLOTS`) for a *small* space whose
    /// memory lies in that slot. Under `tlb=small` the space shares every
    /// page table's window and switching to it loads no CR3; in the other
    /// modes it is an ordinary space.
    pub const SMALL_SLOT_SHIFT: u32 = 10;
    pub const SMALL_SLOT_MASK: u64 = 7 << SMALL_SLOT_SHIFT;

    /// The flag bits asking for a small space in window slot `n`.
    pub const fn small_slot(n: u32) -> u64 {
        ((n as u64 + 1) << SMALL_SLOT_SHIFT) & SMALL_SLOT_MASK
    }
}

/// `THREAD_CONFIG` fields (rsi); the value is in rdx.
pub mod config {
    pub const PAGER: u64 = 1;
    pub const EXCEPTION_HANDLER: u64 = 2;
    pub const PRIORITY: u64 = 3;
    /// 1 = Linux personality, 0 = native.
    pub const LINUX: u64 = 4;
    /// Restrict sends to threads of the space of the thread ID in rdx; nil lifts it.
    pub const SEND_ONLY_TO_SPACE_OF: u64 = 5;
    /// Timeslice in microseconds.
    pub const TIMESLICE_US: u64 = 6;
    /// Kernel-memory quota of the thread's space, in pages.
    pub const SPACE_KMEM_QUOTA: u64 = 7;
}

/// `EXREGS` control word (rsi).
pub mod exregs {
    pub const SET_IP: u64 = 1 << 0;
    pub const SET_SP: u64 = 1 << 1;
    pub const SET_FLAGS: u64 = 1 << 2;
    /// Abort an ongoing IPC (send or receive phase); the thread sees `Canceled`.
    pub const ABORT_IPC: u64 = 1 << 3;
    /// Stop the thread (it keeps its state; `RESUME` continues it).
    pub const HALT: u64 = 1 << 4;
    /// Make a halted or never-started thread runnable.
    pub const RESUME: u64 = 1 << 5;
    /// Out (rsi): the thread was halted / inactive.
    pub const OUT_HALTED: u64 = 1 << 8;
    /// Out (rsi): the thread was in an IPC (sending or receiving).
    pub const OUT_IN_IPC: u64 = 1 << 9;
}

/// `UNMAP` control (rsi).
pub mod unmap {
    /// Rights to take away, bits 0..2 (r=4, w=2, x=1). All = full unmap.
    pub const RIGHTS_MASK: u64 = 7;
    /// Also from the caller's own space (otherwise only from spaces it mapped to).
    pub const OWN: u64 = 1 << 3;
    /// Out (rdx): accessed / dirty status gathered from the revoked mappings.
    pub const OUT_ACCESSED: u64 = 1 << 0;
    pub const OUT_DIRTY: u64 = 1 << 1;
}

/// `IRQ_CONTROL` operations (rsi).
pub mod irq {
    /// Make the thread in rdx the handler of IRQ rdi and unmask the line.
    pub const ATTACH: u64 = 1;
    /// Remove the handler and mask the line.
    pub const DETACH: u64 = 2;
}

/// `THREAD_STATE` operations (rsi): copy a thread's full user state to or
/// from a buffer of the caller (rdx = address, r8 = length).
pub mod thread_state {
    /// Read `UserRegs` (20 words, exception-message order) of the thread.
    pub const READ_REGS: u64 = 1;
    /// Write them (sanitised: user segments, canonical RIP, IF set).
    pub const WRITE_REGS: u64 = 2;
    /// Read the 512-byte FXSAVE image of the thread's FPU/SSE state.
    pub const READ_FPU: u64 = 3;
    /// Write it (MXCSR reserved bits are cleared).
    pub const WRITE_FPU: u64 = 4;
    pub const FPU_BYTES: usize = 512;
    /// Read the processor time the thread has used: one u64, microseconds
    /// (counted in timer ticks).
    pub const READ_TIMES: u64 = 5;
    /// Write the registers (as WRITE_REGS) and let the thread run from them:
    /// an IPC it is in is abandoned without touching the new registers. How
    /// a server answers a client's call with a whole new register state
    /// (the libc shim's execve and rt_sigreturn, signal delivery).
    pub const RESTART_REGS: u64 = 6;
}
