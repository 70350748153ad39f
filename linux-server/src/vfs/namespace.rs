//! Creating and removing names in a directory: `create`, `mkdir`, `mknod`,
//! `symlink`, `link`, `unlink`, `rmdir` on a (directory inode, name) pair,
//! with Linux's errnos. The path-level forms are in `at.rs`.
//!
//! Names `.` and `..` get the answers Linux gives for them: creating one is
//! `EEXIST` (it exists), `unlink` is `EISDIR`, `rmdir(".")` is `EINVAL` and
//! `rmdir("..")` is `ENOTEMPTY`. Nothing can be created in a directory that
//! has been removed (`ENOENT`), even while it is still someone's cwd.
//!
//! Link counts: a directory has 2 + its subdirectories (its entry in the
//! parent, its own `.`, each child's `..`); anything else one per name. A
//! removed directory has 0. An inode is freed once it has no names and no
//! open references.
//!
//! New inodes get the caller's owner, except in a setgid directory: there
//! they get the directory's group, and new subdirectories inherit the setgid
//! bit (System V semantics, as Linux). Linux additionally strips the setgid
//! bit from a new group-executable file whose creator is not in its group;
//! that needs supplementary groups, which the VFS does not know, so it is
//! left to the caller. `perm` is used as given (the caller applies umask).
//!
//! Timestamps: a new inode has all four times `now`; a directory whose
//! entries change gets mtime and ctime `now`; an inode that gains or loses a
//! name gets ctime `now`.

use super::inode::{Data, Inode, Node};
use super::magic::{MagicTarget, Resolver};
use super::{check_name, Ino, Kind, Owner, Vfs, PATH_MAX};
use crate::linux::errno::*;
use crate::linux::fcntl::S_ISGID;
use crate::linux::stat::Timespec;
use alloc::vec::Vec;

impl Vfs {
    /// Creates an empty regular file `name` in `dir`; `EEXIST` if the name is
    /// taken (whatever it names: `O_CREAT` without `O_EXCL` is the caller's
    /// lookup-then-create).
    pub fn create(&mut self, dir: Ino, name: &[u8], perm: u32, owner: Owner, now: Timespec) -> SysResult<Ino> {
        self.mknod(dir, name, Kind::Regular, perm, owner, now)
    }

    /// Creates an empty directory.
    pub fn mkdir(&mut self, dir: Ino, name: &[u8], perm: u32, owner: Owner, now: Timespec) -> SysResult<Ino> {
        self.add(dir, name, Kind::Directory, perm, owner, now)
    }

    /// Creates a regular file, device node, FIFO or socket (see
    /// [`Kind::for_mknod`]); directories and links have their own calls
    /// (`EINVAL` here).
    pub fn mknod(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        owner: Owner,
        now: Timespec,
    ) -> SysResult<Ino> {
        match kind {
            Kind::Directory | Kind::Symlink | Kind::MagicLink(_) => Err(EINVAL),
            _ => self.add(dir, name, kind, perm, owner, now),
        }
    }

