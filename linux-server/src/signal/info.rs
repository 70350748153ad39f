//! `siginfo_t`: the 128 bytes that tell a handler (SA_SIGINFO), `waitid`,
//! `rt_sigtimedwait` and `signalfd` users why a signal came.
//!
//! Layout (include/uapi/asm-generic/siginfo.h, x86-64): `si_signo` at 0,
//! `si_errno` at 4, `si_code` at 8, then a union at 16 whose member is chosen
//! by (`si_signo`, `si_code`) exactly as kernel/signal.c `siginfo_layout`
//! chooses it; see [`layout`]. Linux keeps only the first 48 bytes
//! (`struct kernel_siginfo`: header plus the 32-byte union) and zeroes the
//! remaining 80 on the way out, which [`SigInfo::to_bytes`] reproduces.
//!
//! Programs read these fields directly (`si_pid` to answer a sender, `si_addr`
//! to report or recover from a fault, `si_status` for `waitid`), so the
//! offsets are tested against the header below.

use super::le::{get_u32, get_u64, put_u32, put_u64};
use crate::linux::errno::{Errno, E2BIG};
use crate::linux::signal::*;

/// `sizeof(siginfo_t)` (`SI_MAX_SIZE`).
pub const SIGINFO_SIZE: usize = 128;
/// `sizeof(struct kernel_siginfo)` on x86-64: the part Linux stores and copies
/// back; the rest of a user siginfo is zero.
pub const KERNEL_SIGINFO_SIZE: usize = 48;
/// Where the `_sifields` union starts (`__ARCH_SI_PREAMBLE_SIZE` = 4 ints on x86-64).
pub const FIELDS_OFFSET: usize = 16;
/// The union bytes Linux keeps (48 - 16).
pub const FIELDS_SIZE: usize = KERNEL_SIGINFO_SIZE - FIELDS_OFFSET;

/// Byte offsets of the named fields inside a `siginfo_t` (x86-64).
pub mod off {
    /// `si_signo` (int).
    pub const SIGNO: usize = 0;
    /// `si_errno` (int).
    pub const ERRNO: usize = 4;
    /// `si_code` (int).
    pub const CODE: usize = 8;
    /// `si_pid` (`_kill`, `_rt`, `_sigchld`; pid_t).
    pub const PID: usize = 16;
    /// `si_uid` (`_kill`, `_rt`, `_sigchld`; uid32).
    pub const UID: usize = 20;
    /// `si_tid` (`_timer`; timer_t = int).
    pub const TIMERID: usize = 16;
    /// `si_overrun` (`_timer`; int).
    pub const OVERRUN: usize = 20;
    /// `si_value` (`_rt`, `_timer`; union sigval, 8 bytes).
    pub const VALUE: usize = 24;
    /// `si_status` (`_sigchld`; int).
    pub const STATUS: usize = 24;
    /// `si_utime` (`_sigchld`; clock_t = long, 8-aligned).
    pub const UTIME: usize = 32;
    /// `si_stime` (`_sigchld`; long).
    pub const STIME: usize = 40;
    /// `si_addr` (`_sigfault`; pointer).
    pub const ADDR: usize = 16;
    /// `si_band` (`_sigpoll`; long).
    pub const BAND: usize = 16;
    /// `si_fd` (`_sigpoll`; int).
    pub const FD: usize = 24;
    /// `si_call_addr` (`_sigsys`; pointer).
    pub const CALL_ADDR: usize = 16;
    /// `si_syscall` (`_sigsys`; int).
    pub const SYSCALL: usize = 24;
    /// `si_arch` (`_sigsys`; unsigned int).
    pub const ARCH: usize = 28;
}

/// `si_code`: sent by kill(2), raise.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `si_code`: sent by sigqueue (rt_sigqueueinfo).
pub const SI_QUEUE: i32 = -1;
/// `si_code`: POSIX timer expiry.
pub const SI_TIMER: i32 = -2;
/// `si_code`: POSIX message queue state change.
pub const SI_MESGQ: i32 = -3;
/// `si_code`: AIO completion.
pub const SI_ASYNCIO: i32 = -4;
/// `si_code`: queued SIGIO.
pub const SI_SIGIO: i32 = -5;
/// `si_code`: sent by tkill/tgkill.
pub const SI_TKILL: i32 = -6;
/// `si_code`: sent by execve killing subsidiary threads.
pub const SI_DETHREAD: i32 = -7;
/// `si_code`: glibc async name lookup completion.
pub const SI_ASYNCNL: i32 = -60;

