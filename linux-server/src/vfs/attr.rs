//! Attributes: `stat`, `chmod`, `chown`, `utimensat`, and the permission
//! check behind `access` and `open`.
//!
//! What `stat` reports, following tmpfs:
//! - `st_dev` is [`DEV`] for every file (one file system), `st_blksize`
//!   [`BLOCK_SIZE`].
//! - A regular file's `st_blocks` counts whole 4 KiB pages (8 sectors each),
//!   as tmpfs allocates them; directories, links and nodes have 0.
//! - A directory's `st_size` is [`DIRENT_SIZE`] (20) bytes per entry,
//!   counting `.` and `..` — tmpfs's "bogo" size, so an empty directory is 40.
//!   Programs only compare it with 0 or use it as a hint.
//! - A symlink's size is the length of its target; a magic link's is 0, as
//!   for Linux's `/proc` links.
//!
//! `chown` on anything but a directory clears the setuid bit, and the
//! setgid bit if group-execute is set, even when root does it and even if
//! neither id changes (Linux since 2.2.13). That `write` by a non-root user
//! also clears them is the caller's to do (the VFS does not know the writer).

use super::inode::Node;
use super::{Ino, Kind, Vfs, BLOCK_SIZE, DEV, DIRENT_SIZE};
use crate::linux::errno::*;
use crate::linux::fcntl::{S_ISGID, S_ISUID, S_IXGRP, X_OK};
use crate::linux::stat::{makedev, Stat, Timespec, UTIME_NOW, UTIME_OMIT};

/// One time argument of `utimensat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    /// Set it to the current time (`UTIME_NOW`).
    Now,
    /// Leave it (`UTIME_OMIT`).
    Omit,
    /// Set it to this time.
    At(Timespec),
}

impl TimeSet {
    /// Decodes a `struct timespec` from `utimensat`: `UTIME_NOW` and
    /// `UTIME_OMIT` in `tv_nsec` are special (whatever `tv_sec` is), other
    /// `tv_nsec` values must be 0..1e9 (`EINVAL`).
    pub fn from_linux(ts: Timespec) -> SysResult<TimeSet> {
        match ts.nsec {
            UTIME_NOW => Ok(TimeSet::Now),
            UTIME_OMIT => Ok(TimeSet::Omit),
            0..=999_999_999 => Ok(TimeSet::At(ts)),
            _ => Err(EINVAL),
        }
    }

    fn apply(self, t: &mut Timespec, now: Timespec) {
        match self {
            TimeSet::Now => *t = now,
            TimeSet::Omit => {}
            TimeSet::At(at) => *t = at,
        }
    }
}

impl Vfs {
    /// `stat` of `ino` (see the module doc for the values).
    pub fn stat(&self, ino: Ino) -> SysResult<Stat> {
        let i = self.inode(ino)?;
        let kind = i.kind();
        let (size, blocks) = match &i.node {
            Node::File(d) => {
                let len = d.len() as u64;
                (len, len.div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512))
            }
            Node::Dir(d) => ((d.len() as u64 + 2) * DIRENT_SIZE, 0),
            Node::Symlink(d) => (d.len() as u64, 0),
            _ => (0, 0),
        };
        let rdev = match kind {
            Kind::CharDevice(ma, mi) | Kind::BlockDevice(ma, mi) => makedev(ma, mi),
            _ => 0,
        };
        Ok(Stat {
            dev: makedev(DEV.0, DEV.1),
            ino,
            mode: kind.type_bits() | i.perm,
            nlink: u64::from(i.nlink),
            uid: i.uid,
            gid: i.gid,
            rdev,
            size: size as i64,
            blksize: BLOCK_SIZE as i64,
            blocks: blocks as i64,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            btime: i.btime,
        })
    }

    /// Sets the permission bits (`perm & 0o7777`); ctime `now`.
    pub fn chmod(&mut self, ino: Ino, perm: u32, now: Timespec) -> SysResult<()> {
        let i = self.inode_mut(ino)?;
        i.perm = perm & 0o7777;
        i.ctime = now;
        Ok(())
    }

    /// Sets owner and/or group (`None`: unchanged, as `-1`); ctime `now`.
    pub fn chown(&mut self, ino: Ino, uid: Option<u32>, gid: Option<u32>, now: Timespec) -> SysResult<()> {
        let i = self.inode_mut(ino)?;
        if let Some(uid) = uid {
            i.uid = uid;
        }
        if let Some(gid) = gid {
            i.gid = gid;
        }
        if !i.is_dir() {
            i.perm &= !S_ISUID;
            if i.perm & S_IXGRP != 0 {
                i.perm &= !S_ISGID;
            }
        }
        i.ctime = now;
        Ok(())
    }

    /// `utimensat`: sets atime and mtime; ctime becomes `now` unless both are
    /// [`TimeSet::Omit`], in which case nothing happens at all (Linux even
    /// skips the lookup then, so this succeeds for any `ino`).
    pub fn utimens(&mut self, ino: Ino, atime: TimeSet, mtime: TimeSet, now: Timespec) -> SysResult<()> {
        if atime == TimeSet::Omit && mtime == TimeSet::Omit {
            return Ok(());
        }
        let i = self.inode_mut(ino)?;
        atime.apply(&mut i.atime, now);
        mtime.apply(&mut i.mtime, now);
        i.ctime = now;
        Ok(())
    }

    /// May a process with fsuid `uid` and fsgid `gid` access `ino` as `mask`
    /// says (`R_OK | W_OK | X_OK`; 0 only checks existence)? `EACCES` if not.
    ///
    /// Root may read and write anything, and execute (or search) a directory,
    /// or a file with at least one `x` bit. Others get the owner's bits if
    /// they own the file, else the group's if `gid` is its group, else the
    /// others' (never a mix). Supplementary groups are not considered.
    pub fn may(&self, ino: Ino, mask: u32, uid: u32, gid: u32) -> SysResult<()> {
        let i = self.inode(ino)?;
        let mask = mask & 0o7;
        if uid == 0 {
            if mask & X_OK == 0 || i.is_dir() || i.perm & 0o111 != 0 {
                return Ok(());
            }
            return Err(EACCES);
        }
        let bits = if uid == i.uid {
            i.perm >> 6
        } else if gid == i.gid {
            i.perm >> 3
        } else {
            i.perm
        } & 0o7;
        if bits & mask == mask {
            Ok(())
        } else {
            Err(EACCES)
        }
    }
}
