//! The tagged TLB: which mode the kernel runs in, the PCIDs of spaces, the
//! protection-key register values of small spaces.
//!
//! Why: an untagged x86 TLB is flushed by every CR3 load, and under QEMU's
//! TCG a CR3 load also flushes the emulator's whole software TLB — the cost
//! that dominates every IPC between a Linux process and the linux-server.
//! Liedtke's L3/L4 avoided it with *small address spaces*: small servers
//! live in a region present identically in every large space, so switching
//! between a large space and a small one loads no CR3. x86-64 has no segment
//! limits to keep them apart, so protection keys (PKU) do it here: each small
//! space's pages carry its key and the kernel writes PKRU on every switch.
//! Where the CPU has PCIDs, every space gets a tag instead and CR3 loads keep
//! the other tags' entries. The three modes are selectable at boot
//! (`tlb=plain|pcid|small`) so the same build can be measured three ways.
//!
//! Everything here is pure; the machine layer applies it to the CPU.

use crate::thread::SpaceRef;
use abi::window::KIP_PKEY;
use alloc::vec;
use alloc::vec::Vec;

pub use abi::kip::TlbMode;

/// What the CPU offers for tagging.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlbFeatures {
    pub pcid: bool,
    pub invpcid: bool,
    pub pku: bool,
}

/// The mode to run in: the `tlb=` request if the CPU supports it, else the
/// best available (PCID, else small spaces, else plain). The second value
/// says why a request was not honoured.
pub fn choose(requested: Option<&str>, f: TlbFeatures) -> (TlbMode, Option<&'static str>) {
    let best = if f.pcid {
        TlbMode::Pcid
    } else if f.pku {
        TlbMode::Small
    } else {
        TlbMode::Plain
    };
    let Some(req) = requested else { return (best, None) };
    match TlbMode::from_name(req) {
        None => (best, Some("unknown tlb= value (plain, pcid or small)")),
        Some(TlbMode::Plain) => (TlbMode::Plain, None),
        Some(TlbMode::Pcid) if !f.pcid => (best, Some("the CPU has no PCID")),
        Some(TlbMode::Small) if !f.pku => (best, Some("the CPU has no protection keys (PKU)")),
        Some(m) => (m, None),
    }
}

/// The PKRU value for a thread of a space whose pages carry protection key
/// `key` (0: a large space; `abi::window::pkey_of_slot(n)`: the small space
/// in slot n). It may access its own key and read the KIP's; every other
/// key has access and write disabled — so a Linux process cannot touch the
/// small spaces, and a small space cannot touch a large space it runs in
/// nor another small space.
pub fn pkru_for(key: u8) -> u32 {
    (0..16u32).filter(|&k| k != key as u32 && k != KIP_PKEY as u32).fold(0, |v, k| v | 3 << (2 * k))
}

/// Number of PCIDs (12 bits; 0 is the kernel's own page table).
pub const PCID_COUNT: usize = 4096;

/// Which space holds which PCID. There are more possible spaces than PCIDs,
/// so tags are recycled: a space keeps its PCID while it holds it, and a
/// PCID taken from an earlier owner is *fresh* — the first CR3 load with it
/// must flush its entries (CR3 bit 63 clear), and so does one after the
/// space's mappings changed while it was not loaded and no INVPCID could
/// reach them.
pub struct PcidTable {
    owner: Vec<Option<SpaceRef>>,
    /// Where the search for a free PCID starts (round robin).
    cursor: usize,
}

impl Default for PcidTable {
    fn default() -> Self {
        Self::new()
    }
}

impl PcidTable {
    pub fn new() -> PcidTable {
        PcidTable { owner: vec![None; PCID_COUNT], cursor: 1 }
    }

    /// Does `space` hold `pcid`?
    pub fn holds(&self, space: SpaceRef, pcid: u16) -> bool {
        pcid != 0 && self.owner.get(pcid as usize).copied().flatten() == Some(space)
    }

