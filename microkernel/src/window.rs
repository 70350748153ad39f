//! Small address spaces under `tlb=small`: the window every page table
//! shares, its slots, and the rules that keep spaces apart inside it.
//!
//! The window is PML4 slot 255 (`abi::WINDOW_BASE`, 512 GiB, eight 64 GiB
//! slots). Under `tlb=small` one PDPT backs it in every PML4 — the kernel's
//! and every space's — so a small space's pages, mapped through its own
//! root, appear in all page tables at once, and running a small space needs
//! no CR3 load: whatever page table is loaded holds it. What keeps spaces
//! apart is the protection key of every leaf (its space's key; the KIP has
//! its own) and PKRU, which the exit path sets per space (`tlb::pkru_for`).
//! Keys do not stop instruction fetches, so the kernel adds two rules for
//! small spaces: a window page that is writable is never executable (W^X),
//! and no executable window page may contain the WRPKRU instruction
//! (`abi::window::contains_wrpkru`, checked when the page is mapped).
//!
//! Slot 7 holds the KIP; slots 0 and 1 the initial servers; privileged
//! servers may create small spaces in the others (`create::small_slot`).

use crate::kernel::{Kernel, Machine};
use crate::paging::{self, Attrs, PageSize};
use crate::phys::PhysMem;
use crate::space::Space;
use crate::tlb::TlbMode;
use abi::error::Error;
use abi::kip::Kip;
use abi::{Rights, KIP_ADDR, PAGE_SIZE};

/// The attributes of a user mapping with `rights` in `space`: its
/// protection key, and under `tlb=small` no execution of a writable window
/// page.
pub fn user_attrs(space: &Space, rights: Rights, small_mode: bool) -> Attrs {
    let w_xor_x = small_mode && space.small_slot.is_some() && rights.writable();
    Attrs {
        user: true,
        writable: rights.writable(),
        executable: rights.executable() && !w_xor_x,
        global: false,
        pkey: space.pkey,
    }
}

impl<M: Machine> Kernel<M> {
    pub fn small_mode(&self) -> bool {
        self.tlb == TlbMode::Small
    }

    /// Enter `mode`, at boot before any space exists. Under `tlb=small` the
    /// kernel's page table gets the window PDPT that every space will share,
    /// with the KIP in it (readable through its own key).
    pub fn set_tlb_mode(&mut self, mode: TlbMode) -> Result<(), Error> {
        assert_eq!(self.spaces.live(), 0, "the TLB mode is chosen before the first space");
        self.tlb = mode;
        if mode == TlbMode::Small {
            let w = self.frames.alloc(&mut self.mach).ok_or(Error::NoMemory)?;
            paging::install_window(&mut self.mach, self.kernel_root, w);
            self.window = w;
            let kip =
                Attrs { user: true, writable: false, executable: false, global: false, pkey: abi::window::KIP_PKEY };
            let frames = &mut self.frames;
            paging::map(&mut self.mach, self.kernel_root, KIP_ADDR, self.kip_frame, PageSize::Size4K, kip, &mut |m| {
                frames.alloc(m)
            })
            .map_err(|_| Error::NoMemory)?;
        }
        self.publish_tlb();
        Ok(())
    }

    /// Write the mode and the small slots into the KIP.
    fn publish_tlb(&mut self) {
        const OFF: usize = core::mem::offset_of!(Kip, tlb_mode);
        const _: () = assert!(OFF % 8 == 0 && core::mem::offset_of!(Kip, small_slots) == OFF + 4);
        let word = self.tlb as u64 | (self.small_slots as u64) << 32;
        self.mach.write_u64(self.kip_frame + OFF as u64, word);
    }

    /// Set up the page table of a new space: the window shared (small
    /// mode) or the KIP mapped into it; a small space claims its slot.
    pub(crate) fn init_space_tables(&mut self, space: &mut Space, small_slot: Option<u32>) -> Result<(), Error> {
        if !self.small_mode() {
            let kip = Attrs { user: true, writable: false, executable: false, global: false, pkey: 0 };
            let frames = &mut self.frames;
            paging::map(&mut self.mach, space.root, KIP_ADDR, self.kip_frame, PageSize::Size4K, kip, &mut |m| {
                crate::memory::alloc_table(frames, space, m)
            })
            .map_err(|_| Error::NoMemory)?;
            return Ok(());
        }
        paging::share_window(&mut self.mach, self.kernel_root, space.root);
        if let Some(n) = small_slot {
            if n >= abi::window::SLOTS - 1 || self.small_slots & 1 << n != 0 {
                return Err(Error::InvalidArgument);
            }
            self.small_slots |= 1 << n;
            space.small_slot = Some(n);
            space.pkey = abi::window::pkey_of_slot(n);
            self.publish_tlb();
        }
        Ok(())
    }

    /// A space's page tables go: its slot's tables if small, then its own
    /// (never the shared window).
    pub(crate) fn free_space_tables(&mut self, space: &mut Space) {
        let shared = self.small_mode();
        let frames = &mut self.frames;
        if let Some(n) = space.small_slot {
            let mut freed = 0;
            paging::free_window_slot(&mut self.mach, self.window, n, &mut |m, pa| {
                frames.free(m, pa);
                freed += 1;
            });
            space.uncharge(freed * PAGE_SIZE);
            self.small_slots &= !(1 << n);
        }
        paging::free_user_tables(&mut self.mach, space.root, shared, &mut |m, pa| frames.free(m, pa));
        if space.small_slot.is_some() {
            self.publish_tlb();
        }
    }
}

/// May `rights` at `va` be installed in `space` (with the frame at
/// `frame`)? Under `tlb=small` an executable page of a small space must not
/// contain WRPKRU, also across its edges with executable neighbours.
pub fn window_code_ok(
    mem: &impl PhysMem,
    small_mode: bool,
    space: &Space,
    va: u64,
    frame: u64,
    rights: Rights,
) -> bool {
    if !small_mode || space.small_slot.is_none() || !rights.executable() || rights.writable() {
        return true;
    }
    let mut page = [0u8; PAGE_SIZE as usize];
    mem.read_bytes(frame, &mut page);
    let edge = |at: u64| -> Option<[u8; 2]> {
        let leaf = paging::walk(mem, space.root, at)?;
        let a = leaf.pte.attrs();
        (a.user && a.executable).then(|| {
            let mut b = [0u8; 2];
            mem.read_bytes(leaf.phys_of(at), &mut b);
            b
        })
    };
    let before = va.checked_sub(2).filter(|&a| space.owns_address(a, true)).and_then(edge);
    let after = Some(va + PAGE_SIZE).filter(|&a| space.owns_address(a, true)).and_then(edge);
    !abi::window::contains_wrpkru(before, &page, after)
}
