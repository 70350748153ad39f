//! Flexpages: naturally aligned regions of 2^k bytes (k >= 12) with access
//! rights, the unit of map, grant and unmap.
//!
//! Encoding (one word): bits 12..63 base, bits 4..9 log2 size, bits 0..2 rights
//! (r = 4, w = 2, x = 1, as in L4). The nil fpage is 0. Size 63 with base 0
//! names the whole user address space ("complete").

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, PartialOrd, Ord, Hash)]
pub struct Rights(pub u8);

impl Rights {
    pub const NONE: Rights = Rights(0);
    pub const X: Rights = Rights(1);
    pub const W: Rights = Rights(2);
    pub const R: Rights = Rights(4);
    pub const RW: Rights = Rights(6);
    pub const RX: Rights = Rights(5);
    pub const RWX: Rights = Rights(7);

    pub const fn bits(self) -> u8 {
        self.0 & 7
    }
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0 & 7)
    }
    pub const fn union(self, other: Rights) -> Rights {
        Rights((self.0 | other.0) & 7)
    }
    pub const fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0 & 7)
    }
    pub const fn is_empty(self) -> bool {
        self.0 & 7 == 0
    }
    pub const fn readable(self) -> bool {
        self.0 & 4 != 0
    }
    pub const fn writable(self) -> bool {
        self.0 & 2 != 0
    }
    pub const fn executable(self) -> bool {
        self.0 & 1 != 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
#[repr(transparent)]
pub struct Fpage(pub u64);

/// Smallest flexpage: one 4 KiB page.
pub const MIN_LOG2: u32 = 12;
/// log2 size that means "the complete address space".
pub const COMPLETE_LOG2: u32 = 63;

impl Fpage {
    pub const NIL: Fpage = Fpage(0);

    /// A flexpage at `base` of 2^`log2` bytes. Misaligned bases are not
    /// silently fixed: [`Fpage::is_valid`] reports them.
    pub const fn new(base: u64, log2: u32, rights: Rights) -> Fpage {
        Fpage((base & !0xfff) | ((log2 as u64 & 0x3f) << 4) | rights.bits() as u64)
    }
    pub const fn complete(rights: Rights) -> Fpage {
        Fpage::new(0, COMPLETE_LOG2, rights)
    }
    pub const fn base(self) -> u64 {
        self.0 & !0xfff
    }
    pub const fn log2(self) -> u32 {
        ((self.0 >> 4) & 0x3f) as u32
    }
    pub const fn rights(self) -> Rights {
        Rights((self.0 & 7) as u8)
    }
    pub const fn with_rights(self, r: Rights) -> Fpage {
        Fpage((self.0 & !7) | r.bits() as u64)
    }
    pub const fn is_nil(self) -> bool {
        self.0 == 0
    }
    pub const fn is_complete(self) -> bool {
        self.log2() == COMPLETE_LOG2
    }
    /// Size in bytes (the user half of the address space for "complete").
    pub const fn size(self) -> u64 {
        if self.is_complete() {
            crate::USER_END
        } else {
            1u64 << self.log2()
        }
    }
    pub const fn end(self) -> u64 {
        self.base() + self.size()
    }
    /// Well formed: not nil, size at least a page, base aligned to the size,
    /// and inside the user half of the address space.
    pub const fn is_valid(self) -> bool {
        if self.is_complete() {
            return self.base() == 0;
        }
        let l = self.log2();
        if l < MIN_LOG2 || l > 47 {
            return false;
        }
        let size = 1u64 << l;
        self.base() & (size - 1) == 0 && self.base() + size <= crate::USER_END
    }
    pub const fn contains(self, addr: u64) -> bool {
        addr >= self.base() && addr < self.end()
    }
}

impl core::fmt::Debug for Fpage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let r = self.rights();
        write!(
            f,
            "fpage({:#x}, 2^{}, {}{}{})",
            self.base(),
            self.log2(),
            if r.readable() { 'r' } else { '-' },
            if r.writable() { 'w' } else { '-' },
            if r.executable() { 'x' } else { '-' }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn encoding() {
        let f = Fpage::new(0x20_0000, 21, Rights::RW);
        assert_eq!(f.base(), 0x20_0000);
        assert_eq!(f.log2(), 21);
        assert_eq!(f.rights(), Rights::RW);
        assert_eq!(f.size(), 2 << 20);
        assert!(f.is_valid());
        assert!(!Fpage::new(0x1000, 13, Rights::R).is_valid(), "misaligned");
        assert!(!Fpage::new(0x1000, 11, Rights::R).is_valid(), "too small");
        assert!(!Fpage::new(crate::USER_END, 12, Rights::R).is_valid(), "kernel half");
        assert!(Fpage::complete(Rights::RWX).is_valid());
        assert!(!Fpage::NIL.is_valid());
    }
}
