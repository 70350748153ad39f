//! The x86-64 `rt_sigframe`: what Linux 6.1 writes on the user stack to run a
//! handler, and what `rt_sigreturn` reads back.
//!
//! A handler is entered like a function whose return address is the
//! `sa_restorer` trampoline (libc's `__restore_rt`: `mov $15, %eax; syscall`).
//! Below the interrupted stack pointer Linux puts (arch/x86/kernel/signal.c
//! `get_sigframe`, `__setup_rt_frame`; arch/x86/kernel/fpu/signal.c):
//!
//! ```text
//!   interrupted rsp
//!   - 128 bytes red zone        (leaf code may use it without moving rsp)
//!   [or: top of the alternate signal stack, with SA_ONSTACK]
//!   padding down to 64 bytes
//!   fpstate   512 bytes          FXSAVE image, 64-aligned (no XSAVE here)
//!   padding down to 16, then 8 more
//!   rt_sigframe 440 bytes        at rsp_handler, (rsp_handler + 8) % 16 == 0
//!     +0    pretcode             = sa_restorer (the handler's return address)
//!     +8    ucontext uc          uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask
//!     +312  siginfo info         (written only with SA_SIGINFO)
//! ```
//!
//! `uc_mcontext` is `struct sigcontext` (uapi/asm/sigcontext.h) whose
//! `fpstate` member points at the FXSAVE image; glibc's `ucontext_t` is a
//! superset whose first 304 bytes match the kernel's `struct ucontext`.
//!
//! The handler starts with rdi = signal, rsi = &info, rdx = &uc, rax = 0,
//! rsp = frame, rip = handler, and DF, RF and TF cleared. When it returns,
//! `ret` pops `pretcode`, so `rt_sigreturn` finds the frame at rsp - 8 and
//! restores the registers from `uc_mcontext` (only the FIX_EFLAGS bits of
//! rflags), the blocked mask from `uc_sigmask`, the FPU from `fpstate`, and
//! the alternate stack from `uc_stack`.
//!
//! This CPU runs user code with FXSAVE only (CR4.OSXSAVE clear), so the math
//! frame is the 512-byte legacy image, `uc_flags` lacks UC_FP_XSTATE, and the
//! software-reserved bytes 464..511 of the image are written as zeros: no
//! FP_XSTATE_MAGIC1, which user code takes as "legacy frame, nothing beyond
//! 512 bytes".

use super::action::{SA_ONSTACK, SA_RESTORER, SA_SIGINFO};
use super::info::{SigInfo, SIGINFO_SIZE};
use super::le::{get_u32, get_u64, put_u16, put_u32, put_u64};
use super::set::SigSet;
use crate::linux::errno::{Errno, EINVAL, ENOMEM, EPERM};
use abi::exception::UserRegs;
use alloc::vec;
use alloc::vec::Vec;

/// The x86-64 ABI red zone below rsp that a signal frame must not touch.
pub const REDZONE: u64 = 128;
/// Size of the FPU save area: the FXSAVE image (`struct fxregs_state`).
pub const FPSTATE_SIZE: usize = 512;
/// Alignment of the FPU save area (`fpu__alloc_mathframe`: `round_down(.., 64)`).
pub const FPSTATE_ALIGN: u64 = 64;
/// `sizeof(struct rt_sigframe)` on x86-64: pretcode 8 + ucontext 304 + siginfo 128.
pub const RT_SIGFRAME_SIZE: usize = 440;

/// Offset of `pretcode` (the handler's return address) in the frame.
pub const PRETCODE_AT: usize = 0;
/// Offset of `struct ucontext uc` in the frame.
pub const UC_AT: usize = 8;
/// Offset of `struct siginfo info` in the frame.
pub const INFO_AT: usize = UC_AT + uc::SIZE;
/// Offset of `uc.uc_flags` in the frame.
pub const UC_FLAGS_AT: usize = UC_AT + uc::FLAGS;
/// Offset of `uc.uc_stack` in the frame.
pub const UC_STACK_AT: usize = UC_AT + uc::STACK;
/// Offset of `uc.uc_mcontext` (struct sigcontext) in the frame.
pub const MCONTEXT_AT: usize = UC_AT + uc::MCONTEXT;
/// Offset of `uc.uc_mcontext.fpstate` (the FPU-area pointer) in the frame.
pub const FPSTATE_PTR_AT: usize = MCONTEXT_AT + sc::FPSTATE;
/// Offset of `uc.uc_sigmask` in the frame.
pub const SIGMASK_AT: usize = UC_AT + uc::SIGMASK;
/// Bytes `rt_sigreturn` reads from the frame start: everything up to the end
/// of `uc_sigmask` (Linux range-checks the whole 440-byte frame with
/// `access_ok` but reads only the ucontext).
pub const SIGRETURN_READ_LEN: usize = SIGMASK_AT + 8;

/// Offsets inside the kernel's x86-64 `struct ucontext` (asm-generic/ucontext.h).
pub mod uc {
    /// `unsigned long uc_flags`.
    pub const FLAGS: usize = 0;
    /// `struct ucontext *uc_link`.
    pub const LINK: usize = 8;
    /// `stack_t uc_stack`.
    pub const STACK: usize = 16;
    /// `struct sigcontext uc_mcontext`.
    pub const MCONTEXT: usize = 40;
    /// `sigset_t uc_sigmask` (8 bytes; "mask last for extensibility").
    pub const SIGMASK: usize = 296;
    /// `sizeof(struct ucontext)`.
    pub const SIZE: usize = 304;
}

/// Offsets inside `stack_t` (x86 uapi/asm/signal.h `struct sigaltstack`).
pub mod stack {
    /// `void *ss_sp`.
    pub const SP: usize = 0;
    /// `int ss_flags` (4 bytes, then 4 bytes padding).
    pub const FLAGS: usize = 8;
    /// `size_t ss_size`.
    pub const SIZE: usize = 16;
    /// `sizeof(stack_t)`.
    pub const STACK_T_SIZE: usize = 24;
}

