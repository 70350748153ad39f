//! Signal sets and the order in which pending signals are taken.
//!
//! A Linux x86-64 `sigset_t` (kernel side, `_NSIG` = 64) is one 64-bit word,
//! bit `n - 1` standing for signal `n`; `rt_sigprocmask` and friends insist on
//! `sigsetsize == 8`. [`SigSet`] is that word.
//!
//! The delivery order matters to programs: kernel/signal.c's `next_signal`
//! takes the synchronous fault signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
//! SIGFPE, SIGSYS) before anything else, so a faulting instruction's signal is
//! handled before, say, a pending SIGALRM, and otherwise the lowest number
//! first (so standard signals before realtime ones, realtime in order).

use crate::linux::errno::{Errno, EINVAL};
use crate::linux::signal::{NSIG, SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP};

/// A set of signals 1..=64: bit `n - 1` is signal `n`, as in Linux's `sigset_t`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct SigSet(pub u64);

/// The bytes of a `sigset_t` on x86-64; `rt_sig*` calls with another
/// `sigsetsize` fail with EINVAL.
pub const SIGSET_SIZE: usize = 8;

/// SIGKILL and SIGSTOP: never blocked, caught or ignored
/// (`sigdelsetmask(.., sigmask(SIGKILL)|sigmask(SIGSTOP))` everywhere).
pub const UNBLOCKABLE: SigSet = SigSet::of(SIGKILL).union(SigSet::of(SIGSTOP));

/// The synchronous fault signals that `next_signal` dequeues first
/// (kernel/signal.c `SYNCHRONOUS_MASK`).
pub const SYNCHRONOUS: SigSet = SigSet::of(SIGSEGV)
    .union(SigSet::of(SIGBUS))
    .union(SigSet::of(SIGILL))
    .union(SigSet::of(SIGTRAP))
    .union(SigSet::of(SIGFPE))
    .union(SigSet::of(SIGSYS));

/// `rt_sigprocmask` `how`: add the given set to the blocked set.
pub const SIG_BLOCK: u32 = 0;
/// `rt_sigprocmask` `how`: remove the given set from the blocked set.
pub const SIG_UNBLOCK: u32 = 1;
/// `rt_sigprocmask` `how`: replace the blocked set.
pub const SIG_SETMASK: u32 = 2;

impl SigSet {
    /// No signals.
    pub const fn empty() -> SigSet {
        SigSet(0)
    }

    /// All 64 signals (before removing [`UNBLOCKABLE`], where that applies).
    pub const fn full() -> SigSet {
        SigSet(!0)
    }

    /// The set holding just `sig`; empty if `sig` is not in 1..=64.
    pub const fn of(sig: u32) -> SigSet {
        if sig >= 1 && sig <= NSIG {
            SigSet(1 << (sig - 1))
        } else {
            SigSet(0)
        }
    }

    /// Whether `sig` is in the set (false for numbers outside 1..=64).
    pub const fn contains(self, sig: u32) -> bool {
        self.0 & SigSet::of(sig).0 != 0
    }

    /// Add `sig` (no effect for numbers outside 1..=64).
    pub fn insert(&mut self, sig: u32) {
        self.0 |= SigSet::of(sig).0;
    }

    /// Remove `sig` (no effect for numbers outside 1..=64).
    pub fn remove(&mut self, sig: u32) {
        self.0 &= !SigSet::of(sig).0;
    }

    /// Signals in either set.
    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    /// Signals in `self` but not in `other`.
    pub const fn minus(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    /// Signals in both sets.
    pub const fn intersect(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set without SIGKILL and SIGSTOP, as Linux stores every blocked mask.
    pub const fn blockable(self) -> SigSet {
        self.minus(UNBLOCKABLE)
    }

    /// The lowest-numbered signal in the set.
    pub const fn lowest(self) -> Option<u32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() + 1)
        }
    }

    /// The signals in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        (1..=NSIG).filter(move |&s| self.contains(s))
    }

    /// The `sigset_t` bytes (little-endian word) as user memory holds them.
    pub const fn to_bytes(self) -> [u8; SIGSET_SIZE] {
        self.0.to_le_bytes()
    }

    /// A set from the bytes of a user `sigset_t`.
    pub const fn from_bytes(b: [u8; SIGSET_SIZE]) -> SigSet {
        SigSet(u64::from_le_bytes(b))
    }
}

/// The signal Linux's `next_signal` would dequeue from `pending` with
/// `blocked` masked: among the unblocked pending signals, the lowest
/// synchronous one (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS) if any,
/// else the lowest-numbered one. `None` if nothing is deliverable.
///
/// SIGKILL and SIGSTOP in `blocked` are ignored (Linux never lets them into a
/// blocked mask in the first place).
pub fn next_deliverable(pending: SigSet, blocked: SigSet) -> Option<u32> {
    let ready = pending.minus(blocked.blockable());
    let sync = ready.intersect(SYNCHRONOUS);
    if sync.is_empty() {
        ready.lowest()
    } else {
        sync.lowest()
    }
}

