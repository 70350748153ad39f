//! Reaching into a process's memory: the logical page table says which pool
//! frame backs a page; pages never touched yet are created on the spot if
//! the process's areas allow the access, exactly as a page fault would. A
//! bad address is `EFAULT`; a partial copy reports how far it got, which is
//! what Linux's read/write do with a buffer whose tail is unmapped.

use crate::process::Pid;
use crate::server::Server;
use alloc::vec;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::mm::pages::{Frame, Pte};
use linux_server::mm::vma::Backing;
use linux_server::mm::{page_down, PAGE};

impl Server {
    /// The frame behind `page` of `pid` for a read (or write), created if an
    /// area allows that access and it does not exist yet.
    pub fn user_frame(&mut self, pid: Pid, page: u64, write: bool) -> SysResult<Frame> {
        let mm = self.mm(pid);
        let vma = *mm.vmas.find(page).ok_or(EFAULT)?;
        if (write && !vma.prot.write) || (!write && !(vma.prot.read || vma.prot.exec)) {
            return Err(EFAULT);
        }
        if let Some(pte) = mm.pt.get(page) {
            if write && !pte.writable {
                return self.break_cow(pid, page);
            }
            return Ok(pte.frame);
        }
        if self.past_file_end(&vma, page) {
            return Err(EFAULT);
        }
        // Frames shared by every process that maps the page.
        let shared = match vma.backing {
            Backing::File { ino, offset, .. } if vma.shared => {
                let index = (offset + (page - vma.start)) / PAGE;
                Some(self.cache_frame(ino, index)?)
            }
            Backing::Shm { id, offset } => Some(self.shm_frame(id, (offset + (page - vma.start)) / PAGE)?),
            Backing::Signal => {
                self.pool.get(self.signal_frame);
                Some(self.signal_frame)
            }
            _ => None,
        };
        if let Some(frame) = shared {
            let writable = !matches!(vma.backing, Backing::Signal);
            self.mm_mut(pid).pt.set(page, Pte { frame, writable });
            return Ok(frame);
        }
        // A private file page that is only read: the cached frame, read-only
        // (a write fault copies it: break_cow). Not the page where the file's
        // part of a segment ends (zeros follow there, not the file).
        if let Backing::File { ino, offset, data_end } = vma.backing {
            let whole = data_end == linux_server::mm::vma::FILE_END || data_end >= page + PAGE;
            if !write && whole && offset % PAGE == 0 {
                let frame = self.cache_frame(ino, (offset + (page - vma.start)) / PAGE)?;
                self.mm_mut(pid).pt.set(page, Pte { frame, writable: false });
                self.procs.get_mut(&pid).expect("live").usage.minflt += 1;
                return Ok(frame);
            }
        }
        let frame = self.alloc_user_frame()?;
        if let Backing::File { ino, offset, data_end } = vma.backing {
            self.cache_flush(ino);
            let file_off = offset + (page - vma.start);
            let n = if data_end == linux_server::mm::vma::FILE_END {
                PAGE as usize
            } else {
                data_end.saturating_sub(page).min(PAGE) as usize
            };
            if n > 0 {
                let buf = &mut self.pool.frame_mut(frame)[..n];
                // Past the end of the file the page stays zero (SIGBUS on
                // Linux for whole pages past EOF; zeros here).
                let _ = self.vfs.read_at(ino, file_off, buf);
            }
        }
        self.mm_mut(pid).pt.set(page, Pte { frame, writable: true });
        self.procs.get_mut(&pid).expect("live").usage.minflt += 1;
        Ok(frame)
    }

    /// Give `pid` its own copy of a page it shares copy-on-write.
    pub fn break_cow(&mut self, pid: Pid, page: u64) -> SysResult<Frame> {
        let old = self.mm(pid).pt.get(page).expect("present").frame;
        let frame = if self.pool.refs(old) == 1 {
            old // the last sharer keeps the frame
        } else {
            let new = self.alloc_user_frame()?;
            let data = *self.pool.frame(old);
            *self.pool.frame_mut(new) = data;
            self.pool.put(old);
            // The process still has the old frame mapped read-only: take it.
            self.revoke(pid, page, PAGE);
            new
        };
        self.mm_mut(pid).pt.set(page, Pte { frame, writable: true });
        Ok(frame)
    }

