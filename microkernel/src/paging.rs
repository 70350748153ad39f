//! x86-64 four-level page tables, manipulated through [`PhysMem`].
//!
//! Every address space (and the kernel's boot-time table) is a PML4 frame.
//! The upper half (PML4 slots 256..511) is the kernel's and is shared by all
//! spaces: the kernel creates all its upper-half PDPTs at boot and copies the
//! slots into each new PML4, so they never need to be propagated later. Leaf
//! entries are 4 KiB pages or 2 MiB pages. Intermediate tables carry the most
//! permissive rights; the leaf decides.
//!
//! Bit layouts come from the `x86` crate; this module only decides policy.

use crate::phys::{PhysMem, FRAME_SIZE};
use x86::bits64::paging::{PDFlags, PML4Flags, PTFlags};

pub const LARGE_PAGE_SIZE: u64 = 2 << 20;
/// Where a leaf entry keeps its protection key.
const PKEY_SHIFT: u32 = 59;
/// The PML4 slot of the window (`abi::WINDOW_BASE`).
pub const WINDOW_PML4_SLOT: u64 = 255;
/// Physical-address bits of an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const ENTRIES: u64 = 512;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PageSize {
    Size4K,
    Size2M,
}

impl PageSize {
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => FRAME_SIZE,
            PageSize::Size2M => LARGE_PAGE_SIZE,
        }
    }
}

/// Access attributes of a leaf mapping.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Attrs {
    pub user: bool,
    pub writable: bool,
    pub executable: bool,
    pub global: bool,
    /// Protection key (0..15, PTE bits 59..62; used when CR4.PKE is on).
    pub pkey: u8,
}

/// A leaf page-table entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pte(pub u64);

impl Pte {
    pub fn new(pa: u64, size: PageSize, a: Attrs) -> Pte {
        let mut v = (pa & ADDR_MASK) | PTFlags::P.bits();
        if a.writable {
            v |= PTFlags::RW.bits();
        }
        if a.user {
            v |= PTFlags::US.bits();
        }
        if !a.executable {
            v |= PTFlags::XD.bits();
        }
        if a.global {
            v |= PTFlags::G.bits();
        }
        if size == PageSize::Size2M {
            v |= PDFlags::PS.bits();
        }
        v |= ((a.pkey & 0xf) as u64) << PKEY_SHIFT;
        Pte(v)
    }
    pub fn present(self) -> bool {
        self.0 & PTFlags::P.bits() != 0
    }
    pub fn addr(self) -> u64 {
        self.0 & ADDR_MASK
    }
    pub fn attrs(self) -> Attrs {
        Attrs {
            user: self.0 & PTFlags::US.bits() != 0,
            writable: self.0 & PTFlags::RW.bits() != 0,
            executable: self.0 & PTFlags::XD.bits() == 0,
            global: self.0 & PTFlags::G.bits() != 0,
            pkey: (self.0 >> PKEY_SHIFT & 0xf) as u8,
        }
    }
    pub fn accessed(self) -> bool {
        self.0 & PTFlags::A.bits() != 0
    }
    pub fn dirty(self) -> bool {
        self.0 & PTFlags::D.bits() != 0
    }
}

/// Where a virtual address is mapped: the leaf entry, its physical location
/// (so it can be rewritten) and the page size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Leaf {
    pub pte: Pte,
    pub entry_pa: u64,
    pub size: PageSize,
}

impl Leaf {
    /// Physical address of `va` under this leaf.
    pub fn phys_of(&self, va: u64) -> u64 {
        self.pte.addr() + (va & (self.size.bytes() - 1))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapError {
    /// No frame for an intermediate table.
    NoMemory,
    /// A mapping of another size is in the way (e.g. a 2 MiB page where a 4 KiB
    /// page is to go).
    Conflict,
}

fn index(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * level)) & (ENTRIES - 1)
}

fn is_user(va: u64) -> bool {
    va < abi::USER_END
}

