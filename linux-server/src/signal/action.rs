//! What a signal does: its default action, and the `struct sigaction` a
//! program installs with `rt_sigaction`.
//!
//! The default-action classes are Linux's (include/linux/signal.h
//! `SIG_KERNEL_{ONLY,STOP,COREDUMP,IGNORE}_MASK`; everything else, realtime
//! signals included, terminates). Programs depend on them: a shell expects
//! SIGCHLD and SIGWINCH to be harmless, job control expects SIGTSTP/SIGTTIN/
//! SIGTTOU to stop, and wait statuses must name the right signal. The
//! bookkeeping around a handler (the mask it runs with, SA_RESETHAND,
//! SA_NODEFER) follows kernel/signal.c `signal_delivered` and `get_signal`.

use super::set::{SigSet, UNBLOCKABLE};
use crate::linux::errno::{Errno, EINVAL};
use crate::linux::signal::*;

/// What the kernel does with a signal whose handler is `SIG_DFL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// End the process; the wait status names the signal.
    Terminate,
    /// End the process "with a core dump" (no core file is written here, so
    /// the wait status is the same as for `Terminate`).
    Core,
    /// Discard the signal.
    Ignore,
    /// Stop the process (job control).
    Stop,
    /// Continue a stopped process; otherwise nothing (SIGCONT). Its
    /// continuing happens when it is sent, whatever its disposition.
    Continue,
}

/// The default action of signal `sig`, for 1..=64 (numbers outside that range
/// are not signals; they report `Terminate`, and callers validate first).
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCONT => DefaultAction::Continue,
        SIGCHLD | SIGWINCH | SIGURG => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        s if dumps_core(s) => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}

/// Whether `sig` is a signal number (1..=64); kill(pid, 0) probes use 0.
pub const fn is_valid(sig: u32) -> bool {
    sig >= 1 && sig <= NSIG
}

/// Whether `sig` is a realtime signal (32..=64: queued, not merged).
pub const fn is_realtime(sig: u32) -> bool {
    sig >= SIGRTMIN && sig <= SIGRTMAX
}

/// Whether `sig`'s default action stops the process (`sig_kernel_stop`:
/// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
pub const fn is_stop_signal(sig: u32) -> bool {
    matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU)
}

/// Whether `sig` can be neither caught, ignored nor blocked
/// (`sig_kernel_only`: SIGKILL, SIGSTOP).
pub const fn is_kernel_only(sig: u32) -> bool {
    UNBLOCKABLE.contains(sig)
}

/// Whether `sig`'s default action is to ignore it (`sig_kernel_ignore`:
/// SIGCONT, SIGCHLD, SIGWINCH, SIGURG).
pub const fn is_default_ignored(sig: u32) -> bool {
    matches!(sig, SIGCONT | SIGCHLD | SIGWINCH | SIGURG)
}

/// Whether `sig` is one of the synchronous fault signals delivered first
/// (see [`super::set::SYNCHRONOUS`]).
pub const fn is_synchronous(sig: u32) -> bool {
    super::set::SYNCHRONOUS.contains(sig)
}

/// `sa_handler` value: the default action.
pub const SIG_DFL: u64 = 0;
/// `sa_handler` value: ignore the signal.
pub const SIG_IGN: u64 = 1;

/// `sa_flags`: no SIGCHLD when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
/// `sa_flags` (SIGCHLD): children are reaped automatically, no zombies.
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
/// `sa_flags`: three-argument handler; the frame's siginfo is filled in.
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// `sa_flags`: a bit guaranteed never to be supported (for probing).
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
/// `sa_flags`: keep architecture tag bits in `si_addr` (meaningless on x86).
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
/// `sa_flags` (x86): `sa_restorer` is the return trampoline; required on x86-64.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `sa_flags`: run the handler on the alternate signal stack if one is set.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// `sa_flags`: restart interrupted system calls (ERESTARTSYS).
pub const SA_RESTART: u64 = 0x1000_0000;
/// `sa_flags`: do not block the signal itself while its handler runs.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// `sa_flags`: reset the handler to `SIG_DFL` when the signal is delivered.
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// The `sa_flags` bits Linux keeps (include/linux/signal_types.h
/// `UAPI_SA_FLAGS` with x86's `SA_RESTORER`); others are silently dropped,
/// which is how programs detect unsupported flags.
pub const UAPI_SA_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER;

/// A signal's disposition: the kernel's x86-64 `struct sigaction` as
/// `rt_sigaction` passes it (handler at 0, flags at 8, restorer at 16, mask
/// at 24; 32 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigAction {
    /// `sa_handler`: [`SIG_DFL`], [`SIG_IGN`], or the handler's address.
    pub handler: u64,
    /// `sa_flags` (`SA_*`).
    pub flags: u64,
    /// `sa_restorer`: the trampoline that calls `rt_sigreturn` (with SA_RESTORER).
    pub restorer: u64,
    /// `sa_mask`: signals blocked in addition while the handler runs.
    pub mask: SigSet,
}

