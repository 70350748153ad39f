//! Global thread IDs: a thread number (the index of its control block) and a
//! version. A thread number is reused only with a new version, so an ID kept
//! after its thread died is detected as stale instead of reaching the new
//! occupant of the slot.

/// A global thread ID: `(number << 32) | version`. Version 0 is never issued.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct ThreadId(pub u64);

/// Number of interrupt lines that have sender IDs.
pub const IRQ_COUNT: u32 = 16;
/// Thread number of IRQ 0's sender ID; IRQ n is `IRQ_NUMBER_BASE + n`.
pub const IRQ_NUMBER_BASE: u32 = 1;
/// First thread number the kernel gives to real threads.
pub const FIRST_THREAD_NUMBER: u32 = 64;

impl ThreadId {
    /// No thread: as a destination, "no send phase"; as a source, "no receive phase".
    pub const NIL: ThreadId = ThreadId(0);
    /// Any sender (open receive), threads and interrupts alike.
    pub const ANY: ThreadId = ThreadId(u64::MAX);

    pub const fn new(number: u32, version: u32) -> ThreadId {
        ThreadId(((number as u64) << 32) | version as u64)
    }
    pub const fn number(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub const fn version(self) -> u32 {
        self.0 as u32
    }
    pub const fn is_nil(self) -> bool {
        self.0 == 0
    }
    pub const fn is_any(self) -> bool {
        self.0 == u64::MAX
    }
    /// The sender ID the kernel uses for interrupts of line `irq`.
    pub const fn irq(irq: u32) -> ThreadId {
        ThreadId::new(IRQ_NUMBER_BASE + irq, 1)
    }
    /// The IRQ line if this is an interrupt sender ID.
    pub const fn as_irq(self) -> Option<u32> {
        let n = self.number();
        if self.version() == 1 && n >= IRQ_NUMBER_BASE && n < IRQ_NUMBER_BASE + IRQ_COUNT {
            Some(n - IRQ_NUMBER_BASE)
        } else {
            None
        }
    }
}

impl core::fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_nil() {
            write!(f, "nil")
        } else if self.is_any() {
            write!(f, "any")
        } else if let Some(irq) = self.as_irq() {
            write!(f, "irq{irq}")
        } else {
            write!(f, "{}.{}", self.number(), self.version())
        }
    }
}

impl core::fmt::Display for ThreadId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let id = ThreadId::new(1234, 7);
        assert_eq!(id.number(), 1234);
        assert_eq!(id.version(), 7);
        assert!(!id.is_nil() && !id.is_any());
    }

    #[test]
    fn irq_ids_are_recognised() {
        for irq in 0..IRQ_COUNT {
            assert_eq!(ThreadId::irq(irq).as_irq(), Some(irq));
        }
        assert_eq!(ThreadId::new(FIRST_THREAD_NUMBER, 1).as_irq(), None);
        assert_eq!(ThreadId::new(IRQ_NUMBER_BASE, 2).as_irq(), None);
        assert!(ThreadId::irq(IRQ_COUNT - 1).number() < FIRST_THREAD_NUMBER);
    }
}
