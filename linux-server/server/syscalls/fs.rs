//! Files and directories by name: open, stat, directories, links, renames,
//! permissions, times, the working directory. Path resolution and the
//! namespace rules are the VFS's; this file adds descriptors, `*at`
//! directory descriptors, umask, and the device and /proc files.

use crate::files::{timespec, Fd, FileKind, FileRef};
use crate::process::{Pid, Tid, Wait, RLIMIT_NOFILE};
use crate::procfs::Magic;
use crate::server::Server;
use alloc::rc::Rc;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::*;
use linux_server::linux::stat::{self, Timespec, STATX_BASIC_STATS};
use linux_server::vfs::{Ino, Kind, Owner, TimeSet};

const ROOT: Owner = Owner::ROOT;

/// The file behind a character device number.
fn device(major: u32, minor: u32) -> SysResult<FileKind> {
    Ok(match (major, minor) {
        (1, 3) => FileKind::Null,
        (1, 5) => FileKind::Zero,
        (1, 7) => FileKind::Full,
        (1, 8) | (1, 9) => FileKind::Random,
        (1, 11) => FileKind::Null, // /dev/kmsg: accepted and dropped
        (5, 0) | (5, 1) | (4, 64) => FileKind::Console,
        _ => return Err(ENXIO),
    })
}

impl Server {
    fn now(&self) -> Timespec {
        timespec(self.clock.realtime_ns())
    }

    /// The directory a `*at` call starts from: the working directory for
    /// AT_FDCWD (or any absolute path), else the directory `dirfd` refers to.
    fn at_dir(&self, pid: Pid, dirfd: u64, path: &[u8]) -> SysResult<Ino> {
        let p = &self.procs[&pid];
        if path.first() == Some(&b'/') || dirfd as i32 == AT_FDCWD {
            return Ok(p.cwd);
        }
        let f = p.fds.file(dirfd)?;
        let f = f.borrow();
        match (f.ino, &f.kind) {
            (Some(i), FileKind::Directory | FileKind::Path) if self.vfs.is_dir(i) => Ok(i),
            _ => Err(ENOTDIR),
        }
    }

    /// Resolve `path` from `start` for process `pid`.
    pub fn lookup(&self, pid: Pid, start: Ino, path: &[u8], follow: bool) -> SysResult<Ino> {
        self.vfs.lookup(start, path, follow, &self.magic(pid))
    }