impl Default for SigAction {
    fn default() -> SigAction {
        SigAction::DEFAULT
    }
}

impl SigAction {
    /// The size of the kernel `struct sigaction` on x86-64.
    pub const SIZE: usize = 32;

    /// The disposition every signal starts with: `SIG_DFL`, no flags, empty mask.
    pub const DEFAULT: SigAction = SigAction { handler: SIG_DFL, flags: 0, restorer: 0, mask: SigSet(0) };

    /// The user-memory image.
    pub fn to_bytes(&self) -> [u8; SigAction::SIZE] {
        let mut b = [0u8; SigAction::SIZE];
        super::le::put_u64(&mut b, 0, self.handler);
        super::le::put_u64(&mut b, 8, self.flags);
        super::le::put_u64(&mut b, 16, self.restorer);
        super::le::put_u64(&mut b, 24, self.mask.0);
        b
    }

    /// Read a user `struct sigaction`, as given (see [`SigAction::sanitized`]).
    pub fn from_bytes(b: &[u8; SigAction::SIZE]) -> SigAction {
        SigAction {
            handler: super::le::get_u64(b, 0),
            flags: super::le::get_u64(b, 8),
            restorer: super::le::get_u64(b, 16),
            mask: SigSet(super::le::get_u64(b, 24)),
        }
    }

    /// What `do_sigaction` stores: flags limited to [`UAPI_SA_FLAGS`], SIGKILL
    /// and SIGSTOP removed from the mask. (The old action it reports back is
    /// masked the same way.)
    pub fn sanitized(&self) -> SigAction {
        SigAction { flags: self.flags & UAPI_SA_FLAGS, mask: self.mask.blockable(), ..*self }
    }

    /// Whether a signal with this disposition is discarded when it is sent
    /// (`sig_handler_ignored`: `SIG_IGN`, or `SIG_DFL` with a default-ignored
    /// signal). Ptrace aside, such a signal is never queued, and installing
    /// such a disposition flushes it from the pending sets.
    pub fn ignores(&self, sig: u32) -> bool {
        self.handler == SIG_IGN || (self.handler == SIG_DFL && is_default_ignored(sig))
    }

    /// Whether delivering runs a user handler (neither `SIG_DFL` nor `SIG_IGN`).
    pub fn has_handler(&self) -> bool {
        self.handler != SIG_DFL && self.handler != SIG_IGN
    }

    /// The disposition after a handler delivery: SA_RESETHAND (SA_ONESHOT)
    /// puts the handler back to `SIG_DFL` (flags and mask stay, as in Linux).
    pub fn after_delivery(&self) -> SigAction {
        if self.flags & SA_RESETHAND != 0 {
            SigAction { handler: SIG_DFL, ..*self }
        } else {
            *self
        }
    }

    /// For SIGCHLD's disposition in the parent: whether exiting children are
    /// reaped at once instead of becoming zombies (`SIG_IGN` or SA_NOCLDWAIT,
    /// kernel/signal.c `do_notify_parent`).
    pub fn autoreaps_children(&self) -> bool {
        self.handler == SIG_IGN || self.flags & SA_NOCLDWAIT != 0
    }
}

/// Whether `rt_sigaction(sig, act, ..)` is allowed: `sig` must be 1..=64, and
/// SIGKILL/SIGSTOP may be queried but not changed (`do_sigaction`: EINVAL).
pub fn check_sigaction(sig: u32, changing: bool) -> Result<(), Errno> {
    if !is_valid(sig) || (changing && is_kernel_only(sig)) {
        Err(EINVAL)
    } else {
        Ok(())
    }
}

