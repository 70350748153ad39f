//! W^X and the WRPKRU rule for Linux processes under small address spaces.
//!
//! Why: under `tlb=small` every Linux process runs in a page table that
//! also holds the small spaces — this server and the root pager — in the
//! shared window (microkernel/doc/syscalls.md, "Tagged TLB"). Protection
//! keys keep the process's *data* accesses out of the window, but a process
//! that executes WRPKRU gives itself every key. So, as in ERIM-style
//! designs, two rules hold for every page a Linux process can execute:
//!
//! - it contains no WRPKRU (`0f 01 ef`), also not straddling its edge with
//!   an executable neighbour ([`abi::window::contains_wrpkru`], the check
//!   the kernel applies to window pages too);
//! - it cannot change while it is executable: a mapping is writable or
//!   executable, never both. Per area, `mmap`/`mprotect` refuse
//!   `PROT_WRITE|PROT_EXEC` and ELF segments that ask for both
//!   ([`refused`]). Per frame, a frame several mappings share (a page-cache
//!   page, shared anonymous memory) is mapped writable somewhere or
//!   executable somewhere, never both at once ([`SharedFrames`]): mapping it
//!   one way first takes the other right from every mapping of it, and the
//!   server's own writes into a frame (write(2) into the page cache, a read
//!   into a shared mapping) first take execute rights away. A page that
//!   loses execute rights is checked again at its next execute fault.
//!
//! Under `tlb=plain` and `tlb=pcid` nothing here applies: the server has a
//! page table of its own, and Linux's usual RWX mappings are allowed.

use crate::mm::pages::Frame;
use crate::mm::vma::Prot;
use alloc::collections::BTreeSet;

pub use abi::window::contains_wrpkru;

/// Is `prot` refused under W^X (writable and executable at once)?
pub fn refused(prot: Prot) -> bool {
    prot.write && prot.exec
}

/// The first two bytes of a page (what an instruction straddling into it
/// from the page before reads).
pub fn head(page: &[u8]) -> [u8; 2] {
    [page[0], page[1]]
}

/// The last two bytes of a page.
pub fn tail(page: &[u8]) -> [u8; 2] {
    [page[page.len() - 2], page[page.len() - 1]]
}

/// What the server knows of how shared frames are mapped into processes:
/// frames it may have mapped writable, and frames it may have mapped
/// executable. Either set may hold frames no longer mapped that way (a
/// mapping went, or the frame was freed); that costs one needless revoke,
/// never a missed one.
#[derive(Default, Debug)]
pub struct SharedFrames {
    writable: BTreeSet<Frame>,
    executable: BTreeSet<Frame>,
}

impl SharedFrames {
    pub fn new() -> SharedFrames {
        SharedFrames::default()
    }

    /// `f` is about to be mapped executable. True if some mapping may have
    /// it writable: the caller takes write rights from every mapping of it
    /// first.
    #[must_use]
    pub fn mapping_executable(&mut self, f: Frame) -> bool {
        self.executable.insert(f);
        self.writable.remove(&f)
    }

    /// `f` is about to be mapped writable by a shared mapping. True if some
    /// mapping may have it executable: the caller takes execute rights from
    /// every mapping of it first.
    #[must_use]
    pub fn mapping_writable(&mut self, f: Frame) -> bool {
        self.writable.insert(f);
        self.executable.remove(&f)
    }

    /// The server is about to write into `f`. True if some mapping may have
    /// it executable (the caller revokes execute rights first).
    #[must_use]
    pub fn server_writes(&mut self, f: Frame) -> bool {
        self.executable.remove(&f)
    }

    /// `f` was just allocated: nobody maps it.
    pub fn fresh(&mut self, f: Frame) {
        self.writable.remove(&f);
        self.executable.remove(&f);
    }

    /// How many frames may be mapped writable and how many executable.
    pub fn counts(&self) -> (usize, usize) {
        (self.writable.len(), self.executable.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_and_executable_exclude_each_other() {
        let mut s = SharedFrames::new();
        assert!(!s.mapping_executable(7), "nobody had it writable");
        assert!(s.mapping_writable(7), "executable mappings must lose X first");
        assert!(!s.mapping_writable(7), "already writable only");
        assert!(s.mapping_executable(7), "writable mappings must lose W first");
        assert!(s.server_writes(7), "a server write takes X first");
        assert!(!s.server_writes(7), "once");
        assert!(!s.mapping_executable(8));
        s.fresh(8);
        assert!(!s.server_writes(8), "a fresh frame is mapped nowhere");
        assert_eq!(s.counts(), (0, 0), "nothing is left mapped either way");
    }

    #[test]
    fn only_writable_and_executable_together_is_refused() {
        let p = |read, write, exec| Prot { read, write, exec };
        assert!(refused(p(true, true, true)));
        assert!(refused(p(false, true, true)));
        assert!(!refused(p(true, true, false)));
        assert!(!refused(p(true, false, true)));
        assert!(!refused(Prot::NONE));
    }

    #[test]
    fn edges_feed_the_straddling_check() {
        let mut a = [0x90u8; 4096];
        let mut b = [0x90u8; 4096];
        a[4095] = 0x0f;
        b[0] = 0x01;
        b[1] = 0xef;
        assert!(!contains_wrpkru(None, &a, None) && !contains_wrpkru(None, &b, None));
        assert!(contains_wrpkru(None, &a, Some(head(&b))), "0f | 01 ef");
        assert!(contains_wrpkru(Some(tail(&a)), &b, None), "seen from either side");
    }
}
