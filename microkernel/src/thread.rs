//! Thread control blocks: a thread's saved user registers, FPU state, IPC
//! state and scheduling parameters.
//!
//! The kernel keeps no kernel stack per thread. On every entry from user mode
//! the machine layer saves the user registers straight into the running
//! thread's [`Frame`] (the TCB is the stack the CPU pushes to); on exit it
//! loads them from the frame of whichever thread runs next. So a blocked
//! thread is completely described by its frame and its [`State`].

use crate::list::{Link, List};
use abi::exception::UserRegs;
use abi::{ThreadId, Timeout};

/// User code and data selectors (GDT layout fixed by SYSCALL/SYSRET).
pub const USER_CS: u64 = 0x23;
pub const USER_SS: u64 = 0x1b;
/// `Frame::vector` of an entry through the `syscall` instruction.
pub const SYSCALL_VECTOR: u64 = 0x100;
/// RFLAGS bits user code may set: CF PF AF ZF SF TF DF OF AC ID.
pub const RFLAGS_USER_MASK: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000;
/// Always set in user RFLAGS: IF and the reserved bit 1.
pub const RFLAGS_ALWAYS: u64 = 0x200 | 0x2;

/// User registers as saved on kernel entry. The field order is the push order
/// of the entry code in reverse: do not reorder.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Frame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Entry kind: exception vector, IRQ vector or [`SYSCALL_VECTOR`].
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

pub const FRAME_WORDS: usize = core::mem::size_of::<Frame>() / 8;

/// Is `a` a canonical 48-bit address?
pub const fn is_canonical(a: u64) -> bool {
    let top = a >> 47;
    top == 0 || top == 0x1_ffff
}

impl Frame {
    pub fn new_user() -> Frame {
        Frame { cs: USER_CS, ss: USER_SS, rflags: RFLAGS_ALWAYS, ..Frame::default() }
    }

    pub fn user_regs(&self, fs_base: u64, gs_base: u64) -> UserRegs {
        UserRegs {
            rax: self.rax,
            rbx: self.rbx,
            rcx: self.rcx,
            rdx: self.rdx,
            rsi: self.rsi,
            rdi: self.rdi,
            rbp: self.rbp,
            rsp: self.rsp,
            r8: self.r8,
            r9: self.r9,
            r10: self.r10,
            r11: self.r11,
            r12: self.r12,
            r13: self.r13,
            r14: self.r14,
            r15: self.r15,
            rip: self.rip,
            rflags: self.rflags,
            fs_base,
            gs_base,
        }
    }

    /// The message registers of an IPC as found in the sender's registers.
    #[inline]
    pub fn reg_mrs(&self) -> [u64; 6] {
        [self.r9, self.r10, self.r12, self.r13, self.r14, self.r15]
    }

    #[inline]
    pub fn set_reg_mrs(&mut self, mr: &[u64]) {
        self.r9 = mr[0];
        self.r10 = mr[1];
        self.r12 = mr[2];
        self.r13 = mr[3];
        self.r14 = mr[4];
        self.r15 = mr[5];
    }

    pub fn sanitize_rflags(v: u64) -> u64 {
        (v & RFLAGS_USER_MASK) | RFLAGS_ALWAYS
    }
}

/// The 512-byte FXSAVE image of a thread's x87/SSE state.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct FpuArea(pub [u8; 512]);

impl FpuArea {
    /// The state after FNINIT with MXCSR at its reset value (all exceptions masked).
    pub fn initial() -> FpuArea {
        let mut a = [0u8; 512];
        a[0..2].copy_from_slice(&0x037fu16.to_le_bytes()); // FCW
        a[24..28].copy_from_slice(&0x1f80u32.to_le_bytes()); // MXCSR
        a[28..32].copy_from_slice(&0xffffu32.to_le_bytes()); // MXCSR_MASK (ignored by FXRSTOR)
        FpuArea(a)
    }
}

/// What a thread blocked in a send phase is sending.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MsgKind {
    /// An ordinary message from its registers and UTCB.
    Normal,
    /// Its own register frame: a CPU exception or a trapped Linux syscall.
    Exception,
    /// A page fault at `addr` with `access` (r=4, w=2, x=1).
    PageFault { addr: u64, access: u8 },
}

/// How a thread blocked in a receive phase takes the message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RecvKind {
    /// Into its registers and UTCB.
    Normal,
    /// As the reply to an exception message: it may rewrite the registers.
    ExceptionReply,
    /// As the reply to a page fault: map items go into its space.
    PageFaultReply,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Not runnable and not in IPC: never started, or halted.
    Inactive,
    /// Runnable (the current thread, or queued).
    Ready,
    /// In the send phase, queued at `to`; afterwards receives from `then_from`
    /// (nil: no receive phase) with `recv_timeout`.
    Sending { to: ThreadId, then_from: ThreadId, kind: MsgKind, recv_timeout: Timeout },
    /// In the receive phase, from `from` (a thread, an IRQ, or `ANY`).
    Receiving { from: ThreadId, kind: RecvKind },
    /// Ended by the kernel (an exception nobody handles); waits to be deleted.
    Killed,
}

