//! Address spaces: a page table, the kernel-owned pages in it (KIP, UTCBs),
//! privileges, I/O-port permissions and the kernel-memory quota.
//!
//! A space has no ID of its own: user code names it by any of its threads, as
//! in L4. It lives as long as it has threads (or until deleted explicitly).

use alloc::boxed::Box;
use alloc::vec::Vec;

/// I/O ports a space may be given access to: 0..IO_PORTS (the legacy PC range,
/// which holds the serial ports, the CMOS clock and QEMU's debug-exit port).
pub const IO_PORTS: usize = 1024;
pub const IO_BITMAP_BYTES: usize = IO_PORTS / 8;

/// Default kernel-memory quota of a new space (page tables, TCBs, UTCBs and
/// mapping nodes), in bytes.
pub const DEFAULT_KMEM_QUOTA: u64 = 16 << 20;

pub struct Space {
    /// Physical address of the PML4.
    pub root: u64,
    pub threads: u32,
    /// May create and delete threads and spaces, configure threads, control
    /// IRQs and I/O ports, shut the machine down.
    pub privileged: bool,
    /// The root pager: its faults in its physical-memory window are resolved
    /// by the kernel with idempotent mappings (sigma0).
    pub sigma0: bool,
    pub kmem_used: u64,
    pub kmem_quota: u64,
    /// UTCB pages: mapped by the kernel, never by map items.
    pub utcb_pages: Vec<u64>,
    /// Bit set = port denied (the TSS format); `None` = all denied.
    pub io_bitmap: Option<Box<[u8; IO_BITMAP_BYTES]>>,
    /// Bumped on every change of `io_bitmap`, so the machine layer knows
    /// when to reload the TSS copy.
    pub io_version: u32,
    /// Under `tlb=small`: the window slot of a small space (its memory lies
    /// there, shared by every page table); `None` for a large space.
    pub small_slot: Option<u32>,
    /// Protection key of the space's pages (0 unless small).
    pub pkey: u8,
    /// Under `tlb=pcid`: the PCID it last held (see `tlb::PcidTable`).
    pub pcid: u16,
    /// Under `tlb=pcid`: its mappings changed while it was not loaded and no
    /// INVPCID reached them; its next CR3 load must flush its PCID.
    pub tlb_stale: bool,
}

impl Space {
    pub fn new(root: u64, privileged: bool) -> Space {
        Space {
            root,
            threads: 0,
            privileged,
            sigma0: false,
            kmem_used: 0,
            kmem_quota: DEFAULT_KMEM_QUOTA,
            utcb_pages: Vec::new(),
            io_bitmap: None,
            io_version: 0,
            small_slot: None,
            pkey: 0,
            pcid: 0,
            tlb_stale: false,
        }
    }

    /// May this space have memory at user address `va`? Under `tlb=small`
    /// the window belongs to the small spaces, each to its slot: a small
    /// space has memory only there, a large one never there. (The kernel
    /// walks page tables that share the window, so this check is what keeps
    /// a large space's walk from reaching a small space's pages.) Otherwise
    /// any user address.
    pub fn owns_address(&self, va: u64, small_mode: bool) -> bool {
        if !small_mode {
            return true;
        }
        match self.small_slot {
            Some(n) => abi::window::slot_of(va) == Some(n),
            None => abi::window::slot_of(va).is_none(),
        }
    }

    /// Is `va` a page the kernel owns in this space?
    pub fn is_reserved(&self, va: u64) -> bool {
        va & !0xfff == abi::KIP_ADDR || self.utcb_pages.contains(&(va & !0xfff))
    }

    /// Charge `bytes` of kernel memory; false (and nothing charged) if over quota.
    pub fn charge(&mut self, bytes: u64) -> bool {
        if self.kmem_used + bytes > self.kmem_quota {
            return false;
        }
        self.kmem_used += bytes;
        true
    }

    pub fn uncharge(&mut self, bytes: u64) {
        self.kmem_used = self.kmem_used.saturating_sub(bytes);
    }

    /// Allow ports `first..first+count` (clipped to [`IO_PORTS`]).
    pub fn allow_ports(&mut self, first: usize, count: usize) {
        self.io_version = self.io_version.wrapping_add(1);
        let bm = self.io_bitmap.get_or_insert_with(|| Box::new([0xff; IO_BITMAP_BYTES]));
        for p in first.min(IO_PORTS)..first.saturating_add(count).min(IO_PORTS) {
            bm[p / 8] &= !(1 << (p % 8));
        }
    }

    pub fn port_allowed(&self, port: usize) -> bool {
        port < IO_PORTS && self.io_bitmap.as_ref().is_some_and(|bm| bm[port / 8] & (1 << (port % 8)) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_permissions() {
        let mut s = Space::new(0x1000, false);
        assert!(!s.port_allowed(0x3f8));
        s.allow_ports(0x3f8, 8);
        assert!(s.port_allowed(0x3f8) && s.port_allowed(0x3ff));
        assert!(!s.port_allowed(0x3f7) && !s.port_allowed(0x400));
        s.allow_ports(1020, 100);
        assert!(s.port_allowed(1023));
        assert!(!s.port_allowed(1024));
    }

    #[test]
    fn quota() {
        let mut s = Space::new(0x1000, false);
        s.kmem_quota = 8192;
        assert!(s.charge(4096));
        assert!(s.charge(4096));
        assert!(!s.charge(1));
        s.uncharge(4096);
        assert!(s.charge(4096));
    }

    #[test]
    fn small_spaces_own_their_slot_and_large_ones_the_rest() {
        let mut large = Space::new(0x1000, false);
        let slot1 = abi::window::slot_base(1);
        assert!(large.owns_address(slot1, false) && large.owns_address(0x40_0000, false));
        assert!(large.owns_address(0x40_0000, true));
        assert!(!large.owns_address(slot1, true) && !large.owns_address(abi::WINDOW_BASE, true));
        large.small_slot = Some(1);
        let small = large;
        assert!(small.owns_address(slot1, true) && small.owns_address(slot1 + abi::window::SLOT_SIZE - 1, true));
        assert!(!small.owns_address(slot1 - 1, true) && !small.owns_address(slot1 + abi::window::SLOT_SIZE, true));
        assert!(!small.owns_address(0x40_0000, true) && !small.owns_address(abi::KIP_ADDR, true));
    }

    #[test]
    fn reserved_pages() {
        let mut s = Space::new(0x1000, false);
        s.utcb_pages.push(0x7000);
        assert!(s.is_reserved(0x7123));
        assert!(s.is_reserved(abi::KIP_ADDR + 8));
        assert!(!s.is_reserved(0x8000));
    }
}