    /// Copy from user memory; `Err(n)` if only the first `n` bytes could be read.
    pub fn copy_in(&mut self, pid: Pid, va: u64, buf: &mut [u8]) -> Result<(), usize> {
        let mut done = 0;
        while done < buf.len() {
            let a = va.checked_add(done as u64).ok_or(done)?;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            let frame = self.user_frame(pid, page_down(a), false).map_err(|_| done)?;
            buf[done..done + n].copy_from_slice(&self.pool.frame(frame)[off..off + n]);
            done += n;
        }
        Ok(())
    }

    /// Copy to user memory; `Err(n)` if only the first `n` bytes could be written.
    pub fn copy_out(&mut self, pid: Pid, va: u64, data: &[u8]) -> Result<(), usize> {
        let mut done = 0;
        while done < data.len() {
            let a = va.checked_add(done as u64).ok_or(done)?;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            let frame = self.user_frame(pid, page_down(a), true).map_err(|_| done)?;
            self.wx_before_write(frame);
            self.pool.frame_mut(frame)[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    pub fn read_user(&mut self, pid: Pid, va: u64, len: usize) -> SysResult<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.copy_in(pid, va, &mut buf).map_err(|_| EFAULT)?;
        Ok(buf)
    }

    pub fn write_user(&mut self, pid: Pid, va: u64, data: &[u8]) -> SysResult<()> {
        self.copy_out(pid, va, data).map_err(|_| EFAULT)
    }

    pub fn read_u64(&mut self, pid: Pid, va: u64) -> SysResult<u64> {
        let mut b = [0u8; 8];
        self.copy_in(pid, va, &mut b).map_err(|_| EFAULT)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn read_u32(&mut self, pid: Pid, va: u64) -> SysResult<u32> {
        let mut b = [0u8; 4];
        self.copy_in(pid, va, &mut b).map_err(|_| EFAULT)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn write_u64(&mut self, pid: Pid, va: u64, v: u64) -> SysResult<()> {
        self.write_user(pid, va, &v.to_le_bytes())
    }

    pub fn write_u32(&mut self, pid: Pid, va: u64, v: u32) -> SysResult<()> {
        self.write_user(pid, va, &v.to_le_bytes())
    }

    /// A NUL-terminated string of at most `max` bytes (without the NUL):
    /// EFAULT if unreadable, `too_long` if no NUL within `max`.
    pub fn read_cstr(&mut self, pid: Pid, va: u64, max: usize, too_long: Errno) -> SysResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut a = va;
        loop {
            let off = (a % PAGE) as usize;
            let frame = self.user_frame(pid, page_down(a), false)?;
            let page = self.pool.frame(frame);
            match page[off..].iter().position(|&b| b == 0) {
                Some(n) => {
                    out.extend_from_slice(&page[off..off + n]);
                    if out.len() > max {
                        return Err(too_long);
                    }
                    return Ok(out);
                }
                None => {
                    out.extend_from_slice(&page[off..]);
                    if out.len() > max {
                        return Err(too_long);
                    }
                }
            }
            a = a.checked_add((PAGE as usize - off) as u64).ok_or(EFAULT)?;
        }
    }

    /// A path argument (PATH_MAX 4096 including the NUL).
    pub fn read_path(&mut self, pid: Pid, va: u64) -> SysResult<Vec<u8>> {
        let p = self.read_cstr(pid, va, 4095, ENAMETOOLONG)?;
        if p.is_empty() {
            return Err(ENOENT);
        }
        Ok(p)
    }

    /// A NULL-terminated array of string pointers (argv, envp).
    pub fn read_str_array(&mut self, pid: Pid, va: u64) -> SysResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if va == 0 {
            return Ok(out);
        }
        let mut total = 0usize;
        for i in 0.. {
            let p = self.read_u64(pid, va + i * 8)?;
            if p == 0 {
                break;
            }
            let s = self.read_cstr(pid, p, 128 * 1024, E2BIG)?;
            total += s.len() + 1 + 8;
            if total > linux_server::exec::stack::ARG_MAX {
                return Err(E2BIG);
            }
            out.push(s);
        }
        Ok(out)
    }
}
