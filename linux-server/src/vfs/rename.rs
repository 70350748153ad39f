//! `rename` / `renameat2`, with the checks in the order Linux makes them
//! (`do_renameat2`, `vfs_rename`, tmpfs's `shmem_rename2`), so that a call
//! breaking several rules fails with the same errno as on Linux:
//!
//! 1. flags: unknown bits, or `RENAME_EXCHANGE` with `RENAME_NOREPLACE` or
//!    `RENAME_WHITEOUT`: `EINVAL`. `RENAME_WHITEOUT` alone (only overlayfs
//!    uses it) is not supported: `EINVAL`.
//! 2. `.` or `..` (or `/`) as the source: `EBUSY`; as the target: `EEXIST`
//!    with `RENAME_NOREPLACE`, else `EBUSY`.
//! 3. no source: `ENOENT`; a target with `RENAME_NOREPLACE`: `EEXIST`;
//!    no target with `RENAME_EXCHANGE`: `ENOENT`.
//! 4. trailing slashes on a non-directory: `ENOTDIR`.
//! 5. the source is the target's directory or above it: `EINVAL`; the
//!    target is the source's directory or above it: `ENOTEMPTY` (`EINVAL`
//!    for an exchange).
//! 6. source and target are the same inode (same entry or hard links):
//!    success, nothing changes.
//! 7. target directory removed: `ENOENT`; a directory onto a non-directory:
//!    `ENOTDIR`; a non-directory onto a directory: `EISDIR`; a directory
//!    onto a non-empty one: `ENOTEMPTY`.
//!
//! A replaced target loses that name (and is freed if that was its last name
//! and nobody has it open). Both directories get mtime and ctime `now`, the
//! moved inode (and a replaced or exchanged one) ctime `now`. A moved
//! directory gets a new parent and name, and the parents' link counts move
//! with it.

use super::magic::Resolver;
use super::path::Last;
use super::{check_name, Ino, Vfs, ROOT};
use crate::linux::errno::*;
use crate::linux::fcntl::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
use crate::linux::stat::Timespec;

/// One side of a rename: directory, last component, trailing slash.
struct Side<'a> {
    dir: Ino,
    last: &'a Last,
    slash: bool,
}

