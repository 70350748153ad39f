//! Memory of Linux processes: page faults (the server is every process's
//! pager), and brk, mmap, munmap, mprotect, mremap, madvise.
//!
//! The logical page table is the authority. A page fault is answered with a
//! map item of the pool frame backing the page, with the rights the area
//! allows; munmap and mprotect take pages or rights away again with an unmap
//! in the process's space. Nothing is mapped into a process before it
//! touches it.

use crate::pool::Pool;
use crate::process::Pid;
use crate::server::{Reply, Server};
use abi::{Fpage, Rights, TypedItem};
use linux_server::exec::layout::{MMAP_BASE, MMAP_MIN, TASK_END};
use linux_server::linux::errno::*;
use linux_server::linux::mman::*;
use linux_server::mm::vma::{Backing, Prot, Vma};
use linux_server::mm::{page_down, page_up, PAGE};
use rt::ipc::Message;

fn rights_of(prot: Prot, writable: bool) -> Rights {
    let mut r = 0;
    if prot.read || prot.exec {
        r |= Rights::R.0;
    }
    if prot.write && writable {
        r |= Rights::W.0;
    }
    if prot.exec {
        r |= Rights::X.0;
    }
    Rights(r)
}

/// The flexpages that cover `[start, end)` exactly (largest aligned first).
fn fpages(mut start: u64, end: u64) -> impl Iterator<Item = Fpage> {
    core::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        let mut log2 = 12;
        while log2 < 47 && start % (1 << (log2 + 1)) == 0 && start + (1 << (log2 + 1)) <= end {
            log2 += 1;
        }
        let f = Fpage::new(start, log2, Rights::NONE);
        start += 1 << log2;
        Some(f)
    })
}

impl Server {
    /// Take `rights` of `[start, start+len)` away from the kernel's mappings
    /// of process `pid` (all of them: the pages are unmapped).
    pub fn revoke_rights(&mut self, pid: Pid, start: u64, len: u64, rights: Rights) {
        let Some(kid) =
            self.procs.get(&pid).and_then(|p| p.tasks.first()).and_then(|t| self.tasks.get(t)).map(|t| t.kid)
        else {
            return;
        };
        for f in fpages(start, start + len) {
            let _ = rt::sys::unmap_in(kid, f, rights, true);
        }
    }

    pub fn revoke(&mut self, pid: Pid, start: u64, len: u64) {
        self.revoke_rights(pid, start, len, Rights::RWX);
    }

    /// A page fault of thread `tid` at `addr` (access r=4, w=2, x=1).
    pub fn page_fault(&mut self, tid: i32, addr: u64, access: u32, ip: u64) -> Reply {
        let pid = self.tasks[&tid].pid;
        let page = page_down(addr);
        let vma = self.procs.get(&pid).and_then(|p| p.mm.vmas.find(addr).copied());
        let write = access & Rights::W.0 as u32 != 0;
        let exec = access & Rights::X.0 as u32 != 0;
        let allowed = match vma {
            None => false,
            Some(v) if write => v.prot.write,
            Some(v) if exec => v.prot.exec,
            Some(v) => v.prot.read || v.prot.exec,
        };
        if !allowed {
            return self.fault_signal(tid, linux_server::linux::signal::SIGSEGV, addr, ip, "page fault");
        }
        let vma = vma.expect("allowed implies an area");
        let frame = match self.user_frame(pid, page, write) {
            Ok(f) => f,
            Err(_) => {
                if !self.quiet {
                    rt::println!("linux-server: out of memory for pid {pid}'s page {page:#x}; killing it");
                }
                return self.fault_signal(tid, linux_server::linux::signal::SIGKILL, addr, ip, "out of memory");
            }
        };
        let writable = self.procs[&pid].mm.pt.get(page).is_some_and(|p| p.writable);
        let mut m = Message::new(0);
        m.item(TypedItem::Map {
            fpage: Fpage::new(Pool::addr(frame), 12, rights_of(vma.prot, writable)),
            hotspot: page,
        });
        Reply::Msg(m)
    }

    /// Drop the pages of `[start, end)` of `pid`: frames back to the pool,
    /// kernel mappings revoked, shared file pages written back first.
    fn drop_pages(&mut self, pid: Pid, start: u64, end: u64) {
        let pages = self.procs.get_mut(&pid).expect("live").mm.pt.take_range(start, end);
        if pages.is_empty() {
            return;
        }
        self.revoke(pid, start, end - start);
        for (_, pte) in pages {
            self.pool.put(pte.frame);
        }
    }

    /// Unmap `[start, end)` entirely (munmap, MAP_FIXED, exit).
    pub fn unmap_range(&mut self, pid: Pid, start: u64, end: u64) {
        let removed = self.procs.get_mut(&pid).expect("live").mm.vmas.remove(start, end);
        self.drop_pages(pid, start, end);
        for v in removed.iter().filter(|v| v.shared) {
            self.shared_area_gone(v);
        }
    }

    /// A shared file mapping goes: its pages' contents are folded back into
    /// the file, and cached pages nobody maps any more are dropped.
    fn shared_area_gone(&mut self, v: &Vma) {
        if let Backing::File { ino, .. } = v.backing {
            self.cache_flush(ino);
            self.cache_trim(ino);
        }
    }

