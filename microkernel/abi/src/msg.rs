//! Message tags, typed items and the well-known labels.
//!
//! A message is MR0 (the tag) plus up to 63 words: first `u` untyped words,
//! then `t` words of typed items. MR1..MR6 travel in registers (see
//! [`crate::syscall`] and `doc/syscalls.md`); the rest in the UTCB.

/// Message registers that travel in CPU registers (MR1..MR6).
pub const REG_MRS: usize = 6;
/// Highest message register number.
pub const MAX_MR: usize = 63;

/// MR0: bits 0..5 untyped words, bits 6..11 typed words, bits 16..63 label.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct MsgTag(pub u64);

impl MsgTag {
    pub const fn new(label: u64, untyped: usize, typed: usize) -> MsgTag {
        MsgTag(((label & 0xffff_ffff_ffff) << 16) | ((typed as u64 & 0x3f) << 6) | (untyped as u64 & 0x3f))
    }
    pub const fn label(self) -> u64 {
        self.0 >> 16
    }
    pub const fn untyped(self) -> usize {
        (self.0 & 0x3f) as usize
    }
    pub const fn typed(self) -> usize {
        ((self.0 >> 6) & 0x3f) as usize
    }
    pub const fn words(self) -> usize {
        self.untyped() + self.typed()
    }
    /// The kind field of a kernel-generated label (bits 32..47 of the label).
    pub const fn kind(self) -> u64 {
        self.label() >> 32
    }
    /// The low 32 bits of the label (vector, syscall number, access bits, IRQ).
    pub const fn detail(self) -> u32 {
        self.label() as u32
    }
}

impl core::fmt::Debug for MsgTag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "tag(label {:#x}, u {}, t {})", self.label(), self.untyped(), self.typed())
    }
}

/// Kinds of kernel-generated messages (label bits 32..47). User protocols use
/// labels below `1 << 47`.
pub mod kind {
    /// A CPU exception: detail = vector. Full frame in MRs (see `exception`).
    pub const EXCEPTION: u64 = 0xfffe;
    /// A `syscall` of a Linux-personality thread: detail = syscall number (eax).
    pub const LINUX_SYSCALL: u64 = 0xfffd;
    /// A page fault: detail = access (r=4, w=2, x=1); MR1 fault address, MR2 RIP.
    pub const PAGE_FAULT: u64 = 0xfffc;
    /// An interrupt: detail = IRQ line.
    pub const IRQ: u64 = 0xfffb;
    /// Not the kernel's: a Linux syscall sent as a direct IPC by the libc
    /// shim ("LX"); detail = syscall number, MR1..MR6 the arguments
    /// (libc-shim/README.md).
    pub const LINUX_DIRECT: u64 = 0x4c58;

    pub const fn label(kind: u64, detail: u32) -> u64 {
        (kind << 32) | detail as u64
    }
}

/// Typed-item word 0: bits 0..3 item type.
pub mod item {
    pub const MAP: u64 = 0x8;
    pub const GRANT: u64 = 0xa;
    pub const STRING: u64 = 0x4;
    pub const TYPE_MASK: u64 = 0xf;
}

/// A decoded typed item (two words each).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TypedItem {
    /// Map `fpage` of the sender's space; `hotspot` picks the position inside a
    /// larger receive window (only bits above the fpage size matter).
    Map { fpage: crate::Fpage, hotspot: u64 },
    /// Like map, but the sender loses the pages.
    Grant { fpage: crate::Fpage, hotspot: u64 },
    /// Copy `len` bytes at `addr` of the sender's space into the receiver's
    /// string buffer.
    String { addr: u64, len: u64 },
}

impl TypedItem {
    pub const fn encode(self) -> [u64; 2] {
        match self {
            TypedItem::Map { fpage, hotspot } => [(hotspot & !0xfff) | item::MAP, fpage.0],
            TypedItem::Grant { fpage, hotspot } => [(hotspot & !0xfff) | item::GRANT, fpage.0],
            TypedItem::String { addr, len } => [(len << 4) | item::STRING, addr],
        }
    }
    pub const fn decode(w: [u64; 2]) -> Option<TypedItem> {
        match w[0] & item::TYPE_MASK {
            item::MAP => Some(TypedItem::Map { fpage: crate::Fpage(w[1]), hotspot: w[0] & !0xfff }),
            item::GRANT => Some(TypedItem::Grant { fpage: crate::Fpage(w[1]), hotspot: w[0] & !0xfff }),
            item::STRING => Some(TypedItem::String { addr: w[1], len: w[0] >> 4 }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fpage, Rights};
    #[test]
    fn tag_fields() {
        let t = MsgTag::new(kind::label(kind::LINUX_SYSCALL, 39), 6, 2);
        assert_eq!(t.untyped(), 6);
        assert_eq!(t.typed(), 2);
        assert_eq!(t.kind(), kind::LINUX_SYSCALL);
        assert_eq!(t.detail(), 39);
    }
    #[test]
    fn items_round_trip() {
        let items = [
            TypedItem::Map { fpage: Fpage::new(0x4000, 12, Rights::RW), hotspot: 0x7000 },
            TypedItem::Grant { fpage: Fpage::new(0x200000, 21, Rights::R), hotspot: 0 },
            TypedItem::String { addr: 0x1234, len: 999 },
        ];
        for i in items {
            assert_eq!(TypedItem::decode(i.encode()), Some(i));
        }
        assert_eq!(TypedItem::decode([0, 0]), None);
    }
}
