//! Memory operations: map/grant items, string copies between spaces, the
//! unmap syscall, page faults, and the root pager's idempotent mappings.
//!
//! The kernel touches user memory only by walking the page table of the
//! space concerned and going through physical memory, never by dereferencing
//! a user address. A bad address therefore shows up as a failed walk (an error
//! returned to the caller), never as a fault inside the kernel.

use crate::frame_alloc::FrameAllocator;
use crate::kernel::{Kernel, Machine};
use crate::mapdb::{MapFail, Mmu, Status, NODE_COST};
use crate::paging::{self, PageSize};
use crate::space::Space;
use crate::table::Table;
use crate::thread::{MsgKind, SpaceRef};
use crate::window::{user_attrs, window_code_ok};
use abi::counters::Counters;
use abi::error::Error;
use abi::utcb::offset;
use abi::{Fpage, Rights, ThreadId, PAGE_SIZE, USER_END};

/// Largest string item the kernel copies (it runs with interrupts off).
pub const MAX_STRING: u64 = 4 << 20;
/// Most pages one map item from the root pager may bring into existence.
pub const MAX_SIGMA0_ITEM_PAGES: u64 = 1 << 16;

/// The page tables as the mapping database sees them.
pub struct KernelMmu<'a, M: Machine> {
    pub mach: &'a mut M,
    pub frames: &'a mut FrameAllocator,
    pub spaces: &'a mut Table<Space>,
    pub counters: &'a mut Counters,
    /// `tlb=small`: the window belongs to the small spaces.
    pub small_mode: bool,
}

impl<M: Machine> KernelMmu<'_, M> {
    fn flush(&mut self, space: u32, va: u64) {
        let sp = self.spaces.get_mut(space).expect("flushing in a dead space");
        self.mach.flush_page(sp, va);
        self.counters.tlb_page_flushes += 1;
    }
}

fn leaf_status(leaf: &paging::Leaf) -> Status {
    Status { accessed: leaf.pte.accessed(), dirty: leaf.pte.dirty() }
}

/// Allocate a page-table frame charged to `space`.
pub(crate) fn alloc_table<M: Machine>(frames: &mut FrameAllocator, space: &mut Space, m: &mut M) -> Option<u64> {
    if !space.charge(PAGE_SIZE) {
        return None;
    }
    let f = frames.alloc(m);
    if f.is_none() {
        space.uncharge(PAGE_SIZE);
    }
    f
}

impl<M: Machine> Mmu for KernelMmu<'_, M> {
    fn install(&mut self, space: u32, va: u64, frame: u64, rights: Rights) -> Result<(), MapFail> {
        let small = self.small_mode;
        let sp = self.spaces.get_mut(space).expect("mapping into a dead space");
        if va >= USER_END || sp.is_reserved(va) || !sp.owns_address(va, small) {
            return Err(MapFail::Reserved);
        }
        if !window_code_ok(&*self.mach, small, sp, va, frame, rights) {
            log::warn!("refused to map {va:#x} executable into small space {space}: the page holds WRPKRU");
            return Err(MapFail::Reserved);
        }
        let root = sp.root;
        let attrs = user_attrs(sp, rights, small);
        let frames = &mut *self.frames;
        let old = paging::map(self.mach, root, va, frame, PageSize::Size4K, attrs, &mut |m| alloc_table(frames, sp, m))
            .map_err(|_| MapFail::NoMemory)?;
        if old.is_some() {
            self.flush(space, va);
        }
        Ok(())
    }

    fn remove(&mut self, space: u32, va: u64) -> Status {
        let root = self.spaces.get(space).expect("unmapping in a dead space").root;
        match paging::unmap(self.mach, root, va) {
            Some(leaf) => {
                self.flush(space, va);
                leaf_status(&leaf)
            }
            None => Status::default(),
        }
    }

    fn restrict(&mut self, space: u32, va: u64, rights: Rights) -> Status {
        let sp = self.spaces.get(space).expect("protecting in a dead space");
        let (root, mut attrs) = (sp.root, user_attrs(sp, rights, self.small_mode));
        // A small space's page that loses write access becomes executable
        // if it may execute (W^X held the right back): its contents, written
        // meanwhile, get the check a new executable mapping gets, and stay
        // data if they hold WRPKRU.
        if attrs.executable && self.small_mode && sp.small_slot.is_some() {
            let frame = paging::walk(self.mach, root, va).map(|l| l.phys_of(va & !(PAGE_SIZE - 1)));
            if frame.is_some_and(|f| !window_code_ok(&*self.mach, true, sp, va, f, rights)) {
                log::warn!("{va:#x} of small space {space} stays not executable: the page holds WRPKRU");
                attrs.executable = false;
            }
        }
        match paging::protect(self.mach, root, va, attrs) {
            Some(leaf) => {
                self.flush(space, va);
                leaf_status(&leaf)
            }
            None => Status::default(),
        }
    }

    fn charge_node(&mut self, space: u32, delta: i64) -> bool {
        let sp = self.spaces.get_mut(space).expect("charging a dead space");
        if delta > 0 {
            !self.mach.kernel_memory_low() && sp.charge(NODE_COST * delta as u64)
        } else {
            sp.uncharge(NODE_COST * delta.unsigned_abs());
            true
        }
    }
}