    /// Free all memory of a process (it is exiting or exec'ing).
    pub fn release_mm(&mut self, pid: Pid) {
        let areas: alloc::vec::Vec<Vma> = self.procs[&pid].mm.vmas.iter().copied().collect();
        let p = self.procs.get_mut(&pid).expect("live");
        let pages = p.mm.pt.take_range(0, TASK_END);
        p.mm = Default::default();
        for (_, pte) in pages {
            self.pool.put(pte.frame);
        }
        for v in areas.iter().filter(|v| v.shared) {
            self.shared_area_gone(v);
        }
    }

    pub fn sys_brk(&mut self, pid: Pid, addr: u64) -> u64 {
        let p = &self.procs[&pid];
        let (start, cur) = (p.mm.brk_start, p.mm.brk);
        if addr < start {
            return cur;
        }
        let (Some(old_top), Some(new_top)) = (page_up(cur), page_up(addr)) else { return cur };
        if new_top > old_top {
            if new_top > MMAP_BASE || !p.mm.vmas.is_free(old_top, new_top) {
                return cur;
            }
            let heap = Vma {
                start: old_top,
                end: new_top,
                prot: Prot::RW,
                backing: Backing::Anon,
                shared: false,
                stack: false,
                max_prot: Prot::ALL,
            };
            let p = self.procs.get_mut(&pid).expect("live");
            p.mm.vmas.insert(heap);
            // Keep the heap one area so it can grow and shrink as one.
            let _ = p.mm.vmas.protect(start.min(old_top), new_top, Prot::RW);
        } else if new_top < old_top {
            self.unmap_range(pid, new_top, old_top);
        }
        self.procs.get_mut(&pid).expect("live").mm.brk = addr;
        addr
    }