/// The blocked set while the handler for `sig` runs (kernel/signal.c
/// `signal_delivered`): the current set plus `sa_mask`, plus `sig` itself
/// unless SA_NODEFER; never SIGKILL or SIGSTOP. The mask to restore later is
/// the one saved in the frame (`uc_sigmask`).
pub fn blocked_during_handler(blocked: SigSet, action: &SigAction, sig: u32) -> SigSet {
    let mut b = blocked.union(action.mask);
    if action.flags & SA_NODEFER == 0 {
        b.insert(sig);
    }
    b.blockable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_actions_match_linux_classes() {
        use DefaultAction::*;
        let want = [
            (SIGHUP, Terminate),
            (SIGINT, Terminate),
            (SIGQUIT, Core),
            (SIGILL, Core),
            (SIGTRAP, Core),
            (SIGABRT, Core),
            (SIGBUS, Core),
            (SIGFPE, Core),
            (SIGKILL, Terminate),
            (SIGUSR1, Terminate),
            (SIGSEGV, Core),
            (SIGUSR2, Terminate),
            (SIGPIPE, Terminate),
            (SIGALRM, Terminate),
            (SIGTERM, Terminate),
            (SIGSTKFLT, Terminate),
            (SIGCHLD, Ignore),
            (SIGCONT, Continue),
            (SIGSTOP, Stop),
            (SIGTSTP, Stop),
            (SIGTTIN, Stop),
            (SIGTTOU, Stop),
            (SIGURG, Ignore),
            (SIGXCPU, Core),
            (SIGXFSZ, Core),
            (SIGVTALRM, Terminate),
            (SIGPROF, Terminate),
            (SIGWINCH, Ignore),
            (SIGIO, Terminate),
            (SIGPWR, Terminate),
            (SIGSYS, Core),
        ];
        for (sig, act) in want {
            assert_eq!(default_action(sig), act, "signal {sig}");
        }
        // Realtime signals 32..=64 terminate.
        for sig in SIGRTMIN..=SIGRTMAX {
            assert_eq!(default_action(sig), Terminate, "signal {sig}");
            assert!(is_realtime(sig));
        }
        assert!(!is_realtime(31));
    }

    #[test]
    fn predicates() {
        for sig in 1..=64 {
            assert_eq!(is_stop_signal(sig), default_action(sig) == DefaultAction::Stop);
        }
        assert!(is_kernel_only(SIGKILL) && is_kernel_only(SIGSTOP) && !is_kernel_only(SIGTSTP));
        assert!(is_default_ignored(SIGCONT) && is_default_ignored(SIGCHLD) && !is_default_ignored(SIGTERM));
        assert!(is_synchronous(SIGSEGV) && is_synchronous(SIGSYS) && !is_synchronous(SIGABRT));
        assert!(is_valid(1) && is_valid(64) && !is_valid(0) && !is_valid(65));
        assert_eq!(check_sigaction(SIGKILL, true), Err(EINVAL));
        assert_eq!(check_sigaction(SIGSTOP, false), Ok(()));
        assert_eq!(check_sigaction(0, false), Err(EINVAL));
        assert_eq!(check_sigaction(65, false), Err(EINVAL));
        assert_eq!(check_sigaction(SIGINT, true), Ok(()));
    }

    #[test]
    fn sigaction_layout_and_sanitizing() {
        let a =
            SigAction { handler: 0x401000, flags: SA_SIGINFO | SA_RESTORER, restorer: 0x402000, mask: SigSet(0x300) };
        let b = a.to_bytes();
        assert_eq!(&b[0..8], &0x401000u64.to_le_bytes()); // sa_handler
        assert_eq!(&b[8..16], &(SA_SIGINFO | SA_RESTORER).to_le_bytes()); // sa_flags
        assert_eq!(&b[16..24], &0x402000u64.to_le_bytes()); // sa_restorer
        assert_eq!(&b[24..32], &0x300u64.to_le_bytes()); // sa_mask
        assert_eq!(SigAction::from_bytes(&b), a);
        // SA_UNSUPPORTED and unknown bits are dropped; KILL/STOP leave the mask.
        let s = SigAction { flags: SA_RESTART | SA_UNSUPPORTED | 0x0100_0000, ..a }.sanitized();
        assert_eq!(s.flags, SA_RESTART);
        assert_eq!(s.mask, SigSet(0x300).blockable());
        assert_eq!(s.mask.0, 0x200);
        assert_eq!(UAPI_SA_FLAGS, 0xdc00_0807);
    }

    #[test]
    fn dispositions() {
        let dfl = SigAction::DEFAULT;
        assert!(dfl.ignores(SIGCHLD) && dfl.ignores(SIGWINCH) && !dfl.ignores(SIGTERM));
        let ign = SigAction { handler: SIG_IGN, ..dfl };
        assert!(ign.ignores(SIGTERM) && !ign.has_handler());
        let h = SigAction { handler: 0x1234, flags: SA_RESETHAND, ..dfl };
        assert!(h.has_handler() && !h.ignores(SIGCHLD));
        assert_eq!(h.after_delivery().handler, SIG_DFL);
        assert_eq!(h.after_delivery().flags, SA_RESETHAND);
        assert_eq!(SigAction { flags: 0, ..h }.after_delivery().handler, 0x1234);
        assert!(ign.autoreaps_children());
        assert!(SigAction { flags: SA_NOCLDWAIT, ..h }.autoreaps_children());
        assert!(!dfl.autoreaps_children());
    }

    #[test]
    fn mask_while_handler_runs() {
        let act =
            SigAction { handler: 0x1000, flags: 0, restorer: 0, mask: SigSet::of(SIGUSR2).union(SigSet::of(SIGKILL)) };
        let b = blocked_during_handler(SigSet::of(SIGHUP), &act, SIGUSR1);
        assert_eq!(b, SigSet::of(SIGHUP).union(SigSet::of(SIGUSR2)).union(SigSet::of(SIGUSR1)));
        let nodefer = SigAction { flags: SA_NODEFER, ..act };
        assert!(!blocked_during_handler(SigSet::empty(), &nodefer, SIGUSR1).contains(SIGUSR1));
    }
}