    /// The PCID for `space`, which last held `hint` (0: none). `loaded` is
    /// the PCID in CR3 now, never taken away. Returns the PCID and whether it
    /// is fresh (must be flushed when loaded).
    pub fn tag(&mut self, space: SpaceRef, hint: u16, loaded: u16) -> (u16, bool) {
        if self.holds(space, hint) {
            return (hint, false);
        }
        let n = PCID_COUNT - 1;
        let free = (0..n).map(|i| 1 + (self.cursor - 1 + i) % n).find(|&p| self.owner[p].is_none());
        let p = match free {
            Some(p) => p,
            // All taken: the next one round robin (not the loaded one) changes owner.
            None => (0..n).map(|i| 1 + (self.cursor - 1 + i) % n).find(|&p| p != loaded as usize).unwrap_or(1),
        };
        self.owner[p] = Some(space);
        self.cursor = 1 + p % n;
        (p as u16, true)
    }

    /// `space` ended: its PCID is free again.
    pub fn release(&mut self, space: SpaceRef, pcid: u16) {
        if self.holds(space, pcid) {
            self.owner[pcid as usize] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sref(slot: u32) -> SpaceRef {
        SpaceRef { slot, version: 1 }
    }

    #[test]
    fn mode_is_the_request_if_possible_else_the_best() {
        let none = TlbFeatures::default();
        let pku = TlbFeatures { pku: true, ..none };
        let pcid = TlbFeatures { pcid: true, invpcid: true, ..none };
        assert_eq!(choose(None, none), (TlbMode::Plain, None));
        assert_eq!(choose(None, pku), (TlbMode::Small, None));
        assert_eq!(choose(None, pcid), (TlbMode::Pcid, None));
        assert_eq!(choose(Some("plain"), pcid), (TlbMode::Plain, None));
        assert_eq!(choose(Some("small"), pku), (TlbMode::Small, None));
        assert_eq!(choose(Some("small"), pcid).0, TlbMode::Pcid);
        assert!(choose(Some("small"), pcid).1.is_some());
        assert_eq!(choose(Some("pcid"), pku).0, TlbMode::Small);
        assert!(choose(Some("pcid"), none).1.is_some());
        assert_eq!(choose(Some("fast"), pku).0, TlbMode::Small);
        assert!(choose(Some("fast"), pku).1.is_some());
    }

    #[test]
    fn pkru_lets_a_space_reach_its_key_and_the_kip_only() {
        let allowed = |pkru: u32, k: u32| pkru >> (2 * k) & 3 == 0;
        let large = pkru_for(0);
        assert!(allowed(large, 0) && allowed(large, KIP_PKEY as u32));
        assert!((1..15).all(|k| !allowed(large, k)));
        let server = pkru_for(abi::window::pkey_of_slot(1));
        assert!(allowed(server, 2) && allowed(server, 15));
        assert!(!allowed(server, 0) && !allowed(server, 1) && !allowed(server, 3));
        // Denied means both access and write disabled.
        assert_eq!(server & 3, 3);
    }

    #[test]
    fn pcids_are_kept_recycled_and_fresh_when_taken_over() {
        let mut t = PcidTable::new();
        let (a, fresh) = t.tag(sref(1), 0, 0);
        assert!(fresh && a != 0);
        assert_eq!(t.tag(sref(1), a, 0), (a, false));
        let (b, fresh) = t.tag(sref(2), 0, a);
        assert!(fresh && b != a && b != 0);
        // A stale hint (another version of the slot) is not honoured.
        let (c, fresh) = t.tag(SpaceRef { slot: 1, version: 2 }, a, b);
        assert!(fresh && c != a && c != b);
        t.release(sref(1), a);
        assert!(!t.holds(sref(1), a));
        // Fill every PCID: the next space takes one over, never the loaded one.
        let mut t = PcidTable::new();
        let mut held = Vec::new();
        for s in 0..(PCID_COUNT as u32 - 1) {
            let (p, fresh) = t.tag(sref(s), 0, 0);
            assert!(fresh && p != 0);
            held.push(p);
        }
        held.sort();
        held.dedup();
        assert_eq!(held.len(), PCID_COUNT - 1, "every PCID handed out once");
        let loaded = t.tag(sref(0), 1, 0).0;
        let (p, fresh) = t.tag(sref(9999), 0, loaded);
        assert!(fresh && p != loaded && p != 0);
        let evicted = (0..PCID_COUNT as u32 - 1).find(|&s| !t.holds(sref(s), held[s as usize]));
        assert!(evicted.is_some(), "some space lost its PCID");
        assert!(t.holds(sref(9999), p));
    }
}