fn table_entry_flags(user: bool) -> u64 {
    let f = PML4Flags::P.bits() | PML4Flags::RW.bits();
    if user {
        f | PML4Flags::US.bits()
    } else {
        f
    }
}

/// Find the leaf mapping `va`, if any.
pub fn walk(mem: &impl PhysMem, root: u64, va: u64) -> Option<Leaf> {
    let mut table = root;
    for level in (1..=3).rev() {
        let entry_pa = table + index(va, level) * 8;
        let e = mem.read_u64(entry_pa);
        if e & PTFlags::P.bits() == 0 {
            return None;
        }
        if level == 1 && e & PDFlags::PS.bits() != 0 {
            return Some(Leaf { pte: Pte(e), entry_pa, size: PageSize::Size2M });
        }
        table = e & ADDR_MASK;
    }
    let entry_pa = table + index(va, 0) * 8;
    let e = mem.read_u64(entry_pa);
    (e & PTFlags::P.bits() != 0).then_some(Leaf { pte: Pte(e), entry_pa, size: PageSize::Size4K })
}

/// The physical address of the entry that maps `va` at `size`, creating the
/// intermediate tables on the way with `alloc`.
fn entry_for<M: PhysMem>(
    mem: &mut M,
    root: u64,
    va: u64,
    size: PageSize,
    alloc: &mut impl FnMut(&mut M) -> Option<u64>,
) -> Result<u64, MapError> {
    let stop = match size {
        PageSize::Size4K => 0,
        PageSize::Size2M => 1,
    };
    let mut table = root;
    for level in ((stop + 1)..=3).rev() {
        let entry_pa = table + index(va, level) * 8;
        let e = mem.read_u64(entry_pa);
        if e & PTFlags::P.bits() == 0 {
            let new = alloc(mem).ok_or(MapError::NoMemory)?;
            mem.write_u64(entry_pa, new | table_entry_flags(is_user(va)));
            table = new;
        } else if level == 1 && e & PDFlags::PS.bits() != 0 {
            return Err(MapError::Conflict);
        } else {
            table = e & ADDR_MASK;
        }
    }
    Ok(table + index(va, stop) * 8)
}

/// Map `va` to `pa` (both aligned to `size`). An existing mapping of the same
/// size is replaced; the old entry is returned.
pub fn map<M: PhysMem>(
    mem: &mut M,
    root: u64,
    va: u64,
    pa: u64,
    size: PageSize,
    attrs: Attrs,
    alloc: &mut impl FnMut(&mut M) -> Option<u64>,
) -> Result<Option<Pte>, MapError> {
    debug_assert_eq!(va % size.bytes(), 0);
    debug_assert_eq!(pa % size.bytes(), 0);
    let entry_pa = entry_for(mem, root, va, size, alloc)?;
    let old = Pte(mem.read_u64(entry_pa));
    if size == PageSize::Size2M && old.present() && old.0 & PDFlags::PS.bits() == 0 {
        return Err(MapError::Conflict); // a page table is in the way
    }
    mem.write_u64(entry_pa, Pte::new(pa, size, attrs).0);
    Ok(old.present().then_some(old))
}

/// Remove the leaf mapping `va`; returns what it was.
pub fn unmap(mem: &mut impl PhysMem, root: u64, va: u64) -> Option<Leaf> {
    let leaf = walk(mem, root, va)?;
    mem.write_u64(leaf.entry_pa, 0);
    Some(leaf)
}

/// Rewrite the attributes of the leaf mapping `va` (keeping its frame).
pub fn protect(mem: &mut impl PhysMem, root: u64, va: u64, attrs: Attrs) -> Option<Leaf> {
    let leaf = walk(mem, root, va)?;
    mem.write_u64(leaf.entry_pa, Pte::new(leaf.pte.addr(), leaf.size, attrs).0);
    Some(leaf)
}

/// Copy the kernel half (slots 256..511) of `from` into the PML4 `to`.
pub fn copy_kernel_half(mem: &mut impl PhysMem, from: u64, to: u64) {
    for slot in 256..ENTRIES {
        let e = mem.read_u64(from + slot * 8);
        mem.write_u64(to + slot * 8, e);
    }
}

