//! Moving bytes through descriptors: read, write, readv, writev, pread64,
//! pwrite64, preadv, pwritev, sendfile.
//!
//! A read takes what the file gives now and copies it out; a console or
//! pipe with nothing to give parks the reader until it has. A write goes in
//! pieces of at most `CHUNK` bytes, so a huge write never needs a huge buffer
//! in the server; pipes have rules of their own (../pipe.rs). As on Linux, a
//! user buffer that goes bad part-way gives the count moved before it, and
//! EFAULT only if nothing was moved.

use crate::files::{FileKind, FileRef};
use crate::pipe::{Io, Source};
use crate::process::{Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use alloc::vec;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::*;
use linux_server::linux::signal::{SIGTTIN, SIGTTOU};
use linux_server::linux::sysno as nr;
use linux_server::linux::termios::TOSTOP;
use linux_server::tty::ReadResult;

/// Most bytes one read or write moves (Linux's MAX_RW_COUNT).
pub const MAX_RW: u64 = 0x7fff_f000;
const IOV_MAX: u64 = 1024;
/// The largest piece of a write the server copies at once.
const CHUNK: usize = 1 << 20;
/// Linux's TASK_SIZE_MAX: what `access_ok` checks buffers against.
const USER_LIMIT: u64 = 0x7fff_ffff_f000;

pub fn readable(flags: u32) -> bool {
    flags & O_ACCMODE != O_WRONLY && flags & O_PATH == 0
}

pub fn writable(flags: u32) -> bool {
    flags & O_ACCMODE != O_RDONLY && flags & O_PATH == 0
}

/// Linux's `access_ok`: the range lies below the top of user space (whether
/// it is mapped is found out while copying).
fn access_ok(addr: u64, len: u64) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= USER_LIMIT)
}

impl Server {
    pub(super) fn fd_file(&self, pid: Pid, fd: u64) -> SysResult<FileRef> {
        self.procs[&pid].fds.file(fd)
    }