impl State {
    pub fn in_ipc(&self) -> bool {
        matches!(self, State::Sending { .. } | State::Receiving { .. })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Utcb {
    /// Where the UTCB is mapped in the thread's space.
    pub user_addr: u64,
    /// The kernel-owned frame backing it.
    pub frame: u64,
}

/// A reference to a space: slot and version, like a thread ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SpaceRef {
    pub slot: u32,
    pub version: u32,
}

pub const DEFAULT_PRIORITY: u8 = 100;
pub const DEFAULT_TIMESLICE_US: u64 = 10_000;

#[repr(C, align(64))]
pub struct Tcb {
    /// Must stay the first field: the entry code saves registers here.
    pub frame: Frame,
    pub fpu: FpuArea,
    pub id: ThreadId,
    pub space: SpaceRef,
    pub state: State,
    /// Halted by `exregs`: when its IPC completes it becomes `Inactive`.
    pub halted: bool,
    pub priority: u8,
    pub timeslice_us: u64,
    pub remaining_us: u64,
    /// Processor time used, in timer ticks' worth of microseconds (charged
    /// to whoever runs when the timer interrupts, as Linux's tick
    /// accounting does).
    pub cpu_us: u64,
    pub pager: ThreadId,
    pub exception_handler: ThreadId,
    pub utcb: Option<Utcb>,
    /// Linux personality: `syscall` outside the kernel range is an exception.
    pub linux: bool,
    /// IPC restriction: may send only to threads of this space.
    pub send_only_to: Option<SpaceRef>,
    /// Membership in a ready queue or a partner's send queue.
    pub link: Link,
    /// Threads waiting to send to this one.
    pub sendq: List,
    /// Deadline of the current IPC phase, if finite (µs since boot).
    pub deadline: Option<u64>,
    pub fs_base: u64,
    pub gs_base: u64,
    /// CR2 of the last page fault / exception, for the exception message.
    pub fault_addr: u64,
}

impl Tcb {
    pub fn new(id: ThreadId, space: SpaceRef) -> Tcb {
        Tcb {
            frame: Frame::new_user(),
            fpu: FpuArea::initial(),
            id,
            space,
            state: State::Inactive,
            halted: false,
            priority: DEFAULT_PRIORITY,
            timeslice_us: DEFAULT_TIMESLICE_US,
            remaining_us: DEFAULT_TIMESLICE_US,
            cpu_us: 0,
            pager: ThreadId::NIL,
            exception_handler: ThreadId::NIL,
            utcb: None,
            linux: false,
            send_only_to: None,
            link: Link::default(),
            sendq: List::EMPTY,
            deadline: None,
            fs_base: 0,
            gs_base: 0,
            fault_addr: 0,
        }
    }

    /// Whether `set_user_regs` would take `r`.
    pub fn user_regs_valid(r: &UserRegs) -> bool {
        is_canonical(r.rip) && is_canonical(r.fs_base) && is_canonical(r.gs_base)
    }

    /// Rewrite the user registers from `r`: segment selectors stay user ones,
    /// RFLAGS is sanitised. Fails, changing nothing, if RIP, FS or GS base
    /// are not canonical (loading them would fault in the kernel).
    pub fn set_user_regs(&mut self, r: &UserRegs) -> Result<(), ()> {
        if !Self::user_regs_valid(r) {
            return Err(());
        }
        let f = &mut self.frame;
        f.rax = r.rax;
        f.rbx = r.rbx;
        f.rcx = r.rcx;
        f.rdx = r.rdx;
        f.rsi = r.rsi;
        f.rdi = r.rdi;
        f.rbp = r.rbp;
        f.rsp = r.rsp;
        f.r8 = r.r8;
        f.r9 = r.r9;
        f.r10 = r.r10;
        f.r11 = r.r11;
        f.r12 = r.r12;
        f.r13 = r.r13;
        f.r14 = r.r14;
        f.r15 = r.r15;
        f.rip = r.rip;
        f.rflags = Frame::sanitize_rflags(r.rflags);
        f.cs = USER_CS;
        f.ss = USER_SS;
        self.fs_base = r.fs_base;
        self.gs_base = r.gs_base;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_at_offset_zero_and_fpu_aligned() {
        assert_eq!(core::mem::offset_of!(Tcb, frame), 0);
        assert_eq!(core::mem::offset_of!(Tcb, fpu) % 16, 0);
        assert_eq!(FRAME_WORDS, 22);
        assert_eq!(core::mem::offset_of!(Frame, vector), 15 * 8);
        assert_eq!(core::mem::offset_of!(Frame, ss), 21 * 8);
    }

    #[test]
    fn user_regs_are_sanitised() {
        let mut t = Tcb::new(ThreadId::new(64, 1), SpaceRef { slot: 0, version: 1 });
        let mut r = t.frame.user_regs(0, 0);
        r.rip = 0x40_1000;
        r.rflags = !0; // tries IOPL 3, VM, NT, ...
        t.set_user_regs(&r).unwrap();
        assert_eq!(t.frame.rflags & 0x3000, 0, "IOPL stays 0");
        assert_ne!(t.frame.rflags & 0x200, 0, "IF stays set");
        assert_eq!(t.frame.rflags & (1 << 17), 0, "no VM86");
        assert_eq!((t.frame.cs, t.frame.ss), (USER_CS, USER_SS));
        r.rip = 0x8000_0000_0000_0000;
        assert!(t.set_user_regs(&r).is_err());
        assert_eq!(t.frame.rip, 0x40_1000, "rejected write changes nothing");
        r.rip = 0x1000;
        r.fs_base = 0x0000_8000_0000_0000;
        assert!(t.set_user_regs(&r).is_err());
    }

    #[test]
    fn canonical_addresses() {
        assert!(is_canonical(0));
        assert!(is_canonical(0x0000_7fff_ffff_ffff));
        assert!(!is_canonical(0x0000_8000_0000_0000));
        assert!(!is_canonical(0x9999_9999_9999_9999));
        assert!(is_canonical(0xffff_8000_0000_0000));
        assert!(is_canonical(0xffff_ffff_8100_0000));
    }
}