    /// Creates a symlink to `target`: `ENOENT` for an empty target,
    /// `ENAMETOOLONG` for one of [`PATH_MAX`] bytes or more, `EINVAL` if it
    /// contains a NUL (impossible from C). Permissions are always 0777.
    pub fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], owner: Owner, now: Timespec) -> SysResult<Ino> {
        check_target(target)?;
        self.add_node(dir, name, Node::Symlink(Data::Owned(target.to_vec())), 0o777, owner, now)
    }

    /// Creates magic link `id` (owned by root, 0777); see [`Resolver`].
    pub fn magic_link(&mut self, dir: Ino, name: &[u8], id: u32, now: Timespec) -> SysResult<Ino> {
        self.add(dir, name, Kind::MagicLink(id), 0o777, Owner::ROOT, now)
    }

    /// A symlink's target; `EINVAL` if `ino` is not a link. A magic link's is
    /// what `magic` says (`ENOENT` if nothing).
    pub fn readlink(&self, ino: Ino, magic: &dyn Resolver) -> SysResult<Vec<u8>> {
        match &self.inode(ino)?.node {
            Node::Symlink(d) => Ok(d.bytes().to_vec()),
            Node::Magic(id) => match magic.magic_link(*id).ok_or(ENOENT)? {
                MagicTarget::Path(p) => Ok(p),
                MagicTarget::Jump { text, .. } => Ok(text),
            },
            _ => Err(EINVAL),
        }
    }

    /// Gives inode `ino` another name. `EPERM` for a directory, `ENOENT` for
    /// an inode without names (unlinked but open), `EMLINK` on counter
    /// overflow.
    pub fn link(&mut self, ino: Ino, dir: Ino, name: &[u8], now: Timespec) -> SysResult<()> {
        self.check_new_name(dir, name)?;
        let target = self.inode(ino)?;
        if target.is_dir() {
            return Err(EPERM);
        }
        if target.nlink == 0 {
            return Err(ENOENT);
        }
        let nlink = target.nlink.checked_add(1).ok_or(EMLINK)?;
        self.dir_mut(dir)?.insert(name, ino)?;
        let target = self.inode_mut(ino)?;
        target.nlink = nlink;
        target.ctime = now;
        self.touch_dir(dir, now);
        Ok(())
    }

    /// Removes a non-directory's name (`EISDIR` for a directory).
    pub fn unlink(&mut self, dir: Ino, name: &[u8], now: Timespec) -> SysResult<()> {
        self.dir(dir)?;
        if name == b"." || name == b".." {
            return Err(EISDIR);
        }
        check_name(name)?;
        let child = self.dir(dir)?.get(name).ok_or(ENOENT)?;
        if self.inode(child)?.is_dir() {
            return Err(EISDIR);
        }
        self.dir_mut(dir)?.remove(name);
        let c = self.inode_mut(child)?;
        c.nlink = c.nlink.saturating_sub(1);
        c.ctime = now;
        self.touch_dir(dir, now);
        self.maybe_free(child);
        Ok(())
    }

    /// Removes an empty directory: `ENOTDIR` if it is not one, `ENOTEMPTY`
    /// if it has entries.
    pub fn rmdir(&mut self, dir: Ino, name: &[u8], now: Timespec) -> SysResult<()> {
        self.dir(dir)?;
        match name {
            b"." => return Err(EINVAL),
            b".." => return Err(ENOTEMPTY),
            _ => check_name(name)?,
        }
        let child = self.dir(dir)?.get(name).ok_or(ENOENT)?;
        if !self.dir(child)?.is_empty() {
            return Err(ENOTEMPTY);
        }
        self.dir_mut(dir)?.remove(name);
        let c = self.inode_mut(child)?;
        c.nlink = 0;
        c.ctime = now;
        let d = self.inode_mut(dir)?;
        d.nlink = d.nlink.saturating_sub(1);
        self.touch_dir(dir, now);
        self.maybe_free(child);
        Ok(())
    }

    /// Checks that `name` can be added to `dir`: `dir` is a live directory
    /// with room, and `name` is a valid, unused name.
    pub(super) fn check_new_name(&self, dir: Ino, name: &[u8]) -> SysResult<()> {
        let d = self.dir(dir)?;
        if name == b"." || name == b".." {
            return Err(EEXIST);
        }
        check_name(name)?;
        if d.get(name).is_some() {
            return Err(EEXIST);
        }
        if self.inode(dir)?.nlink == 0 {
            return Err(ENOENT);
        }
        if !d.has_room() {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Creates an inode of `kind` (empty contents) and links it as `name`.
    fn add(&mut self, dir: Ino, name: &[u8], kind: Kind, perm: u32, owner: Owner, now: Timespec) -> SysResult<Ino> {
        self.add_node(dir, name, Node::empty(kind, dir, name), perm, owner, now)
    }

    /// Creates an inode holding `node` and links it as `name` in `dir`.
    pub(super) fn add_node(
        &mut self,
        dir: Ino,
        name: &[u8],
        node: Node,
        perm: u32,
        owner: Owner,
        now: Timespec,
    ) -> SysResult<Ino> {
        self.check_new_name(dir, name)?;
        let parent = self.inode(dir)?;
        let is_dir = matches!(node, Node::Dir(_));
        let parent_nlink = if is_dir { parent.nlink.checked_add(1).ok_or(EMLINK)? } else { parent.nlink };
        let (mut perm, mut owner) = (perm & 0o7777, owner);
        if parent.perm & S_ISGID != 0 {
            owner.gid = parent.gid;
            if is_dir {
                perm |= S_ISGID;
            }
        }
        let mut inode = Inode::new(node, perm, owner, now);
        inode.nlink = if is_dir { 2 } else { 1 };
        let ino = self.alloc(inode)?;
        if let Err(e) = self.dir_mut(dir).and_then(|d| d.insert(name, ino)) {
            self.inodes.remove(&ino);
            return Err(e);
        }
        self.inode_mut(dir)?.nlink = parent_nlink;
        self.touch_dir(dir, now);
        Ok(ino)
    }
}

/// Checks a symlink target (see [`Vfs::symlink`]).
pub(super) fn check_target(target: &[u8]) -> SysResult<()> {
    if target.is_empty() {
        return Err(ENOENT);
    }
    if target.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    if target.contains(&0) {
        return Err(EINVAL);
    }
    Ok(())
}