    /// Bytes a read at `offset` of `file` would give now, up to `max`;
    /// `None` if the reader has to wait. Pipe bytes stay in the pipe until
    /// [`read_taken`](Self::read_taken).
    pub(super) fn read_source(&mut self, file: &FileRef, offset: u64, max: usize) -> SysResult<Option<Vec<u8>>> {
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
                // A big read takes as much of the server's heap for a moment;
                // when memory is short it becomes a short read of a chunk
                // (the heap refuses rather than run the root pager dry).
                let mut buf = Vec::new();
                let n = if buf.try_reserve_exact(n).is_ok() { n } else { n.min(CHUNK) };
                buf.resize(n, 0);
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
            FileKind::Zero | FileKind::Full => vec![0u8; max.min(CHUNK)],
            FileKind::Random => {
                let mut b = vec![0u8; max.min(CHUNK)];
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
            FileKind::Pipe(p) => return self.pipe_peek(&p, flags, max),
            FileKind::Path => return Err(EBADF),
        }))
    }

    /// A reader got `n` of the bytes `read_source` offered.
    fn read_taken(&mut self, file: &FileRef, n: usize) {
        let pipe = match &file.borrow().kind {
            FileKind::Pipe(p) => p.clone(),
            _ => return,
        };
        self.pipe_consume(&pipe, n);
    }

    /// Put `tid` on the wait list of the file it found nothing to read in.
    fn wait_readable(&mut self, tid: Tid, file: &FileRef) {
        let kind = file.borrow().kind.clone();
        match kind {
            FileKind::Console if !self.console.readers.contains(&tid) => self.console.readers.push_back(tid),
            FileKind::Pipe(p) => self.pipe_wait(&p, tid),
            _ => {}
        }
    }

    /// Write `data` to `file` at `offset` (or its end with O_APPEND);
    /// returns bytes written and the offset after them. (Not for pipes.)
    fn write_sink(&mut self, file: &FileRef, offset: u64, data: &[u8]) -> SysResult<(usize, u64)> {
        let (kind, ino, flags) = {
            let f = file.borrow();
            (f.kind.clone(), f.ino, f.flags)
        };
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
            FileKind::Pipe(_) | FileKind::Path => Err(EBADF),
        }
    }

    pub(super) fn seekable(file: &FileRef) -> bool {
        !matches!(file.borrow().kind, FileKind::Console | FileKind::Pipe(_))
    }

    /// Read from `file` into the user pieces `iov`, at `at` (the file's own
    /// offset if `None`); `None` if the reader has to wait.
    fn read_to(&mut self, pid: Pid, file: &FileRef, iov: &[(u64, u64)], at: Option<u64>) -> SysResult<Option<u64>> {
        let total: u64 = iov.iter().map(|v| v.1).sum::<u64>().min(MAX_RW);
        let off = at.unwrap_or(file.borrow().offset);
        let Some(data) = self.read_source(file, off, total as usize)? else { return Ok(None) };
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
                    // From a pipe, only the pages that arrived whole count.
                    if let FileKind::Pipe(p) = &file.borrow().kind {
                        done = p.borrow().buf.whole_pages_within(done);
                    }
                    break;
                }
            }
        }
        if done == 0 && !data.is_empty() {
            return Err(EFAULT);
        }
        self.read_taken(file, done);
        if at.is_none() {
            file.borrow_mut().offset = off + done as u64;
        }
        Ok(Some(done as u64))
    }

    /// Write `src` to `file` at `at` (the file's own offset if `None`).
    /// `done` bytes went in already (a pipe write resumed after a wait).
    #[allow(clippy::too_many_arguments)]
    fn write_from(
        &mut self,
        tid: Tid,
        pid: Pid,
        file: &FileRef,
        src: Source,
        at: Option<u64>,
        done: u64,
        partial_ok: bool,
    ) -> SysResult<Io> {
        let (flags, pipe) = {
            let f = file.borrow();
            let pipe = if let FileKind::Pipe(p) = &f.kind { Some(p.clone()) } else { None };
            (f.flags, pipe)
        };
        if !writable(flags) {
            return Err(EBADF);
        }
        if let Some(p) = pipe {
            let first_try = self.tasks.get(&tid).is_none_or(|t| t.retry_wait.is_none());
            return self.pipe_write(tid, pid, &p, flags, src, done, first_try, partial_ok);
        }
        let total = src.len().min(MAX_RW);
        let mut off = at.unwrap_or(file.borrow().offset);
        let mut pos = 0u64;
        let mut faulted = false;
        while pos < total {
            let want = ((total - pos) as usize).min(CHUNK);
            let data = self.gather(pid, src, pos, want);
            faulted = data.len() < want;
            if data.is_empty() {
                break;
            }
            match self.write_sink(file, off, &data) {
                Ok((n, end)) => {
                    pos += n as u64;
                    off = end;
                    if n < data.len() || faulted {
                        break;
                    }
                }
                Err(e) if pos == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if pos == 0 && faulted {
            return Err(EFAULT);
        }
        if at.is_none() {
            file.borrow_mut().offset = off;
        }
        Ok(Io::Done(pos))
    }

    /// The (base, len) pairs of an iovec array.
    fn read_iovecs(&mut self, pid: Pid, iov: u64, cnt: u64) -> SysResult<Vec<(u64, u64)>> {
        if cnt > IOV_MAX {
            return Err(EINVAL);
        }
        let raw = self.read_user(pid, iov, cnt as usize * 16)?;
        let mut v = Vec::with_capacity(cnt as usize);
        for i in 0..cnt as usize {
            let base = u64::from_le_bytes(raw[i * 16..i * 16 + 8].try_into().unwrap());
            let len = u64::from_le_bytes(raw[i * 16 + 8..i * 16 + 16].try_into().unwrap());
            if (len as i64) < 0 {
                return Err(EINVAL);
            }
            if !access_ok(base, len) {
                return Err(EFAULT);
            }
            v.push((base, len));
        }
        Ok(v)
    }

    /// How many bytes the syscall being run again had moved before it
    /// waited (0 for a fresh call).
    fn resumed(&self, tid: Tid) -> u64 {
        match self.tasks.get(&tid).and_then(|t| t.retry_wait) {
            Some(Wait::Io { done }) => done,
            _ => 0,
        }
    }

    /// Job control on the console (tty.rs): `None` if the call may go on.
    fn console_job_control(
        &mut self,
        tid: Tid,
        pid: Pid,
        file: &FileRef,
        sig: u32,
        call: &(u64, [u64; 6], UserRegs),
    ) -> Option<Reply> {
        if !matches!(file.borrow().kind, FileKind::Console) {
            return None;
        }
        match self.tty_check(tid, pid, sig) {
            crate::tty::TtyAccess::Allowed => None,
            crate::tty::TtyAccess::Restart => Some(self.restart_reply(tid, call.0, &call.2)),
            crate::tty::TtyAccess::Denied(e) => Some(Reply::Value(e.as_return())),
        }
    }

    /// A read or readv on `file`: done, or parked until the file has input.
    fn read_or_park(
        &mut self,
        tid: Tid,
        pid: Pid,
        file: FileRef,
        iov: &[(u64, u64)],
        call: (u64, [u64; 6], UserRegs),
    ) -> Reply {
        if let Some(r) = self.console_job_control(tid, pid, &file, SIGTTIN, &call) {
            return r;
        }
        match self.read_to(pid, &file, iov, None) {
            Ok(Some(n)) => Reply::Value(n),
            Ok(None) => {
                self.wait_readable(tid, &file);
                let (n, a, regs) = call;
                self.park(tid, n, a, regs, Wait::Io { done: 0 })
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    /// A write or writev on `file`: done, or parked until there is room.
    fn write_or_park(
        &mut self,
        tid: Tid,
        pid: Pid,
        file: FileRef,
        iov: &[(u64, u64)],
        call: (u64, [u64; 6], UserRegs),
    ) -> Reply {
        // Writes from the background stop only with TOSTOP (off by default).
        if self.console.ldisc.termios.lflag & TOSTOP != 0 {
            if let Some(r) = self.console_job_control(tid, pid, &file, SIGTTOU, &call) {
                return r;
            }
        }
        let done = self.resumed(tid);
        match self.write_from(tid, pid, &file, Source::User(iov), None, done, false) {
            Ok(Io::Done(n)) => Reply::Value(n),
            Ok(Io::Wait(done)) => {
                let (n, a, regs) = call;
                self.park(tid, n, a, regs, Wait::Io { done })
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_read(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (buf, count) = (a[1], a[2].min(MAX_RW));
        let file = match self.fd_file(pid, a[0]) {
            Ok(f) => f,
            Err(e) => return Reply::Value(e.as_return()),
        };
        if !access_ok(buf, count) {
            return Reply::Value(EFAULT.as_return());
        }
        self.read_or_park(tid, pid, file, &[(buf, count)], (nr::READ, a, regs))
    }

    pub(super) fn sys_readv(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let r = self.fd_file(pid, a[0]).and_then(|f| Ok((f, self.read_iovecs(pid, a[1], a[2])?)));
        match r {
            Ok((file, iov)) => self.read_or_park(tid, pid, file, &iov, (nr::READV, a, regs)),
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_write(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (buf, count) = (a[1], a[2].min(MAX_RW));
        let file = match self.fd_file(pid, a[0]) {
            Ok(f) => f,
            Err(e) => return Reply::Value(e.as_return()),
        };
        if !access_ok(buf, count) {
            return Reply::Value(EFAULT.as_return());
        }
        self.write_or_park(tid, pid, file, &[(buf, count)], (nr::WRITE, a, regs))
    }

    pub(super) fn sys_writev(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let r = self.fd_file(pid, a[0]).and_then(|f| Ok((f, self.read_iovecs(pid, a[1], a[2])?)));
        match r {
            Ok((file, iov)) => self.write_or_park(tid, pid, file, &iov, (nr::WRITEV, a, regs)),
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    /// The file and offset of a positional read or write.
    fn positional(&self, pid: Pid, fd: u64, off: u64) -> SysResult<(FileRef, u64)> {
        let file = self.fd_file(pid, fd)?;
        if !Self::seekable(&file) {
            return Err(ESPIPE);
        }
        if (off as i64) < 0 {
            return Err(EINVAL);
        }
        Ok((file, off))
    }

    pub(super) fn sys_pread64(&mut self, pid: Pid, fd: u64, buf: u64, count: u64, off: u64) -> SysResult<u64> {
        let (file, off) = self.positional(pid, fd, off)?;
        let count = count.min(MAX_RW);
        if !access_ok(buf, count) {
            return Err(EFAULT);
        }
        Ok(self.read_to(pid, &file, &[(buf, count)], Some(off))?.unwrap_or(0))
    }

    pub(super) fn sys_pwrite64(
        &mut self,
        tid: Tid,
        pid: Pid,
        fd: u64,
        buf: u64,
        count: u64,
        off: u64,
    ) -> SysResult<u64> {
        let (file, off) = self.positional(pid, fd, off)?;
        let count = count.min(MAX_RW);
        if !access_ok(buf, count) {
            return Err(EFAULT);
        }
        match self.write_from(tid, pid, &file, Source::User(&[(buf, count)]), Some(off), 0, false)? {
            Io::Done(n) | Io::Wait(n) => Ok(n),
        }
    }

    pub(super) fn sys_preadv(&mut self, pid: Pid, fd: u64, iov: u64, cnt: u64, off: u64) -> SysResult<u64> {
        let (file, off) = self.positional(pid, fd, off)?;
        let iov = self.read_iovecs(pid, iov, cnt)?;
        Ok(self.read_to(pid, &file, &iov, Some(off))?.unwrap_or(0))
    }

    pub(super) fn sys_pwritev(&mut self, tid: Tid, pid: Pid, fd: u64, iov: u64, cnt: u64, off: u64) -> SysResult<u64> {
        let (file, off) = self.positional(pid, fd, off)?;
        let iov = self.read_iovecs(pid, iov, cnt)?;
        match self.write_from(tid, pid, &file, Source::User(&iov), Some(off), 0, false)? {
            Io::Done(n) | Io::Wait(n) => Ok(n),
        }
    }

    /// sendfile: from a file (at `*offp`, or its own offset) to any
    /// descriptor. Into a full pipe it waits for room for at least a part.
    pub(super) fn sys_sendfile(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (out, inp, offp, count) = (a[0], a[1], a[2], a[3]);
        let r = (|| {
            let in_file = self.fd_file(pid, inp)?;
            let out_file = self.fd_file(pid, out)?;
            if !matches!(in_file.borrow().kind, FileKind::Regular | FileKind::Snapshot(_) | FileKind::Zero) {
                return Err(EINVAL);
            }
            if !readable(in_file.borrow().flags) || !writable(out_file.borrow().flags) {
                return Err(EBADF);
            }
            let off = if offp != 0 { self.read_u64(pid, offp)? } else { in_file.borrow().offset };
            if (off as i64) < 0 {
                return Err(EINVAL);
            }
            let data = self.read_source(&in_file, off, count.min(MAX_RW) as usize)?.unwrap_or_default();
            let n = match self.write_from(tid, pid, &out_file, Source::Server(&data), None, 0, true)? {
                Io::Done(n) => n,
                Io::Wait(_) => return Ok(None),
            };
            if offp != 0 {
                self.write_u64(pid, offp, off + n)?;
            } else {
                in_file.borrow_mut().offset = off + n;
            }
            Ok(Some(n))
        })();
        match r {
            Ok(Some(n)) => Reply::Value(n),
            Ok(None) => self.park(tid, nr::SENDFILE, a, regs, Wait::Io { done: 0 }),
            Err(e) => Reply::Value(e.as_return()),
        }
    }
}