impl Vfs {
    /// Renames entry `oname` of `odir` to `nname` in `ndir`; `flags` are
    /// `renameat2`'s (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`).
    pub fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        flags: u32,
        now: Timespec,
    ) -> SysResult<()> {
        let (olast, nlast) = (name_to_last(oname), name_to_last(nname));
        self.rename_sides(
            Side { dir: odir, last: &olast, slash: false },
            Side { dir: ndir, last: &nlast, slash: false },
            flags,
            now,
        )
    }

    /// `renameat2` on paths: `old` from `ostart`, `new` from `nstart`.
    #[allow(clippy::too_many_arguments)]
    pub fn rename_at(
        &mut self,
        ostart: Ino,
        old: &[u8],
        nstart: Ino,
        new: &[u8],
        flags: u32,
        now: Timespec,
        magic: &dyn Resolver,
    ) -> SysResult<()> {
        check_flags(flags)?;
        let o = self.lookup_parent(ostart, old, magic)?;
        let n = self.lookup_parent(nstart, new, magic)?;
        self.rename_sides(
            Side { dir: o.dir, last: &o.last, slash: o.trailing_slash },
            Side { dir: n.dir, last: &n.last, slash: n.trailing_slash },
            flags,
            now,
        )
    }

    fn rename_sides(&mut self, o: Side<'_>, n: Side<'_>, flags: u32, now: Timespec) -> SysResult<()> {
        check_flags(flags)?;
        let exchange = flags & RENAME_EXCHANGE != 0;
        let noreplace = flags & RENAME_NOREPLACE != 0;
        self.dir(o.dir)?;
        self.dir(n.dir)?;
        let Last::Name(oname) = o.last else { return Err(EBUSY) };
        let Last::Name(nname) = n.last else { return Err(if noreplace { EEXIST } else { EBUSY }) };
        check_name(oname)?;
        check_name(nname)?;

        let source = self.dir(o.dir)?.get(oname).ok_or(ENOENT)?;
        let target = self.dir(n.dir)?.get(nname);
        if noreplace && target.is_some() {
            return Err(EEXIST);
        }
        let source_is_dir = self.inode(source)?.is_dir();
        let target_is_dir = match target {
            Some(t) => self.inode(t)?.is_dir(),
            None => false,
        };
        if exchange {
            if target.is_none() {
                return Err(ENOENT);
            }
            if !target_is_dir && n.slash {
                return Err(ENOTDIR);
            }
        }
        if !source_is_dir && (o.slash || (!exchange && n.slash)) {
            return Err(ENOTDIR);
        }
        if source_is_dir && self.is_ancestor(source, n.dir) {
            return Err(EINVAL);
        }
        if let Some(t) = target {
            if target_is_dir && self.is_ancestor(t, o.dir) {
                return Err(if exchange { EINVAL } else { ENOTEMPTY });
            }
        }
        if target == Some(source) {
            return Ok(());
        }

        match target {
            Some(t) if exchange => self.exchange(o.dir, oname, source, n.dir, nname, t, now),
            _ => {
                if let Some(t) = target {
                    if source_is_dir && !target_is_dir {
                        return Err(ENOTDIR);
                    }
                    if !source_is_dir && target_is_dir {
                        return Err(EISDIR);
                    }
                    if target_is_dir && !self.dir(t)?.is_empty() {
                        return Err(ENOTEMPTY);
                    }
                } else if self.inode(n.dir)?.nlink == 0 {
                    return Err(ENOENT);
                }
                self.move_entry(o.dir, oname, source, n.dir, nname, target, now)
            }
        }
    }

    /// Moves `source` (named `oname` in `odir`) to `nname` in `ndir`,
    /// replacing `target` if there is one. All checks are done.
    #[allow(clippy::too_many_arguments)]
    fn move_entry(
        &mut self,
        odir: Ino,
        oname: &[u8],
        source: Ino,
        ndir: Ino,
        nname: &[u8],
        target: Option<Ino>,
        now: Timespec,
    ) -> SysResult<()> {
        let source_is_dir = self.inode(source)?.is_dir();
        let cross = odir != ndir;
        // A directory moving to another parent adds a link there (unless it
        // replaces a directory, whose link it takes over).
        let replaces_dir = match target {
            Some(t) => self.inode(t)?.is_dir(),
            None => false,
        };
        if source_is_dir && cross && !replaces_dir {
            self.inode(ndir)?.nlink.checked_add(1).ok_or(EMLINK)?;
        }
        // The entry gets a new position even when it replaces one.
        if !self.dir(ndir)?.has_room() {
            return Err(ENOSPC);
        }

        if let Some(t) = target {
            self.dir_mut(ndir)?.remove(nname);
            let ti = self.inode_mut(t)?;
            if ti.is_dir() {
                ti.nlink = 0;
            } else {
                ti.nlink = ti.nlink.saturating_sub(1);
            }
            ti.ctime = now;
            if replaces_dir {
                let nd = self.inode_mut(ndir)?;
                nd.nlink = nd.nlink.saturating_sub(1);
            }
        }
        self.dir_mut(odir)?.remove(oname);
        self.dir_mut(ndir)?.insert(nname, source)?;
        if source_is_dir {
            let d = self.dir_mut(source)?;
            d.parent = ndir;
            d.name = nname.to_vec();
            if cross {
                let od = self.inode_mut(odir)?;
                od.nlink = od.nlink.saturating_sub(1);
                let nd = self.inode_mut(ndir)?;
                nd.nlink = nd.nlink.saturating_add(1);
            }
        }
        self.inode_mut(source)?.ctime = now;
        self.touch_dir(odir, now);
        self.touch_dir(ndir, now);
        if let Some(t) = target {
            self.maybe_free(t);
        }
        Ok(())
    }

    /// `RENAME_EXCHANGE`: the two entries swap inodes (keeping their places
    /// in their directories).
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &mut self,
        odir: Ino,
        oname: &[u8],
        source: Ino,
        ndir: Ino,
        nname: &[u8],
        target: Ino,
        now: Timespec,
    ) -> SysResult<()> {
        let source_is_dir = self.inode(source)?.is_dir();
        let target_is_dir = self.inode(target)?.is_dir();
        if odir != ndir && source_is_dir != target_is_dir {
            // One directory changes parents: the gaining parent needs a link.
            let gaining = if source_is_dir { ndir } else { odir };
            self.inode(gaining)?.nlink.checked_add(1).ok_or(EMLINK)?;
        }
        self.dir_mut(odir)?.repoint(oname, target)?;
        self.dir_mut(ndir)?.repoint(nname, source)?;
        for (ino, parent, name) in [(source, ndir, nname), (target, odir, oname)] {
            if let Ok(d) = self.dir_mut(ino) {
                d.parent = parent;
                d.name = name.to_vec();
            }
            if let Ok(i) = self.inode_mut(ino) {
                i.ctime = now;
            }
        }
        if odir != ndir && source_is_dir != target_is_dir {
            let (losing, gaining) = if source_is_dir { (odir, ndir) } else { (ndir, odir) };
            let l = self.inode_mut(losing)?;
            l.nlink = l.nlink.saturating_sub(1);
            let g = self.inode_mut(gaining)?;
            g.nlink = g.nlink.saturating_add(1);
        }
        self.touch_dir(odir, now);
        self.touch_dir(ndir, now);
        Ok(())
    }

    /// Whether directory `a` is `d` or one of its ancestors.
    pub(super) fn is_ancestor(&self, a: Ino, d: Ino) -> bool {
        let mut cur = d;
        // Bounded: parent links form a tree, but never trust that blindly.
        for _ in 0..=self.inodes.len() {
            if cur == a {
                return true;
            }
            if cur == ROOT {
                return false;
            }
            match self.dir(cur) {
                Ok(dir) => cur = dir.parent,
                Err(_) => return false,
            }
        }
        false
    }
}

/// Rule 1 of the module doc.
fn check_flags(flags: u32) -> SysResult<()> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(EINVAL);
    }
    if flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
        return Err(EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// A single name as the last component of a path.
fn name_to_last(name: &[u8]) -> Last {
    match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        _ => Last::Name(name.to_vec()),
    }
}
