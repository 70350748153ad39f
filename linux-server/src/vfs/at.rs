//! The namespace operations on paths, as the `*at` syscalls take them: a
//! starting directory (the cwd or the `dirfd`'s directory; the caller
//! resolves `AT_FDCWD`) and a path. Each resolves the path's parent with
//! [`Vfs::lookup_parent`] and applies Linux's rules for last components that
//! are not ordinary names, and for trailing slashes, before handing the
//! (directory, name) pair to the operation in `namespace.rs`:
//!
//! | last component | create (`mkdir`, `mknod`, `symlink`, `link` target) | `unlink` | `rmdir` |
//! |----------------|-------------------|----------|---------|
//! | `/`            | `EEXIST`          | `EISDIR` | `EBUSY` |
//! | `.`            | `EEXIST`          | `EISDIR` | `EINVAL`|
//! | `..`           | `EEXIST`          | `EISDIR` | `ENOTEMPTY` |
//!
//! A trailing slash is fine for `mkdir` and `rmdir`. For the other creating
//! calls it means the caller asked for a directory: `EEXIST` if the name
//! exists, else `ENOENT` (Linux's "you had / on the end" rule). For `unlink`
//! it is `ENOENT`, `EISDIR` or `ENOTDIR` depending on what is there.
//! `rename_at` is with `rename` in `rename.rs`.

use super::magic::Resolver;
use super::path::{Last, Parent};
use super::{Ino, Kind, Owner, Vfs};
use crate::linux::errno::*;
use crate::linux::stat::Timespec;

impl Vfs {
    /// `mkdirat`.
    pub fn mkdir_at(
        &mut self,
        start: Ino,
        path: &[u8],
        perm: u32,
        owner: Owner,
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<Ino> {
        let p = self.lookup_parent(start, path, magic)?;
        let name = p.name().ok_or(EEXIST)?;
        self.mkdir(p.dir, name, perm, owner, now)
    }

    /// `mknodat` (use [`Kind::for_mknod`] for the kind).
    #[allow(clippy::too_many_arguments)]
    pub fn mknod_at(
        &mut self,
        start: Ino,
        path: &[u8],
        kind: Kind,
        perm: u32,
        owner: Owner,
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<Ino> {
        let p = self.lookup_parent(start, path, magic)?;
        let name = self.new_name(&p)?;
        self.mknod(p.dir, name, kind, perm, owner, now)
    }

    /// Creates a regular file by path (`mknod` semantics: `EEXIST` if taken).
    pub fn create_at(
        &mut self,
        start: Ino,
        path: &[u8],
        perm: u32,
        owner: Owner,
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<Ino> {
        self.mknod_at(start, path, Kind::Regular, perm, owner, now, magic)
    }

    /// `symlinkat(target, start, path)`.
    pub fn symlink_at(
        &mut self,
        target: &[u8],
        start: Ino,
        path: &[u8],
        owner: Owner,
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<Ino> {
        let p = self.lookup_parent(start, path, magic)?;
        let name = self.new_name(&p)?;
        self.symlink(p.dir, name, target, owner, now)
    }

    /// `linkat`: `old` is resolved from `ostart`, following a final symlink
    /// only if `follow` (`AT_SYMLINK_FOLLOW`); the new name is `new` from
    /// `nstart`.
    #[allow(clippy::too_many_arguments)]
    pub fn link_at(
        &mut self,
        ostart: Ino,
        old: &[u8],
        follow: bool,
        nstart: Ino,
        new: &[u8],
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<()> {
        let ino = self.lookup(ostart, old, follow, magic)?;
        let p = self.lookup_parent(nstart, new, magic)?;
        let name = self.new_name(&p)?;
        self.link(ino, p.dir, name, now)
    }

    /// `unlinkat` without `AT_REMOVEDIR`.
    pub fn unlink_at(&mut self, start: Ino, path: &[u8], now: Timespec, magic: &dyn Resolver) -> SysResult<()> {
        let p = self.lookup_parent(start, path, magic)?;
        let name = p.name().ok_or(EISDIR)?;
        if p.trailing_slash {
            return Err(match self.lookup_child(p.dir, name) {
                Err(e) => e,
                Ok(ino) if self.is_dir(ino) => EISDIR,
                Ok(_) => ENOTDIR,
            });
        }
        self.unlink(p.dir, name, now)
    }

    /// `rmdir`, or `unlinkat` with `AT_REMOVEDIR`.
    pub fn rmdir_at(&mut self, start: Ino, path: &[u8], now: Timespec, magic: &dyn Resolver) -> SysResult<()> {
        let p = self.lookup_parent(start, path, magic)?;
        match &p.last {
            Last::Root => Err(EBUSY),
            Last::Dot => Err(EINVAL),
            Last::DotDot => Err(ENOTEMPTY),
            Last::Name(name) => self.rmdir(p.dir, name, now),
        }
    }

    /// The name a non-directory is to be created under (see the module doc).
    fn new_name<'p>(&self, p: &'p Parent) -> SysResult<&'p [u8]> {
        let name = p.name().ok_or(EEXIST)?;
        if p.trailing_slash {
            return Err(if self.dir(p.dir)?.get(name).is_some() { EEXIST } else { ENOENT });
        }
        Ok(name)
    }
}
