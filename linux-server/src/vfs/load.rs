//! Building the root file system from the boot archive (newc cpio), the way
//! Linux unpacks an initramfs into its rootfs, with the differences noted.
//!
//! - Entries are created in archive order, with the archive's mode, owner
//!   and mtime (atime = mtime; ctime and btime are `now`, as Linux sets
//!   them). File contents and symlink targets are not copied: they stay
//!   slices of the archive, which lives as long as the server.
//! - `.` is the root itself: its entry sets the root's mode and owner.
//! - Names are resolved like paths from the root: `..` and symlinks in them
//!   are followed as Linux's unpacker would. Unlike Linux (which skips such
//!   an entry), missing parent directories are created (0755, root, mtime
//!   `now`), so archives need not list every directory.
//! - A later entry for an existing name replaces it: a directory entry over a
//!   directory only updates its mode, owner and mtime (keeping its contents);
//!   anything else replaces the old file, and an old *non-empty* directory
//!   cannot be replaced by a non-directory (`ENOTEMPTY`: that would drop a
//!   whole subtree; Linux keeps the directory and silently skips the entry).
//! - Hard links: regular-file entries with `nlink` > 1 and the same
//!   (`dev`, `ino`) become one inode with several names, as in Linux. The
//!   data may come with any of them (GNU cpio puts it on the last one and
//!   gives the others size 0): an entry with data sets the shared contents.
//! - Directory mtimes are applied after all entries (creating children would
//!   otherwise overwrite them), as Linux does.
//!
//! Where Linux silently skips a bad entry, this loader fails: the archive is
//! ours, and an image that does not unpack as written should stop the boot
//! with a message rather than boot into a half-populated tree. Errors name
//! the entry's offset; a damaged archive is the cpio reader's error.

use super::inode::{Data, Node};
use super::magic::NoMagic;
use super::namespace::check_target;
use super::{Ino, Kind, Owner, Vfs, ROOT};
use crate::linux::errno::*;
use crate::linux::stat::Timespec;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use initrd::cpio::{self, CpioError, Entry, FileType};

/// Why the boot archive could not be unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The archive itself is damaged.
    Cpio(CpioError),
    /// The entry at byte `offset` could not be created.
    Entry { offset: usize, errno: Errno },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Cpio(e) => write!(f, "bad initrd archive: {e}"),
            LoadError::Entry { offset, errno } => {
                write!(f, "initrd entry at offset {offset} cannot be created: {errno}")
            }
        }
    }
}

/// State carried across entries.
struct Loader {
    now: Timespec,
    /// (dev major, dev minor, archive ino) of multiply-linked files → inode.
    links: BTreeMap<(u32, u32, u32), Ino>,
    /// Directory mtimes to apply at the end.
    dir_times: Vec<(Ino, Timespec)>,
}

impl Vfs {
    /// Unpacks `archive` into a new file system (see the module doc).
    pub fn from_cpio(archive: &'static [u8], now: Timespec) -> Result<Vfs, LoadError> {
        let mut vfs = Vfs::new(now);
        let mut loader = Loader { now, links: BTreeMap::new(), dir_times: Vec::new() };
        for entry in cpio::entries(archive) {
            let entry = entry.map_err(LoadError::Cpio)?;
            vfs.load_entry(&entry, &mut loader).map_err(|errno| LoadError::Entry { offset: entry.offset, errno })?;
        }
        for (ino, t) in loader.dir_times {
            if let Ok(i) = vfs.inode_mut(ino) {
                i.mtime = t;
                i.atime = t;
            }
        }
        Ok(vfs)
    }