/// The blocked set after `rt_sigprocmask(how, set)` (kernel/signal.c
/// `sigprocmask`): SIGKILL and SIGSTOP are first removed from `set`; an
/// unknown `how` is EINVAL and changes nothing.
pub fn apply_sigprocmask(how: u32, blocked: SigSet, set: SigSet) -> Result<SigSet, Errno> {
    let set = set.blockable();
    let new = match how {
        SIG_BLOCK => blocked.union(set),
        SIG_UNBLOCK => blocked.minus(set),
        SIG_SETMASK => set,
        _ => return Err(EINVAL),
    };
    Ok(new.blockable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::signal::*;

    #[test]
    fn bit_n_minus_1_is_signal_n() {
        assert_eq!(SigSet::of(1).0, 1);
        assert_eq!(SigSet::of(SIGKILL).0, 1 << 8);
        assert_eq!(SigSet::of(64).0, 1 << 63);
        assert_eq!(SigSet::of(0), SigSet::empty());
        assert_eq!(SigSet::of(65), SigSet::empty());
        assert_eq!(UNBLOCKABLE.0, (1 << 8) | (1 << 18));
        // SYNCHRONOUS_MASK = SEGV|BUS|ILL|TRAP|FPE|SYS = bits 10,6,3,4,7,30.
        assert_eq!(SYNCHRONOUS.0, (1 << 10) | (1 << 6) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 30));
    }

    #[test]
    fn set_operations() {
        let mut s = SigSet::empty();
        s.insert(SIGINT);
        s.insert(SIGRTMIN);
        assert!(s.contains(SIGINT) && s.contains(32) && !s.contains(SIGTERM));
        assert!(!s.contains(0) && !s.contains(99));
        s.remove(SIGINT);
        assert_eq!(s, SigSet::of(32));
        assert_eq!(SigSet::of(1).union(SigSet::of(2)).minus(SigSet::of(1)), SigSet::of(2));
        assert_eq!(SigSet::full().blockable().0, !UNBLOCKABLE.0);
        assert_eq!(SigSet::of(5).union(SigSet::of(3)).lowest(), Some(3));
        assert_eq!(SigSet::empty().lowest(), None);
        let v: alloc::vec::Vec<u32> = SigSet::of(64).union(SigSet::of(2)).iter().collect();
        assert_eq!(v, [2, 64]);
        assert_eq!(SigSet::from_bytes(SigSet(0x0102_0304_0506_0708).to_bytes()).0, 0x0102_0304_0506_0708);
        assert_eq!(SigSet::of(1).to_bytes(), [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn next_deliverable_takes_synchronous_first_then_lowest() {
        let p = |sigs: &[u32]| sigs.iter().fold(SigSet::empty(), |s, &n| s.union(SigSet::of(n)));
        // Lowest number first.
        assert_eq!(next_deliverable(p(&[SIGTERM, SIGINT, SIGUSR1]), SigSet::empty()), Some(SIGINT));
        // Standard before realtime, realtime in order.
        assert_eq!(next_deliverable(p(&[40, 34, SIGCHLD]), SigSet::empty()), Some(SIGCHLD));
        assert_eq!(next_deliverable(p(&[40, 34]), SigSet::empty()), Some(34));
        // Synchronous signals jump the queue: SIGSEGV (11) before SIGHUP (1).
        assert_eq!(next_deliverable(p(&[SIGHUP, SIGSEGV]), SigSet::empty()), Some(SIGSEGV));
        // SIGSYS (31) before SIGINT (2); among synchronous ones, lowest first.
        assert_eq!(next_deliverable(p(&[SIGINT, SIGSYS]), SigSet::empty()), Some(SIGSYS));
        assert_eq!(next_deliverable(p(&[SIGSEGV, SIGILL, SIGFPE]), SigSet::empty()), Some(SIGILL));
        // SIGKILL is not synchronous: a pending SIGSEGV goes first.
        assert_eq!(next_deliverable(p(&[SIGKILL, SIGSEGV]), SigSet::empty()), Some(SIGSEGV));
        // Blocked signals stay pending; a blocked synchronous one does not win.
        assert_eq!(next_deliverable(p(&[SIGHUP, SIGSEGV]), p(&[SIGSEGV])), Some(SIGHUP));
        assert_eq!(next_deliverable(p(&[SIGHUP]), p(&[SIGHUP])), None);
        assert_eq!(next_deliverable(SigSet::empty(), SigSet::empty()), None);
        // SIGKILL/SIGSTOP cannot be blocked.
        assert_eq!(next_deliverable(p(&[SIGKILL]), SigSet::full()), Some(SIGKILL));
        assert_eq!(next_deliverable(p(&[SIGSTOP, SIGTERM]), SigSet::full()), Some(SIGSTOP));
    }

    #[test]
    fn sigprocmask_rules() {
        let b = SigSet::of(SIGINT);
        assert_eq!(apply_sigprocmask(SIG_BLOCK, b, SigSet::of(SIGTERM)), Ok(SigSet::of(SIGINT).union(SigSet::of(15))));
        assert_eq!(apply_sigprocmask(SIG_UNBLOCK, b, SigSet::of(SIGINT)), Ok(SigSet::empty()));
        assert_eq!(apply_sigprocmask(SIG_SETMASK, b, SigSet::of(SIGHUP)), Ok(SigSet::of(SIGHUP)));
        assert_eq!(apply_sigprocmask(SIG_SETMASK, b, SigSet::full()), Ok(SigSet::full().blockable()));
        assert_eq!(apply_sigprocmask(3, b, SigSet::full()), Err(EINVAL));
    }
}