/// Give the PML4 `to` the window of `from` (slot 255): under `tlb=small`
/// every page table shares one window PDPT, so small spaces are present in
/// all of them.
pub fn share_window(mem: &mut impl PhysMem, from: u64, to: u64) {
    let e = mem.read_u64(from + WINDOW_PML4_SLOT * 8);
    mem.write_u64(to + WINDOW_PML4_SLOT * 8, e);
}

/// Point `root`'s window slot at the PDPT `pdpt`.
pub fn install_window(mem: &mut impl PhysMem, root: u64, pdpt: u64) {
    mem.write_u64(root + WINDOW_PML4_SLOT * 8, pdpt | table_entry_flags(true));
}

/// Entries `first..first+count` of `table` (a table of `level`, 3 = PML4,
/// 2 = PDPT) and everything below them: free the tables, clear the entries.
fn free_entries<M: PhysMem>(
    mem: &mut M,
    table: u64,
    level: u32,
    first: u64,
    count: u64,
    free: &mut impl FnMut(&mut M, u64),
) {
    for i in first..first + count {
        let e = mem.read_u64(table + i * 8);
        if e & PTFlags::P.bits() == 0 || (level == 1 && e & PDFlags::PS.bits() != 0) {
            continue;
        }
        let next = e & ADDR_MASK;
        if level > 1 {
            free_entries(mem, next, level - 1, 0, ENTRIES, free);
        }
        free(mem, next);
        mem.write_u64(table + i * 8, 0);
    }
}

/// Free every intermediate table of the user half of `root` (not the leaf
/// frames, which belong to whoever mapped them) and the PML4 itself. With
/// `shared_window`, slot 255 belongs to all spaces and is left alone.
pub fn free_user_tables<M: PhysMem>(mem: &mut M, root: u64, shared_window: bool, free: &mut impl FnMut(&mut M, u64)) {
    let slots = if shared_window { WINDOW_PML4_SLOT } else { 256 };
    free_entries(mem, root, 3, 0, slots, free);
    free(mem, root);
}

/// Free the tables of one window slot (`abi::window::SLOT_SIZE` bytes =
/// 64 entries of the shared window PDPT `pdpt`): a small space ended.
pub fn free_window_slot<M: PhysMem>(mem: &mut M, pdpt: u64, slot: u32, free: &mut impl FnMut(&mut M, u64)) {
    let per_slot = abi::window::SLOT_SIZE >> 30;
    free_entries(mem, pdpt, 2, slot as u64 * per_slot, per_slot, free);
}

