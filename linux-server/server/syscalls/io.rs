//! Reading and writing through descriptors, and the descriptor table:
//! read, write, readv, writev, pread64, pwrite64, preadv, pwritev, sendfile,
//! lseek, dup*, fcntl, ioctl, close, close_range.

use crate::files::{Fd, FileKind, FileRef};
use crate::process::{Pid, Tid, Wait, RLIMIT_NOFILE};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use alloc::vec;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::*;
use linux_server::linux::sysno as nr;
use linux_server::linux::termios::*;
use linux_server::tty::ReadResult;

/// Most bytes one read or write moves (Linux's MAX_RW_COUNT).
const MAX_RW: u64 = 0x7fff_f000;
const IOV_MAX: u64 = 1024;

fn readable(flags: u32) -> bool {
    flags & O_ACCMODE != O_WRONLY && flags & O_PATH == 0
}

fn writable(flags: u32) -> bool {
    flags & O_ACCMODE != O_RDONLY && flags & O_PATH == 0
}

/// The result of moving `done` bytes when the user buffer ran out after
/// them: Linux reports what was done, or EFAULT if nothing was.
fn partial(done: usize) -> SysResult<u64> {
    if done == 0 {
        Err(EFAULT)
    } else {
        Ok(done as u64)
    }
}

impl Server {
    fn fd_file(&self, pid: Pid, fd: u64) -> SysResult<FileRef> {
        self.procs[&pid].fds.file(fd)
    }

    /// Bytes a read at `offset` of `file` would give now, up to `max`;
    /// `None` if the reader has to wait (the console).
    fn read_source(&mut self, file: &FileRef, offset: u64, max: usize) -> SysResult<Option<Vec<u8>>> {
        let (kind, ino, flags) = {
            let f = file.borrow();
            (f.kind.clone(), f.ino, f.flags)
        };
        if !readable(flags) {
            return Err(EBADF);
        }
        Ok(Some(match kind {
            FileKind::Regular => {
                let ino = ino.ok_or(EBADF)?;
                self.cache_flush(ino);
                let size = self.vfs.size(ino)?;
                let n = size.saturating_sub(offset).min(max as u64) as usize;
                let mut buf = vec![0u8; n];
                let got = self.vfs.read_at(ino, offset, &mut buf)?;
                buf.truncate(got);
                buf
            }
            FileKind::Directory => return Err(EISDIR),
            FileKind::Snapshot(data) => {
                let start = (offset as usize).min(data.len());
                data[start..(start + max).min(data.len())].to_vec()
            }
            FileKind::Null => Vec::new(),
            FileKind::Zero | FileKind::Full => vec![0u8; max.min(1 << 20)],
            FileKind::Random => {
                let mut b = vec![0u8; max.min(1 << 20)];
                self.fill_random(&mut b);
                b
            }
            FileKind::Console => match self.console.ldisc.read(max) {
                ReadResult::Data(d) => d,
                ReadResult::Eof => Vec::new(),
                ReadResult::Empty if self.console.ldisc.nonblocking_raw() => Vec::new(),
                ReadResult::Empty if flags & O_NONBLOCK != 0 => return Err(EAGAIN),
                ReadResult::Empty => return Ok(None),
            },
            FileKind::Path => return Err(EBADF),
        }))
    }

    /// Write `data` to `file` at `offset` (or its end with O_APPEND);
    /// returns bytes written and the offset after them.
    fn write_sink(&mut self, file: &FileRef, offset: u64, data: &[u8]) -> SysResult<(usize, u64)> {
        let (kind, ino, flags) = {
            let f = file.borrow();
            (f.kind.clone(), f.ino, f.flags)
        };
        if !writable(flags) {
            return Err(EBADF);
        }
        match kind {
            FileKind::Regular => {
                let ino = ino.ok_or(EBADF)?;
                let at = if flags & O_APPEND != 0 { self.vfs.size(ino)? } else { offset };
                let now = crate::files::timespec(self.clock.realtime_ns());
                self.cache_flush(ino);
                let n = self.vfs.write_at(ino, at, data, now)?;
                self.cache_refresh(ino, at, n as u64);
                Ok((n, at + n as u64))
            }
            FileKind::Console => {
                self.console.write(data);
                Ok((data.len(), offset))
            }
            FileKind::Null | FileKind::Zero | FileKind::Random => Ok((data.len(), offset)),
            FileKind::Full => Err(ENOSPC),
            FileKind::Directory => Err(EISDIR),
            FileKind::Snapshot(_) => Err(EIO),
            FileKind::Path => Err(EBADF),
        }
    }

    fn seekable(file: &FileRef) -> bool {
        !matches!(file.borrow().kind, FileKind::Console)
    }

