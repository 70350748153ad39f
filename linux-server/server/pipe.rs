//! Pipes in the server: the buffer (whose rules are `linux_server::pipe`),
//! the threads waiting on it, and the moves of bytes between it and user
//! memory.
//!
//! Both ends of a pipe are open file descriptions of kind `FileKind::Pipe`
//! sharing one `Pipe`; the access mode says which end. A reader or writer
//! that has to wait parks in the server and is put on the pipe's wait list;
//! every change (bytes in, bytes out, an end closed) wakes the whole list —
//! there are rarely more than two threads on it — and each runs its syscall
//! again. A large write goes in pieces; its progress is kept in the parked
//! syscall (`Wait::Io`), so a retry goes on where it stopped.

use crate::files::{FileKind, FileRef};
use crate::process::{Pid, Tid};
use crate::server::Server;
use crate::syscalls::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFIFO};
use linux_server::linux::signal::SIGPIPE;
use linux_server::linux::stat::{self, Timespec};
use linux_server::pipe::{PipeBuffer, PipeRead, PAGE};

/// Pages all pipes together may hold (128 MiB): a writer beyond it waits
/// as if its pipe were full, so pipes cannot exhaust the server's heap.
pub const PIPE_PAGES: usize = 32768;

#[derive(Debug)]
pub struct Pipe {
    pub buf: PipeBuffer,
    /// Threads parked reading or writing this pipe.
    pub waiters: Vec<Tid>,
    pub ino: u64,
    pub created: Timespec,
    /// For a FIFO: its inode (the pipe lives while an end is open), and how
    /// many times it was opened for reading and for writing — a blocked
    /// open waits for the other counter to move (Linux's r_counter and
    /// w_counter), so a partner that came and went still releases it.
    pub fifo: Option<linux_server::vfs::Ino>,
    pub r_counter: u32,
    pub w_counter: u32,
}

pub type PipeRef = Rc<RefCell<Pipe>>;

/// Where the bytes of a write come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// User memory, as (address, length) pieces (write, writev).
    User(&'a [(u64, u64)]),
    /// Bytes the server already has (sendfile).
    Server(&'a [u8]),
}

impl Source<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Source::User(iov) => iov.iter().map(|v| v.1).sum(),
            Source::Server(b) => b.len() as u64,
        }
    }
}

/// How far a read or write got.
pub enum Io {
    /// Finished: the syscall returns this count.
    Done(u64),
    /// It has to wait, with this many bytes already moved.
    Wait(u64),
}

fn is_write_end(flags: u32) -> bool {
    flags & O_ACCMODE == O_WRONLY
}

impl Server {
    /// A new pipe: its read end and its write end.
    pub fn new_pipe(&mut self, nonblock: bool, packet: bool) -> (FileRef, FileRef) {
        let pipe = self.make_pipe(packet, None);
        let nb = if nonblock { O_NONBLOCK } else { 0 };
        let r = self.new_file(FileKind::Pipe(pipe.clone()), None, O_RDONLY | nb);
        let w = self.new_file(FileKind::Pipe(pipe), None, O_WRONLY | nb);
        (r, w)
    }

    /// The pipe object: with one reader and one writer counted for a pipe,
    /// none for FIFO `fifo` (its opens count them).
    fn make_pipe(&mut self, packet: bool, fifo: Option<linux_server::vfs::Ino>) -> PipeRef {
        let mut buf = PipeBuffer::new(packet);
        if fifo.is_some() {
            buf.readers = 0;
            buf.writers = 0;
        }
        let pipe = Rc::new(RefCell::new(Pipe {
            buf,
            waiters: Vec::new(),
            ino: self.next_pipe_ino,
            created: crate::files::timespec(self.clock.realtime_ns()),
            fifo,
            r_counter: 0,
            w_counter: 0,
        }));
        self.next_pipe_ino += 1;
        pipe
    }

    /// Something about `pipe` changed: wake its waiters and the pollers.
    fn pipe_changed(&mut self, pipe: &PipeRef) {
        let waiters = core::mem::take(&mut pipe.borrow_mut().waiters);
        for tid in waiters {
            self.wake(tid);
        }
        self.wake_pollers();
    }

    /// Put `tid` on the pipe's wait list (once).
    pub fn pipe_wait(&mut self, pipe: &PipeRef, tid: Tid) {
        let mut p = pipe.borrow_mut();
        if !p.waiters.contains(&tid) {
            p.waiters.push(tid);
        }
    }

