//! Signal delivery logic, free of the microkernel: which signal goes next,
//! what a signal does by default, the bytes of a `siginfo_t`, and the x86-64
//! `rt_sigframe` a handler runs on and `rt_sigreturn` reads back.
//!
//! Why it is here, pure and byte-exact: a static binary's libc and its signal
//! handlers see only memory. glibc/musl handlers read `siginfo_t` fields at
//! fixed offsets, `ucontext_t` users (unwinders, `backtrace`, green-thread and
//! fault-recovery code) read `uc_mcontext`, and the libc's `__restore_rt`
//! trampoline calls `rt_sigreturn` expecting the kernel to find the frame
//! exactly where Linux would have put it. So the frame must be laid out byte
//! for byte as Linux 6.1 lays it out, with Linux's stack-placement rules (red
//! zone, alternate stack, FPU-area alignment), and `rt_sigreturn` must apply
//! Linux's restore rules (FIX_EFLAGS, unblockable signals). Keeping this in
//! the library makes every one of those rules a host test against the numbers
//! in the Linux headers, instead of something discovered by a crashing guest.
//!
//! Everything is serialized by hand into little-endian byte arrays (the crate
//! forbids `unsafe`, so no `repr(C)` transmutes); the server copies the bytes
//! to and from user memory.
//!
//! - [`set`]: signal sets and Linux's choice of the next signal to deliver.
//! - [`action`]: default actions, `struct sigaction`, the mask while a
//!   handler runs.
//! - [`info`]: `siginfo_t`, its `si_code` values and layouts.
//! - [`frame`]: `rt_sigframe` building (delivery) and parsing (`rt_sigreturn`),
//!   the alternate signal stack.

pub mod action;
pub mod frame;
pub mod info;
pub mod set;

pub use action::{default_action, DefaultAction, SigAction};
pub use frame::{build, parse, AltStack, Delivery, FrameError, Restored, SignalFrame};
pub use info::{SigFields, SigInfo};
pub use set::{next_deliverable, SigSet};

/// Little-endian field access for the byte images (no `unsafe`, no transmutes).
/// Offsets are compile-time constants inside fixed-size buffers.
mod le {
    pub(super) fn put_u16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    pub(super) fn put_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub(super) fn put_u64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    pub(super) fn get_u32(b: &[u8], at: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[at..at + 4]);
        u32::from_le_bytes(a)
    }
    pub(super) fn get_u64(b: &[u8], at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(a)
    }
}