/// SIGILL `si_code`: illegal opcode (#UD).
pub const ILL_ILLOPC: i32 = 1;
/// SIGILL `si_code`: illegal operand.
pub const ILL_ILLOPN: i32 = 2;
/// SIGILL `si_code`: illegal addressing mode.
pub const ILL_ILLADR: i32 = 3;
/// SIGILL `si_code`: illegal trap.
pub const ILL_ILLTRP: i32 = 4;
/// SIGILL `si_code`: privileged opcode.
pub const ILL_PRVOPC: i32 = 5;
/// SIGILL `si_code`: privileged register.
pub const ILL_PRVREG: i32 = 6;
/// SIGILL `si_code`: coprocessor error.
pub const ILL_COPROC: i32 = 7;
/// SIGILL `si_code`: internal stack error.
pub const ILL_BADSTK: i32 = 8;
/// SIGILL `si_code`: unimplemented instruction address.
pub const ILL_BADIADDR: i32 = 9;
/// Highest SIGILL `si_code` (`NSIGILL`).
pub const NSIGILL: i32 = 11;

/// SIGFPE `si_code`: integer divide by zero (#DE).
pub const FPE_INTDIV: i32 = 1;
/// SIGFPE `si_code`: integer overflow.
pub const FPE_INTOVF: i32 = 2;
/// SIGFPE `si_code`: floating-point divide by zero.
pub const FPE_FLTDIV: i32 = 3;
/// SIGFPE `si_code`: floating-point overflow.
pub const FPE_FLTOVF: i32 = 4;
/// SIGFPE `si_code`: floating-point underflow.
pub const FPE_FLTUND: i32 = 5;
/// SIGFPE `si_code`: floating-point inexact result.
pub const FPE_FLTRES: i32 = 6;
/// SIGFPE `si_code`: floating-point invalid operation.
pub const FPE_FLTINV: i32 = 7;
/// SIGFPE `si_code`: subscript out of range.
pub const FPE_FLTSUB: i32 = 8;
/// SIGFPE `si_code`: undiagnosed floating-point exception.
pub const FPE_FLTUNK: i32 = 14;
/// SIGFPE `si_code`: trap on condition.
pub const FPE_CONDTRAP: i32 = 15;
/// Highest SIGFPE `si_code` (`NSIGFPE`).
pub const NSIGFPE: i32 = 15;

/// SIGSEGV `si_code`: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// SIGSEGV `si_code`: mapped, but access not permitted.
pub const SEGV_ACCERR: i32 = 2;
/// SIGSEGV `si_code`: failed address bound checks (MPX).
pub const SEGV_BNDERR: i32 = 3;
/// SIGSEGV `si_code`: failed protection key checks.
pub const SEGV_PKUERR: i32 = 4;
/// Highest SIGSEGV `si_code` in Linux 6.1 (`NSIGSEGV`, up to SEGV_MTESERR).
pub const NSIGSEGV: i32 = 9;

/// SIGBUS `si_code`: invalid address alignment.
pub const BUS_ADRALN: i32 = 1;
/// SIGBUS `si_code`: non-existent physical address (e.g. beyond a file's end).
pub const BUS_ADRERR: i32 = 2;
/// SIGBUS `si_code`: object-specific hardware error.
pub const BUS_OBJERR: i32 = 3;
/// SIGBUS `si_code`: machine-check memory error, action required.
pub const BUS_MCEERR_AR: i32 = 4;
/// SIGBUS `si_code`: machine-check memory error, action optional.
pub const BUS_MCEERR_AO: i32 = 5;
/// Highest SIGBUS `si_code` (`NSIGBUS`).
pub const NSIGBUS: i32 = 5;

