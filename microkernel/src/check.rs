//! A self-check of the kernel's memory state: the mapping database against
//! itself and against every space's page tables. Tests call it; booted with
//! `kcheck` on its command line, the kernel runs it at every `COUNTERS`
//! call and panics if it fails — a mode for fuzzing: `fuzz_mem` reads the
//! counters after each operation, so a broken invariant stops the run at
//! the operation that broke it, not at a symptom later. (Slow: tens of
//! milliseconds per check under TCG with a few thousand mappings.)

use crate::kernel::{Kernel, Machine};
use crate::paging::{self, PageSize};
use abi::{KIP_ADDR, USER_END};

impl<M: Machine> Kernel<M> {
    /// Every mapping node has a user page-table entry for its frame with
    /// its write right, and (outside the shared window of `tlb=small`) every
    /// 4 KiB user entry other than the KIP and UTCBs has a mapping node.
    pub fn check_memory(&self) -> Result<(), &'static str> {
        self.mapdb.check_invariants()?;
        let mut err = None;
        self.mapdb.for_each_mapping(|space, va, frame, rights| {
            if err.is_some() {
                return;
            }
            let Some(sp) = self.spaces.get(space) else {
                err = Some("a mapping in a dead space");
                return;
            };
            err = match paging::walk(&self.mach, sp.root, va) {
                None => Some("a mapping without a page-table entry"),
                Some(l) if l.phys_of(va) != frame => Some("a page-table entry maps another frame than its mapping"),
                Some(l) if !l.pte.attrs().user => Some("a mapping's page-table entry is not user-accessible"),
                Some(l) if l.pte.attrs().writable != rights.writable() => {
                    Some("a page-table entry's write right differs from its mapping's")
                }
                Some(_) => None,
            };
        });
        if let Some(e) = err {
            return Err(e);
        }
        let small = self.small_mode();
        for slot in 0..crate::kernel::MAX_SPACES {
            let Some(sp) = self.spaces.get(slot) else { continue };
            paging::for_each_leaf(&self.mach, sp.root, 0, USER_END, &mut |va, leaf| {
                let in_window = va >= abi::WINDOW_BASE;
                if err.is_some()
                    || leaf.size != PageSize::Size4K
                    || va == KIP_ADDR
                    || sp.utcb_pages.contains(&va)
                    || (small && in_window)
                {
                    return;
                }
                if self.mapdb.lookup(slot, va).is_none() {
                    err = Some("a user page-table entry without a mapping");
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(())
    }
}