/// Offsets inside the x86-64 `struct sigcontext` (uapi/asm/sigcontext.h,
/// `struct sigcontext_64`).
pub mod sc {
    /// `r8`.
    pub const R8: usize = 0;
    /// `r9`.
    pub const R9: usize = 8;
    /// `r10`.
    pub const R10: usize = 16;
    /// `r11`.
    pub const R11: usize = 24;
    /// `r12`.
    pub const R12: usize = 32;
    /// `r13`.
    pub const R13: usize = 40;
    /// `r14`.
    pub const R14: usize = 48;
    /// `r15`.
    pub const R15: usize = 56;
    /// `di`.
    pub const RDI: usize = 64;
    /// `si`.
    pub const RSI: usize = 72;
    /// `bp`.
    pub const RBP: usize = 80;
    /// `bx`.
    pub const RBX: usize = 88;
    /// `dx`.
    pub const RDX: usize = 96;
    /// `ax`.
    pub const RAX: usize = 104;
    /// `cx`.
    pub const RCX: usize = 112;
    /// `sp`.
    pub const RSP: usize = 120;
    /// `ip`.
    pub const RIP: usize = 128;
    /// `flags` (rflags).
    pub const EFLAGS: usize = 136;
    /// `u16 cs`.
    pub const CS: usize = 144;
    /// `u16 gs` (always written 0).
    pub const GS: usize = 146;
    /// `u16 fs` (always written 0).
    pub const FS: usize = 148;
    /// `u16 ss` (`__pad0` in the old uapi name).
    pub const SS: usize = 150;
    /// `err`: the fault's error code.
    pub const ERR: usize = 152;
    /// `trapno`: the fault's vector.
    pub const TRAPNO: usize = 160;
    /// `oldmask`: the saved blocked mask (again).
    pub const OLDMASK: usize = 168;
    /// `cr2`: the page-fault address.
    pub const CR2: usize = 176;
    /// `fpstate`: user address of the FPU area, 0 = none.
    pub const FPSTATE: usize = 184;
    /// `reserved1[8]`.
    pub const RESERVED1: usize = 192;
    /// `sizeof(struct sigcontext)`.
    pub const SIZE: usize = 256;
}

/// Offsets inside the 512-byte FXSAVE image (`struct fxregs_state`, uapi `struct _fpstate_64`).
pub mod fx {
    /// `u16 cwd`: x87 control word.
    pub const FCW: usize = 0;
    /// `u32 mxcsr`.
    pub const MXCSR: usize = 24;
    /// `u32 mxcsr_mask`.
    pub const MXCSR_MASK: usize = 28;
    /// `sw_reserved` (`struct _fpx_sw_bytes`, 48 bytes): where an XSAVE frame
    /// announces itself with FP_XSTATE_MAGIC1. Zero here.
    pub const SW_RESERVED: usize = 464;
}

/// `uc_flags`: the fpstate is an XSAVE area (never set here: no XSAVE).
pub const UC_FP_XSTATE: u64 = 0x1;
/// `uc_flags`: the sigcontext's `ss` field is meaningful.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `uc_flags`: sigreturn restores SS strictly (signal came from 64-bit code).
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// The `uc_flags` Linux writes on a CPU without XSAVE for 64-bit code
/// (`frame_uc_flags`).
pub const FRAME_UC_FLAGS: u64 = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;

/// Linux's x86-64 user code segment (`__USER_CS`, GDT entry 6, RPL 3), as
/// written into `sigcontext.cs`.
pub const USER_CS: u16 = 0x33;
/// Linux's x86-64 user data segment (`__USER_DS`, GDT entry 5, RPL 3), as
/// written into `sigcontext.ss`.
pub const USER_DS: u16 = 0x2b;

/// RFLAGS carry flag.
pub const X86_EFLAGS_CF: u64 = 1 << 0;
/// RFLAGS parity flag.
pub const X86_EFLAGS_PF: u64 = 1 << 2;
/// RFLAGS auxiliary carry flag.
pub const X86_EFLAGS_AF: u64 = 1 << 4;
/// RFLAGS zero flag.
pub const X86_EFLAGS_ZF: u64 = 1 << 6;
/// RFLAGS sign flag.
pub const X86_EFLAGS_SF: u64 = 1 << 7;
/// RFLAGS trap flag (single step).
pub const X86_EFLAGS_TF: u64 = 1 << 8;
/// RFLAGS interrupt enable flag.
pub const X86_EFLAGS_IF: u64 = 1 << 9;
/// RFLAGS direction flag.
pub const X86_EFLAGS_DF: u64 = 1 << 10;
/// RFLAGS overflow flag.
pub const X86_EFLAGS_OF: u64 = 1 << 11;
/// RFLAGS resume flag.
pub const X86_EFLAGS_RF: u64 = 1 << 16;
/// RFLAGS alignment check flag.
pub const X86_EFLAGS_AC: u64 = 1 << 18;
/// The rflags bits `rt_sigreturn` takes from the frame; all others keep their
/// current value (arch/x86/include/asm/sighandling.h `FIX_EFLAGS`).
pub const FIX_EFLAGS: u64 = X86_EFLAGS_AC
    | X86_EFLAGS_OF
    | X86_EFLAGS_DF
    | X86_EFLAGS_TF
    | X86_EFLAGS_SF
    | X86_EFLAGS_ZF
    | X86_EFLAGS_AF
    | X86_EFLAGS_PF
    | X86_EFLAGS_CF
    | X86_EFLAGS_RF;
/// The rflags bits cleared for the handler (`handle_signal`: ABI function
/// entry has DF clear; RF and TF would disturb debugging of the handler).
pub const HANDLER_CLEARS_EFLAGS: u64 = X86_EFLAGS_DF | X86_EFLAGS_RF | X86_EFLAGS_TF;

/// `ss_flags`: currently executing on the alternate stack (reported only).
pub const SS_ONSTACK: u32 = 1;
/// `ss_flags`: no alternate stack.
pub const SS_DISABLE: u32 = 2;
/// `ss_flags` modifier: disarm the alternate stack when a handler is entered
/// on it (it is re-armed from `uc_stack` by `rt_sigreturn`).
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The `ss_flags` modifier bits (`SS_FLAG_BITS`).
pub const SS_FLAG_BITS: u32 = SS_AUTODISARM;
/// Smallest alternate stack `sigaltstack` accepts (x86 `MINSIGSTKSZ`).
pub const MINSIGSTKSZ: u64 = 2048;
/// The conventional alternate stack size (x86 `SIGSTKSZ`).
pub const SIGSTKSZ: u64 = 8192;

/// MXCSR after reset and in a fresh FPU state (`MXCSR_DEFAULT`).
pub const MXCSR_DEFAULT: u32 = 0x1f80;
/// The MXCSR writable-bit mask when FXSAVE reports none (`mxcsr_mask` 0).
pub const DEFAULT_MXCSR_MASK: u32 = 0xffbf;
/// x87 control word of a fresh FPU state (all exceptions masked, 64-bit precision).
pub const FCW_DEFAULT: u16 = 0x037f;

/// A thread's alternate signal stack (`sas_ss_sp`, `sas_ss_flags`,
/// `sas_ss_size`), also the layout of `stack_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    /// `ss_sp`: lowest address of the stack area.
    pub sp: u64,
    /// `ss_flags` as set by `sigaltstack` (0, SS_ONSTACK or SS_DISABLE, maybe
    /// with SS_AUTODISARM); [`AltStack::flags_for`] gives the reported state.
    pub flags: u32,
    /// `ss_size`: size in bytes; 0 when disabled.
    pub size: u64,
}

impl Default for AltStack {
    fn default() -> AltStack {
        AltStack::DISABLED
    }
}

impl AltStack {
    /// No alternate stack (a new process, or `sas_ss_reset`).
    pub const DISABLED: AltStack = AltStack { sp: 0, flags: SS_DISABLE, size: 0 };