/// Visit every present leaf in `[start, end)` of the user half.
pub fn for_each_leaf(mem: &impl PhysMem, root: u64, start: u64, end: u64, f: &mut impl FnMut(u64, Leaf)) {
    fn visit(
        mem: &impl PhysMem,
        table: u64,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
        f: &mut impl FnMut(u64, Leaf),
    ) {
        let span = 1u64 << (12 + 9 * level);
        for i in 0..ENTRIES {
            let va = base + i * span;
            if va >= end || va.wrapping_add(span) <= start {
                continue;
            }
            let entry_pa = table + i * 8;
            let e = mem.read_u64(entry_pa);
            if e & PTFlags::P.bits() == 0 {
                continue;
            }
            if level == 0 {
                f(va, Leaf { pte: Pte(e), entry_pa, size: PageSize::Size4K });
            } else if level == 1 && e & PDFlags::PS.bits() != 0 {
                f(va, Leaf { pte: Pte(e), entry_pa, size: PageSize::Size2M });
            } else {
                visit(mem, e & ADDR_MASK, level - 1, va, start, end, f);
            }
        }
    }
    visit(mem, root, 3, 0, start, end.min(abi::USER_END), f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_alloc::FrameAllocator;
    use crate::phys::emulated::EmulatedMem;

    struct Env {
        mem: EmulatedMem,
        frames: FrameAllocator,
        root: u64,
    }

    fn env() -> Env {
        let mut mem = EmulatedMem::default();
        mem.add_range(0x100000, 0x200000);
        let mut frames = FrameAllocator::new();
        frames.add_range(0x100000, 0x200000);
        let root = frames.alloc(&mut mem).unwrap();
        Env { mem, frames, root }
    }

    impl Env {
        fn map(&mut self, va: u64, pa: u64, size: PageSize, a: Attrs) -> Result<Option<Pte>, MapError> {
            let frames = &mut self.frames;
            map(&mut self.mem, self.root, va, pa, size, a, &mut |m| frames.alloc(m))
        }
    }

    const RW_USER: Attrs = Attrs { user: true, writable: true, executable: false, global: false, pkey: 0 };

    #[test]
    fn map_translate_unmap_4k() {
        let mut e = env();
        let va = 0x0000_7000_1234_5000;
        assert_eq!(e.map(va, 0xabc000, PageSize::Size4K, RW_USER), Ok(None));
        let leaf = walk(&e.mem, e.root, va + 0x123).unwrap();
        assert_eq!(leaf.size, PageSize::Size4K);
        assert_eq!(leaf.phys_of(va + 0x123), 0xabc123);
        assert_eq!(leaf.pte.attrs(), RW_USER);
        // neighbours are unmapped
        assert!(walk(&e.mem, e.root, va + 0x1000).is_none());
        assert!(walk(&e.mem, e.root, va - 0x1000).is_none());
        assert_eq!(unmap(&mut e.mem, e.root, va).unwrap().pte.addr(), 0xabc000);
        assert!(walk(&e.mem, e.root, va).is_none());
        // 3 intermediate tables + root were allocated
        assert_eq!(e.frames.free_frames(), 256 - 4);
    }

    #[test]
    fn intermediate_tables_are_user_accessible_only_in_user_half() {
        let mut e = env();
        e.map(0x400000, 0x5000, PageSize::Size4K, RW_USER).unwrap();
        let pml4e = e.mem.read_u64(e.root);
        assert_ne!(pml4e & PML4Flags::US.bits(), 0);
        let kva = 0xffff_8000_0000_0000;
        e.map(kva, 0x6000, PageSize::Size4K, Attrs { writable: true, ..Attrs::default() }).unwrap();
        let pml4e = e.mem.read_u64(e.root + 256 * 8);
        assert_eq!(pml4e & PML4Flags::US.bits(), 0);
    }

    #[test]
    fn large_pages_and_conflicts() {
        let mut e = env();
        e.map(0x4000_0000, 0x20_0000, PageSize::Size2M, RW_USER).unwrap();
        let leaf = walk(&e.mem, e.root, 0x4000_0000 + 0x1234).unwrap();
        assert_eq!(leaf.size, PageSize::Size2M);
        assert_eq!(leaf.phys_of(0x4000_1234), 0x20_1234);
        assert_eq!(e.map(0x4000_1000, 0x9000, PageSize::Size4K, RW_USER), Err(MapError::Conflict));
        e.map(0x4020_0000, 0x9000, PageSize::Size4K, RW_USER).unwrap();
        assert_eq!(e.map(0x4020_0000, 0x40_0000, PageSize::Size2M, RW_USER), Err(MapError::Conflict));
    }

    #[test]
    fn protect_and_attrs() {
        let mut e = env();
        let a = Attrs { user: true, writable: true, executable: true, global: false, pkey: 3 };
        e.map(0x1000, 0x7000, PageSize::Size4K, a).unwrap();
        let ro = Attrs { writable: false, ..a };
        protect(&mut e.mem, e.root, 0x1000, ro).unwrap();
        let leaf = walk(&e.mem, e.root, 0x1000).unwrap();
        assert_eq!(leaf.pte.attrs(), ro);
        assert_eq!(leaf.pte.addr(), 0x7000);
    }

    #[test]
    fn runs_out_of_table_memory_cleanly() {
        let mut mem = EmulatedMem::default();
        mem.add_range(0x100000, 0x103000);
        let mut frames = FrameAllocator::new();
        frames.add_range(0x100000, 0x103000);
        let root = frames.alloc(&mut mem).unwrap();
        let r = map(&mut mem, root, 0x1000, 0x5000, PageSize::Size4K, RW_USER, &mut |m| frames.alloc(m));
        assert_eq!(r, Err(MapError::NoMemory));
    }

    #[test]
    fn free_user_tables_returns_every_table() {
        let mut e = env();
        for i in 0..40u64 {
            e.map(i * 0x20_0000 + 0x1000, 0x5000, PageSize::Size4K, RW_USER).unwrap();
        }
        e.map(0x7f00_0000_0000, 0x5000, PageSize::Size4K, RW_USER).unwrap();
        let before = e.frames.free_frames();
        let mut freed = 0;
        let frames = &mut e.frames;
        free_user_tables(&mut e.mem, e.root, false, &mut |m, pa| {
            frames.free(m, pa);
            freed += 1;
        });
        // root + (pdpt, pd, 40 pts) + (pdpt, pd, pt)
        assert_eq!(freed, 1 + 2 + 40 + 3);
        assert_eq!(e.frames.free_frames(), before + freed);
    }

    #[test]
    fn a_shared_window_is_seen_by_every_root_and_freed_per_slot() {
        let mut e = env();
        let window = e.frames.alloc(&mut e.mem).unwrap();
        install_window(&mut e.mem, e.root, window);
        let other = e.frames.alloc(&mut e.mem).unwrap();
        share_window(&mut e.mem, e.root, other);
        // A small space in slot 1 maps through its own root (sharing too).
        let small = e.frames.alloc(&mut e.mem).unwrap();
        share_window(&mut e.mem, e.root, small);
        let slot1 = abi::window::slot_base(1);
        let a = Attrs { pkey: abi::window::pkey_of_slot(1), ..RW_USER };
        let frames = &mut e.frames;
        map(&mut e.mem, small, slot1 + 0x1000, 0x9000, PageSize::Size4K, a, &mut |m| frames.alloc(m)).unwrap();
        map(&mut e.mem, small, abi::window::slot_base(2), 0xa000, PageSize::Size4K, a, &mut |m| frames.alloc(m))
            .unwrap();
        for root in [e.root, other, small] {
            let leaf = walk(&e.mem, root, slot1 + 0x1000).expect("visible through every root");
            assert_eq!(leaf.pte.attrs().pkey, 2);
            assert_eq!(leaf.phys_of(slot1 + 0x1234), 0x9234);
        }
        // A large space's tables end without touching the window.
        let before = e.frames.free_frames();
        let frames = &mut e.frames;
        free_user_tables(&mut e.mem, other, true, &mut |m, pa| frames.free(m, pa));
        assert_eq!(e.frames.free_frames(), before + 1, "just its PML4");
        assert!(walk(&e.mem, e.root, slot1 + 0x1000).is_some());
        // The small space in slot 1 ends: its PD and PT go, slot 2 stays.
        let before = e.frames.free_frames();
        let frames = &mut e.frames;
        free_window_slot(&mut e.mem, window, 1, &mut |m, pa| frames.free(m, pa));
        assert_eq!(e.frames.free_frames(), before + 2);
        assert!(walk(&e.mem, e.root, slot1 + 0x1000).is_none());
        assert!(walk(&e.mem, e.root, abi::window::slot_base(2)).is_some());
    }

    #[test]
    fn for_each_leaf_visits_range() {
        let mut e = env();
        for i in 0..10u64 {
            e.map(0x10000 + i * 0x1000, 0x5000 + i * 0x1000, PageSize::Size4K, RW_USER).unwrap();
        }
        let mut seen = Vec::new();
        for_each_leaf(&e.mem, e.root, 0x12000, 0x15000, &mut |va, l| seen.push((va, l.pte.addr())));
        assert_eq!(seen, vec![(0x12000, 0x7000), (0x13000, 0x8000), (0x14000, 0x9000)]);
    }
}