/// SIGTRAP `si_code`: process breakpoint (int3).
pub const TRAP_BRKPT: i32 = 1;
/// SIGTRAP `si_code`: process trace trap (single step).
pub const TRAP_TRACE: i32 = 2;
/// SIGTRAP `si_code`: taken-branch trap.
pub const TRAP_BRANCH: i32 = 3;
/// SIGTRAP `si_code`: hardware breakpoint/watchpoint.
pub const TRAP_HWBKPT: i32 = 4;
/// SIGTRAP `si_code`: undiagnosed trap.
pub const TRAP_UNK: i32 = 5;
/// SIGTRAP `si_code`: perf event with sigtrap=1.
pub const TRAP_PERF: i32 = 6;
/// Highest SIGTRAP `si_code` in Linux 6.1 (`NSIGTRAP`).
pub const NSIGTRAP: i32 = 6;

/// SIGCHLD `si_code`: child exited (`si_status` = exit code).
pub const CLD_EXITED: i32 = 1;
/// SIGCHLD `si_code`: child killed (`si_status` = signal).
pub const CLD_KILLED: i32 = 2;
/// SIGCHLD `si_code`: child killed with a core dump.
pub const CLD_DUMPED: i32 = 3;
/// SIGCHLD `si_code`: traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// SIGCHLD `si_code`: child stopped (`si_status` = stop signal).
pub const CLD_STOPPED: i32 = 5;
/// SIGCHLD `si_code`: stopped child continued (`si_status` = SIGCONT).
pub const CLD_CONTINUED: i32 = 6;
/// Highest SIGCHLD `si_code` (`NSIGCHLD`).
pub const NSIGCHLD: i32 = 6;

/// SIGPOLL `si_code`: data input available.
pub const POLL_IN: i32 = 1;
/// SIGPOLL `si_code`: output buffers available.
pub const POLL_OUT: i32 = 2;
/// SIGPOLL `si_code`: input message available.
pub const POLL_MSG: i32 = 3;
/// SIGPOLL `si_code`: I/O error.
pub const POLL_ERR: i32 = 4;
/// SIGPOLL `si_code`: high-priority input available.
pub const POLL_PRI: i32 = 5;
/// SIGPOLL `si_code`: device disconnected.
pub const POLL_HUP: i32 = 6;
/// Highest SIGPOLL `si_code` (`NSIGPOLL`).
pub const NSIGPOLL: i32 = 6;

/// SIGSYS `si_code`: seccomp.
pub const SYS_SECCOMP: i32 = 1;
/// SIGSYS `si_code`: syscall user dispatch.
pub const SYS_USER_DISPATCH: i32 = 2;
/// Highest SIGSYS `si_code` in Linux 6.1 (`NSIGSYS`).
pub const NSIGSYS: i32 = 2;

/// Which union member a siginfo carries (kernel/signal.c `enum siginfo_layout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `_kill`: pid, uid.
    Kill,
    /// `_timer`: timer id, overrun, value.
    Timer,
    /// `_sigpoll`: band, fd.
    Poll,
    /// `_sigfault`: addr.
    Fault,
    /// `_sigfault` with `si_addr_lsb` (BUS_MCEERR_*).
    FaultMceErr,
    /// `_sigfault` with bounds (SEGV_BNDERR).
    FaultBndErr,
    /// `_sigfault` with a protection key (SEGV_PKUERR).
    FaultPkuErr,
    /// `_sigfault` with perf data (TRAP_PERF).
    FaultPerfEvent,
    /// `_sigchld`: pid, uid, status, utime, stime.
    Child,
    /// `_rt`: pid, uid, value.
    Rt,
    /// `_sigsys`: call address, syscall, arch.
    Sys,
}