impl<M: Machine> Kernel<M> {
    pub fn mmu(&mut self) -> (&mut crate::mapdb::MappingDb, KernelMmu<'_, M>) {
        (
            &mut self.mapdb,
            KernelMmu {
                mach: &mut self.mach,
                frames: &mut self.frames,
                spaces: &mut self.spaces,
                counters: &mut self.counters,
                small_mode: self.tlb == crate::tlb::TlbMode::Small,
            },
        )
    }

    // ---- user memory ---------------------------------------------------

    /// The physical address behind user address `va` of `space`, if the page
    /// is mapped user-accessible (and writable, for `write`).
    pub fn user_pa(&self, space: SpaceRef, va: u64, write: bool) -> Option<u64> {
        let sp = self.space(space);
        if va >= USER_END || !sp.owns_address(va, self.small_mode()) {
            return None;
        }
        let leaf = paging::walk(&self.mach, sp.root, va)?;
        let a = leaf.pte.attrs();
        (a.user && (!write || a.writable)).then(|| leaf.phys_of(va))
    }

    pub fn copy_from_user(&self, space: SpaceRef, va: u64, buf: &mut [u8]) -> Result<(), ()> {
        let mut done = 0;
        while done < buf.len() {
            let a = va.checked_add(done as u64).ok_or(())?;
            let n = ((PAGE_SIZE - a % PAGE_SIZE) as usize).min(buf.len() - done);
            let pa = self.user_pa(space, a, false).ok_or(())?;
            self.mach.read_bytes(pa, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    pub fn copy_to_user(&mut self, space: SpaceRef, va: u64, data: &[u8]) -> Result<(), ()> {
        let mut done = 0;
        while done < data.len() {
            let a = va.checked_add(done as u64).ok_or(())?;
            let n = ((PAGE_SIZE - a % PAGE_SIZE) as usize).min(data.len() - done);
            let pa = self.user_pa(space, a, true).ok_or(())?;
            self.mach.write_bytes(pa, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Copy `len` bytes from one space to another, page by page.
    fn copy_user_to_user(
        &mut self,
        src: SpaceRef,
        src_va: u64,
        dst: SpaceRef,
        dst_va: u64,
        len: u64,
    ) -> Result<(), ()> {
        let mut done = 0;
        while done < len {
            let (s, d) = (src_va.checked_add(done).ok_or(())?, dst_va.checked_add(done).ok_or(())?);
            let n = (PAGE_SIZE - s % PAGE_SIZE).min(PAGE_SIZE - d % PAGE_SIZE).min(len - done);
            let spa = self.user_pa(src, s, false).ok_or(())?;
            let dpa = self.user_pa(dst, d, true).ok_or(())?;
            self.mach.copy(dpa, spa, n as usize);
            done += n;
        }
        Ok(())
    }

    pub(crate) fn utcb_word(&self, slot: u32, off: usize) -> Option<u64> {
        self.tcb(slot).utcb.map(|u| self.mach.read_u64(u.frame + off as u64))
    }

    // ---- typed items ---------------------------------------------------

    /// A map or grant item from `src` into `dst`'s receive window `acceptor`.
    /// Where the send flexpage and the window differ in size, the smaller one
    /// decides how much is mapped and `hotspot` decides where (L4 semantics).
    pub(crate) fn map_item(
        &mut self,
        src: u32,
        dst: u32,
        fpage: Fpage,
        hotspot: u64,
        acceptor: Fpage,
        grant: bool,
    ) -> Result<(), Error> {
        if !fpage.is_valid() {
            return Err(Error::MsgOverflow);
        }
        if acceptor.is_nil() || !acceptor.is_valid() {
            return Ok(()); // the receiver accepts no mappings
        }
        let (src_base, dst_base, size) = if fpage.size() <= acceptor.size() {
            let off = hotspot & (acceptor.size() - 1) & !(fpage.size() - 1);
            (fpage.base(), acceptor.base() + off, fpage.size())
        } else {
            let off = hotspot & (fpage.size() - 1) & !(acceptor.size() - 1);
            (fpage.base() + off, acceptor.base(), acceptor.size())
        };
        let (sspace, dspace) = (self.tcb(src).space, self.tcb(dst).space);
        if self.space(sspace).sigma0 {
            self.sigma0_populate(sspace, src_base, size)?;
        }
        let pages = self.mapdb.pages_in(sspace.slot, src_base, src_base + size);
        let (db, mut mmu) = self.mmu();
        for va in pages {
            let to = dst_base + (va - src_base);
            match db.map(&mut mmu, (sspace.slot, va), (dspace.slot, to), fpage.rights(), grant) {
                Ok(_) | Err(MapFail::Reserved) => {}
                Err(MapFail::NoMemory) => return Err(Error::NoMemory),
            }
        }
        Ok(())
    }

    /// A string item: copy `len` bytes at `addr` in `src` into `dst`'s buffer.
    pub(crate) fn string_item(&mut self, src: u32, dst: u32, addr: u64, len: u64) -> Result<(), Error> {
        let buf = self.utcb_word(dst, offset::STRING_BUF_ADDR).ok_or(Error::MsgOverflow)?;
        let buf_len = self.utcb_word(dst, offset::STRING_BUF_LEN).ok_or(Error::MsgOverflow)?;
        if len > buf_len || len > MAX_STRING {
            return Err(Error::MsgOverflow);
        }
        let (s, d) = (self.tcb(src).space, self.tcb(dst).space);
        self.copy_user_to_user(s, addr, d, buf, len).map_err(|_| Error::XferFault)?;
        let u = self.tcb(dst).utcb.expect("checked above");
        self.mach.write_u64(u.frame + offset::STRING_RECEIVED as u64, len);
        Ok(())
    }

    // ---- the root pager ------------------------------------------------

    /// The physical frame the root pager's address `va` stands for, if it may
    /// have it.
    fn sigma0_frame(&self, va: u64) -> Option<u64> {
        let pa = va.checked_sub(abi::window::PAGER_PHYS_BASE)? & !(PAGE_SIZE - 1);
        self.sigma0_ranges.iter().any(|&(s, e)| pa >= s && pa < e).then_some(pa)
    }

    /// Make sure the root pager's pages in `[base, base+size)` exist as
    /// master-space mappings (they are created on first use).
    fn sigma0_populate(&mut self, space: SpaceRef, base: u64, size: u64) -> Result<(), Error> {
        if size / PAGE_SIZE > MAX_SIGMA0_ITEM_PAGES {
            return Err(Error::MsgOverflow);
        }
        let mut va = base;
        while va < base + size {
            if self.mapdb.lookup(space.slot, va).is_none() {
                if let Some(pa) = self.sigma0_frame(va) {
                    let (db, mut mmu) = self.mmu();
                    db.insert_root(&mut mmu, space.slot, va, pa, Rights::RWX).map_err(|_| Error::NoMemory)?;
                }
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    // ---- faults --------------------------------------------------------

    /// A user page fault at `addr` (error code `err`) of the current thread.
    pub(crate) fn page_fault(&mut self, slot: u32, addr: u64, err: u64) {
        self.counters.page_faults += 1;
        let access = if err & 0x10 != 0 {
            Rights::X
        } else if err & 0x2 != 0 {
            Rights::W
        } else {
            Rights::R
        };
        let space = self.tcb(slot).space;
        if self.space(space).sigma0 {
            let page = addr & !(PAGE_SIZE - 1);
            if self.mapdb.lookup(space.slot, page).is_none() && self.sigma0_frame(page).is_some() {
                if self.sigma0_populate(space, page, PAGE_SIZE).is_ok() {
                    return; // resume: the access is retried
                }
            }
        }
        self.raise_exception(slot, MsgKind::PageFault { addr, access: access.bits() });
    }

    // ---- unmap ---------------------------------------------------------

    /// UNMAP: revoke rights of `fpage` (in the caller's space, or with `rdx`
    /// naming a thread, in that thread's space — privileged) from every space
    /// that got the pages from there, and optionally from there too.
    pub(crate) fn sys_unmap(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let fpage = Fpage(f.rdi);
        let target = ThreadId(f.rdx);
        let space = if target.is_nil() {
            Some(self.tcb(cur).space)
        } else if !self.space_of(cur).privileged {
            self.tcb_mut(cur).frame.rax = Error::NoPermission.code();
            return;
        } else {
            self.slot_of(target).map(|t| self.tcb(t).space)
        };
        let Some(space) = space else {
            self.tcb_mut(cur).frame.rax = Error::NotExist.code();
            return;
        };
        if !fpage.is_valid() {
            self.tcb_mut(cur).frame.rax = Error::InvalidArgument.code();
            return;
        }
        let revoke = Rights((f.rsi & abi::sysno::unmap::RIGHTS_MASK) as u8);
        let own = f.rsi & abi::sysno::unmap::OWN != 0;
        let mut st = Status::default();
        let pages = self.mapdb.pages_in(space.slot, fpage.base(), fpage.end());
        let (db, mut mmu) = self.mmu();
        for va in pages {
            st.merge(db.unmap(&mut mmu, space.slot, va, revoke, own));
        }
        let t = self.tcb_mut(cur);
        t.frame.rax = 0;
        t.frame.rdx =
            (st.accessed as u64) * abi::sysno::unmap::OUT_ACCESSED | (st.dirty as u64) * abi::sysno::unmap::OUT_DIRTY;
    }
}