    /// Whether `sp` lies in the stack area (`__on_sig_stack`: above the base,
    /// at most the top; a full descending stack's pointer may equal the top).
    pub fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// Whether a thread with stack pointer `sp` counts as running on this
    /// stack (`on_sig_stack`): never with SS_AUTODISARM, which by construction
    /// is not on the stack unless the program re-armed it while on it.
    pub fn on_stack(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// Linux's `sas_ss_flags(sp)`: SS_DISABLE if there is no stack (size 0),
    /// SS_ONSTACK if `sp` is on it, else 0 (a handler may switch to it).
    pub fn flags_for(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// What `sigaltstack(NULL, &old)` reports with stack pointer `sp`: the
    /// stack with flags = `flags_for(sp)` plus the SS_AUTODISARM modifier.
    pub fn reported(&self, sp: u64) -> AltStack {
        AltStack { flags: self.flags_for(sp) | (self.flags & SS_FLAG_BITS), ..*self }
    }

    /// The stack after `sigaltstack(new, ..)` with stack pointer `sp`
    /// (kernel/signal.c `do_sigaltstack`): EPERM while running on the current
    /// stack; EINVAL unless the mode (flags without SS_AUTODISARM) is 0,
    /// SS_ONSTACK or SS_DISABLE; SS_DISABLE clears address and size; otherwise
    /// ENOMEM below MINSIGSTKSZ. Setting the identical stack always succeeds.
    pub fn set(&self, new: &AltStack, sp: u64) -> Result<AltStack, Errno> {
        if self.on_stack(sp) {
            return Err(EPERM);
        }
        let mode = new.flags & !SS_FLAG_BITS;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(EINVAL);
        }
        if new == self {
            return Ok(*self);
        }
        if mode == SS_DISABLE {
            Ok(AltStack { sp: 0, flags: new.flags, size: 0 })
        } else if new.size < MINSIGSTKSZ {
            Err(ENOMEM)
        } else {
            Ok(*new)
        }
    }

    /// The stack after `rt_sigreturn` (`restore_altstack`): `uc_stack` from
    /// the frame applied like `sigaltstack`, with `sp` the restored stack
    /// pointer; a refused change silently keeps the current stack.
    pub fn restored(&self, saved: &AltStack, sp: u64) -> AltStack {
        self.set(saved, sp).unwrap_or(*self)
    }

    /// The stack once a handler has been entered (`signal_delivered`):
    /// disabled if it had SS_AUTODISARM, else unchanged.
    pub fn after_delivery(&self) -> AltStack {
        if self.flags & SS_AUTODISARM != 0 {
            AltStack::DISABLED
        } else {
            *self
        }
    }

    /// The `stack_t` image.
    pub fn to_bytes(&self) -> [u8; stack::STACK_T_SIZE] {
        let mut b = [0u8; stack::STACK_T_SIZE];
        put_u64(&mut b, stack::SP, self.sp);
        put_u32(&mut b, stack::FLAGS, self.flags);
        put_u64(&mut b, stack::SIZE, self.size);
        b
    }

    /// Read a user `stack_t`.
    pub fn from_bytes(b: &[u8; stack::STACK_T_SIZE]) -> AltStack {
        AltStack::read(b, 0)
    }

    fn read(b: &[u8], at: usize) -> AltStack {
        AltStack {
            sp: get_u64(b, at + stack::SP),
            flags: get_u32(b, at + stack::FLAGS),
            size: get_u64(b, at + stack::SIZE),
        }
    }
}

/// Everything needed to deliver one signal to a handler.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    /// The interrupted user registers (after any syscall-restart adjustment:
    /// rax = -EINTR or rip backed up over the `syscall`, as `handle_signal`
    /// does before building the frame).
    pub regs: UserRegs,
    /// The thread's FXSAVE image at the interruption.
    pub fpu: &'a [u8; FPSTATE_SIZE],
    /// The signal's information; `info.signo` is the signal delivered. Written
    /// to the frame only with SA_SIGINFO (zeros otherwise).
    pub info: SigInfo,
    /// The blocked mask to restore at `rt_sigreturn` (`uc_sigmask` and
    /// `sigcontext.oldmask`): the thread's blocked set, or the mask saved by
    /// `rt_sigsuspend`/`ppoll`/`pselect6` if the signal ended one of those.
    pub saved_mask: u64,
    /// `sa_handler` (the handler's address).
    pub handler: u64,
    /// `sa_flags`.
    pub sa_flags: u64,
    /// `sa_restorer` (required: SA_RESTORER must be in `sa_flags`).
    pub restorer: u64,
    /// The thread's alternate signal stack.
    pub altstack: AltStack,
    /// `sigcontext.trapno`: vector of the thread's last fault (0 if none).
    pub trapno: u64,
    /// `sigcontext.err`: error code of the thread's last fault.
    pub err: u64,
    /// `sigcontext.cr2`: address of the thread's last page fault.
    pub cr2: u64,
}

/// Why a frame cannot be built. Linux then forces SIGSEGV (`force_sigsegv`:
/// if the signal being delivered was SIGSEGV itself, its handler is first
/// reset to SIG_DFL, so the process dies instead of looping); the blocked
/// mask and the alternate stack are left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// SA_RESTORER is not set: x86-64 has no kernel-provided return path.
    NoRestorer,
    /// The thread was on (or switched to) the alternate stack and the frame
    /// would not fit in it (`get_sigframe` returns an always-bad address).
    AltStackOverflow,
    /// The frame address computation wrapped around the address space.
    AddressWrap,
}

/// Where a frame goes (`get_sigframe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Address of the `rt_sigframe` (the handler's rsp).
    pub frame: u64,
    /// Address of the 64-aligned FXSAVE area above it.
    pub fpstate: u64,
}

/// Linux's `get_sigframe` for a 64-bit frame with a 512-byte math frame:
/// skip the red zone; with SA_ONSTACK, if the alternate stack is armed and
/// not in use (`sas_ss_flags(sp) == 0`, judged after the red zone), start at
/// its top; put the FPU area at `round_down(sp - 512, 64)` and the frame at
/// `round_down(fpstate - 440, 16) - 8`. If the thread was already on the
/// alternate stack, or has just switched to it, the frame must lie on it.
pub fn place(rsp: u64, sa_flags: u64, altstack: &AltStack) -> Result<Placement, FrameError> {
    let nested = altstack.on_stack(rsp);
    let mut sp = rsp.checked_sub(REDZONE).ok_or(FrameError::AddressWrap)?;
    let mut entering = false;
    if sa_flags & SA_ONSTACK != 0 && altstack.flags_for(sp) == 0 {
        sp = altstack.sp.checked_add(altstack.size).ok_or(FrameError::AddressWrap)?;
        entering = true;
    }
    let fpstate = sp.checked_sub(FPSTATE_SIZE as u64).ok_or(FrameError::AddressWrap)? & !(FPSTATE_ALIGN - 1);
    let frame = (fpstate.checked_sub(RT_SIGFRAME_SIZE as u64).ok_or(FrameError::AddressWrap)? & !15)
        .checked_sub(8)
        .ok_or(FrameError::AddressWrap)?;
    if (nested || entering) && !altstack.contains(frame) {
        return Err(FrameError::AltStackOverflow);
    }
    Ok(Placement { frame, fpstate })
}

