//! Physical memory through the direct map, and the rest of what the kernel
//! logic asks of the machine (`microkernel::kernel::Machine`).

use crate::arch::{cpu, pic, serial};
use crate::layout::phys_to_virt;
use microkernel::kernel::Machine;
use microkernel::phys::PhysMem;
use microkernel::space::Space;
use microkernel::thread::{FpuArea, SpaceRef};
use microkernel::tlb::{PcidTable, TlbMode};

/// The machine as the kernel logic sees it, and what the exit path last
/// loaded into the CPU (so it only reloads what changes).
#[derive(Default)]
pub struct RealMachine {
    /// End of the physical memory the direct map covers.
    pub phys_end: u64,
    /// The space (and version of its bitmap) whose I/O bitmap is in the TSS;
    /// `None`: the all-denied bitmap.
    pub io_space: Option<(microkernel::thread::SpaceRef, u32)>,
    pub fs_base: u64,
    pub user_gs_base: u64,
    /// CR0.TS is clear (the running thread owns the FPU).
    pub fpu_enabled: bool,
    /// How spaces are tagged in the TLB, and what the CPU offers for it.
    pub tlb: TlbMode,
    pub invpcid: bool,
    /// The kernel's own PML4 (PCID 0): loaded when the loaded space ends.
    pub kernel_root: u64,
    /// The PML4 and PCID in CR3 now.
    pub loaded_root: u64,
    pub loaded_pcid: u16,
    /// PKRU now (`tlb=small`).
    pub pkru: u32,
    /// Who holds which PCID (`tlb=pcid`; created once the heap exists).
    pub pcids: Option<PcidTable>,
    /// CR3 loads made outside the exit path (a loaded space ended), for the
    /// counters.
    pub other_cr3_loads: u64,
}

impl RealMachine {
    fn check(&self, pa: u64, len: usize) {
        assert!(
            pa.checked_add(len as u64).is_some_and(|e| e <= self.phys_end),
            "physical access {pa:#x}+{len} outside RAM"
        );
    }
}

impl PhysMem for RealMachine {
    fn read_u64(&self, pa: u64) -> u64 {
        self.check(pa, 8);
        // SAFETY: `pa` is inside the direct map (checked) and 8-byte aligned
        // by every caller (page-table entries, UTCB words).
        unsafe { core::ptr::read_volatile(phys_to_virt(pa) as *const u64) }
    }
    fn write_u64(&mut self, pa: u64, value: u64) {
        self.check(pa, 8);
        // SAFETY: as for `read_u64`.
        unsafe { core::ptr::write_volatile(phys_to_virt(pa) as *mut u64, value) }
    }
    fn read_bytes(&self, pa: u64, buf: &mut [u8]) {
        self.check(pa, buf.len());
        // SAFETY: the range is inside the direct map (checked); `buf` is kernel memory.
        unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(pa) as *const u8, buf.as_mut_ptr(), buf.len()) }
    }
    fn write_bytes(&mut self, pa: u64, data: &[u8]) {
        self.check(pa, data.len());
        // SAFETY: as for `read_bytes`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), phys_to_virt(pa) as *mut u8, data.len()) }
    }
    fn copy(&mut self, dst: u64, src: u64, len: usize) {
        self.check(dst, len);
        self.check(src, len);
        // SAFETY: both ranges are inside the direct map (checked); callers copy
        // within single pages of different frames, so they do not overlap.
        unsafe { core::ptr::copy(phys_to_virt(src) as *const u8, phys_to_virt(dst) as *mut u8, len) }
    }
    fn zero(&mut self, pa: u64, len: usize) {
        self.check(pa, len);
        // SAFETY: the range is inside the direct map (checked).
        unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, len) }
    }
}

impl Machine for RealMachine {
    fn flush_page(&mut self, space: &mut Space, va: u64) {
        // Untagged, only the loaded space can hold stale entries: every
        // other space is flushed by the CR3 load that switches to it. A small
        // space's window is in every page table, so whatever is loaded may
        // cache it. With PCIDs, a space that is not loaded keeps its entries
        // under its tag: INVPCID reaches them, or its next load flushes.
        if self.loaded_root == space.root || (self.tlb == TlbMode::Small && space.small_slot.is_some()) {
            cpu::invlpg(va);
        } else if self.tlb == TlbMode::Pcid && space.pcid != 0 {
            if self.invpcid {
                cpu::invpcid_address(space.pcid, va);
            } else {
                space.tlb_stale = true;
            }
        }
    }
    fn space_ended(&mut self, sref: SpaceRef, space: &Space) {
        if self.loaded_root == space.root {
            // Its PML4 is about to be freed; a small space may run next,
            // which loads no CR3 of its own.
            cpu::set_cr3(self.kernel_root);
            self.loaded_root = self.kernel_root;
            self.loaded_pcid = 0;
            self.other_cr3_loads += 1;
        }
        if let Some(p) = self.pcids.as_mut() {
            p.release(sref, space.pcid);
        }
    }
    fn irq_mask(&mut self, irq: u32) {
        pic::mask(irq);
    }
    fn irq_unmask(&mut self, irq: u32) {
        pic::unmask(irq);
    }
    fn console_write(&mut self, bytes: &[u8]) {
        serial::write_bytes(bytes);
    }
    fn shutdown(&mut self, code: u8) {
        crate::shutdown(code);
    }
    fn kernel_memory_low(&self) -> bool {
        crate::heap::usage().1 < crate::heap::RESERVE
    }
    fn heap_used(&self) -> u64 {
        crate::heap::usage().0 as u64
    }
    fn fpu_save(&mut self, area: &mut FpuArea) {
        cpu::set_task_switched(false);
        cpu::fxsave(area);
        // The kernel logic drops the FPU owner after this: nobody owns it now.
        cpu::set_task_switched(true);
        self.fpu_enabled = false;
    }
}