/// The highest signal-specific `si_code` and the layout it uses, for the
/// signals that have their own codes (kernel/signal.c `sig_sicodes`).
fn specific_codes(sig: i32) -> Option<(i32, Layout)> {
    const ILL: i32 = SIGILL as i32;
    const FPE: i32 = SIGFPE as i32;
    const SEGV: i32 = SIGSEGV as i32;
    const BUS: i32 = SIGBUS as i32;
    const TRAP: i32 = SIGTRAP as i32;
    const CHLD: i32 = SIGCHLD as i32;
    const POLL: i32 = SIGIO as i32;
    const SYS: i32 = SIGSYS as i32;
    match sig {
        ILL => Some((NSIGILL, Layout::Fault)),
        FPE => Some((NSIGFPE, Layout::Fault)),
        SEGV => Some((NSIGSEGV, Layout::Fault)),
        BUS => Some((NSIGBUS, Layout::Fault)),
        TRAP => Some((NSIGTRAP, Layout::Fault)),
        CHLD => Some((NSIGCHLD, Layout::Child)),
        POLL => Some((NSIGPOLL, Layout::Poll)),
        SYS => Some((NSIGSYS, Layout::Sys)),
        _ => None,
    }
}

/// The union member for (`signo`, `code`), as kernel/signal.c `siginfo_layout`
/// decides it in Linux 6.1 on x86-64.
pub fn layout(signo: i32, code: i32) -> Layout {
    if code > SI_USER && code < SI_KERNEL {
        match specific_codes(signo) {
            Some((limit, l)) if code <= limit => {
                if signo == SIGBUS as i32 && (BUS_MCEERR_AR..=BUS_MCEERR_AO).contains(&code) {
                    Layout::FaultMceErr
                } else if signo == SIGSEGV as i32 && code == SEGV_BNDERR {
                    Layout::FaultBndErr
                } else if signo == SIGSEGV as i32 && code == SEGV_PKUERR {
                    Layout::FaultPkuErr
                } else if signo == SIGTRAP as i32 && code == TRAP_PERF {
                    Layout::FaultPerfEvent
                } else {
                    l
                }
            }
            Some(_) => Layout::Kill,
            None if code <= NSIGPOLL => Layout::Poll,
            None => Layout::Kill,
        }
    } else if code == SI_TIMER {
        Layout::Timer
    } else if code == SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

/// Whether Linux knows the layout of (`signo`, `code`) (kernel/signal.c
/// `known_siginfo_layout`). A user-supplied siginfo with an unknown layout
/// must have zeros beyond the first 48 bytes, or the call fails with E2BIG.
pub fn known_layout(signo: i32, code: i32) -> bool {
    if code == SI_KERNEL {
        true
    } else if code > SI_USER {
        match specific_codes(signo) {
            Some((limit, _)) => code <= limit,
            None => code <= NSIGPOLL,
        }
    } else {
        code >= SI_DETHREAD || code == SI_ASYNCNL
    }
}

/// The union part of a [`SigInfo`]: the fields its layout defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigFields {
    /// No fields (all union bytes zero).
    None,
    /// `_kill`: the sender (kill, tkill, SI_KERNEL signals with pid/uid 0).
    Kill {
        /// `si_pid`: the sender's process ID.
        pid: i32,
        /// `si_uid`: the sender's real user ID.
        uid: u32,
    },
    /// `_rt`: a queued signal (sigqueue, SI_TKILL with value, ...).
    Rt {
        /// `si_pid`: the sender's process ID.
        pid: i32,
        /// `si_uid`: the sender's real user ID.
        uid: u32,
        /// `si_value` (`sival_int` in the low 4 bytes, or `sival_ptr`).
        value: u64,
    },
    /// `_timer`: a POSIX timer expiry.
    Timer {
        /// `si_timerid`: the kernel timer ID.
        tid: i32,
        /// `si_overrun`: overrun count.
        overrun: i32,
        /// `si_value`: the timer's `sigev_value`.
        value: u64,
    },
    /// `_sigchld`: a child changed state.
    Child {
        /// `si_pid`: the child.
        pid: i32,
        /// `si_uid`: the child's real user ID.
        uid: u32,
        /// `si_status`: exit code (CLD_EXITED) or signal number (others).
        status: i32,
        /// `si_utime`: user time consumed, in clock ticks (USER_HZ = 100).
        utime: i64,
        /// `si_stime`: system time consumed, in clock ticks.
        stime: i64,
    },
    /// `_sigfault`: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP from a fault.
    Fault {
        /// `si_addr`: the faulting memory reference, or instruction for ILL/FPE/TRAP.
        addr: u64,
    },
    /// `_sigpoll`: SIGIO/SIGPOLL for an fd.
    Poll {
        /// `si_band`: the POLL* event bits.
        band: i64,
        /// `si_fd`: the file descriptor.
        fd: i32,
    },
    /// `_sigsys`: a system call refused (seccomp, user dispatch).
    Sys {
        /// `si_call_addr`: the address of the system call instruction.
        call_addr: u64,
        /// `si_syscall`: the system call number.
        syscall: i32,
        /// `si_arch`: the `AUDIT_ARCH_*` value.
        arch: u32,
    },
    /// The 32 union bytes verbatim, for siginfo a program supplied whose
    /// bytes the named fields above do not account for exactly (other fault
    /// sub-layouts, stray bytes): Linux hands such bytes back unchanged.
    Raw([u8; FIELDS_SIZE]),
}