/// A built signal frame, ready to be copied to user memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalFrame {
    /// User address where `bytes` go (the frame start, the handler's rsp).
    pub write_at: u64,
    /// The region from the frame start to the end of the FPU area: the
    /// 440-byte `rt_sigframe`, zero padding, the 512-byte FXSAVE image.
    pub bytes: Vec<u8>,
    /// User address of the FXSAVE image (`write_at` + its offset in `bytes`).
    pub fpstate_at: u64,
    /// The registers the handler starts with (fs_base/gs_base unchanged).
    pub handler_regs: UserRegs,
    /// The thread's alternate stack once the handler is entered (SS_AUTODISARM
    /// disarms it).
    pub altstack_after: AltStack,
}

/// Build the `rt_sigframe` for `d` as Linux 6.1 `__setup_rt_frame` would.
///
/// After copying `bytes` to `write_at`, the server also does what
/// `handle_signal`/`signal_delivered` do around it: set the handler's blocked
/// set ([`super::action::blocked_during_handler`]), apply SA_RESETHAND, adopt
/// `altstack_after`, and give the handler a fresh FPU state ([`init_fpstate`]).
pub fn build(d: &Delivery) -> Result<SignalFrame, FrameError> {
    if d.sa_flags & SA_RESTORER == 0 {
        return Err(FrameError::NoRestorer);
    }
    let p = place(d.regs.rsp, d.sa_flags, &d.altstack)?;
    let fp_off = (p.fpstate - p.frame) as usize;
    let mut b = vec![0u8; fp_off + FPSTATE_SIZE];

    put_u64(&mut b, PRETCODE_AT, d.restorer);
    put_u64(&mut b, UC_FLAGS_AT, FRAME_UC_FLAGS);
    put_u64(&mut b, UC_AT + uc::LINK, 0);
    // uc_stack: the stack as it was, raw flags included (`unsafe_save_altstack`).
    b[UC_STACK_AT..UC_STACK_AT + stack::STACK_T_SIZE].copy_from_slice(&d.altstack.to_bytes());
    write_sigcontext(&mut b[MCONTEXT_AT..MCONTEXT_AT + sc::SIZE], d, p.fpstate);
    put_u64(&mut b, SIGMASK_AT, d.saved_mask);
    if d.sa_flags & SA_SIGINFO != 0 {
        b[INFO_AT..INFO_AT + SIGINFO_SIZE].copy_from_slice(&d.info.to_bytes());
    }
    b[fp_off..].copy_from_slice(d.fpu);
    b[fp_off + fx::SW_RESERVED..].fill(0);

    let mut h = d.regs;
    h.rdi = d.info.signo as u32 as u64;
    h.rax = 0;
    h.rsi = p.frame + INFO_AT as u64;
    h.rdx = p.frame + UC_AT as u64;
    h.rip = d.handler;
    h.rsp = p.frame;
    h.rflags &= !HANDLER_CLEARS_EFLAGS;

    Ok(SignalFrame {
        write_at: p.frame,
        bytes: b,
        fpstate_at: p.fpstate,
        handler_regs: h,
        altstack_after: d.altstack.after_delivery(),
    })
}

/// Write `struct sigcontext` (`__unsafe_setup_sigcontext`) into `s`.
fn write_sigcontext(s: &mut [u8], d: &Delivery, fpstate: u64) {
    let r = &d.regs;
    for (at, v) in [
        (sc::R8, r.r8),
        (sc::R9, r.r9),
        (sc::R10, r.r10),
        (sc::R11, r.r11),
        (sc::R12, r.r12),
        (sc::R13, r.r13),
        (sc::R14, r.r14),
        (sc::R15, r.r15),
        (sc::RDI, r.rdi),
        (sc::RSI, r.rsi),
        (sc::RBP, r.rbp),
        (sc::RBX, r.rbx),
        (sc::RDX, r.rdx),
        (sc::RAX, r.rax),
        (sc::RCX, r.rcx),
        (sc::RSP, r.rsp),
        (sc::RIP, r.rip),
        (sc::EFLAGS, r.rflags),
        (sc::ERR, d.err),
        (sc::TRAPNO, d.trapno),
        (sc::OLDMASK, d.saved_mask),
        (sc::CR2, d.cr2),
        (sc::FPSTATE, fpstate),
    ] {
        put_u64(s, at, v);
    }
    put_u16(s, sc::CS, USER_CS);
    put_u16(s, sc::GS, 0);
    put_u16(s, sc::FS, 0);
    put_u16(s, sc::SS, USER_DS);
}

/// Where `rt_sigreturn` finds the frame, given the rsp at the `syscall`: the
/// handler's `ret` popped `pretcode`, so the frame starts 8 bytes lower.
pub fn frame_address_for_sigreturn(rsp: u64) -> u64 {
    rsp.wrapping_sub(8)
}

/// What `rt_sigreturn` restores from a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The registers to resume with: all GPRs, rip and rsp from `uc_mcontext`;
    /// rflags = current rflags with the FIX_EFLAGS bits taken from the frame;
    /// fs_base/gs_base kept from the current registers. `rax` is the restored
    /// rax (what the syscall "returns"); resume with the whole frame and
    /// apply no syscall restart (Linux sets `orig_ax = -1`).
    pub regs: UserRegs,
    /// User address of the FXSAVE image to load (`sigcontext.fpstate`); 0
    /// means "none": reset the FPU to [`init_fpstate`]. A nonzero address must
    /// be readable for 512 bytes and pass [`fpstate_restorable`], else Linux
    /// resets the FPU and forces SIGSEGV (after restoring mask and registers).
    pub fpstate: u64,
    /// The blocked mask to install (`uc_sigmask` minus SIGKILL and SIGSTOP).
    pub mask: u64,
    /// `uc_stack`, to apply with [`AltStack::restored`] using the restored rsp.
    pub stack: AltStack,
    /// `uc_flags` as found (informational; no segment state is restored here).
    pub uc_flags: u64,
}