    pub fn sys_mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: u64,
        off: u64,
    ) -> SysResult<u64> {
        if len == 0 || off % PAGE != 0 {
            return Err(EINVAL);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
            return Err(EINVAL);
        }
        let len = page_up(len).ok_or(ENOMEM)?;
        if len > TASK_END {
            return Err(ENOMEM);
        }
        let shared = match flags & MAP_TYPE {
            MAP_SHARED => true,
            // Only file mappings may ask for flag validation.
            MAP_SHARED_VALIDATE if flags & MAP_ANONYMOUS == 0 => true,
            MAP_PRIVATE => false,
            _ => return Err(EINVAL),
        };
        // The file behind the mapping (`None`: anonymous, or /dev/zero).
        let (file, may_write) = if flags & MAP_ANONYMOUS != 0 {
            (None, true)
        } else {
            self.mmap_file(pid, fd as i32, shared && prot & PROT_WRITE != 0)?
        };
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        let start = if fixed {
            if addr % PAGE != 0 {
                return Err(EINVAL);
            }
            let end = addr.checked_add(len).ok_or(ENOMEM)?;
            if addr < MMAP_MIN {
                return Err(EPERM);
            }
            if end > TASK_END {
                return Err(ENOMEM);
            }
            if flags & MAP_FIXED_NOREPLACE != 0 && !self.procs[&pid].mm.vmas.is_free(addr, end) {
                return Err(EEXIST);
            }
            self.unmap_range(pid, addr, end);
            addr
        } else {
            let vmas = &self.procs[&pid].mm.vmas;
            let hint = page_down(addr);
            if hint >= MMAP_MIN
                && hint.checked_add(len).is_some_and(|e| e <= MMAP_BASE)
                && vmas.is_free(hint, hint + len)
            {
                hint
            } else {
                vmas.find_free_topdown(len, MMAP_MIN, MMAP_BASE).ok_or(ENOMEM)?
            }
        };
        // File bytes end where the file ends; past it the pages read as zeros.
        let backing = match file {
            Some(ino) => {
                let size = self.vfs.size(ino).unwrap_or(0);
                Backing::File { ino, offset: off, data_end: start + size.saturating_sub(off) }
            }
            None => Backing::Anon,
        };
        // A shared mapping of a file not opened for writing may never become writable.
        let max_prot = if shared && !may_write { Prot { write: false, ..Prot::ALL } } else { Prot::ALL };
        let vma =
            Vma { start, end: start + len, prot: Prot::from_linux(prot), backing, shared, stack: false, max_prot };
        self.procs.get_mut(&pid).expect("live").mm.vmas.insert(vma);
        Ok(start)
    }

    pub fn sys_munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<u64> {
        if addr % PAGE != 0 || len == 0 {
            return Err(EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(EINVAL)?).ok_or(EINVAL)?;
        if end > TASK_END {
            return Err(EINVAL);
        }
        self.unmap_range(pid, addr, end);
        Ok(0)
    }

    pub fn sys_mprotect(&mut self, pid: Pid, addr: u64, len: u64, prot: u64) -> SysResult<u64> {
        if addr % PAGE != 0 {
            return Err(EINVAL);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
            return Err(EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        let end = page_up(addr.checked_add(len).ok_or(ENOMEM)?).ok_or(ENOMEM)?;
        let new = Prot::from_linux(prot);
        // What rights some page of the range loses.
        let old: alloc::vec::Vec<Vma> =
            self.procs[&pid].mm.vmas.iter().filter(|v| v.end > addr && v.start < end).copied().collect();
        self.procs.get_mut(&pid).expect("live").mm.vmas.protect(addr, end, new).map_err(|e| match e {
            linux_server::mm::vma::ProtectError::Unmapped => ENOMEM,
            linux_server::mm::vma::ProtectError::NotAllowed => EACCES,
        })?;
        let mut lost = 0u8;
        for v in old {
            lost |= rights_of(v.prot, true).minus(rights_of(new, true)).0;
        }
        if lost != 0 {
            self.revoke_rights(pid, addr, end - addr, Rights(lost));
        }
        Ok(0)
    }

    pub fn sys_mremap(
        &mut self,
        pid: Pid,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        if old % PAGE != 0 || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return Err(EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(EINVAL);
        }
        let old_len = page_up(old_len).ok_or(EINVAL)?;
        let new_len = page_up(new_len).ok_or(EINVAL)?;
        if new_len == 0 {
            return Err(EINVAL);
        }
        let vma = *self.procs[&pid].mm.vmas.find(old).ok_or(EFAULT)?;
        if old + old_len > vma.end {
            return Err(EFAULT);
        }
        if flags & MREMAP_FIXED == 0 {
            if new_len <= old_len {
                self.unmap_range(pid, old + new_len, old + old_len);
                return Ok(old);
            }
            let grow_end = old.checked_add(new_len).ok_or(ENOMEM)?;
            let vmas = &self.procs[&pid].mm.vmas;
            if old + old_len == vma.end && grow_end <= MMAP_BASE && vmas.is_free(vma.end, grow_end) {
                let mut ext = vma;
                ext.start = vma.end;
                ext.end = grow_end;
                if let Backing::File { ino, offset, data_end } = vma.backing {
                    ext.backing = Backing::File { ino, offset: offset + (vma.end - vma.start), data_end };
                }
                let p = self.procs.get_mut(&pid).expect("live");
                p.mm.vmas.insert(ext);
                let _ = p.mm.vmas.protect(vma.start, grow_end, vma.prot);
                return Ok(old);
            }
            if flags & MREMAP_MAYMOVE == 0 {
                return Err(ENOMEM);
            }
        }
        // Move: new place, same backing, pages carried over.
        let dest = if flags & MREMAP_FIXED != 0 {
            if new_addr % PAGE != 0 || new_addr < MMAP_MIN || new_addr.checked_add(new_len).is_none_or(|e| e > TASK_END)
            {
                return Err(EINVAL);
            }
            if new_addr < old + old_len && old < new_addr + new_len {
                return Err(EINVAL);
            }
            self.unmap_range(pid, new_addr, new_addr + new_len);
            new_addr
        } else {
            self.procs[&pid].mm.vmas.find_free_topdown(new_len, MMAP_MIN, MMAP_BASE).ok_or(ENOMEM)?
        };
        let keep = old_len.min(new_len);
        self.revoke(pid, old, old_len);
        let p = self.procs.get_mut(&pid).expect("live");
        let moved = p.mm.pt.take_range(old, old + keep);
        for (va, pte) in moved {
            p.mm.pt.set(dest + (va - old), pte);
        }
        let mut nv = vma;
        let shift = old - vma.start;
        nv.start = dest;
        nv.end = dest + new_len;
        if let Backing::File { ino, offset, data_end } = vma.backing {
            nv.backing = Backing::File { ino, offset: offset + shift, data_end: dest + data_end.saturating_sub(old) };
        }
        p.mm.vmas.remove(old, old + old_len);
        p.mm.vmas.insert(nv);
        self.drop_pages(pid, old, old + old_len);
        Ok(dest)
    }

    pub fn sys_madvise(&mut self, pid: Pid, addr: u64, len: u64, advice: u64) -> SysResult<u64> {
        if addr % PAGE != 0 {
            return Err(EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(EINVAL)?).ok_or(EINVAL)?;
        if !self.procs[&pid].mm.vmas.covered(addr, end) {
            return Err(ENOMEM);
        }
        match advice {
            MADV_DONTNEED | MADV_FREE => {
                // Private memory reads back as zeros (anonymous) or the file
                // again: dropping the pages does exactly that.
                let shared: alloc::vec::Vec<(u64, u64)> = self.procs[&pid]
                    .mm
                    .vmas
                    .iter()
                    .filter(|v| v.shared && v.end > addr && v.start < end)
                    .map(|v| (v.start.max(addr), v.end.min(end)))
                    .collect();
                let mut at = addr;
                for (s, e) in shared {
                    self.drop_pages(pid, at, s);
                    at = e;
                }
                self.drop_pages(pid, at, end);
                Ok(0)
            }
            MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED => Ok(0),
            10..=19 | 100..=101 => Ok(0), // DONTFORK, DOFORK, MERGEABLE, HUGEPAGE, ... : hints
            _ => Err(EINVAL),
        }
    }
}