    /// The inode a `*at` call names: `dirfd` itself with AT_EMPTY_PATH and an
    /// empty path, else the path resolved from `dirfd`.
    fn at_target(&mut self, pid: Pid, dirfd: u64, pathp: u64, flags: u32) -> SysResult<Ino> {
        let path = self.read_cstr(pid, pathp, 4095, ENAMETOOLONG)?;
        if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(ENOENT);
            }
            if dirfd as i32 == AT_FDCWD {
                return Ok(self.procs[&pid].cwd);
            }
            let f = self.procs[&pid].fds.file(dirfd)?;
            let ino = f.borrow().ino;
            return match ino {
                Some(i) => Ok(i),
                None => Err(EBADF),
            };
        }
        let start = self.at_dir(pid, dirfd, &path)?;
        self.lookup(pid, start, &path, flags & AT_SYMLINK_NOFOLLOW == 0)
    }

    /// What opening inode `ino` gives (devices, /proc files, directories).
    fn open_kind(&mut self, ino: Ino, flags: u32) -> SysResult<FileKind> {
        if flags & O_PATH != 0 {
            return Ok(FileKind::Path);
        }
        Ok(match self.vfs.kind(ino)? {
            Kind::Regular => match self.proc_files.get(&ino).copied() {
                Some(pf) => FileKind::Snapshot(Rc::new(self.proc_contents(pf))),
                None => FileKind::Regular,
            },
            Kind::Directory => FileKind::Directory,
            Kind::CharDevice(maj, min) => device(maj, min)?,
            Kind::Symlink | Kind::MagicLink(_) => return Err(ELOOP),
            Kind::Fifo => unreachable!("FIFOs are opened by fifo_open"),
            Kind::BlockDevice(..) | Kind::Socket => return Err(ENXIO),
        })
    }

    /// open, openat, creat. Opening a FIFO may have to wait for the other
    /// end: the description is made (and counted) at once and kept in the
    /// task while the call is parked; each retry finds it there.
    pub(super) fn sys_openat(
        &mut self,
        tid: Tid,
        pid: Pid,
        dirfd: u64,
        pathp: u64,
        flags: u64,
        mode: u64,
    ) -> SysResult<Opened> {
        let flags = flags as u32;
        let path = self.read_path(pid, pathp)?;
        let start = self.at_dir(pid, dirfd, &path)?;
        if flags & O_TMPFILE == O_TMPFILE {
            return Err(EOPNOTSUPP);
        }
        let acc = flags & O_ACCMODE;
        let trailing_slash = path.ends_with(b"/");
        let ino = if flags & O_CREAT != 0 && flags & O_PATH == 0 {
            if trailing_slash {
                return Err(EISDIR);
            }
            let existing =
                if flags & O_EXCL != 0 { Err(ENOENT) } else { self.lookup(pid, start, &path, flags & O_NOFOLLOW == 0) };
            match existing {
                Ok(i) => i,
                Err(ENOENT) => {
                    if self.parent_in_proc(pid, start, &path) {
                        return Err(ENOENT);
                    }
                    let perm = mode as u32 & 0o7777 & !self.procs[&pid].umask;
                    let now = self.now();
                    let Server { vfs, procs, .. } = self;
                    vfs.create_at(start, &path, perm, ROOT, now, &Magic { pid, procs, vfs: None })?
                }
                Err(e) => return Err(e),
            }
        } else {
            match self.lookup(pid, start, &path, flags & O_NOFOLLOW == 0) {
                Ok(i) => i,
                Err(e) => return Err(e),
            }
        };
        let kind_of = self.vfs.kind(ino)?;
        if flags & O_NOFOLLOW != 0 && flags & O_PATH == 0 && matches!(kind_of, Kind::Symlink | Kind::MagicLink(_)) {
            return Err(ELOOP);
        }
        if flags & O_DIRECTORY != 0 && kind_of != Kind::Directory {
            return Err(ENOTDIR);
        }
        if kind_of == Kind::Directory
            && flags & O_PATH == 0
            && (acc != O_RDONLY || flags & O_CREAT != 0 || flags & O_TRUNC != 0)
        {
            return Err(EISDIR);
        }
        if flags & O_PATH == 0 {
            let mask = match acc {
                O_RDONLY => R_OK,
                O_WRONLY => W_OK,
                _ => R_OK | W_OK,
            };
            let c = &self.procs[&pid].creds;
            self.vfs.may(ino, mask, c.euid, c.egid)?;
            if acc != O_RDONLY && kind_of == Kind::Regular && self.being_executed(ino) {
                return Err(ETXTBSY);
            }
        }
        if kind_of == Kind::Fifo && flags & O_PATH == 0 {
            return self.open_fifo(tid, pid, ino, flags);
        }
        let kind = self.open_kind(ino, flags)?;
        if matches!(kind, FileKind::Console) {
            match kind_of {
                // /dev/tty is the caller's controlling terminal, if it has one.
                Kind::CharDevice(5, 0) if !self.has_console_ctty(pid) => return Err(ENXIO),
                // A session leader without a terminal that opens the serial
                // line gets it as its controlling terminal (not /dev/console).
                Kind::CharDevice(4, 64) if flags & O_NOCTTY == 0 => {
                    let p = &self.procs[&pid];
                    if p.sid == pid && self.console.session.is_none() {
                        self.console.session = Some(pid);
                        self.console.fg_pgrp = p.pgid;
                    }
                }
                _ => {}
            }
        }
        if flags & O_TRUNC != 0 && acc != O_RDONLY && matches!(kind, FileKind::Regular) {
            let now = self.now();
            self.cache_flush(ino);
            self.vfs.truncate(ino, 0, now)?;
            self.cache_refresh(ino, 0, u64::MAX);
        }
        let file = self.new_file(kind, Some(ino), open_status(flags));
        self.install_opened(pid, file, flags).map(Opened::Fd)
    }

    /// A new descriptor for the opened description `file`.
    fn install_opened(&mut self, pid: Pid, file: FileRef, flags: u32) -> SysResult<u64> {
        let limit = self.procs[&pid].rlimits[RLIMIT_NOFILE].cur.min(crate::files::MAX_FDS as u64) as usize;
        let fd = Fd { file, cloexec: flags & O_CLOEXEC != 0 };
        match self.procs.get_mut(&pid).expect("live").fds.alloc_from(0, limit, fd.clone()) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.drop_fd(fd);
                Err(e)
            }
        }
    }

    /// Open FIFO `ino`: as Linux's fifo_open, a reader waits (unless
    /// O_NONBLOCK) until a writer has opened it, a writer until a reader
    /// has (without one, O_NONBLOCK gives ENXIO), O_RDWR never waits. A
    /// retry of a parked open finds its description in the task.
    fn open_fifo(&mut self, tid: Tid, pid: Pid, ino: Ino, flags: u32) -> SysResult<Opened> {
        let waiting = self.tasks.get_mut(&tid).and_then(|t| t.fifo_open.take());
        let (file, seen) = match (waiting, self.tasks.get(&tid).and_then(|t| t.retry_wait)) {
            (Some(file), Some(Wait::FifoOpen { seen })) if file.borrow().ino == Some(ino) => (file, Some(seen)),
            (stale, _) => {
                if let Some(f) = stale {
                    self.drop_file(f);
                }
                self.fifo_open(ino, open_status(flags))?
            }
        };
        match seen {
            Some(seen) if !Server::fifo_partner_came(&file, seen) => {
                if let FileKind::Pipe(p) = &file.borrow().kind {
                    self.pipe_wait(p, tid);
                }
                self.tasks.get_mut(&tid).expect("live").fifo_open = Some(file);
                Ok(Opened::Waiting(seen))
            }
            _ => self.install_opened(pid, file, flags).map(Opened::Fd),
        }
    }

    /// The stat of an open file (console descriptors have no inode of their
    /// own; a FIFO's is its inode's).
    fn fd_stat(&self, pid: Pid, fd: u64) -> SysResult<stat::Stat> {
        let f = self.procs[&pid].fds.file(fd)?;
        let f = f.borrow();
        if let (FileKind::Pipe(p), None) = (&f.kind, f.ino) {
            return Ok(Server::pipe_stat(p));
        }
        match f.ino {
            Some(i) => self.vfs.stat(i),
            None => {
                let console = self.vfs.lookup(self.vfs.root(), b"/dev/console", true, &linux_server::vfs::NoMagic)?;
                self.vfs.stat(console)
            }
        }
    }

    pub(super) fn sys_fstat(&mut self, pid: Pid, fd: u64, buf: u64) -> SysResult<u64> {
        let st = self.fd_stat(pid, fd)?;
        self.write_user(pid, buf, &st.to_bytes())?;
        Ok(0)
    }

    /// What fstatat and statx describe: the file at `pathp` from `dirfd`,
    /// or with AT_EMPTY_PATH and an empty path the open file `dirfd` itself.
    fn stat_at(&mut self, pid: Pid, dirfd: u64, pathp: u64, flags: u32) -> SysResult<stat::Stat> {
        if flags & AT_EMPTY_PATH != 0
            && self.read_cstr(pid, pathp, 1, ENAMETOOLONG).is_ok_and(|p| p.is_empty())
            && dirfd as i32 != AT_FDCWD
        {
            return self.fd_stat(pid, dirfd);
        }
        let ino = self.at_target(pid, dirfd, pathp, flags)?;
        self.vfs.stat(ino)
    }

    pub(super) fn sys_fstatat(&mut self, pid: Pid, dirfd: u64, pathp: u64, buf: u64, flags: u64) -> SysResult<u64> {
        let flags = flags as u32;
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
            return Err(EINVAL);
        }
        let st = self.stat_at(pid, dirfd, pathp, flags)?;
        self.write_user(pid, buf, &st.to_bytes())?;
        Ok(0)
    }

    pub(super) fn sys_statx(
        &mut self,
        pid: Pid,
        dirfd: u64,
        pathp: u64,
        flags: u64,
        mask: u64,
        buf: u64,
    ) -> SysResult<u64> {
        let flags = flags as u32;
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
            || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
            || mask as u32 & 0x8000_0000 != 0
        {
            return Err(EINVAL);
        }
        let st = self.stat_at(pid, dirfd, pathp, flags)?;
        self.write_user(pid, buf, &st.to_statx_bytes(mask as u32 | STATX_BASIC_STATS))?;
        Ok(0)
    }

    pub(super) fn sys_getdents64(&mut self, pid: Pid, fd: u64, dirp: u64, count: u64) -> SysResult<u64> {
        let file = self.procs[&pid].fds.file(fd)?;
        let (ino, pos) = {
            let f = file.borrow();
            match (&f.kind, f.ino) {
                (FileKind::Directory, Some(i)) => (i, f.offset),
                _ => return Err(ENOTDIR),
            }
        };
        let (records, next) = self.vfs.getdents(ino, pos, count.min(1 << 20) as usize)?;
        let Err(got) = self.copy_out(pid, dirp, &records) else {
            file.borrow_mut().offset = next;
            return Ok(records.len() as u64);
        };
        // The buffer faulted: as Linux, the records that arrived whole
        // count, and the directory position is the one after them.
        let whole = linux_server::linux::dirent::whole_records_within(&records, got);
        if whole == 0 {
            return Err(EFAULT);
        }
        let (again, next) = self.vfs.getdents(ino, pos, whole)?;
        debug_assert_eq!(again.len(), whole);
        file.borrow_mut().offset = next;
        Ok(whole as u64)
    }

    pub(super) fn sys_faccessat(&mut self, pid: Pid, dirfd: u64, pathp: u64, mode: u64, flags: u64) -> SysResult<u64> {
        if mode & !7 != 0 || flags as u32 & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(EINVAL);
        }
        let ino = self.at_target(pid, dirfd, pathp, flags as u32)?;
        // access checks with the real IDs (AT_EACCESS: the effective ones).
        let c = &self.procs[&pid].creds;
        let (uid, gid) = if flags as u32 & AT_EACCESS != 0 { (c.euid, c.egid) } else { (c.uid, c.gid) };
        self.vfs.may(ino, mode as u32, uid, gid)?;
        Ok(0)
    }

    fn namespace_start(&mut self, pid: Pid, dirfd: u64, pathp: u64) -> SysResult<(Ino, Vec<u8>)> {
        let path = self.read_path(pid, pathp)?;
        let start = self.at_dir(pid, dirfd, &path)?;
        Ok((start, path))
    }

    /// Whether directory `dir` is /proc or lies under it. /proc's names are
    /// the server's (procfs.rs makes and removes them with the processes);
    /// a process gets Linux's procfs errors instead: a new name is ENOENT
    /// (procfs's lookup fails), removing or replacing one EPERM, a rename
    /// or link across /proc's boundary EXDEV, /proc itself EBUSY. Otherwise
    /// a name added in /proc/<pid> keeps that directory from going with the
    /// process.
    fn in_proc(&self, mut dir: Ino) -> bool {
        let Some(proc_) = self.proc_dir else { return false };
        loop {
            if dir == proc_ {
                return true;
            }
            match self.vfs.parent(dir) {
                Ok(p) if p != dir => dir = p,
                _ => return false,
            }
        }
    }

    /// Whether the directory that would hold `path`'s last name is in /proc
    /// (false if it cannot be resolved: the operation reports that itself).
    fn parent_in_proc(&self, pid: Pid, start: Ino, path: &[u8]) -> bool {
        let dir = self.vfs.lookup_parent(start, path, &self.magic(pid)).map(|p| p.dir);
        dir.is_ok_and(|d| self.in_proc(d))
    }

    /// /proc itself cannot be removed or renamed (a mount point on Linux).
    fn is_proc_root(&self, pid: Pid, start: Ino, path: &[u8]) -> bool {
        self.proc_dir.is_some() && self.vfs.lookup(start, path, false, &self.magic(pid)).ok() == self.proc_dir
    }

    /// The check for a new name at `path` (mkdir, mknod, symlink, link).
    fn may_add_name(&self, pid: Pid, start: Ino, path: &[u8]) -> SysResult<()> {
        if self.parent_in_proc(pid, start, path) && self.vfs.lookup(start, path, false, &self.magic(pid)).is_err() {
            return Err(ENOENT);
        }
        Ok(())
    }

    /// The check for removing or replacing the name at `path`.
    fn may_remove_name(&self, pid: Pid, start: Ino, path: &[u8]) -> SysResult<()> {
        if self.parent_in_proc(pid, start, path) && self.vfs.lookup(start, path, false, &self.magic(pid)).is_ok() {
            return Err(EPERM);
        }
        Ok(())
    }

    pub(super) fn sys_mkdirat(&mut self, pid: Pid, dirfd: u64, pathp: u64, mode: u64) -> SysResult<u64> {
        let (start, path) = self.namespace_start(pid, dirfd, pathp)?;
        self.may_add_name(pid, start, &path)?;
        let perm = mode as u32 & 0o7777 & !self.procs[&pid].umask;
        let now = self.now();
        let Server { vfs, procs, .. } = self;
        vfs.mkdir_at(start, &path, perm, ROOT, now, &Magic { pid, procs, vfs: None })?;
        Ok(0)
    }

    pub(super) fn sys_mknodat(&mut self, pid: Pid, dirfd: u64, pathp: u64, mode: u64, dev: u64) -> SysResult<u64> {
        let (start, path) = self.namespace_start(pid, dirfd, pathp)?;
        let major = ((dev >> 8) & 0xfff) as u32 | ((dev >> 32) as u32 & !0xfff);
        let minor = (dev & 0xff) as u32 | ((dev >> 12) as u32 & !0xff);
        let kind = Kind::for_mknod(mode as u32, (major, minor))?;
        self.may_add_name(pid, start, &path)?;
        let perm = mode as u32 & 0o7777 & !self.procs[&pid].umask;
        let now = self.now();
        let Server { vfs, procs, .. } = self;
        vfs.mknod_at(start, &path, kind, perm, ROOT, now, &Magic { pid, procs, vfs: None })?;
        Ok(0)
    }

    pub(super) fn sys_unlinkat(&mut self, pid: Pid, dirfd: u64, pathp: u64, flags: u64) -> SysResult<u64> {
        if flags as u32 & !AT_REMOVEDIR != 0 {
            return Err(EINVAL);
        }
        let (start, path) = self.namespace_start(pid, dirfd, pathp)?;
        if self.is_proc_root(pid, start, &path) && flags as u32 & AT_REMOVEDIR != 0 {
            return Err(EBUSY);
        }
        self.may_remove_name(pid, start, &path)?;
        let now = self.now();
        let Server { vfs, procs, .. } = self;
        let m = Magic { pid, procs, vfs: None };
        if flags as u32 & AT_REMOVEDIR != 0 {
            vfs.rmdir_at(start, &path, now, &m)?;
        } else {
            // The file's cached pages (a program's text) go with its last
            // name, unless something still maps them.
            let ino = vfs.lookup(start, &path, false, &m).ok();
            vfs.unlink_at(start, &path, now, &m)?;
            if let Some(ino) = ino {
                self.cache_trim_if_deleted(ino);
            }
        }
        Ok(0)
    }

    pub(super) fn sys_renameat2(
        &mut self,
        pid: Pid,
        odir: u64,
        oldp: u64,
        ndir: u64,
        newp: u64,
        flags: u64,
    ) -> SysResult<u64> {
        let (ostart, old) = self.namespace_start(pid, odir, oldp)?;
        let (nstart, new) = self.namespace_start(pid, ndir, newp)?;
        match (self.parent_in_proc(pid, ostart, &old), self.parent_in_proc(pid, nstart, &new)) {
            (true, true) => {
                self.may_add_name(pid, nstart, &new)?;
                return Err(EPERM);
            }
            (true, false) | (false, true) => return Err(EXDEV),
            (false, false) => {}
        }
        if self.is_proc_root(pid, ostart, &old) || self.is_proc_root(pid, nstart, &new) {
            return Err(EBUSY);
        }
        let now = self.now();
        let Server { vfs, procs, .. } = self;
        let m = Magic { pid, procs, vfs: None };
        let replaced = vfs.lookup(nstart, &new, false, &m).ok();
        vfs.rename_at(ostart, &old, nstart, &new, flags as u32, now, &m)?;
        if let Some(ino) = replaced {
            self.cache_trim_if_deleted(ino);
        }
        Ok(0)
    }

    pub(super) fn sys_linkat(
        &mut self,
        pid: Pid,
        odir: u64,
        oldp: u64,
        ndir: u64,
        newp: u64,
        flags: u64,
    ) -> SysResult<u64> {
        let flags = flags as u32;
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(EINVAL);
        }
        let (nstart, new) = self.namespace_start(pid, ndir, newp)?;
        let old = self.read_cstr(pid, oldp, 4095, ENAMETOOLONG)?;
        // A new name in /proc: ENOENT (an existing one: EXDEV or EPERM, as
        // Linux's EEXIST would not come first); out of /proc: EXDEV.
        self.may_add_name(pid, nstart, &new)?;
        let new_in_proc = self.parent_in_proc(pid, nstart, &new);
        let old_in_proc = !old.is_empty() && {
            let ostart = self.at_dir(pid, odir, &old)?;
            self.parent_in_proc(pid, ostart, &old)
        };
        if new_in_proc || old_in_proc {
            return Err(if new_in_proc && old_in_proc { EPERM } else { EXDEV });
        }
        let now = self.now();
        if old.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(ENOENT);
            }
            let ino = self.at_target(pid, odir, oldp, AT_EMPTY_PATH)?;
            let p = {
                let Server { vfs, procs, .. } = self;
                vfs.lookup_parent(nstart, &new, &Magic { pid, procs, vfs: None })?
            };
            let name = p.name().ok_or(EEXIST)?.to_vec();
            self.vfs.link(ino, p.dir, &name, now)?;
            return Ok(0);
        }
        let ostart = self.at_dir(pid, odir, &old)?;
        let Server { vfs, procs, .. } = self;
        vfs.link_at(ostart, &old, flags & AT_SYMLINK_FOLLOW != 0, nstart, &new, now, &Magic { pid, procs, vfs: None })?;
        Ok(0)
    }

    pub(super) fn sys_symlinkat(&mut self, pid: Pid, targetp: u64, dirfd: u64, pathp: u64) -> SysResult<u64> {
        let target = self.read_path(pid, targetp)?;
        let (start, path) = self.namespace_start(pid, dirfd, pathp)?;
        self.may_add_name(pid, start, &path)?;
        let now = self.now();
        let Server { vfs, procs, .. } = self;
        vfs.symlink_at(&target, start, &path, ROOT, now, &Magic { pid, procs, vfs: None })?;
        Ok(0)
    }

    pub(super) fn sys_readlinkat(&mut self, pid: Pid, dirfd: u64, pathp: u64, buf: u64, size: u64) -> SysResult<u64> {
        if size as i64 <= 0 {
            return Err(EINVAL);
        }
        let ino = self.at_target(pid, dirfd, pathp, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
        let target = self.vfs.readlink(ino, &self.magic(pid))?;
        let n = target.len().min(size as usize);
        self.write_user(pid, buf, &target[..n])?;
        Ok(n as u64)
    }

    fn set_cwd(&mut self, pid: Pid, ino: Ino) -> SysResult<u64> {
        if !self.vfs.is_dir(ino) {
            return Err(ENOTDIR);
        }
        let c = &self.procs[&pid].creds;
        self.vfs.may(ino, X_OK, c.euid, c.egid)?;
        let _ = self.vfs.open_ref(ino);
        let old = core::mem::replace(&mut self.procs.get_mut(&pid).expect("live").cwd, ino);
        let _ = self.vfs.close_ref(old);
        Ok(0)
    }

    pub(super) fn sys_chdir(&mut self, pid: Pid, pathp: u64) -> SysResult<u64> {
        let path = self.read_path(pid, pathp)?;
        let cwd = self.procs[&pid].cwd;
        let ino = self.lookup(pid, cwd, &path, true)?;
        self.set_cwd(pid, ino)
    }

    pub(super) fn sys_fchdir(&mut self, pid: Pid, fd: u64) -> SysResult<u64> {
        let f = self.procs[&pid].fds.file(fd)?;
        let ino = f.borrow().ino.ok_or(ENOTDIR)?;
        self.set_cwd(pid, ino)
    }

    pub(super) fn sys_getcwd(&mut self, pid: Pid, buf: u64, size: u64) -> SysResult<u64> {
        let mut path = self.vfs.getcwd(self.procs[&pid].cwd)?;
        path.push(0);
        if (size as usize) < path.len() {
            return Err(ERANGE);
        }
        self.write_user(pid, buf, &path)?;
        Ok(path.len() as u64)
    }

    fn truncate_ino(&mut self, ino: Ino, len: u64) -> SysResult<u64> {
        if (len as i64) < 0 {
            return Err(EINVAL);
        }
        match self.vfs.kind(ino)? {
            Kind::Directory => return Err(EISDIR),
            Kind::Regular => {}
            _ => return Err(EINVAL),
        }
        let now = self.now();
        self.cache_flush(ino);
        self.vfs.truncate(ino, len, now)?;
        self.cache_refresh(ino, 0, u64::MAX);
        Ok(0)
    }

    pub(super) fn sys_truncate(&mut self, pid: Pid, pathp: u64, len: u64) -> SysResult<u64> {
        let path = self.read_path(pid, pathp)?;
        let cwd = self.procs[&pid].cwd;
        let ino = self.lookup(pid, cwd, &path, true)?;
        let c = &self.procs[&pid].creds;
        self.vfs.may(ino, W_OK, c.euid, c.egid)?;
        // A program a live process runs cannot change under it (Linux's
        // deny_write_access, as for open): its text is this file's pages.
        if (len as i64) >= 0 && matches!(self.vfs.kind(ino)?, Kind::Regular) && self.being_executed(ino) {
            if !self.quiet {
                rt::println!("linux-server: pid {pid}: truncate of a running program: ETXTBSY");
            }
            return Err(ETXTBSY);
        }
        self.truncate_ino(ino, len)
    }

    pub(super) fn sys_ftruncate(&mut self, pid: Pid, fd: u64, len: u64) -> SysResult<u64> {
        let f = self.procs[&pid].fds.file(fd)?;
        let (ino, flags, kind) = {
            let f = f.borrow();
            (f.ino, f.flags, f.kind.clone())
        };
        if flags & O_ACCMODE == O_RDONLY || flags & O_PATH != 0 {
            return Err(if flags & O_PATH != 0 { EBADF } else { EINVAL });
        }
        if !matches!(kind, FileKind::Regular) {
            return Err(EINVAL);
        }
        self.truncate_ino(ino.ok_or(EINVAL)?, len)
    }

    pub(super) fn sys_umask(&mut self, pid: Pid, mask: u64) -> SysResult<u64> {
        let p = self.procs.get_mut(&pid).expect("live");
        Ok(core::mem::replace(&mut p.umask, mask as u32 & 0o777) as u64)
    }

    pub(super) fn sys_fchmodat(&mut self, pid: Pid, dirfd: u64, pathp: u64, mode: u64) -> SysResult<u64> {
        let ino = self.at_target(pid, dirfd, pathp, 0)?;
        let now = self.now();
        self.vfs.chmod(ino, mode as u32 & 0o7777, now)?;
        Ok(0)
    }

    pub(super) fn sys_fchmod(&mut self, pid: Pid, fd: u64, mode: u64) -> SysResult<u64> {
        let f = self.procs[&pid].fds.file(fd)?;
        let ino = f.borrow().ino.ok_or(EBADF)?;
        let now = self.now();
        self.vfs.chmod(ino, mode as u32 & 0o7777, now)?;
        Ok(0)
    }

    fn ids(uid: u64, gid: u64) -> (Option<u32>, Option<u32>) {
        let u = uid as u32;
        let g = gid as u32;
        ((u != u32::MAX).then_some(u), (g != u32::MAX).then_some(g))
    }

    pub(super) fn sys_fchownat(
        &mut self,
        pid: Pid,
        dirfd: u64,
        pathp: u64,
        uid: u64,
        gid: u64,
        flags: u64,
    ) -> SysResult<u64> {
        if flags as u32 & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(EINVAL);
        }
        let ino = self.at_target(pid, dirfd, pathp, flags as u32)?;
        let (u, g) = Self::ids(uid, gid);
        let now = self.now();
        self.vfs.chown(ino, u, g, now)?;
        Ok(0)
    }

    pub(super) fn sys_fchown(&mut self, pid: Pid, fd: u64, uid: u64, gid: u64) -> SysResult<u64> {
        let f = self.procs[&pid].fds.file(fd)?;
        let ino = f.borrow().ino.ok_or(EBADF)?;
        let (u, g) = Self::ids(uid, gid);
        let now = self.now();
        self.vfs.chown(ino, u, g, now)?;
        Ok(0)
    }

    pub(super) fn sys_utimensat(&mut self, pid: Pid, dirfd: u64, pathp: u64, times: u64, flags: u64) -> SysResult<u64> {
        if flags as u32 & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(EINVAL);
        }
        let ino = if pathp == 0 {
            // futimens: the file dirfd refers to.
            let f = self.procs[&pid].fds.file(dirfd)?;
            let ino = f.borrow().ino;
            ino.ok_or(EBADF)?
        } else {
            self.at_target(pid, dirfd, pathp, flags as u32)?
        };
        let (a, m) = if times == 0 {
            (TimeSet::Now, TimeSet::Now)
        } else {
            let b = self.read_user(pid, times, 32)?;
            let ts = |o: usize| Timespec {
                sec: i64::from_le_bytes(b[o..o + 8].try_into().unwrap()),
                nsec: i64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap()),
            };
            (TimeSet::from_linux(ts(0))?, TimeSet::from_linux(ts(16))?)
        };
        let now = self.now();
        self.vfs.utimens(ino, a, m, now)?;
        Ok(0)
    }

    pub(super) fn sys_statfs(&mut self, pid: Pid, buf: u64) -> SysResult<u64> {
        // struct statfs (120 bytes): a tmpfs-like root.
        const TMPFS_MAGIC: u64 = 0x0102_1994;
        let (used, total) = self.pool.usage();
        let mut b = [0u8; 120];
        let put = |b: &mut [u8; 120], o: usize, v: u64| b[o..o + 8].copy_from_slice(&v.to_le_bytes());
        put(&mut b, 0, TMPFS_MAGIC);
        put(&mut b, 8, 4096);
        put(&mut b, 16, total.max(65536));
        put(&mut b, 24, total.max(65536) - used);
        put(&mut b, 32, total.max(65536) - used);
        put(&mut b, 40, 1 << 20);
        put(&mut b, 48, (1 << 20) - self.vfs.inode_count() as u64);
        put(&mut b, 64, 255);
        put(&mut b, 72, 4096);
        self.write_user(pid, buf, &b)?;
        Ok(0)
    }

    /// mount: the file systems Linux would mount are part of ours already —
    /// proc on /proc, sysfs on /sys, devtmpfs on /dev: EBUSY, as for a second
    /// mount there. Nothing else can be mounted (ENODEV); a remount is a
    /// no-op.
    pub(super) fn sys_mount(&mut self, pid: Pid, target: u64, fstype: u64, flags: u64) -> SysResult<u64> {
        const MS_REMOUNT: u64 = 32;
        let path = self.read_path(pid, target)?;
        let cwd = self.procs[&pid].cwd;
        let ino = self.lookup(pid, cwd, &path, true)?;
        if !self.procs[&pid].creds.is_root() {
            return Err(EPERM);
        }
        if flags & MS_REMOUNT != 0 {
            return Ok(0);
        }
        if !self.vfs.is_dir(ino) {
            return Err(ENOTDIR);
        }
        let ty = if fstype != 0 { self.read_cstr(pid, fstype, 255, ENODEV)? } else { Vec::new() };
        match &ty[..] {
            b"proc" | b"sysfs" | b"devtmpfs" | b"tmpfs" | b"devpts" | b"ramfs" => Err(EBUSY),
            _ => Err(ENODEV),
        }
    }

    pub(super) fn sys_fsync(&mut self, pid: Pid, fd: u64) -> SysResult<u64> {
        self.procs[&pid].fds.file(fd)?;
        Ok(0)
    }

    /// The inode a file-backed mmap maps (`None` for /dev/zero: anonymous),
    /// and whether the file is open for writing.
    pub fn mmap_file(&mut self, pid: Pid, fd: i32, shared_write: bool) -> SysResult<(Option<Ino>, bool)> {
        if fd < 0 {
            return Err(EBADF);
        }
        let f = self.procs[&pid].fds.file(fd as u64)?;
        let f = f.borrow();
        if f.flags & O_PATH != 0 {
            return Err(EBADF);
        }
        if f.flags & O_ACCMODE == O_WRONLY {
            return Err(EACCES);
        }
        if shared_write && f.flags & O_ACCMODE != O_RDWR {
            return Err(EACCES);
        }
        let may_write = f.flags & O_ACCMODE == O_RDWR;
        match f.kind {
            FileKind::Regular => Ok((f.ino, may_write)),
            FileKind::Zero => Ok((None, true)),
            _ => Err(ENODEV),
        }
    }
}

/// What an open came to.
pub enum Opened {
    Fd(u64),
    /// A FIFO end waits for its partner: the partner counter it saw.
    Waiting(u32),
}

/// The file status flags an open keeps.
fn open_status(flags: u32) -> u32 {
    flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_DIRECT | O_NOATIME | O_PATH | O_SYNC | 0o20000)
}