/// Read the frame `rt_sigreturn` found at [`frame_address_for_sigreturn`]
/// (its first [`SIGRETURN_READ_LEN`] bytes), with `current` the registers at
/// the `rt_sigreturn` syscall (Linux's `restore_sigcontext`).
pub fn parse(bytes: &[u8; SIGRETURN_READ_LEN], current: &UserRegs) -> Restored {
    let g = |o: usize| get_u64(bytes, MCONTEXT_AT + o);
    // 6.1's `restore_sigcontext` copies the sigcontext and uses the 64-bit
    // `flags`; only FIX_EFLAGS bits (all in the low 32) are taken from it.
    let frame_flags = g(sc::EFLAGS);
    let regs = UserRegs {
        rax: g(sc::RAX),
        rbx: g(sc::RBX),
        rcx: g(sc::RCX),
        rdx: g(sc::RDX),
        rsi: g(sc::RSI),
        rdi: g(sc::RDI),
        rbp: g(sc::RBP),
        rsp: g(sc::RSP),
        r8: g(sc::R8),
        r9: g(sc::R9),
        r10: g(sc::R10),
        r11: g(sc::R11),
        r12: g(sc::R12),
        r13: g(sc::R13),
        r14: g(sc::R14),
        r15: g(sc::R15),
        rip: g(sc::RIP),
        rflags: (current.rflags & !FIX_EFLAGS) | (frame_flags & FIX_EFLAGS),
        fs_base: current.fs_base,
        gs_base: current.gs_base,
    };
    Restored {
        regs,
        fpstate: g(sc::FPSTATE),
        mask: SigSet(get_u64(bytes, SIGMASK_AT)).blockable().0,
        stack: AltStack::read(bytes, UC_STACK_AT),
        uc_flags: get_u64(bytes, UC_FLAGS_AT),
    }
}

/// The FXSAVE image of a fresh FPU state (Linux's `init_fpstate` on an FXSR
/// CPU: control word 0x37f, MXCSR 0x1f80, everything else zero), which a
/// handler starts with and `rt_sigreturn` loads when `fpstate` is 0.
pub fn init_fpstate() -> [u8; FPSTATE_SIZE] {
    let mut b = [0u8; FPSTATE_SIZE];
    put_u16(&mut b, fx::FCW, FCW_DEFAULT);
    put_u32(&mut b, fx::MXCSR, MXCSR_DEFAULT);
    b
}