    /// The last description of one end was closed (a FIFO opened O_RDWR:
    /// of both ends).
    pub fn pipe_end_closed(&mut self, pipe: &PipeRef, flags: u32) {
        let gone_fifo = {
            let mut p = pipe.borrow_mut();
            if flags & O_ACCMODE != O_RDONLY {
                p.buf.writers -= 1;
            }
            if !is_write_end(flags) {
                p.buf.readers -= 1;
                if p.buf.readers == 0 {
                    // Nobody can read what is left: free it now.
                    self.pipe_pages -= p.buf.clear();
                }
            }
            p.fifo.filter(|_| p.buf.readers == 0 && p.buf.writers == 0)
        };
        if let Some(ino) = gone_fifo {
            self.fifos.remove(&ino);
        }
        self.pipe_changed(pipe);
    }

    /// Open FIFO `ino` with `flags`: a new description of its pipe (made
    /// when the first end opens), counted as a reader, a writer or (O_RDWR)
    /// both. Returns it and whether the open must wait for the other end:
    /// `Some(counter)` holds the partner counter to wait on. O_NONBLOCK
    /// never waits; a non-blocking writer without readers gets ENXIO.
    pub fn fifo_open(&mut self, ino: linux_server::vfs::Ino, flags: u32) -> SysResult<(FileRef, Option<u32>)> {
        let acc = flags & O_ACCMODE;
        let nonblock = flags & O_NONBLOCK != 0;
        let existing = self.fifos.get(&ino).cloned();
        if acc == O_WRONLY && nonblock && existing.as_ref().is_none_or(|p| p.borrow().buf.readers == 0) {
            return Err(ENXIO);
        }
        let pipe = match existing {
            Some(p) => p,
            None => {
                let pipe = self.make_pipe(false, Some(ino));
                self.fifos.insert(ino, pipe.clone());
                pipe
            }
        };
        let wait = {
            let mut p = pipe.borrow_mut();
            if acc != O_WRONLY {
                p.buf.readers += 1;
                p.r_counter = p.r_counter.wrapping_add(1);
            }
            if acc != O_RDONLY {
                p.buf.writers += 1;
                p.w_counter = p.w_counter.wrapping_add(1);
            }
            match acc {
                O_RDONLY if !nonblock && p.buf.writers == 0 => Some(p.w_counter),
                O_WRONLY if p.buf.readers == 0 => Some(p.r_counter),
                _ => None,
            }
        };
        // Openers waiting for this end may go on.
        self.pipe_changed(&pipe);
        let file = self.new_file(FileKind::Pipe(pipe), Some(ino), flags);
        Ok((file, wait))
    }

    /// Whether the other end of the FIFO behind `file` was opened since its
    /// partner counter read `seen`.
    pub fn fifo_partner_came(file: &FileRef, seen: u32) -> bool {
        let f = file.borrow();
        let FileKind::Pipe(p) = &f.kind else { return true };
        let p = p.borrow();
        let now = if f.flags & O_ACCMODE == O_RDONLY { p.w_counter } else { p.r_counter };
        now != seen
    }

    /// What a read of up to `max` bytes would return now (`None`: wait);
    /// nothing is taken until [`pipe_consume`](Self::pipe_consume).
    pub fn pipe_peek(&mut self, pipe: &PipeRef, flags: u32, max: usize) -> SysResult<Option<Vec<u8>>> {
        match pipe.borrow().buf.peek(max) {
            PipeRead::Data(d) => Ok(Some(d)),
            PipeRead::Eof => Ok(Some(Vec::new())),
            PipeRead::Empty if flags & O_NONBLOCK != 0 => Err(EAGAIN),
            PipeRead::Empty => Ok(None),
        }
    }

    /// A reader got `n` bytes: take them out and wake the writers.
    pub fn pipe_consume(&mut self, pipe: &PipeRef, n: usize) {
        if n == 0 {
            return;
        }
        let freed = pipe.borrow_mut().buf.consume(n);
        self.pipe_pages -= freed;
        self.pipe_changed(pipe);
    }

