//! W^X and the WRPKRU rule (the *why* is in src/mm/wx.rs) applied to the
//! mappings of Linux processes when the kernel runs `tlb=small`: the checks
//! page faults, mmap, mprotect and execve make, the revocations that keep a
//! shared frame from being writable in one mapping and executable in
//! another, and the figures /proc/l4/tlb shows. Under the other modes every
//! function here lets everything through.

use crate::pool::Pool;
use crate::process::Pid;
use crate::server::Server;
use abi::{Fpage, Rights};
use linux_server::linux::errno::*;
use linux_server::mm::pages::Frame;
use linux_server::mm::vma::{Prot, Vma};
use linux_server::mm::wx::{self, contains_wrpkru};
use linux_server::mm::PAGE;

/// What the rules refused or revoked (/proc/l4/tlb).
#[derive(Default, Debug)]
pub struct WxStats {
    /// Page faults that found WRPKRU in a page to be mapped executable.
    pub wrpkru_pages: u64,
    /// mmap, mprotect and execve calls refused with EACCES.
    pub refused_calls: u64,
    /// Revocations of write or execute rights from a shared frame's mappings.
    pub revocations: u64,
}

impl Server {
    /// Is page `page` of `pid`, backed by `frame`, free of WRPKRU — also
    /// across its edges with the present neighbours `exec_at` calls
    /// executable? (A neighbour not present yet is checked against this
    /// page when it is mapped.)
    fn code_ok(&self, pid: Pid, page: u64, frame: Frame, exec_at: impl Fn(u64) -> bool) -> bool {
        let pt = &self.mm(pid).pt;
        let neighbour = |p: u64| exec_at(p).then(|| pt.get(p)).flatten().map(|pte| self.pool.frame(pte.frame));
        let before = page.checked_sub(PAGE).and_then(neighbour).map(|b| wx::tail(b));
        let after = page.checked_add(PAGE).and_then(neighbour).map(|a| wx::head(a));
        !contains_wrpkru(before, self.pool.frame(frame), after)
    }

    /// The rights to map page `page` of `pid` (area `vma`, frame `frame`)
    /// with, given the `rights` its area allows: without execute if the page
    /// holds WRPKRU, and with the frame's other mappings made to agree
    /// (a shared frame is never writable and executable at once).
    pub fn wx_rights(&mut self, pid: Pid, vma: &Vma, page: u64, frame: Frame, rights: Rights) -> Rights {
        if !self.small_tlb {
            return rights;
        }
        let mut rights = rights;
        if rights.contains(Rights::X) {
            let vmas = &self.mm(pid).vmas;
            if !self.code_ok(pid, page, frame, |p| vmas.find(p).is_some_and(|v| v.prot.exec)) {
                self.wx_stats.wrpkru_pages += 1;
                rights = rights.minus(Rights::X);
            } else if self.shared_frames.mapping_executable(frame) {
                self.revoke_frame(frame, Rights::W);
            }
        }
        if rights.contains(Rights::W) && vma.shared && self.shared_frames.mapping_writable(frame) {
            self.revoke_frame(frame, Rights::X);
        }
        rights
    }

    /// Take `rights` from every process's mapping of `frame` (the server's
    /// own mapping, which they all derive from, stays).
    fn revoke_frame(&mut self, frame: Frame, rights: Rights) {
        self.wx_stats.revocations += 1;
        let _ = rt::sys::unmap(Fpage::new(Pool::addr(frame), 12, Rights::NONE), rights, false);
    }

    /// The server is about to write into `frame` (a process's page, or a
    /// page-cache page): no process may execute it meanwhile.
    pub fn wx_before_write(&mut self, frame: Frame) {
        if self.small_tlb && self.shared_frames.server_writes(frame) {
            self.revoke_frame(frame, Rights::X);
        }
    }

    /// A frame was just allocated: nobody maps it.
    pub fn wx_fresh(&mut self, frame: Frame) {
        if self.small_tlb {
            self.shared_frames.fresh(frame);
        }
    }

    /// May `pid` get an area with protection `prot` (mmap, or an ELF
    /// segment)? EACCES for writable-and-executable under `tlb=small`.
    pub fn wx_allows(&mut self, pid: Pid, prot: Prot, what: core::fmt::Arguments) -> SysResult<()> {
        if self.small_tlb && wx::refused(prot) {
            self.wx_stats.refused_calls += 1;
            if !self.quiet {
                rt::println!("linux-server: pid {pid}: {what}: writable and executable; refused under tlb=small (W^X)");
            }
            return Err(EACCES);
        }
        Ok(())
    }

    /// May `[start, end)` of `pid` become `prot` (mprotect)? Besides W^X,
    /// the pages already present must not hold WRPKRU once executable.
    pub fn wx_allows_protect(&mut self, pid: Pid, start: u64, end: u64, prot: Prot) -> SysResult<()> {
        self.wx_allows(pid, prot, format_args!("mprotect({start:#x}..{end:#x})"))?;
        if !self.small_tlb || !prot.exec {
            return Ok(());
        }
        let mm = self.mm(pid);
        let exec_at = |p: u64| (start..end).contains(&p) || mm.vmas.find(p).is_some_and(|v| v.prot.exec);
        let bad = mm.pt.range(start, end).find(|&(page, pte)| !self.code_ok(pid, page, pte.frame, exec_at));
        if let Some((page, _)) = bad {
            self.wx_stats.refused_calls += 1;
            if !self.quiet {
                rt::println!(
                    "linux-server: pid {pid}: mprotect({start:#x}..{end:#x}) executable: page {page:#x} holds WRPKRU \
                     (0f 01 ef); refused under tlb=small"
                );
            }
            return Err(EACCES);
        }
        Ok(())
    }

    /// /proc/l4/tlb: the kernel's TLB mode and, under `tlb=small`, what the
    /// rules for Linux processes did.
    pub fn tlb_report(&self, s: &mut alloc::string::String) {
        use core::fmt::Write;
        let kip = rt::kip::kip();
        let _ = writeln!(s, "mode {}", kip.tlb().name());
        let _ = write!(s, "small_slots");
        for n in (0..32).filter(|n| kip.small_slots & 1 << n != 0) {
            let _ = write!(s, " {n}");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "wx_enforced {}", self.small_tlb as u8);
        let _ = writeln!(s, "wrpkru_pages {}", self.wx_stats.wrpkru_pages);
        let _ = writeln!(s, "refused_calls {}", self.wx_stats.refused_calls);
        let _ = writeln!(s, "revocations {}", self.wx_stats.revocations);
        let (w, x) = self.shared_frames.counts();
        let _ = writeln!(s, "shared_frames_writable {w}");
        let _ = writeln!(s, "frames_executable {x}");
    }
}
