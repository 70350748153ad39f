//! How a Linux thread's syscall reached the server, and what answering it
//! means on each path.
//!
//! - **Trap**: an unmodified binary executed `syscall`; the kernel sent its
//!   whole register frame as an exception message. The answer is an
//!   exception reply: `SET_RAX` with the result, or `SET_FRAME` with new
//!   registers.
//! - **Shim**: a binary linked with the libc shim called the server directly
//!   (label kind `LINUX_DIRECT`, number in the label, the arguments in
//!   MR1..MR6: libc-shim/README.md). Only the arguments came along, which is
//!   what makes this path cheap; the caller's registers are read with
//!   `THREAD_STATE` in the rare cases that need them (fork, signal frames,
//!   restarts, arch_prctl, rt_sigreturn — see `needs_registers`). The answer
//!   is an ordinary reply whose MR1 is the result (the shim's stub returns
//!   it), or, for new registers, `THREAD_STATE RESTART_REGS`, which abandons
//!   the caller's IPC.
//!
//! Everything the signal code does to "a thread returning from a syscall"
//! — give it a result, restart the call, resume it after its IPC was
//! aborted — differs between the two paths only in the register-level
//! details collected here.

use crate::linux::sysno as nr;
use abi::exception::UserRegs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Entry {
    #[default]
    Trap,
    Shim,
}

/// The kernel call number of IPC: a shim call is the `syscall` instruction
/// with this RAX.
const IPC_CALL: u64 = abi::sysno::IPC;

/// The registers of a shim call are not known until read: the server
/// stands in a frame with this RIP (no call comes from address 0) holding
/// just the number and the arguments, for tracing and parking.
const UNKNOWN_RIP: u64 = 0;

impl Entry {
    /// The registers a thread resumes with when its syscall returns `v`,
    /// given its registers at the syscall (RIP after the instruction).
    pub fn returning(self, regs: &UserRegs, v: u64) -> UserRegs {
        match self {
            Entry::Trap => UserRegs { rax: v, ..*regs },
            // The IPC succeeded; the result is the reply's MR1 (r9), with a
            // one-word reply tag in r8 as the kernel would have written.
            Entry::Shim => UserRegs { rax: 0, r8: 1, r9: v, ..*regs },
        }
    }

    /// The registers that make syscall `nr` run again: back to the
    /// `syscall` instruction with its inputs. A shim call's inputs are
    /// still in place (an IPC writes its outputs only when it completes,
    /// and an abort writes just RAX).
    pub fn restarting(self, regs: &UserRegs, nr: u64) -> UserRegs {
        let rip = regs.rip.wrapping_sub(2);
        match self {
            Entry::Trap => UserRegs { rax: nr, rip, ..*regs },
            Entry::Shim => UserRegs { rax: IPC_CALL, rip, ..*regs },
        }
    }

    /// Where a thread whose syscall IPC was aborted (`EXREGS`) returns from
    /// that syscall, given the RIP the kernel left it at — the old RIP
    /// `EXREGS` reports, which is read after the abort: an aborted
    /// exception IPC is rewound to the `syscall` instruction, an aborted
    /// ordinary IPC is not. (Until the kernel read it after the abort, it
    /// reported a trapped call's RIP from before — already past the
    /// instruction — and a diverted thread resumed two bytes too far: the
    /// syscall fuzzer's parent, diverted with its waitpid parked, ran on
    /// into the next function and made a syscall numbered after waitpid's
    /// first argument, which failed with ENOSYS, EINVAL or EFAULT.)
    pub fn return_rip_after_abort(self, rip: u64) -> u64 {
        match self {
            Entry::Trap => rip.wrapping_add(2),
            Entry::Shim => rip,
        }
    }
}

/// The stand-in registers of a shim call (see `UNKNOWN_RIP`).
pub fn unknown_registers(number: u64, a: [u64; 6]) -> UserRegs {
    UserRegs {
        rax: number,
        rdi: a[0],
        rsi: a[1],
        rdx: a[2],
        r10: a[3],
        r8: a[4],
        r9: a[5],
        rip: UNKNOWN_RIP,
        ..UserRegs::default()
    }
}

/// Whether `regs` are a shim call's stand-in, to be replaced by the
/// thread's real registers before anything is built from them.
pub fn registers_unknown(regs: &UserRegs) -> bool {
    regs.rip == UNKNOWN_RIP
}

/// The shim calls whose handlers read or rewrite the caller's registers:
/// the server reads them before the call runs.
pub fn needs_registers(number: u64) -> bool {
    matches!(
        number,
        nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK | nr::RT_SIGRETURN | nr::ARCH_PRCTL | nr::SIGALTSTACK
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_syscall() -> UserRegs {
        UserRegs {
            rax: IPC_CALL,
            rip: 0x40_1002,
            r8: 0x4c58_0000_0027_0006,
            r9: 11,
            rsp: 0x7000,
            ..UserRegs::default()
        }
    }

    #[test]
    fn a_trapped_call_returns_in_rax_and_restarts_with_its_number() {
        let r = UserRegs { rax: 39, rip: 0x40_1002, ..UserRegs::default() };
        assert_eq!(Entry::Trap.returning(&r, 5).rax, 5);
        let again = Entry::Trap.restarting(&UserRegs { rax: (-4i64) as u64, ..r }, 39);
        assert_eq!((again.rax, again.rip), (39, 0x40_1000));
        assert_eq!(Entry::Trap.return_rip_after_abort(0x40_1000), 0x40_1002);
    }

    #[test]
    fn a_shim_call_returns_in_mr1_and_restarts_its_ipc() {
        let r = at_syscall();
        let back = Entry::Shim.returning(&r, 5);
        assert_eq!((back.rax, back.r9, back.rip, back.rsp), (0, 5, 0x40_1002, 0x7000));
        // After an abort RAX holds the kernel's Canceled code; a restart
        // puts the IPC call back and keeps the message.
        let again = Entry::Shim.restarting(&UserRegs { rax: 0x103, ..r }, 39);
        assert_eq!((again.rax, again.rip, again.r8, again.r9), (IPC_CALL, 0x40_1000, r.r8, 11));
        assert_eq!(Entry::Shim.return_rip_after_abort(0x40_1002), 0x40_1002);
    }

    #[test]
    fn stand_in_registers_are_recognised() {
        let r = unknown_registers(0, [1, 2, 3, 4, 5, 6]);
        assert!(registers_unknown(&r));
        assert_eq!((r.rdi, r.r10, r.r9), (1, 4, 6));
        assert!(!registers_unknown(&at_syscall()));
    }
}