    /// Write `src` into the pipe as Linux's pipe_write does: the part
    /// beyond whole pages is merged into the last page if it fits (on the
    /// first try only), the rest fills new pages while there are free
    /// slots; then the writer waits. `done` bytes went in on earlier tries.
    /// With `partial_ok` (sendfile) a write that got some bytes in returns
    /// rather than waits for room for the rest.
    #[allow(clippy::too_many_arguments)]
    pub fn pipe_write(
        &mut self,
        tid: Tid,
        pid: Pid,
        pipe: &PipeRef,
        flags: u32,
        src: Source,
        mut done: u64,
        first_try: bool,
        partial_ok: bool,
    ) -> SysResult<Io> {
        let total = src.len().min(crate::syscalls::MAX_RW);
        if total == 0 {
            return Ok(Io::Done(0));
        }
        let finish = |done: u64, e: Errno| if done > 0 { Ok(Io::Done(done)) } else { Err(e) };
        if first_try {
            if pipe.borrow().buf.readers == 0 {
                self.raise_sigpipe(tid, pid);
                return Err(EPIPE);
            }
            let chars = (total % PAGE as u64) as usize;
            if pipe.borrow().buf.can_merge(chars) {
                let data = self.gather(pid, src, 0, chars);
                if data.len() < chars {
                    return Err(EFAULT);
                }
                pipe.borrow_mut().buf.merge(&data);
                done = chars as u64;
                self.pipe_changed(pipe);
            }
        }
        while done < total {
            if pipe.borrow().buf.readers == 0 {
                self.raise_sigpipe(tid, pid);
                return finish(done, EPIPE);
            }
            if pipe.borrow().buf.has_free_slot() && self.pipe_pages < PIPE_PAGES {
                let n = ((total - done) as usize).min(PAGE);
                let data = self.gather(pid, src, done, n);
                if data.len() < n {
                    return finish(done, EFAULT);
                }
                pipe.borrow_mut().buf.push_page(&data);
                self.pipe_pages += 1;
                done += n as u64;
                self.pipe_changed(pipe);
                continue;
            }
            if flags & O_NONBLOCK != 0 {
                return finish(done, EAGAIN);
            }
            if partial_ok && done > 0 {
                break;
            }
            self.pipe_wait(pipe, tid);
            return Ok(Io::Wait(done));
        }
        Ok(Io::Done(done))
    }

    /// A write to a pipe without readers: SIGPIPE for the writing thread.
    fn raise_sigpipe(&mut self, tid: Tid, pid: Pid) {
        let uid = self.procs[&pid].creds.uid;
        let info = linux_server::signal::SigInfo::sent(SIGPIPE, linux_server::signal::info::SI_USER, pid, uid);
        self.send_signal(pid, Some(tid), info);
    }

    /// poll's view of one end of a pipe.
    pub fn pipe_readiness(&self, pipe: &PipeRef, flags: u32) -> u16 {
        let p = pipe.borrow();
        if is_write_end(flags) {
            let mut r = 0;
            if p.buf.has_free_slot() {
                r |= POLLOUT | POLLWRNORM;
            }
            if p.buf.readers == 0 {
                r |= POLLERR;
            }
            r
        } else {
            let mut r = 0;
            if !p.buf.is_empty() {
                r |= POLLIN | POLLRDNORM;
            }
            if p.buf.writers == 0 {
                r |= POLLHUP;
            }
            r
        }
    }

    /// fstat of a pipe end: a FIFO of the pipe file system.
    pub fn pipe_stat(pipe: &PipeRef) -> stat::Stat {
        let p = pipe.borrow();
        stat::Stat {
            dev: stat::makedev(0, 12),
            ino: p.ino,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: p.created,
            mtime: p.created,
            ctime: p.created,
            btime: p.created,
        }
    }

    /// Up to `n` bytes of `src` starting `skip` bytes in; fewer if a user
    /// buffer turns out bad.
    pub fn gather(&mut self, pid: Pid, src: Source, skip: u64, n: usize) -> Vec<u8> {
        match src {
            Source::Server(b) => {
                let s = (skip as usize).min(b.len());
                b[s..(s + n).min(b.len())].to_vec()
            }
            Source::User(iov) => {
                let mut out = Vec::with_capacity(n);
                let mut pos = 0u64;
                for &(base, len) in iov {
                    if out.len() == n {
                        break;
                    }
                    if pos + len <= skip {
                        pos += len;
                        continue;
                    }
                    let from = skip.saturating_sub(pos);
                    let take = ((len - from) as usize).min(n - out.len());
                    let start = out.len();
                    out.resize(start + take, 0);
                    pos += len;
                    if let Err(k) = self.copy_in(pid, base + from, &mut out[start..]) {
                        out.truncate(start + k);
                        break;
                    }
                }
                out
            }
        }
    }
}