    fn load_entry(&mut self, e: &Entry<'static>, l: &mut Loader) -> SysResult<()> {
        let mtime = Timespec::new(i64::from(e.mtime), 0);
        let owner = Owner { uid: e.uid, gid: e.gid };
        let perm = e.permissions();
        let ftype = e.file_type();

        // Find the directory the entry goes into, creating what is missing.
        let mut comps: Vec<&[u8]> = e.name.as_bytes().split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        let last = comps.pop().ok_or(EINVAL)?;
        let mut dir = ROOT;
        for comp in comps {
            dir = match self.lookup(dir, comp, true, &NoMagic) {
                Ok(d) => d,
                Err(ENOENT) if self.lookup_child(dir, comp) == Err(ENOENT) => {
                    self.mkdir(dir, comp, 0o755, Owner::ROOT, l.now)?
                }
                Err(e) => return Err(e),
            };
            self.dir(dir)?;
        }

        // `.` and `..` (and the root as `.`) name an existing directory.
        if last == b"." || last == b".." {
            let ino = self.lookup_child(dir, last)?;
            if ftype != FileType::Directory {
                return Err(EEXIST);
            }
            return self.set_meta(ino, perm, owner, mtime, l);
        }

        let existing = self.lookup_child(dir, last).ok();
        if ftype == FileType::Directory {
            match existing {
                Some(ino) if self.is_dir(ino) => return self.set_meta(ino, perm, owner, mtime, l),
                Some(_) => self.unlink(dir, last, l.now)?,
                None => {}
            }
            let ino = self.mkdir(dir, last, perm, owner, l.now)?;
            return self.set_meta(ino, perm, owner, mtime, l);
        }

        let linked = match (ftype, e.nlink) {
            (FileType::Regular, 2..) => Some((e.dev.0, e.dev.1, e.ino)),
            _ => None,
        };
        let link_to = linked
            .and_then(|key| l.links.get(&key).copied())
            .filter(|&ino| self.kind(ino) == Ok(Kind::Regular) && self.inode(ino).is_ok_and(|i| i.nlink > 0));

        if let Some(old) = existing {
            if Some(old) != link_to {
                if self.is_dir(old) {
                    self.rmdir(dir, last, l.now)?;
                } else {
                    self.unlink(dir, last, l.now)?;
                }
            }
        }

        let ino = match link_to {
            Some(target) => {
                if existing != Some(target) {
                    self.link(target, dir, last, l.now)?;
                }
                if !e.data.is_empty() {
                    self.set_data(target, e.data)?;
                }
                target
            }
            None => {
                let node = match ftype {
                    FileType::Regular => Node::File(Data::Borrowed(self.checked_data(e.data)?)),
                    FileType::Symlink => {
                        check_target(e.data)?;
                        Node::Symlink(Data::Borrowed(e.data))
                    }
                    FileType::CharDevice => Node::Char(e.rdev.0, e.rdev.1),
                    FileType::BlockDevice => Node::Block(e.rdev.0, e.rdev.1),
                    FileType::Fifo => Node::Fifo,
                    FileType::Socket => Node::Socket,
                    FileType::Directory | FileType::Unknown => return Err(EINVAL),
                };
                let ino = self.add_node(dir, last, node, perm, owner, l.now)?;
                if let Some(key) = linked {
                    l.links.insert(key, ino);
                }
                ino
            }
        };
        self.set_meta(ino, perm, owner, mtime, l)
    }

    /// Applies an entry's mode, owner and times exactly (no setgid
    /// inheritance: the archive says what it wants).
    fn set_meta(&mut self, ino: Ino, perm: u32, owner: Owner, mtime: Timespec, l: &mut Loader) -> SysResult<()> {
        let i = self.inode_mut(ino)?;
        i.perm = perm & 0o7777;
        i.uid = owner.uid;
        i.gid = owner.gid;
        i.atime = mtime;
        i.mtime = mtime;
        if i.is_dir() {
            l.dir_times.push((ino, mtime));
        }
        Ok(())
    }

    fn set_data(&mut self, ino: Ino, data: &'static [u8]) -> SysResult<()> {
        let data = self.checked_data(data)?;
        match &mut self.inode_mut(ino)?.node {
            Node::File(d) => {
                *d = Data::Borrowed(data);
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }
}

impl Vfs {
    /// File contents within the size limit (`EFBIG`).
    fn checked_data(&self, data: &'static [u8]) -> SysResult<&'static [u8]> {
        if data.len() as u64 > self.max_file_size {
            return Err(EFBIG);
        }
        Ok(data)
    }
}