/// Whether FXRSTOR accepts `image` from user address `addr`, which decides
/// whether Linux's 64-bit `rt_sigreturn` on an FXSR-only CPU succeeds: the
/// address must be 16-aligned and MXCSR may not set bits outside
/// `mxcsr_mask` (the CPU's, from FXSAVE's `mxcsr_mask`; [`DEFAULT_MXCSR_MASK`]
/// when that reads 0). Otherwise FXRSTOR faults and the process gets SIGSEGV.
pub fn fpstate_restorable(addr: u64, image: &[u8; FPSTATE_SIZE], mxcsr_mask: u32) -> bool {
    addr % 16 == 0 && get_u32(image, fx::MXCSR) & !mxcsr_mask == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::errno::*;
    use crate::linux::signal::*;
    use crate::signal::info::{SigFields, SEGV_MAPERR, SI_USER};

    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }

    fn sample_regs() -> UserRegs {
        UserRegs {
            rax: 0x1111,
            rbx: 0x2222,
            rcx: 0x3333,
            rdx: 0x4444,
            rsi: 0x5555,
            rdi: 0x6666,
            rbp: 0x7777,
            rsp: 0x7fff_ffff_e123,
            r8: 0x8888,
            r9: 0x9999,
            r10: 0xaaaa,
            r11: 0xbbbb,
            r12: 0xcccc,
            r13: 0xdddd,
            r14: 0xeeee,
            r15: 0xffff,
            rip: 0x40_1234,
            // IF, reserved bit 1, and CF ZF DF TF RF among the FIX bits.
            rflags: 0x202 | X86_EFLAGS_CF | X86_EFLAGS_ZF | X86_EFLAGS_DF | X86_EFLAGS_TF | X86_EFLAGS_RF,
            fs_base: 0x4c_0000,
            gs_base: 0,
        }
    }

    fn sample_fpu() -> [u8; FPSTATE_SIZE] {
        let mut f = [0u8; FPSTATE_SIZE];
        for (i, x) in f.iter_mut().enumerate() {
            *x = (i * 7 + 3) as u8;
        }
        f[fx::MXCSR..fx::MXCSR + 4].copy_from_slice(&MXCSR_DEFAULT.to_le_bytes());
        f
    }

    fn delivery(fpu: &[u8; FPSTATE_SIZE]) -> Delivery<'_> {
        Delivery {
            regs: sample_regs(),
            fpu,
            info: SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0xdead_0000),
            saved_mask: SigSet::of(SIGUSR2).0,
            handler: 0x40_2000,
            sa_flags: SA_SIGINFO | SA_RESTORER,
            restorer: 0x40_3000,
            altstack: AltStack::DISABLED,
            trapno: 14,
            err: 6,
            cr2: 0xdead_0000,
        }
    }

    #[test]
    fn layout_matches_linux_headers() {
        // asm-generic/ucontext.h: struct ucontext { unsigned long uc_flags;
        // struct ucontext *uc_link; stack_t uc_stack; struct sigcontext uc_mcontext;
        // sigset_t uc_sigmask; } with a 24-byte stack_t, 256-byte sigcontext, 8-byte sigset_t.
        assert_eq!((uc::FLAGS, uc::LINK, uc::STACK, uc::MCONTEXT, uc::SIGMASK, uc::SIZE), (0, 8, 16, 40, 296, 304));
        // x86 uapi/asm/signal.h: stack_t { void *ss_sp; int ss_flags; size_t ss_size; }
        assert_eq!((stack::SP, stack::FLAGS, stack::SIZE, stack::STACK_T_SIZE), (0, 8, 16, 24));
        // uapi/asm/sigcontext.h struct sigcontext (64-bit): r8..r15, di, si, bp, bx, dx, ax, cx,
        // sp, ip, flags, u16 cs, gs, fs, ss, err, trapno, oldmask, cr2, fpstate, reserved1[8].
        let regs = [sc::R8, sc::R9, sc::R10, sc::R11, sc::R12, sc::R13, sc::R14, sc::R15];
        assert_eq!(regs, [0, 8, 16, 24, 32, 40, 48, 56]);
        let more = [sc::RDI, sc::RSI, sc::RBP, sc::RBX, sc::RDX, sc::RAX, sc::RCX, sc::RSP, sc::RIP, sc::EFLAGS];
        assert_eq!(more, [64, 72, 80, 88, 96, 104, 112, 120, 128, 136]);
        assert_eq!((sc::CS, sc::GS, sc::FS, sc::SS), (144, 146, 148, 150));
        assert_eq!((sc::ERR, sc::TRAPNO, sc::OLDMASK, sc::CR2, sc::FPSTATE), (152, 160, 168, 176, 184));
        assert_eq!((sc::RESERVED1, sc::SIZE), (192, 256));
        // asm/sigframe.h: struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; }
        assert_eq!((PRETCODE_AT, UC_AT, INFO_AT, RT_SIGFRAME_SIZE), (0, 8, 312, 440));
        assert_eq!(UC_AT + uc::SIZE + SIGINFO_SIZE, RT_SIGFRAME_SIZE);
        assert_eq!((UC_FLAGS_AT, UC_STACK_AT, MCONTEXT_AT, FPSTATE_PTR_AT, SIGMASK_AT), (8, 24, 48, 232, 304));
        assert_eq!(SIGRETURN_READ_LEN, 312);
        // struct _fpstate_64 / fxregs_state: mxcsr at 24, mxcsr_mask at 28, sw_reserved at 464, 512 total.
        assert_eq!((fx::MXCSR, fx::MXCSR_MASK, fx::SW_RESERVED, FPSTATE_SIZE), (24, 28, 464, 512));
        // uapi/asm/ucontext.h: UC_FP_XSTATE 1, UC_SIGCONTEXT_SS 2, UC_STRICT_RESTORE_SS 4;
        // frame_uc_flags() without XSAVE, from 64-bit code: SIGCONTEXT_SS | STRICT_RESTORE_SS.
        assert_eq!((UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS, FRAME_UC_FLAGS), (1, 2, 4, 6));
        // asm/sighandling.h FIX_EFLAGS = AC|OF|DF|TF|SF|ZF|AF|PF|CF|RF.
        assert_eq!(FIX_EFLAGS, 0x5_0dd5);
        assert_eq!(HANDLER_CLEARS_EFLAGS, 0x1_0500);
        // uapi/linux/signal.h SS_ONSTACK 1, SS_DISABLE 2, SS_AUTODISARM (1U << 31);
        // x86 MINSIGSTKSZ 2048, SIGSTKSZ 8192.
        assert_eq!((SS_ONSTACK, SS_DISABLE, SS_AUTODISARM), (1, 2, 0x8000_0000));
        assert_eq!((MINSIGSTKSZ, SIGSTKSZ), (2048, 8192));
        // asm/segment.h: __USER_CS = GDT_ENTRY_DEFAULT_USER_CS(6)*8+3, __USER_DS = 5*8+3.
        assert_eq!((USER_CS, USER_DS), (0x33, 0x2b));
    }

    #[test]
    fn placement_red_zone_and_alignment() {
        // rsp 0x...1000: sp = 0xf80 after the red zone; fpstate = round_down(0xf80 - 0x200, 64)
        // = 0xd80; frame = round_down(0xd80 - 440, 16) - 8 = 0xbc0 - 8 = 0xbb8.
        let p = place(0x7ffe_0000_1000, 0, &AltStack::DISABLED).unwrap();
        assert_eq!(p, Placement { frame: 0x7ffe_0000_0bb8, fpstate: 0x7ffe_0000_0d80 });
        for rsp in [0x7fff_ffff_e123u64, 0x7fff_ffff_e000, 0x7fff_ffff_e008, 0x1_0000_0fff, 0x4000] {
            let p = place(rsp, 0, &AltStack::DISABLED).unwrap();
            assert_eq!((p.frame + 8) % 16, 0, "rsp {rsp:#x}: ABI entry alignment");
            assert_eq!(p.fpstate % 64, 0);
            assert!(p.fpstate + FPSTATE_SIZE as u64 <= rsp - REDZONE, "red zone untouched");
            assert!(rsp - REDZONE - (p.fpstate + FPSTATE_SIZE as u64) < 64);
            assert!(p.frame + RT_SIGFRAME_SIZE as u64 <= p.fpstate, "fpstate above the frame");
            assert!(p.fpstate - (p.frame + RT_SIGFRAME_SIZE as u64) < 24);
        }
        assert_eq!(place(100, 0, &AltStack::DISABLED), Err(FrameError::AddressWrap));
        assert_eq!(place(128 + 600, 0, &AltStack::DISABLED), Err(FrameError::AddressWrap));
    }

    #[test]
    fn frame_bytes() {
        let fpu = sample_fpu();
        let d = delivery(&fpu);
        let f = build(&d).unwrap();
        let p = place(d.regs.rsp, d.sa_flags, &d.altstack).unwrap();
        assert_eq!((f.write_at, f.fpstate_at), (p.frame, p.fpstate));
        assert_eq!(f.bytes.len() as u64, p.fpstate + 512 - p.frame);
        let b = &f.bytes;
        assert_eq!(u64_at(b, PRETCODE_AT), 0x40_3000, "pretcode = sa_restorer");
        assert_eq!(u64_at(b, UC_FLAGS_AT), 6);
        assert_eq!(u64_at(b, UC_AT + uc::LINK), 0);
        assert_eq!(&b[UC_STACK_AT..UC_STACK_AT + 24], &AltStack::DISABLED.to_bytes());
        let m = MCONTEXT_AT;
        let r = sample_regs();
        assert_eq!(u64_at(b, m + sc::R8), r.r8);
        assert_eq!(u64_at(b, m + sc::R15), r.r15);
        assert_eq!(u64_at(b, m + sc::RDI), r.rdi);
        assert_eq!(u64_at(b, m + sc::RAX), r.rax);
        assert_eq!(u64_at(b, m + sc::RSP), r.rsp);
        assert_eq!(u64_at(b, m + sc::RIP), r.rip);
        assert_eq!(u64_at(b, m + sc::EFLAGS), r.rflags, "the interrupted flags, DF/TF/RF included");
        assert_eq!((u16_at(b, m + sc::CS), u16_at(b, m + sc::GS), u16_at(b, m + sc::FS)), (0x33, 0, 0));
        assert_eq!(u16_at(b, m + sc::SS), 0x2b);
        assert_eq!((u64_at(b, m + sc::ERR), u64_at(b, m + sc::TRAPNO), u64_at(b, m + sc::CR2)), (6, 14, 0xdead_0000));
        assert_eq!(u64_at(b, m + sc::OLDMASK), SigSet::of(SIGUSR2).0);
        assert_eq!(u64_at(b, FPSTATE_PTR_AT), f.fpstate_at);
        assert!(b[m + sc::RESERVED1..m + sc::SIZE].iter().all(|&x| x == 0));
        assert_eq!(u64_at(b, SIGMASK_AT), SigSet::of(SIGUSR2).0);
        assert_eq!(&b[INFO_AT..INFO_AT + 128], &d.info.to_bytes());
        assert_eq!(u32_at(b, INFO_AT), SIGSEGV);
        // The FXSAVE image, with the software-reserved bytes zeroed (no XSAVE magic).
        let fo = (f.fpstate_at - f.write_at) as usize;
        assert_eq!(&b[fo..fo + fx::SW_RESERVED], &fpu[..fx::SW_RESERVED]);
        assert!(b[fo + fx::SW_RESERVED..fo + 512].iter().all(|&x| x == 0));
        assert_ne!(u32_at(b, fo + fx::SW_RESERVED), 0x4650_5853, "no FP_XSTATE_MAGIC1");
        // Padding between frame and fpstate is zero.
        assert!(b[RT_SIGFRAME_SIZE..fo].iter().all(|&x| x == 0));
    }

    #[test]
    fn siginfo_only_with_sa_siginfo() {
        let fpu = sample_fpu();
        let d = Delivery { sa_flags: SA_RESTORER, ..delivery(&fpu) };
        let f = build(&d).unwrap();
        assert!(f.bytes[INFO_AT..INFO_AT + 128].iter().all(|&x| x == 0));
        // rsi still points at the info slot, as in Linux.
        assert_eq!(f.handler_regs.rsi, f.write_at + 312);
    }

    #[test]
    fn handler_registers() {
        let fpu = sample_fpu();
        let d = delivery(&fpu);
        let f = build(&d).unwrap();
        let h = f.handler_regs;
        let r = sample_regs();
        assert_eq!(h.rdi, SIGSEGV as u64);
        assert_eq!(h.rsi, f.write_at + INFO_AT as u64);
        assert_eq!(h.rdx, f.write_at + UC_AT as u64);
        assert_eq!(h.rax, 0);
        assert_eq!(h.rip, 0x40_2000);
        assert_eq!(h.rsp, f.write_at);
        assert_eq!(h.rflags, 0x202 | X86_EFLAGS_CF | X86_EFLAGS_ZF, "DF, TF, RF cleared, the rest kept");
        // Everything else is the interrupted state (Linux leaves it in place).
        assert_eq!((h.rbx, h.rcx, h.rbp, h.r8, h.r12, h.r15), (r.rbx, r.rcx, r.rbp, r.r8, r.r12, r.r15));
        assert_eq!((h.fs_base, h.gs_base), (r.fs_base, r.gs_base));
        assert_eq!(f.altstack_after, AltStack::DISABLED);
    }

    #[test]
    fn round_trip_restores_the_interrupted_registers() {
        let fpu = sample_fpu();
        let d = delivery(&fpu);
        let f = build(&d).unwrap();
        // The handler clobbers registers and flags, then `ret`s into the
        // restorer, which runs `syscall` with rsp = frame + 8.
        let mut at_sigreturn = f.handler_regs;
        at_sigreturn.rsp = f.write_at + 8;
        at_sigreturn.rax = 15;
        at_sigreturn.rcx = 0x40_3009; // syscall clobbers rcx/r11
        at_sigreturn.r11 = 0x246;
        at_sigreturn.rflags = 0x246;
        at_sigreturn.fs_base = 0x4c_0000;
        assert_eq!(frame_address_for_sigreturn(at_sigreturn.rsp), f.write_at);
        let read: &[u8; SIGRETURN_READ_LEN] = f.bytes[..SIGRETURN_READ_LEN].try_into().unwrap();
        let back = parse(read, &at_sigreturn);
        assert_eq!(back.regs, sample_regs(), "every register as interrupted");
        assert_eq!(back.fpstate, f.fpstate_at);
        assert_eq!(back.mask, SigSet::of(SIGUSR2).0);
        assert_eq!(back.stack, AltStack::DISABLED);
        assert_eq!(back.uc_flags, FRAME_UC_FLAGS);
        let fo = (back.fpstate - f.write_at) as usize;
        let image: &[u8; 512] = f.bytes[fo..fo + 512].try_into().unwrap();
        assert!(fpstate_restorable(back.fpstate, image, DEFAULT_MXCSR_MASK));
    }

    #[test]
    fn sigreturn_masks_flags_and_keeps_fs_gs() {
        let fpu = sample_fpu();
        let f = build(&delivery(&fpu)).unwrap();
        let mut b: [u8; SIGRETURN_READ_LEN] = f.bytes[..SIGRETURN_READ_LEN].try_into().unwrap();
        // A handler rewrites the saved flags: IF off, IOPL 3, NT, VM, ID, and AC, OF on;
        // the high 32 bits are garbage.
        let forged =
            0xffff_0000_0000_0000 | (3 << 12) | (1 << 14) | (1 << 17) | (1 << 21) | X86_EFLAGS_AC | X86_EFLAGS_OF;
        b[MCONTEXT_AT + sc::EFLAGS..MCONTEXT_AT + sc::EFLAGS + 8].copy_from_slice(&forged.to_le_bytes());
        // And the mask: SIGKILL and SIGSTOP cannot come back blocked.
        b[SIGMASK_AT..SIGMASK_AT + 8].copy_from_slice(&(!0u64).to_le_bytes());
        let current =
            UserRegs { rflags: 0x202 | X86_EFLAGS_SF, fs_base: 0x1234, gs_base: 0x5678, ..UserRegs::default() };
        let back = parse(&b, &current);
        assert_eq!(back.regs.rflags, 0x202 | X86_EFLAGS_AC | X86_EFLAGS_OF, "only FIX_EFLAGS bits come from the frame");
        assert_eq!((back.regs.fs_base, back.regs.gs_base), (0x1234, 0x5678));
        assert_eq!(back.mask, SigSet::full().blockable().0);
        assert!(!SigSet(back.mask).contains(SIGKILL) && !SigSet(back.mask).contains(SIGSTOP));
    }

    #[test]
    fn restorer_is_required() {
        let fpu = sample_fpu();
        let d = Delivery { sa_flags: SA_SIGINFO, ..delivery(&fpu) };
        assert_eq!(build(&d), Err(FrameError::NoRestorer));
    }

    #[test]
    fn altstack_switching() {
        let fpu = sample_fpu();
        let alt = AltStack { sp: 0x60_0000, flags: 0, size: SIGSTKSZ };
        let top = alt.sp + alt.size;
        let on = SA_ONSTACK | SA_RESTORER;

        // Not on it, SA_ONSTACK: frame at the top of the alternate stack.
        let d = Delivery { altstack: alt, sa_flags: on, ..delivery(&fpu) };
        let f = build(&d).unwrap();
        assert_eq!(f.fpstate_at, (top - 512) & !63);
        assert!(alt.contains(f.write_at) && f.fpstate_at + 512 <= top);
        assert_eq!(f.altstack_after, alt, "no SS_AUTODISARM: stays armed");
        assert_eq!(&f.bytes[UC_STACK_AT..UC_STACK_AT + 24], &alt.to_bytes());

        // Without SA_ONSTACK the normal stack is used even with a stack armed.
        let f = build(&Delivery { altstack: alt, ..delivery(&fpu) }).unwrap();
        assert!(!alt.contains(f.write_at));

        // Disabled stack with SA_ONSTACK: normal stack.
        let f = build(&Delivery { sa_flags: on, ..delivery(&fpu) }).unwrap();
        assert_eq!(f.write_at, place(sample_regs().rsp, 0, &AltStack::DISABLED).unwrap().frame);

        // Already on it (nested signal): continue below the current rsp, red zone and all.
        let rsp = alt.sp + 0x1800;
        let d = Delivery { regs: UserRegs { rsp, ..sample_regs() }, altstack: alt, sa_flags: on, ..delivery(&fpu) };
        let f = build(&d).unwrap();
        assert_eq!(f.write_at, place(rsp, 0, &AltStack::DISABLED).unwrap().frame);
        assert!(f.fpstate_at + 512 <= rsp - 128);
        // The same, even without SA_ONSTACK: the frame must stay on the stack it is on.
        let d2 = Delivery { sa_flags: SA_RESTORER, ..d };
        assert_eq!(build(&d2).unwrap().write_at, f.write_at);

        // On it with too little room left: overflow, also without SA_ONSTACK.
        let low = Delivery { regs: UserRegs { rsp: alt.sp + 0x300, ..sample_regs() }, ..d };
        assert_eq!(build(&low), Err(FrameError::AltStackOverflow));
        assert_eq!(build(&Delivery { sa_flags: SA_RESTORER, ..low }), Err(FrameError::AltStackOverflow));

        // Entering a stack too small for the frame: overflow too.
        let tiny = AltStack { sp: 0x60_0000, flags: 0, size: 0x300 };
        let d = Delivery { altstack: tiny, sa_flags: on, ..delivery(&fpu) };
        assert_eq!(build(&d), Err(FrameError::AltStackOverflow));
    }

    #[test]
    fn altstack_autodisarm() {
        let fpu = sample_fpu();
        let alt = AltStack { sp: 0x60_0000, flags: SS_AUTODISARM, size: SIGSTKSZ };
        let on = SA_ONSTACK | SA_RESTORER;
        let f = build(&Delivery { altstack: alt, sa_flags: on, ..delivery(&fpu) }).unwrap();
        assert!(alt.contains(f.write_at));
        assert_eq!(f.altstack_after, AltStack::DISABLED, "disarmed once the handler runs");
        // uc_stack keeps the stack as it was, SS_AUTODISARM included, for rt_sigreturn.
        let saved = AltStack::from_bytes(f.bytes[UC_STACK_AT..UC_STACK_AT + 24].try_into().unwrap());
        assert_eq!(saved, alt);
        // With SS_AUTODISARM a thread never counts as "on" the stack, so a
        // signal arriving while on it starts again from the top.
        let inside = alt.sp + 0x1000;
        assert!(!alt.on_stack(inside) && alt.contains(inside));
        let d =
            Delivery { regs: UserRegs { rsp: inside, ..sample_regs() }, altstack: alt, sa_flags: on, ..delivery(&fpu) };
        assert_eq!(build(&d).unwrap().fpstate_at, (alt.sp + alt.size - 512) & !63);
        // rt_sigreturn re-arms it from uc_stack (the thread is back on its normal stack).
        assert_eq!(AltStack::DISABLED.restored(&saved, sample_regs().rsp), alt);
    }

    #[test]
    fn altstack_queries_and_sigaltstack() {
        let alt = AltStack { sp: 0x1000, flags: 0, size: 0x1000 };
        // __on_sig_stack: sp > base && sp - base <= size.
        assert!(!alt.contains(0x1000) && alt.contains(0x1001) && alt.contains(0x2000) && !alt.contains(0x2001));
        assert_eq!(alt.flags_for(0x1800), SS_ONSTACK);
        assert_eq!(alt.flags_for(0x3000), 0);
        assert_eq!(AltStack::DISABLED.flags_for(0x1800), SS_DISABLE);
        let ad = AltStack { flags: SS_AUTODISARM, ..alt };
        assert_eq!(ad.flags_for(0x1800), 0);
        assert_eq!(ad.reported(0x1800).flags, SS_AUTODISARM);
        assert_eq!(alt.reported(0x1800).flags, SS_ONSTACK);
        assert_eq!(AltStack::DISABLED.reported(0).flags, SS_DISABLE);

        // do_sigaltstack.
        let new = AltStack { sp: 0x9000, flags: 0, size: 0x4000 };
        assert_eq!(alt.set(&new, 0x1800), Err(EPERM), "not while on it");
        assert_eq!(alt.set(&new, 0x8000), Ok(new));
        assert_eq!(alt.set(&AltStack { flags: 4, ..new }, 0x8000), Err(EINVAL));
        assert_eq!(alt.set(&AltStack { size: 2047, ..new }, 0x8000), Err(ENOMEM));
        assert_eq!(alt.set(&AltStack { flags: SS_ONSTACK, ..new }, 0x8000), Ok(AltStack { flags: SS_ONSTACK, ..new }));
        let off = AltStack { sp: 0x9000, flags: SS_DISABLE, size: 5 };
        assert_eq!(alt.set(&off, 0x8000), Ok(AltStack::DISABLED), "SS_DISABLE clears sp and size");
        assert_eq!(ad.set(&new, 0x1800), Ok(new), "SS_AUTODISARM: allowed even on it");
        // restore_altstack ignores refusals.
        assert_eq!(alt.restored(&new, 0x1800), alt);

        // stack_t bytes.
        let b = AltStack { sp: 0x1122_3344, flags: SS_AUTODISARM | SS_ONSTACK, size: 0x5566 }.to_bytes();
        assert_eq!(
            (u64_at(&b, 0), u32_at(&b, 8), u32_at(&b, 12), u64_at(&b, 16)),
            (0x1122_3344, 0x8000_0001, 0, 0x5566)
        );
        assert_eq!(AltStack::from_bytes(&b).flags, 0x8000_0001);
    }

    #[test]
    fn fpu_images() {
        let i = init_fpstate();
        assert_eq!(u16_at(&i, 0), 0x37f);
        assert_eq!(u32_at(&i, 24), 0x1f80);
        assert_eq!(i.iter().filter(|&&x| x != 0).count(), 4);
        assert!(fpstate_restorable(0x1000, &i, DEFAULT_MXCSR_MASK));
        assert!(!fpstate_restorable(0x1008, &i, DEFAULT_MXCSR_MASK), "FXRSTOR needs 16-byte alignment");
        let mut bad = i;
        bad[24..28].copy_from_slice(&0x1_1f80u32.to_le_bytes());
        assert!(!fpstate_restorable(0x1000, &bad, DEFAULT_MXCSR_MASK), "reserved MXCSR bit");
        bad[24..28].copy_from_slice(&0x1fc0u32.to_le_bytes()); // DAZ (bit 6): not in 0xffbf
        assert!(!fpstate_restorable(0x1000, &bad, DEFAULT_MXCSR_MASK));
        assert!(fpstate_restorable(0x1000, &bad, 0xffff));
    }

    #[test]
    fn user_signal_info_in_frame() {
        let fpu = sample_fpu();
        let info =
            SigInfo { signo: SIGUSR1 as i32, errno: 0, code: SI_USER, fields: SigFields::Kill { pid: 77, uid: 0 } };
        let f = build(&Delivery { info, ..delivery(&fpu) }).unwrap();
        assert_eq!(f.handler_regs.rdi, SIGUSR1 as u64);
        assert_eq!(u32_at(&f.bytes, INFO_AT), SIGUSR1);
        assert_eq!(u32_at(&f.bytes, INFO_AT + 16), 77);
    }
}
