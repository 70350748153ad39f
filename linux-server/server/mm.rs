//! Memory of Linux processes: page faults (the server is every process's
//! pager), and brk, mmap, munmap, mprotect, mremap, madvise.
//!
//! The logical page table is the authority. A page fault is answered with a
//! map item of the pool frame backing the page, with the rights the area
//! allows; munmap and mprotect take pages or rights away again with an unmap
//! in the process's space. Nothing is mapped into a process before it
//! touches it.

use crate::pool::Pool;
use crate::process::{Mm, MmId, Pid};
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
    /// The address space process `pid` runs in.
    pub fn mm(&self, pid: Pid) -> &Mm {
        &self.mms[&self.procs[&pid].mm]
    }

    pub fn mm_mut(&mut self, pid: Pid) -> &mut Mm {
        let id = self.procs[&pid].mm;
        self.mms.get_mut(&id).expect("a process's mm exists")
    }

    /// A new, empty address space: a kernel space with its signal thread
    /// (see trampoline.rs), and the signal page as its only area.
    pub fn new_mm(&mut self) -> SysResult<MmId> {
        use abi::sysno::{config, exregs};
        let anchor = rt::sys::thread_create(abi::ThreadId::NIL, self.me, self.me, 0, crate::kthread::SIGNAL_PRIORITY)
            .map_err(|_| EAGAIN)?;
        let _ = rt::sys::thread_config(anchor, config::SEND_ONLY_TO_SPACE_OF, self.me.0);
        let id = self.next_mm;
        self.next_mm += 1;
        let mut mm = Mm { anchor, users: 1, ..Mm::default() };
        Self::add_signal_area(&mut mm);
        self.mms.insert(id, mm);
        self.signal_threads.insert(anchor.0, id);
        let _ =
            rt::sys::exregs(anchor, exregs::SET_IP | exregs::SET_SP | exregs::RESUME, crate::trampoline::ENTRY, 0, 0);
        Ok(id)
    }

    /// The signal page's area (read and execute; it can never be written).
    pub fn add_signal_area(mm: &mut Mm) {
        let rx = Prot { read: true, write: false, exec: true };
        mm.vmas.insert(Vma {
            start: crate::trampoline::SIGNAL_PAGE,
            end: crate::trampoline::SIGNAL_PAGE + PAGE,
            prot: rx,
            backing: Backing::Signal,
            shared: false,
            stack: false,
            max_prot: rx,
        });
    }

    /// A process stops using address space `id`; the last one takes it
    /// down: its pages, its kernel space (with the signal thread and any
    /// thread still in it).
    pub fn mm_put(&mut self, id: MmId) {
        let Some(mm) = self.mms.get_mut(&id) else { return };
        mm.users -= 1;
        if mm.users > 0 {
            return;
        }
        let anchor = mm.anchor;
        let _ = rt::sys::space_delete(anchor);
        self.signal_threads.remove(&anchor.0);
        self.clear_mm(id);
        self.mms.remove(&id);
    }

    /// Take `rights` of `[start, start+len)` away from the kernel's mappings
    /// of process `pid` (all of them: the pages are unmapped).
    pub fn revoke_rights(&mut self, pid: Pid, start: u64, len: u64, rights: Rights) {
        let Some(anchor) = self.procs.get(&pid).and_then(|p| self.mms.get(&p.mm)).map(|m| m.anchor) else { return };
        for f in fpages(start, start + len) {
            let _ = rt::sys::unmap_in(anchor, f, rights, true);
        }
    }

    pub fn revoke(&mut self, pid: Pid, start: u64, len: u64) {
        self.revoke_rights(pid, start, len, Rights::RWX);
    }

    /// A page fault of thread `tid` at `addr` (access r=4, w=2, x=1).
    pub fn page_fault(&mut self, tid: i32, addr: u64, access: u32, ip: u64) -> Reply {
        let pid = self.tasks[&tid].pid;
        let page = page_down(addr);
        let vma = self.mm(pid).vmas.find(addr).copied();
        let write = access & Rights::W.0 as u32 != 0;
        let exec = access & Rights::X.0 as u32 != 0;
        let allowed = match vma {
            None => false,
            Some(v) if write => v.prot.write,
            Some(v) if exec => v.prot.exec,
            Some(v) => v.prot.read || v.prot.exec,
        };
        if !allowed {
            use linux_server::signal::info::{SEGV_ACCERR, SEGV_MAPERR};
            let code = if vma.is_some() { SEGV_ACCERR } else { SEGV_MAPERR };
            let info = linux_server::signal::SigInfo::fault(linux_server::linux::signal::SIGSEGV, code, addr);
            // x86's page-fault error code: present, write, user, fetch.
            let err = (vma.is_some() as u64) | (write as u64) << 1 | 4 | (exec as u64) << 4;
            return self.fault_in_fault(tid, info, err, addr, "page fault");
        }
        let vma = vma.expect("allowed implies an area");
        if self.past_file_end(&vma, page) {
            use linux_server::signal::info::BUS_ADRERR;
            let info = linux_server::signal::SigInfo::fault(linux_server::linux::signal::SIGBUS, BUS_ADRERR, addr);
            return self.fault_in_fault(
                tid,
                info,
                4 | (write as u64) << 1,
                addr,
                "access beyond the end of a mapped file",
            );
        }
        let frame = match self.user_frame(pid, page, write) {
            Ok(f) => f,
            Err(_) => {
                if !self.quiet {
                    rt::println!("linux-server: out of memory for pid {pid}'s page {page:#x} (ip {ip:#x}); killing it");
                }
                self.exit_process(pid, linux_server::linux::signal::killed(linux_server::linux::signal::SIGKILL));
                return Reply::None;
            }
        };
        let writable = self.mm(pid).pt.get(page).is_some_and(|p| p.writable);
        let rights = self.wx_rights(pid, &vma, page, frame, rights_of(vma.prot, writable));
        if exec && !rights.contains(Rights::X) {
            use linux_server::signal::info::SEGV_ACCERR;
            let info = linux_server::signal::SigInfo::fault(linux_server::linux::signal::SIGSEGV, SEGV_ACCERR, addr);
            return self.fault_in_fault(
                tid,
                info,
                1 | 4 | 0x10,
                addr,
                "execute of a page holding WRPKRU (0f 01 ef), refused under tlb=small",
            );
        }
        self.note_shared_write(&vma, page);
        let mut m = Message::new(0);
        m.item(TypedItem::Map { fpage: Fpage::new(Pool::addr(frame), 12, rights), hotspot: page });
        self.fault_around(pid, &vma, page, &mut m);
        Reply::Msg(m)
    }

    /// A page of a shared, writable file mapping is being mapped: the
    /// process may write its cached frame, which must then be written back
    /// before the file is read (pagecache.rs).
    fn note_shared_write(&mut self, vma: &Vma, page: u64) {
        if let Backing::File { ino, offset, .. } = vma.backing {
            if vma.shared && vma.prot.write {
                self.cache_shared.insert((ino, (offset + (page - vma.start)) / PAGE));
            }
        }
    }

    /// Fault-around, as Linux does for file pages: the reply to a fault also
    /// maps the other pages of the aligned 16-page window around it that lie
    /// in the same area and are either in the logical page table already
    /// (e.g. a fork child's copy-on-write pages) or file-backed (read in
    /// now, like readahead). Anonymous pages not yet touched are left to
    /// their own faults, so untouched memory stays unallocated. Each page
    /// mapped here is one page-fault IPC — two address-space switches —
    /// saved; the kernel maps all items of one reply.
    fn fault_around(&mut self, pid: Pid, vma: &Vma, page: u64, m: &mut Message) {
        const WINDOW: u64 = 16 * PAGE;
        let start = (page & !(WINDOW - 1)).max(vma.start);
        let end = (page & !(WINDOW - 1)).saturating_add(WINDOW).min(vma.end);
        let file = matches!(vma.backing, Backing::File { .. } | Backing::Shm { .. });
        let mut p = start;
        while p < end {
            if p != page {
                let present = self.mm(pid).pt.get(p).map(|pte| (pte.frame, pte.writable));
                let got = match present {
                    Some(fw) => Some(fw),
                    None if file && !self.past_file_end(vma, p) => match self.user_frame(pid, p, false) {
                        Ok(f) => Some((f, self.mm(pid).pt.get(p).is_some_and(|pte| pte.writable))),
                        Err(_) => None, // out of memory: the page's own fault will say so
                    },
                    None => None,
                };
                if let Some((frame, writable)) = got {
                    let rights = self.wx_rights(pid, vma, p, frame, rights_of(vma.prot, writable));
                    self.note_shared_write(vma, p);
                    m.item(TypedItem::Map { fpage: Fpage::new(Pool::addr(frame), 12, rights), hotspot: p });
                }
            }
            p += PAGE;
        }
    }

    /// Whether `page` of an mmap'd file lies wholly past the file's end
    /// (touching it is SIGBUS).
    pub fn past_file_end(&self, vma: &Vma, page: u64) -> bool {
        match vma.backing {
            Backing::File { ino, offset, data_end: linux_server::mm::vma::FILE_END } => {
                let size = self.vfs.size(ino).unwrap_or(0);
                offset + (page - vma.start) >= page_up(size).unwrap_or(u64::MAX)
            }
            _ => false,
        }
    }

    /// A page fault becomes a signal: the thread's registers are fetched (a
    /// page-fault message carries none), the handler's frame is built, and
    /// the thread resumes at the handler.
    fn fault_in_fault(
        &mut self,
        tid: i32,
        info: linux_server::signal::SigInfo,
        err: u64,
        addr: u64,
        what: &str,
    ) -> Reply {
        let Some(kid) = self.tasks.get(&tid).map(|t| t.kid) else { return Reply::None };
        let Ok(regs) = crate::kthread::get_regs(kid) else { return Reply::None };
        match self.fault(tid, info, 14, err, addr, regs, what) {
            Reply::Regs(h) => {
                if crate::kthread::set_regs(kid, &h).is_err() {
                    return Reply::None;
                }
                // Resume with the registers just set (no mapping).
                Reply::Msg(Message::new(0))
            }
            r => r,
        }
    }

    /// Drop the pages of `[start, end)` of `pid`: frames back to the pool,
    /// kernel mappings revoked, shared file pages written back first.
    fn drop_pages(&mut self, pid: Pid, start: u64, end: u64) {
        let pages = self.mm_mut(pid).pt.take_range(start, end);
        if pages.is_empty() {
            return;
        }
        self.revoke(pid, start, end - start);
        for (_, pte) in pages {
            self.pool.put(pte.frame);
        }
    }

    /// Unmap `[start, end)` entirely (munmap, MAP_FIXED, exit).
    /// The signal page stays: a process cannot unmap or replace it (the
    /// signal thread runs its code; see trampoline.rs).
    pub fn unmap_range(&mut self, pid: Pid, start: u64, end: u64) {
        let sig = crate::trampoline::SIGNAL_PAGE;
        if start <= sig && sig < end {
            self.unmap_range(pid, start, sig);
            self.unmap_range(pid, sig + PAGE, end);
            return;
        }
        if start >= end {
            return;
        }
        let removed = self.mm_mut(pid).vmas.remove(start, end);
        self.drop_pages(pid, start, end);
        for v in removed.iter() {
            self.file_area_gone(v);
        }
        if removed.iter().any(|v| matches!(v.backing, Backing::Shm { .. })) {
            self.shm_collect();
        }
    }

    /// A file mapping goes. What a shared one may have written is folded
    /// back into the file; the cached pages stay (the next mapping, or the
    /// next run of a program, finds them there) unless the file is deleted.
    fn file_area_gone(&mut self, v: &Vma) {
        let Backing::File { ino, .. } = v.backing else { return };
        if v.shared {
            self.cache_flush(ino);
        }
        self.cache_trim_if_deleted(ino);
    }

    /// Empty address space `id`: its pages back to the pool (shared file
    /// pages written back first), its areas gone. The kernel's mappings are
    /// the caller's to revoke (or they go with the space).
    pub fn clear_mm(&mut self, id: MmId) {
        let Some(mm) = self.mms.get_mut(&id) else { return };
        let areas: alloc::vec::Vec<Vma> = mm.vmas.iter().copied().collect();
        let pages = mm.pt.take_range(0, TASK_END);
        mm.vmas = Default::default();
        mm.pt = Default::default();
        mm.brk_start = 0;
        mm.brk = 0;
        for (_, pte) in pages {
            self.pool.put(pte.frame);
        }
        for v in areas.iter() {
            self.file_area_gone(v);
        }
        self.shm_collect();
    }

    pub fn sys_brk(&mut self, pid: Pid, addr: u64) -> u64 {
        let mm = self.mm(pid);
        let (start, cur) = (mm.brk_start, mm.brk);
        if addr < start {
            return cur;
        }
        let (Some(old_top), Some(new_top)) = (page_up(cur), page_up(addr)) else { return cur };
        if new_top > old_top {
            if new_top > MMAP_BASE || !mm.vmas.is_free(old_top, new_top) {
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
            let mm = self.mm_mut(pid);
            mm.vmas.insert(heap);
            // Keep the heap one area so it can grow and shrink as one.
            let _ = mm.vmas.protect(start.min(old_top), new_top, Prot::RW);
        } else if new_top < old_top {
            self.unmap_range(pid, new_top, old_top);
        }
        self.mm_mut(pid).brk = addr;
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
        self.wx_allows(pid, Prot::from_linux(prot), format_args!("mmap({addr:#x}, {len:#x})"))?;
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
            if end > TASK_END || (addr <= crate::trampoline::SIGNAL_PAGE && crate::trampoline::SIGNAL_PAGE < end) {
                return Err(ENOMEM);
            }
            if flags & MAP_FIXED_NOREPLACE != 0 && !self.mm(pid).vmas.is_free(addr, end) {
                return Err(EEXIST);
            }
            self.unmap_range(pid, addr, end);
            addr
        } else {
            let vmas = &self.mm(pid).vmas;
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
        // File bytes end where the file ends (at the time of each fault).
        let backing = match file {
            Some(ino) => Backing::File { ino, offset: off, data_end: linux_server::mm::vma::FILE_END },
            // Shared anonymous memory (also of /dev/zero) is an object of its own.
            None if shared => {
                self.next_shm += 1;
                Backing::Shm { id: self.next_shm, offset: 0 }
            }
            None => Backing::Anon,
        };
        // A shared mapping of a file not opened for writing may never become writable.
        let max_prot = if shared && !may_write { Prot { write: false, ..Prot::ALL } } else { Prot::ALL };
        let vma =
            Vma { start, end: start + len, prot: Prot::from_linux(prot), backing, shared, stack: false, max_prot };
        self.mm_mut(pid).vmas.insert(vma);
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
        self.wx_allows_protect(pid, addr, end, new)?;
        // What rights some page of the range loses.
        let old: alloc::vec::Vec<Vma> =
            self.mm(pid).vmas.iter().filter(|v| v.end > addr && v.start < end).copied().collect();
        self.mm_mut(pid).vmas.protect(addr, end, new).map_err(|e| match e {
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
        let vma = *self.mm(pid).vmas.find(old).ok_or(EFAULT)?;
        if old + old_len > vma.end {
            return Err(EFAULT);
        }
        if vma.backing == Backing::Signal {
            return Err(EINVAL);
        }
        if flags & MREMAP_FIXED == 0 {
            if new_len <= old_len {
                self.unmap_range(pid, old + new_len, old + old_len);
                return Ok(old);
            }
            let grow_end = old.checked_add(new_len).ok_or(ENOMEM)?;
            let vmas = &self.mm(pid).vmas;
            if old + old_len == vma.end && grow_end <= MMAP_BASE && vmas.is_free(vma.end, grow_end) {
                let mut ext = vma;
                ext.start = vma.end;
                ext.end = grow_end;
                match vma.backing {
                    Backing::File { ino, offset, data_end } => {
                        ext.backing = Backing::File { ino, offset: offset + (vma.end - vma.start), data_end };
                    }
                    Backing::Shm { id, offset } => {
                        ext.backing = Backing::Shm { id, offset: offset + (vma.end - vma.start) };
                    }
                    _ => {}
                }
                let mm = self.mm_mut(pid);
                mm.vmas.insert(ext);
                let _ = mm.vmas.protect(vma.start, grow_end, vma.prot);
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
            let sig = crate::trampoline::SIGNAL_PAGE;
            if new_addr <= sig && sig < new_addr + new_len {
                return Err(ENOMEM);
            }
            self.unmap_range(pid, new_addr, new_addr + new_len);
            new_addr
        } else {
            self.mm(pid).vmas.find_free_topdown(new_len, MMAP_MIN, MMAP_BASE).ok_or(ENOMEM)?
        };
        let keep = old_len.min(new_len);
        self.revoke(pid, old, old_len);
        let mm = self.mm_mut(pid);
        let moved = mm.pt.take_range(old, old + keep);
        for (va, pte) in moved {
            mm.pt.set(dest + (va - old), pte);
        }
        let mut nv = vma;
        let shift = old - vma.start;
        nv.start = dest;
        nv.end = dest + new_len;
        match vma.backing {
            Backing::File { ino, offset, data_end } => {
                let data_end = if data_end == linux_server::mm::vma::FILE_END {
                    data_end
                } else {
                    dest + data_end.saturating_sub(old)
                };
                nv.backing = Backing::File { ino, offset: offset + shift, data_end };
            }
            Backing::Shm { id, offset } => nv.backing = Backing::Shm { id, offset: offset + shift },
            _ => {}
        }
        mm.vmas.remove(old, old + old_len);
        mm.vmas.insert(nv);
        self.drop_pages(pid, old, old + old_len);
        Ok(dest)
    }

    pub fn sys_madvise(&mut self, pid: Pid, addr: u64, len: u64, advice: u64) -> SysResult<u64> {
        if addr % PAGE != 0 {
            return Err(EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(EINVAL)?).ok_or(EINVAL)?;
        if !self.mm(pid).vmas.covered(addr, end) {
            return Err(ENOMEM);
        }
        match advice {
            MADV_DONTNEED | MADV_FREE => {
                // Private memory reads back as zeros (anonymous) or the file
                // again: dropping the pages does exactly that.
                let shared: alloc::vec::Vec<(u64, u64)> = self
                    .mm(pid)
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