/// A signal's information, as Linux keeps it (`struct kernel_siginfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// `si_signo`: the signal number.
    pub signo: i32,
    /// `si_errno`: an errno value, almost always 0.
    pub errno: i32,
    /// `si_code`: why it was sent (`SI_*`, or a signal-specific code).
    pub code: i32,
    /// The union member for (`signo`, `code`).
    pub fields: SigFields,
}

impl SigInfo {
    /// A signal sent by a process: kill(2) uses `SI_USER`, tkill/tgkill
    /// `SI_TKILL` (`_kill` layout).
    pub fn sent(sig: u32, code: i32, pid: i32, uid: u32) -> SigInfo {
        SigInfo { signo: sig as i32, errno: 0, code, fields: SigFields::Kill { pid, uid } }
    }

    /// A signal the kernel sends on its own (`SEND_SIG_PRIV`: `SI_KERNEL`,
    /// pid and uid 0), e.g. SIGKILL on OOM, SIGPIPE, SIGSEGV for a bad frame.
    pub fn kernel(sig: u32) -> SigInfo {
        SigInfo::sent(sig, SI_KERNEL, 0, 0)
    }

    /// A fault signal (`force_sig_fault`): SIGSEGV with SEGV_MAPERR/ACCERR and
    /// the data address, SIGILL/SIGFPE/SIGTRAP with the instruction address.
    pub fn fault(sig: u32, code: i32, addr: u64) -> SigInfo {
        SigInfo { signo: sig as i32, errno: 0, code, fields: SigFields::Fault { addr } }
    }

