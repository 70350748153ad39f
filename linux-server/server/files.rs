//! Open files and file-descriptor tables.
//!
//! An open file description (what `open` creates and `dup` shares) holds the
//! kind of file, its status flags and the offset; a process's descriptor
//! table maps numbers to descriptions plus the close-on-exec flag. A
//! description keeps its inode alive (the VFS's open count) until the last
//! descriptor referring to it is closed.

use crate::process::Pid;
use crate::server::Server;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_server::linux::errno::*;
use linux_server::linux::stat::Timespec;
use linux_server::vfs::Ino;

/// Most descriptors a process may have (RLIMIT_NOFILE's hard limit).
pub const MAX_FDS: usize = 4096;

/// What an open file is.
#[derive(Clone, Debug)]
pub enum FileKind {
    /// A regular file of the VFS.
    Regular,
    /// A directory (for getdents64, fchdir, openat's dirfd).
    Directory,
    /// The serial console (/dev/console, /dev/tty, /dev/ttyS0).
    Console,
    Null,
    Zero,
    Full,
    Random,
    /// A file whose contents were generated when it was opened (/proc).
    Snapshot(Rc<Vec<u8>>),
    /// O_PATH: a handle to a place in the tree, for *at() calls only.
    Path,
    /// One end of a pipe (the access mode says which).
    Pipe(crate::pipe::PipeRef),
}

pub struct OpenFile {
    pub kind: FileKind,
    /// The inode behind it (for fstat and reads), if any.
    pub ino: Option<Ino>,
    /// Status flags: access mode, O_APPEND, O_NONBLOCK, ...
    pub flags: u32,
    pub offset: u64,
}

pub type FileRef = Rc<RefCell<OpenFile>>;

#[derive(Clone)]
pub struct Fd {
    pub file: FileRef,
    pub cloexec: bool,
}

#[derive(Clone, Default)]
pub struct FdTable {
    fds: Vec<Option<Fd>>,
}

pub fn timespec(ns: u64) -> Timespec {
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

impl FdTable {
    pub fn get(&self, fd: u64) -> SysResult<&Fd> {
        self.fds.get(fd as usize).and_then(|f| f.as_ref()).ok_or(EBADF)
    }
    pub fn get_mut(&mut self, fd: u64) -> SysResult<&mut Fd> {
        self.fds.get_mut(fd as usize).and_then(|f| f.as_mut()).ok_or(EBADF)
    }
    pub fn file(&self, fd: u64) -> SysResult<FileRef> {
        Ok(self.get(fd)?.file.clone())
    }
    /// The lowest free descriptor at or above `min`, below `limit`.
    pub fn alloc_from(&mut self, min: usize, limit: usize, fd: Fd) -> SysResult<u64> {
        let limit = limit.min(MAX_FDS);
        let slot = (min..limit).find(|&i| self.fds.get(i).is_none_or(|f| f.is_none())).ok_or(EMFILE)?;
        if self.fds.len() <= slot {
            self.fds.resize(slot + 1, None);
        }
        self.fds[slot] = Some(fd);
        Ok(slot as u64)
    }
    /// Put `fd` at number `n` (replacing what was there, which is returned).
    pub fn set(&mut self, n: usize, fd: Fd) -> Option<Fd> {
        if self.fds.len() <= n {
            self.fds.resize(n + 1, None);
        }
        self.fds[n].replace(fd)
    }
    pub fn take(&mut self, n: u64) -> SysResult<Fd> {
        self.fds.get_mut(n as usize).and_then(|f| f.take()).ok_or(EBADF)
    }
    pub fn take_all(&mut self) -> Vec<Fd> {
        self.fds.drain(..).flatten().collect()
    }
    /// Remove the close-on-exec descriptors.
    pub fn take_cloexec(&mut self) -> Vec<Fd> {
        let mut out = Vec::new();
        for slot in self.fds.iter_mut() {
            if slot.as_ref().is_some_and(|f| f.cloexec) {
                out.extend(slot.take());
            }
        }
        out
    }
    /// Descriptor numbers in use.
    pub fn numbers(&self) -> impl Iterator<Item = usize> + '_ {
        self.fds.iter().enumerate().filter(|(_, f)| f.is_some()).map(|(i, _)| i)
    }
}

impl Server {
    /// A new open file description (taking a VFS reference to its inode).
    pub fn new_file(&mut self, kind: FileKind, ino: Option<Ino>, flags: u32) -> FileRef {
        if let Some(i) = ino {
            let _ = self.vfs.open_ref(i);
        }
        Rc::new(RefCell::new(OpenFile { kind, ino, flags, offset: 0 }))
    }

    /// A descriptor is gone: if it was the last reference to its
    /// description, the description is closed.
    pub fn drop_fd(&mut self, fd: Fd) {
        self.drop_file(fd.file);
    }

    /// A reference to an open file description is gone: the last one
    /// closes it.
    pub fn drop_file(&mut self, file: FileRef) {
        if let Ok(cell) = Rc::try_unwrap(file) {
            let f = cell.into_inner();
            if let Some(i) = f.ino {
                let _ = self.vfs.close_ref(i);
            }
            if let FileKind::Pipe(p) = &f.kind {
                self.pipe_end_closed(p, f.flags);
            }
        }
    }

    pub fn close_all(&mut self, pid: Pid) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        let all = p.fds.take_all();
        for fd in all {
            self.drop_fd(fd);
        }
    }

    pub fn close_on_exec(&mut self, pid: Pid) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        let fds = p.fds.take_cloexec();
        for fd in fds {
            self.drop_fd(fd);
        }
    }

    /// Whether some open file description writes to `ino` (exec refuses
    /// such a file: ETXTBSY).
    pub fn open_for_writing(&self, ino: Ino) -> bool {
        self.procs.values().any(|p| {
            p.fds.numbers().any(|n| {
                p.fds.get(n as u64).is_ok_and(|fd| {
                    let f = fd.file.borrow();
                    f.ino == Some(ino) && f.flags & 3 != 0 && matches!(f.kind, FileKind::Regular)
                })
            })
        })
    }

    /// Whether a live process runs the program in `ino` (opening it for
    /// writing is ETXTBSY).
    pub fn being_executed(&self, ino: Ino) -> bool {
        self.procs.values().any(|p| p.zombie.is_none() && p.exe_ino == ino)
    }

    /// Descriptors 0, 1, 2 on the console, for the first process.
    pub fn console_fds(&mut self) -> FdTable {
        let mut t = FdTable::default();
        let dev = self.vfs.lookup(self.vfs.root(), b"/dev/console", true, &linux_server::vfs::NoMagic).ok();
        let file = self.new_file(FileKind::Console, dev, 2 /* O_RDWR */);
        for n in 0..3 {
            t.set(n, Fd { file: file.clone(), cloexec: false });
        }
        t
    }
}