    pub(super) fn sys_read(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (fd, buf, count) = (a[0], a[1], a[2].min(MAX_RW));
        let r = self.fd_file(pid, fd).and_then(|file| {
            let off = file.borrow().offset;
            match self.read_source(&file, off, count as usize)? {
                None => Ok(None),
                Some(data) => {
                    let done = match self.copy_out(pid, buf, &data) {
                        Ok(()) => data.len(),
                        Err(n) => n,
                    };
                    if done == 0 && !data.is_empty() {
                        return Err(EFAULT);
                    }
                    file.borrow_mut().offset = off + done as u64;
                    Ok(Some(done as u64))
                }
            }
        });
        match r {
            Ok(Some(n)) => Reply::Value(n),
            Ok(None) => {
                self.console.readers.push_back(tid);
                self.park(tid, nr::READ, a, regs, Wait::ConsoleRead)
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_write(&mut self, pid: Pid, fd: u64, buf: u64, count: u64) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        if !writable(file.borrow().flags) {
            return Err(EBADF);
        }
        let count = count.min(MAX_RW) as usize;
        let mut data = vec![0u8; count];
        let avail = match self.copy_in(pid, buf, &mut data) {
            Ok(()) => count,
            Err(0) if count > 0 => return Err(EFAULT),
            Err(n) => n,
        };
        let off = file.borrow().offset;
        let (n, end) = self.write_sink(&file, off, &data[..avail])?;
        file.borrow_mut().offset = end;
        Ok(n as u64)
    }

    /// The (base, len) pairs of an iovec array.
    fn read_iovecs(&mut self, pid: Pid, iov: u64, cnt: u64) -> SysResult<Vec<(u64, u64)>> {
        if cnt > IOV_MAX {
            return Err(EINVAL);
        }
        let raw = self.read_user(pid, iov, cnt as usize * 16)?;
        let mut total: u64 = 0;
        let mut v = Vec::with_capacity(cnt as usize);
        for i in 0..cnt as usize {
            let base = u64::from_le_bytes(raw[i * 16..i * 16 + 8].try_into().unwrap());
            let len = u64::from_le_bytes(raw[i * 16 + 8..i * 16 + 16].try_into().unwrap());
            if len as i64 <= -1 {
                return Err(EINVAL);
            }
            total = total.checked_add(len).filter(|&t| t <= i64::MAX as u64).ok_or(EINVAL)?;
            v.push((base, len));
        }
        Ok(v)
    }

    /// Read into the iovecs at `offset` (the file's own offset if `None`).
    fn readv_at(&mut self, pid: Pid, fd: u64, iov: &[(u64, u64)], at: Option<u64>) -> SysResult<Option<u64>> {
        let file = self.fd_file(pid, fd)?;
        let total: u64 = iov.iter().map(|v| v.1).sum::<u64>().min(MAX_RW);
        let off = at.unwrap_or(file.borrow().offset);
        let Some(data) = self.read_source(&file, off, total as usize)? else { return Ok(None) };
        let mut done = 0usize;
        for &(base, len) in iov {
            if done == data.len() {
                break;
            }
            let n = (len as usize).min(data.len() - done);
            match self.copy_out(pid, base, &data[done..done + n]) {
                Ok(()) => done += n,
                Err(k) => {
                    done += k;
                    if done == 0 {
                        return Err(EFAULT);
                    }
                    break;
                }
            }
        }
        if at.is_none() {
            file.borrow_mut().offset = off + done as u64;
        }
        Ok(Some(done as u64))
    }

    fn writev_at(&mut self, pid: Pid, fd: u64, iov: &[(u64, u64)], at: Option<u64>) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        if !writable(file.borrow().flags) {
            return Err(EBADF);
        }
        let mut data = Vec::new();
        for &(base, len) in iov {
            let len = (len as usize).min(MAX_RW as usize - data.len());
            let start = data.len();
            data.resize(start + len, 0);
            if let Err(k) = self.copy_in(pid, base, &mut data[start..]) {
                data.truncate(start + k);
                if data.is_empty() {
                    return Err(EFAULT);
                }
                break;
            }
        }
        let off = at.unwrap_or(file.borrow().offset);
        let (n, end) = self.write_sink(&file, off, &data)?;
        if at.is_none() {
            file.borrow_mut().offset = end;
        }
        Ok(n as u64)
    }

    pub(super) fn sys_readv(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let r = self.read_iovecs(pid, a[1], a[2]).and_then(|iov| self.readv_at(pid, a[0], &iov, None));
        match r {
            Ok(Some(n)) => Reply::Value(n),
            Ok(None) => {
                self.console.readers.push_back(tid);
                self.park(tid, nr::READV, a, regs, Wait::ConsoleRead)
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_writev(&mut self, pid: Pid, fd: u64, iov: u64, cnt: u64) -> SysResult<u64> {
        self.fd_file(pid, fd)?;
        let iov = self.read_iovecs(pid, iov, cnt)?;
        self.writev_at(pid, fd, &iov, None)
    }

    fn positional(&self, pid: Pid, fd: u64, off: u64) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        if !Self::seekable(&file) {
            return Err(ESPIPE);
        }
        if (off as i64) < 0 {
            return Err(EINVAL);
        }
        Ok(off)
    }

    pub(super) fn sys_pread64(&mut self, pid: Pid, fd: u64, buf: u64, count: u64, off: u64) -> SysResult<u64> {
        let off = self.positional(pid, fd, off)?;
        let file = self.fd_file(pid, fd)?;
        let data = self.read_source(&file, off, count.min(MAX_RW) as usize)?.unwrap_or_default();
        match self.copy_out(pid, buf, &data) {
            Ok(()) => Ok(data.len() as u64),
            Err(n) => partial(n),
        }
    }

    pub(super) fn sys_pwrite64(&mut self, pid: Pid, fd: u64, buf: u64, count: u64, off: u64) -> SysResult<u64> {
        let off = self.positional(pid, fd, off)?;
        self.writev_at(pid, fd, &[(buf, count)], Some(off))
    }

    pub(super) fn sys_preadv(&mut self, pid: Pid, fd: u64, iov: u64, cnt: u64, off: u64) -> SysResult<u64> {
        let off = self.positional(pid, fd, off)?;
        let iov = self.read_iovecs(pid, iov, cnt)?;
        Ok(self.readv_at(pid, fd, &iov, Some(off))?.unwrap_or(0))
    }

    pub(super) fn sys_pwritev(&mut self, pid: Pid, fd: u64, iov: u64, cnt: u64, off: u64) -> SysResult<u64> {
        let off = self.positional(pid, fd, off)?;
        let iov = self.read_iovecs(pid, iov, cnt)?;
        self.writev_at(pid, fd, &iov, Some(off))
    }

    pub(super) fn sys_sendfile(&mut self, pid: Pid, out: u64, inp: u64, offp: u64, count: u64) -> SysResult<u64> {
        let in_file = self.fd_file(pid, inp)?;
        let out_file = self.fd_file(pid, out)?;
        if !matches!(in_file.borrow().kind, FileKind::Regular | FileKind::Snapshot(_) | FileKind::Zero) {
            return Err(EINVAL);
        }
        let off = if offp != 0 { self.read_u64(pid, offp)? } else { in_file.borrow().offset };
        let data = self.read_source(&in_file, off, count.min(MAX_RW) as usize)?.unwrap_or_default();
        let o = out_file.borrow().offset;
        let (n, end) = self.write_sink(&out_file, o, &data)?;
        out_file.borrow_mut().offset = end;
        if offp != 0 {
            self.write_u64(pid, offp, off + n as u64)?;
        } else {
            in_file.borrow_mut().offset = off + n as u64;
        }
        Ok(n as u64)
    }

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
            F_GETPIPE_SZ | F_SETPIPE_SZ => Err(EBADF),
            _ => Err(EINVAL),
        }
    }

    pub(super) fn sys_ioctl(&mut self, pid: Pid, fd: u64, req: u64, arg: u64) -> SysResult<u64> {
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
        match req {
            TCGETS => {
                let t = self.console.ldisc.termios.to_bytes();
                self.write_user(pid, arg, &t)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let b = self.read_user(pid, arg, TERMIOS_BYTES)?;
                let t = Termios::from_bytes(b[..].try_into().unwrap());
                self.console.ldisc.set_termios(t, req == TCSETSF);
                Ok(0)
            }
            TIOCGWINSZ => {
                let w = self.console.ldisc.winsize.to_bytes();
                self.write_user(pid, arg, &w)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let b = self.read_user(pid, arg, 8)?;
                self.console.ldisc.winsize = Winsize::from_bytes(b[..].try_into().unwrap());
                Ok(0)
            }
            TIOCGPGRP => {
                let g = self.console.fg_pgrp as u32;
                self.write_u32(pid, arg, g)?;
                Ok(0)
            }
            TIOCSPGRP => {
                let g = self.read_u32(pid, arg)? as i32;
                if g <= 0 {
                    return Err(EINVAL);
                }
                self.console.fg_pgrp = g;
                Ok(0)
            }
            TIOCGSID => {
                let sid = self.procs[&pid].sid as u32;
                self.write_u32(pid, arg, sid)?;
                Ok(0)
            }
            FIONREAD => {
                let n = self.console.ldisc.available() as u32;
                self.write_u32(pid, arg, n)?;
                Ok(0)
            }
            TIOCSCTTY | TIOCNOTTY => Ok(0),
            _ => Err(ENOTTY),
        }
    }
}