    /// SIGCHLD for a child's state change (kernel/signal.c `do_notify_parent`,
    /// `do_notify_parent_cldstop`).
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        SigInfo { signo: SIGCHLD as i32, errno: 0, code, fields: SigFields::Child { pid, uid, status, utime, stime } }
    }

    /// The 128-byte `siginfo_t` as user memory holds it (bytes past the
    /// fields are zero, as `copy_siginfo_to_user` leaves them).
    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        put_u32(&mut b, off::SIGNO, self.signo as u32);
        put_u32(&mut b, off::ERRNO, self.errno as u32);
        put_u32(&mut b, off::CODE, self.code as u32);
        match self.fields {
            SigFields::None => {}
            SigFields::Kill { pid, uid } => {
                put_u32(&mut b, off::PID, pid as u32);
                put_u32(&mut b, off::UID, uid);
            }
            SigFields::Rt { pid, uid, value } => {
                put_u32(&mut b, off::PID, pid as u32);
                put_u32(&mut b, off::UID, uid);
                put_u64(&mut b, off::VALUE, value);
            }
            SigFields::Timer { tid, overrun, value } => {
                put_u32(&mut b, off::TIMERID, tid as u32);
                put_u32(&mut b, off::OVERRUN, overrun as u32);
                put_u64(&mut b, off::VALUE, value);
            }
            SigFields::Child { pid, uid, status, utime, stime } => {
                put_u32(&mut b, off::PID, pid as u32);
                put_u32(&mut b, off::UID, uid);
                put_u32(&mut b, off::STATUS, status as u32);
                put_u64(&mut b, off::UTIME, utime as u64);
                put_u64(&mut b, off::STIME, stime as u64);
            }
            SigFields::Fault { addr } => put_u64(&mut b, off::ADDR, addr),
            SigFields::Poll { band, fd } => {
                put_u64(&mut b, off::BAND, band as u64);
                put_u32(&mut b, off::FD, fd as u32);
            }
            SigFields::Sys { call_addr, syscall, arch } => {
                put_u64(&mut b, off::CALL_ADDR, call_addr);
                put_u32(&mut b, off::SYSCALL, syscall as u32);
                put_u32(&mut b, off::ARCH, arch);
            }
            SigFields::Raw(raw) => b[FIELDS_OFFSET..KERNEL_SIGINFO_SIZE].copy_from_slice(&raw),
        }
        b
    }

    /// Read a siginfo a program passed to `rt_sigqueueinfo` or
    /// `rt_tgsigqueueinfo`, the way Linux does (`__copy_siginfo_from_user`):
    /// `si_signo` is replaced by the call's `signo`; the first 48 bytes are
    /// kept; for an unknown layout ([`known_layout`]) any nonzero byte beyond
    /// them is E2BIG. The fields are decoded by [`layout`]; if they do not
    /// account for the kept bytes exactly, the union is kept as
    /// [`SigFields::Raw`], so [`SigInfo::to_bytes`] gives back what Linux would.
    ///
    /// The permission rule (a process may only send `si_code >= 0` or
    /// `SI_TKILL` to itself, else EPERM) is the caller's, which knows the pids.
    pub fn from_user(bytes: &[u8; SIGINFO_SIZE], signo: i32) -> Result<SigInfo, Errno> {
        let errno = get_u32(bytes, off::ERRNO) as i32;
        let code = get_u32(bytes, off::CODE) as i32;
        if !known_layout(signo, code) && bytes[KERNEL_SIGINFO_SIZE..].iter().any(|&b| b != 0) {
            return Err(E2BIG);
        }
        let i32_at = |o: usize| get_u32(bytes, o) as i32;
        let fields = match layout(signo, code) {
            Layout::Kill => SigFields::Kill { pid: i32_at(off::PID), uid: get_u32(bytes, off::UID) },
            Layout::Rt => SigFields::Rt {
                pid: i32_at(off::PID),
                uid: get_u32(bytes, off::UID),
                value: get_u64(bytes, off::VALUE),
            },
            Layout::Timer => SigFields::Timer {
                tid: i32_at(off::TIMERID),
                overrun: i32_at(off::OVERRUN),
                value: get_u64(bytes, off::VALUE),
            },
            Layout::Child => SigFields::Child {
                pid: i32_at(off::PID),
                uid: get_u32(bytes, off::UID),
                status: i32_at(off::STATUS),
                utime: get_u64(bytes, off::UTIME) as i64,
                stime: get_u64(bytes, off::STIME) as i64,
            },
            Layout::Poll => SigFields::Poll { band: get_u64(bytes, off::BAND) as i64, fd: i32_at(off::FD) },
            Layout::Sys => SigFields::Sys {
                call_addr: get_u64(bytes, off::CALL_ADDR),
                syscall: i32_at(off::SYSCALL),
                arch: get_u32(bytes, off::ARCH),
            },
            Layout::Fault => SigFields::Fault { addr: get_u64(bytes, off::ADDR) },
            Layout::FaultMceErr | Layout::FaultBndErr | Layout::FaultPkuErr | Layout::FaultPerfEvent => {
                SigFields::Raw([0; FIELDS_SIZE])
            }
        };
        let mut info = SigInfo { signo, errno, code, fields };
        let mut raw = [0u8; FIELDS_SIZE];
        raw.copy_from_slice(&bytes[FIELDS_OFFSET..KERNEL_SIGINFO_SIZE]);
        if info.to_bytes()[FIELDS_OFFSET..KERNEL_SIGINFO_SIZE] != raw {
            info.fields = SigFields::Raw(raw);
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn offsets_match_asm_generic_siginfo_h() {
        // typedef struct siginfo { int si_signo; int si_errno; int si_code; union {..} _sifields; }
        // with __ARCH_SI_PREAMBLE_SIZE = 4 * sizeof(int) on x86-64, SI_MAX_SIZE = 128.
        assert_eq!((off::SIGNO, off::ERRNO, off::CODE), (0, 4, 8));
        assert_eq!(FIELDS_OFFSET, 16);
        assert_eq!(SIGINFO_SIZE, 128);
        // _kill { __kernel_pid_t _pid; __kernel_uid32_t _uid; }
        assert_eq!((off::PID, off::UID), (16, 20));
        // _timer { __kernel_timer_t _tid; int _overrun; sigval_t _sigval; int _sys_private; }
        assert_eq!((off::TIMERID, off::OVERRUN, off::VALUE), (16, 20, 24));
        // _rt { _pid; _uid; sigval_t _sigval; }: sigval (pointer union) 8-aligned at 24.
        assert_eq!(off::VALUE, 24);
        // _sigchld { _pid; _uid; int _status; __kernel_clock_t _utime; _stime; }: clock_t is long.
        assert_eq!((off::STATUS, off::UTIME, off::STIME), (24, 32, 40));
        // _sigfault { void __user *_addr; ... }
        assert_eq!(off::ADDR, 16);
        // _sigpoll { long _band; int _fd; }
        assert_eq!((off::BAND, off::FD), (16, 24));
        // _sigsys { void __user *_call_addr; int _syscall; unsigned int _arch; }
        assert_eq!((off::CALL_ADDR, off::SYSCALL, off::ARCH), (16, 24, 28));
        // struct kernel_siginfo: 16 + the 32-byte union (largest: _sigchld / _sigfault).
        assert_eq!(KERNEL_SIGINFO_SIZE, 48);
    }

    #[test]
    fn si_code_values() {
        assert_eq!((SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL), (0, 0x80, -1, -2, -6));
        assert_eq!((SI_MESGQ, SI_ASYNCIO, SI_SIGIO, SI_DETHREAD, SI_ASYNCNL), (-3, -4, -5, -7, -60));
        assert_eq!((CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED), (1, 2, 3, 4, 5, 6));
        assert_eq!((SEGV_MAPERR, SEGV_ACCERR), (1, 2));
        assert_eq!((BUS_ADRALN, BUS_ADRERR, BUS_OBJERR), (1, 2, 3));
        assert_eq!((ILL_ILLOPC, ILL_ILLOPN, ILL_PRVOPC, ILL_BADSTK), (1, 2, 5, 8));
        assert_eq!((FPE_INTDIV, FPE_INTOVF, FPE_FLTDIV, FPE_FLTINV, FPE_FLTUNK), (1, 2, 3, 7, 14));
        assert_eq!((TRAP_BRKPT, TRAP_TRACE), (1, 2));
        assert_eq!((POLL_IN, POLL_OUT, POLL_HUP), (1, 2, 6));
    }

    #[test]
    fn field_bytes() {
        let b = SigInfo::sent(SIGUSR1, SI_USER, 42, 1000).to_bytes();
        assert_eq!((u32_at(&b, 0), u32_at(&b, 4), u32_at(&b, 8)), (10, 0, 0));
        assert_eq!((u32_at(&b, 16), u32_at(&b, 20)), (42, 1000));
        assert!(b[24..].iter().all(|&x| x == 0));

        let b = SigInfo::fault(SIGSEGV, SEGV_ACCERR, 0xdead_beef_0000).to_bytes();
        assert_eq!((u32_at(&b, 0), u32_at(&b, 8), u64_at(&b, 16)), (11, 2, 0xdead_beef_0000));

        let b = SigInfo::child(CLD_EXITED, 7, 0, 3, 12, -1).to_bytes();
        assert_eq!(u32_at(&b, 0), SIGCHLD);
        assert_eq!((u32_at(&b, 16), u32_at(&b, 24), u64_at(&b, 32), u64_at(&b, 40)), (7, 3, 12, u64::MAX));

        let i = SigInfo { signo: 34, errno: 0, code: SI_QUEUE, fields: SigFields::Rt { pid: 5, uid: 6, value: 0x77 } };
        let b = i.to_bytes();
        assert_eq!((u32_at(&b, 8) as i32, u32_at(&b, 16), u32_at(&b, 20), u64_at(&b, 24)), (-1, 5, 6, 0x77));

        let i =
            SigInfo { signo: 14, errno: 0, code: SI_TIMER, fields: SigFields::Timer { tid: 3, overrun: 2, value: 9 } };
        let b = i.to_bytes();
        assert_eq!((u32_at(&b, 16), u32_at(&b, 20), u64_at(&b, 24)), (3, 2, 9));

        let i = SigInfo { signo: 29, errno: 0, code: POLL_IN, fields: SigFields::Poll { band: 0x41, fd: 4 } };
        let b = i.to_bytes();
        assert_eq!((u64_at(&b, 16), u32_at(&b, 24)), (0x41, 4));

        assert_eq!(SigInfo::kernel(SIGKILL).to_bytes()[8], 0x80);
    }

    #[test]
    fn layouts_follow_siginfo_layout() {
        let (segv, bus, chld, io, usr1, trap) =
            (SIGSEGV as i32, SIGBUS as i32, SIGCHLD as i32, SIGIO as i32, SIGUSR1 as i32, SIGTRAP as i32);
        assert_eq!(layout(segv, SEGV_MAPERR), Layout::Fault);
        assert_eq!(layout(segv, SEGV_BNDERR), Layout::FaultBndErr);
        assert_eq!(layout(segv, SEGV_PKUERR), Layout::FaultPkuErr);
        assert_eq!(layout(bus, BUS_MCEERR_AR), Layout::FaultMceErr);
        assert_eq!(layout(trap, TRAP_PERF), Layout::FaultPerfEvent);
        assert_eq!(layout(segv, NSIGSEGV + 1), Layout::Kill);
        assert_eq!(layout(chld, CLD_STOPPED), Layout::Child);
        assert_eq!(layout(io, POLL_IN), Layout::Poll);
        assert_eq!(layout(usr1, POLL_HUP), Layout::Poll, "small positive codes of other signals");
        assert_eq!(layout(usr1, 7), Layout::Kill);
        assert_eq!(layout(segv, SI_KERNEL), Layout::Kill);
        assert_eq!(layout(segv, SI_USER), Layout::Kill);
        assert_eq!(layout(usr1, SI_TIMER), Layout::Timer);
        assert_eq!(layout(usr1, SI_SIGIO), Layout::Poll);
        assert_eq!(layout(usr1, SI_QUEUE), Layout::Rt);
        assert_eq!(layout(usr1, SI_TKILL), Layout::Rt);
        assert_eq!(layout(SIGSYS as i32, SYS_SECCOMP), Layout::Sys);
        assert!(known_layout(usr1, SI_QUEUE) && known_layout(usr1, SI_KERNEL) && known_layout(usr1, SI_ASYNCNL));
        assert!(!known_layout(usr1, -8) && !known_layout(usr1, 7) && !known_layout(segv, NSIGSEGV + 1));
    }

    #[test]
    fn from_user_like_rt_sigqueueinfo() {
        let sent = SigInfo { signo: 0, errno: 0, code: SI_QUEUE, fields: SigFields::Rt { pid: 9, uid: 0, value: 5 } };
        let got = SigInfo::from_user(&sent.to_bytes(), 40).unwrap();
        assert_eq!(got, SigInfo { signo: 40, ..sent }, "si_signo comes from the call");
        // Stray bytes inside the kept 48 are kept verbatim.
        let mut b = sent.to_bytes();
        b[40] = 0xaa;
        let got = SigInfo::from_user(&b, 40).unwrap();
        assert!(matches!(got.fields, SigFields::Raw(_)));
        assert_eq!(got.to_bytes()[16..48], b[16..48]);
        // Known layout: bytes beyond 48 are dropped, not refused.
        let mut b = sent.to_bytes();
        b[100] = 1;
        assert_eq!(SigInfo::from_user(&b, 40).unwrap().to_bytes()[100], 0);
        // Unknown layout with bytes beyond 48: E2BIG; without: accepted as is.
        let mut b = [0u8; 128];
        b[8..12].copy_from_slice(&(-8i32).to_le_bytes());
        b[16] = 3;
        let mut want = b;
        want[0] = 40;
        assert_eq!(SigInfo::from_user(&b, 40).unwrap().to_bytes(), want);
        b[127] = 1;
        assert_eq!(SigInfo::from_user(&b, 40), Err(E2BIG));
    }
}
