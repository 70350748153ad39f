//! The descriptor table and per-descriptor controls: lseek, dup, dup2,
//! dup3, close, close_range, fcntl, ioctl.

use crate::files::{Fd, FileKind, FileRef};
use crate::process::{Pid, Tid, RLIMIT_NOFILE};
use crate::server::Server;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::*;
use linux_server::linux::termios::{FIOCLEX, FIONBIO, FIONCLEX, FIONREAD};

impl Server {
    pub(super) fn sys_lseek(&mut self, pid: Pid, fd: u64, off: u64, whence: u64) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        if !Self::seekable(&file) {
            return Err(ESPIPE);
        }
        let (cur, size) = {
            let f = file.borrow();
            let size = match (&f.kind, f.ino) {
                (FileKind::Snapshot(d), _) => d.len() as u64,
                (FileKind::Regular, Some(i)) => self.vfs.size(i)?,
                _ => 0,
            };
            (f.offset, size)
        };
        let off = off as i64;
        let new = match whence as u32 {
            SEEK_SET => off,
            SEEK_CUR => (cur as i64).checked_add(off).ok_or(EOVERFLOW)?,
            SEEK_END => (size as i64).checked_add(off).ok_or(EOVERFLOW)?,
            // No holes are tracked: all data, one hole at the end.
            SEEK_DATA if off >= 0 && (off as u64) < size => off,
            SEEK_HOLE if off >= 0 && (off as u64) < size => size as i64,
            SEEK_DATA | SEEK_HOLE => return Err(ENXIO),
            _ => return Err(EINVAL),
        };
        if new < 0 {
            return Err(EINVAL);
        }
        file.borrow_mut().offset = new as u64;
        Ok(new as u64)
    }

    fn nofile(&self, pid: Pid) -> usize {
        self.procs[&pid].rlimits[RLIMIT_NOFILE].cur.min(crate::files::MAX_FDS as u64) as usize
    }

    pub(super) fn sys_dup(&mut self, pid: Pid, fd: u64) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        let limit = self.nofile(pid);
        self.procs.get_mut(&pid).expect("live").fds.alloc_from(0, limit, Fd { file, cloexec: false })
    }

    pub(super) fn sys_dup2(&mut self, pid: Pid, old: u64, new: u64) -> SysResult<u64> {
        let file = self.fd_file(pid, old)?;
        if old == new {
            return Ok(new);
        }
        self.dup_to(pid, file, new, false)
    }

    fn dup_to(&mut self, pid: Pid, file: FileRef, new: u64, cloexec: bool) -> SysResult<u64> {
        if new as usize >= self.nofile(pid) {
            return Err(EBADF);
        }
        let old = self.procs.get_mut(&pid).expect("live").fds.set(new as usize, Fd { file, cloexec });
        if let Some(o) = old {
            self.drop_fd(o);
        }
        Ok(new)
    }

    pub(super) fn sys_dup3(&mut self, pid: Pid, old: u64, new: u64, flags: u64) -> SysResult<u64> {
        if flags & !(O_CLOEXEC as u64) != 0 || old == new {
            return Err(EINVAL);
        }
        let file = self.fd_file(pid, old)?;
        self.dup_to(pid, file, new, flags != 0)
    }

    pub(super) fn sys_close(&mut self, pid: Pid, fd: u64) -> SysResult<u64> {
        let f = self.procs.get_mut(&pid).expect("live").fds.take(fd)?;
        self.drop_fd(f);
        Ok(0)
    }

    pub(super) fn sys_close_range(&mut self, pid: Pid, first: u64, last: u64, flags: u64) -> SysResult<u64> {
        const CLOSE_RANGE_UNSHARE: u64 = 2;
        const CLOSE_RANGE_CLOEXEC: u64 = 4;
        if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
            return Err(EINVAL);
        }
        let numbers: Vec<usize> =
            self.procs[&pid].fds.numbers().filter(|&n| n as u64 >= first && n as u64 <= last).collect();
        for n in numbers {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Ok(f) = self.procs.get_mut(&pid).expect("live").fds.get_mut(n as u64) {
                    f.cloexec = true;
                }
            } else if let Ok(f) = self.procs.get_mut(&pid).expect("live").fds.take(n as u64) {
                self.drop_fd(f);
            }
        }
        Ok(0)
    }

    pub(super) fn sys_fcntl(&mut self, pid: Pid, fd: u64, cmd: u64, arg: u64) -> SysResult<u64> {
        let entry = self.procs[&pid].fds.get(fd)?.clone();
        match cmd as u32 {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let limit = self.nofile(pid);
                if arg as usize >= limit {
                    return Err(EINVAL);
                }
                let fd = Fd { file: entry.file, cloexec: cmd as u32 == F_DUPFD_CLOEXEC };
                self.procs.get_mut(&pid).expect("live").fds.alloc_from(arg as usize, limit, fd)
            }
            F_GETFD => Ok(entry.cloexec as u64),
            F_SETFD => {
                self.procs.get_mut(&pid).expect("live").fds.get_mut(fd)?.cloexec = arg & FD_CLOEXEC as u64 != 0;
                Ok(0)
            }
            F_GETFL => Ok((entry.file.borrow().flags | O_LARGEFILE) as u64),
            F_SETFL => {
                let changeable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | 0o20000 /* O_ASYNC */;
                let mut f = entry.file.borrow_mut();
                f.flags = (f.flags & !changeable) | (arg as u32 & changeable);
                Ok(0)
            }
            F_GETLK | F_OFD_GETLK => {
                // No other process holds locks: report the range unlocked.
                let mut l = self.read_user(pid, arg, 32)?;
                l[0..2].copy_from_slice(&(F_UNLCK as u16).to_le_bytes());
                self.write_user(pid, arg, &l)?;
                Ok(0)
            }
            F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => {
                self.read_user(pid, arg, 32)?;
                Ok(0)
            }
            F_GETOWN | F_SETOWN | F_GETSIG | F_SETSIG | F_NOTIFY | F_GETLEASE => Ok(0),
            F_GETPIPE_SZ | F_SETPIPE_SZ => {
                let FileKind::Pipe(p) = &entry.file.borrow().kind else { return Err(EBADF) };
                let mut p = p.borrow_mut();
                if cmd as u32 == F_GETPIPE_SZ {
                    Ok(p.buf.capacity() as u64)
                } else {
                    Ok(p.buf.set_capacity(arg as u32)? as u64)
                }
            }
            _ => Err(EINVAL),
        }
    }

    pub(super) fn sys_ioctl(&mut self, tid: Tid, pid: Pid, fd: u64, req: u64, arg: u64) -> SysResult<u64> {
        let entry = self.procs[&pid].fds.get(fd)?.clone();
        let req = req as u32 as u64;
        match req {
            FIOCLEX | FIONCLEX => {
                self.procs.get_mut(&pid).expect("live").fds.get_mut(fd)?.cloexec = req == FIOCLEX;
                return Ok(0);
            }
            FIONBIO => {
                let on = self.read_u32(pid, arg)? != 0;
                let mut f = entry.file.borrow_mut();
                f.flags = if on { f.flags | O_NONBLOCK } else { f.flags & !O_NONBLOCK };
                return Ok(0);
            }
            _ => {}
        }
        let kind = entry.file.borrow().kind.clone();
        if !matches!(kind, FileKind::Console) {
            if req == FIONREAD {
                let f = entry.file.borrow();
                let left = match (&f.kind, f.ino) {
                    (FileKind::Pipe(p), _) => p.borrow().buf.len() as u64,
                    (FileKind::Regular, Some(i)) => self.vfs.size(i)?.saturating_sub(f.offset),
                    (FileKind::Snapshot(d), _) => (d.len() as u64).saturating_sub(f.offset),
                    _ => return Err(ENOTTY),
                };
                drop(f);
                self.write_u32(pid, arg, left.min(i32::MAX as u64) as u32)?;
                return Ok(0);
            }
            return Err(ENOTTY);
        }
        match self.console_ioctl(tid, pid, req, arg)? {
            Some(v) => Ok(v),
            None => Err(ERESTARTSYS),
        }
    }
}
