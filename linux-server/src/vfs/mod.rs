//! The VFS: one in-memory file system (a writable ramfs, like Linux's tmpfs
//! as rootfs) that is the whole root, with Linux's path semantics and errnos.
//!
//! It is plain data plus operations, with no notion of processes, file
//! descriptors or the microkernel, so every rule can be tested on the host.
//! The syscall layer owns the policy around it: which process, which
//! credentials, `O_CREAT`/`O_EXCL`/`O_TRUNC`, permission checks on paths,
//! umask. What it needs from here:
//!
//! - **Inodes by number** ([`Ino`]). The server's open files and working
//!   directories refer to inodes by number, not by borrowed references (an
//!   fd outlives any borrow of the tree). An inode number is never reused,
//!   so a stale number fails with `ENOENT` instead of reaching another file.
//! - **Explicit open counts** ([`Vfs::open_ref`], [`Vfs::close_ref`]). An
//!   inode lives while it has a name *or* is open; the last `unlink` of an
//!   open file only removes its name, and the last close frees it (Linux
//!   semantics). The server must take a reference for every open file
//!   description, every working directory and every executable it keeps a
//!   handle to, and drop it when done.
//! - **Path resolution** relative to any directory inode ([`Vfs::lookup`],
//!   [`Vfs::lookup_parent`]) and path-level namespace operations
//!   (`mkdir_at`, `unlink_at`, `rename_at`, ...) that apply Linux's rules
//!   for `/`, `.`, `..` and trailing slashes; underneath, the same
//!   operations on (directory inode, name) pairs.
//! - **Magic links** ([`Kind::MagicLink`], [`Resolver`]): symlinks whose
//!   target the server computes at resolution time (`/proc/self`,
//!   `/proc/<pid>/exe`, `/proc/<pid>/cwd`).
//! - **Times from the caller**: every mutating operation takes `now`, so the
//!   VFS needs no clock and tests are deterministic. Reads never change
//!   `atime` (as if mounted `noatime`): the server would otherwise have to
//!   turn every `read` into a metadata write, for a time nobody looks at.
//!
//! Files from the boot archive are not copied: their contents stay slices of
//! the archive (which lives for the server's whole life) until first written
//! ([`Vfs::from_cpio`]).
//!
//! Errors are always errnos, never panics, whatever the input: the inode
//! table is only reached through lookups that fail with `ENOENT`, all
//! arithmetic on sizes and offsets is checked, and file data grows with
//! `try_reserve` so that running out of memory is `ENOSPC`.

mod at;
mod attr;
mod cwd;
mod file;
mod inode;
mod load;
mod magic;
mod namespace;
mod open;
mod path;
mod readdir;
mod rename;

#[cfg(test)]
mod tests;

pub use attr::TimeSet;
pub use load::LoadError;
pub use magic::{MagicTarget, NoMagic, Resolver};
pub use path::{Last, Parent};

use crate::linux::errno::*;
use crate::linux::fcntl::*;
use crate::linux::stat::Timespec;
use alloc::collections::BTreeMap;
use core::fmt;
use inode::{Dir, Inode, Node};

/// An inode number; also `st_ino`.
pub type Ino = u64;

/// The root directory's inode number (tmpfs also gives its root 1).
pub const ROOT: Ino = 1;

/// Longest path, counting the terminating NUL (Linux's `PATH_MAX`): paths
/// and symlink targets must be shorter.
pub const PATH_MAX: usize = 4096;
/// Longest file name (one path component).
pub const NAME_MAX: usize = 255;
/// Most symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// Default largest file size ([`Vfs::set_max_file_size`]); writing or
/// truncating past it is `EFBIG`. Files live in memory, and the limit keeps
/// one runaway writer from taking all of it.
pub const MAX_FILE_SIZE: u64 = 1 << 30;
/// `st_dev` of every file, as (major, minor): an anonymous device, as tmpfs.
pub const DEV: (u32, u32) = (0, 1);
/// `st_blksize`.
pub const BLOCK_SIZE: u64 = 4096;
/// What tmpfs counts per directory entry in a directory's `st_size`.
pub const DIRENT_SIZE: u64 = 20;

/// What kind of file an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Directory,
    Symlink,
    /// A character device node for (major, minor).
    CharDevice(u32, u32),
    /// A block device node for (major, minor).
    BlockDevice(u32, u32),
    Fifo,
    Socket,
    /// A symlink whose target the server supplies when it is followed or
    /// read, through a [`Resolver`]; the number says which one. It looks like
    /// a symlink to `stat` (`S_IFLNK`, size 0, like Linux's `/proc` links).
    MagicLink(u32),
}

impl Kind {
    /// The file-type bits of `st_mode`.
    pub fn type_bits(self) -> u32 {
        match self {
            Kind::Regular => S_IFREG,
            Kind::Directory => S_IFDIR,
            Kind::Symlink | Kind::MagicLink(_) => S_IFLNK,
            Kind::CharDevice(..) => S_IFCHR,
            Kind::BlockDevice(..) => S_IFBLK,
            Kind::Fifo => S_IFIFO,
            Kind::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` of a directory entry for this kind.
    pub fn dtype(self) -> u8 {
        crate::linux::dirent::dtype_from_mode(self.type_bits())
    }

    /// The kind `mknod(path, mode, dev)` asks for, with Linux's rules: type
    /// bits 0 mean a regular file, a directory is `EPERM` (use `mkdir`), a
    /// symlink or unknown type `EINVAL`. `rdev` is used for devices only.
    pub fn for_mknod(mode: u32, rdev: (u32, u32)) -> SysResult<Kind> {
        match mode & S_IFMT {
            0 | S_IFREG => Ok(Kind::Regular),
            S_IFCHR => Ok(Kind::CharDevice(rdev.0, rdev.1)),
            S_IFBLK => Ok(Kind::BlockDevice(rdev.0, rdev.1)),
            S_IFIFO => Ok(Kind::Fifo),
            S_IFSOCK => Ok(Kind::Socket),
            S_IFDIR => Err(EPERM),
            _ => Err(EINVAL),
        }
    }
}

/// The owner a new inode gets (the creating process's fsuid and fsgid).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };
}

/// The file system: a table of inodes, the root among them.
pub struct Vfs {
    inodes: BTreeMap<Ino, Inode>,
    /// Next inode number to hand out; numbers are never reused.
    next_ino: Ino,
    /// Largest file size (`EFBIG` beyond).
    max_file_size: u64,
    /// Bytes of file contents held in memory (owned data, not the initrd's)
    /// and the most there may be (`ENOSPC` beyond, as a full tmpfs): see
    /// [`Vfs::set_data_limit`].
    data_used: u64,
    data_limit: u64,
    /// Asked before file contents take a new allocation of that many bytes:
    /// see [`Vfs::set_memory_check`].
    memory_check: fn(u64) -> bool,
}

fn any_memory(_bytes: u64) -> bool {
    true
}

impl fmt::Debug for Vfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vfs").field("inodes", &self.inodes.len()).field("next_ino", &self.next_ino).finish()
    }
}

impl Vfs {
    /// An empty file system: a root directory (0755, owned by root).
    pub fn new(now: Timespec) -> Vfs {
        let mut inodes = BTreeMap::new();
        let mut root = Inode::new(Node::Dir(Dir::new(ROOT, alloc::vec::Vec::new())), 0o755, Owner::ROOT, now);
        root.nlink = 2;
        inodes.insert(ROOT, root);
        Vfs {
            inodes,
            next_ino: ROOT + 1,
            max_file_size: MAX_FILE_SIZE,
            data_used: 0,
            data_limit: u64::MAX,
            memory_check: any_memory,
        }
    }

    /// Limits the bytes all files together may hold in memory: writing or
    /// growing past it is `ENOSPC` (a write that fits partly is cut short),
    /// like a full tmpfs. The server sets it below what its heap and RAM can
    /// hold, so that files cannot exhaust the memory the server itself needs.
    pub fn set_data_limit(&mut self, limit: u64) {
        self.data_limit = limit;
    }

    /// Before file contents grow into a new allocation of `bytes` bytes,
    /// `check(bytes)` must agree, else the write or truncate is `ENOSPC`.
    /// The limit above bounds what files hold; this asks whether memory is
    /// there now: the server's heap shares RAM with the processes, and a
    /// large file must not take the pages the server needs for itself.
    pub fn set_memory_check(&mut self, check: fn(u64) -> bool) {
        self.memory_check = check;
    }

    /// (bytes of file contents in memory, the limit).
    pub fn data_usage(&self) -> (u64, u64) {
        (self.data_used, self.data_limit)
    }

    /// Sets the largest file size (at most `isize::MAX`). Existing larger
    /// files keep their size but cannot grow.
    pub fn set_max_file_size(&mut self, max: u64) {
        self.max_file_size = max.min(isize::MAX as u64);
    }

    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// The root directory.
    pub fn root(&self) -> Ino {
        ROOT
    }

    /// Whether `ino` names a live inode (linked, or unlinked but open).
    pub fn exists(&self, ino: Ino) -> bool {
        self.inodes.contains_key(&ino)
    }

    /// Number of live inodes.
    pub fn inode_count(&self) -> usize {
        self.inodes.len()
    }

    pub fn kind(&self, ino: Ino) -> SysResult<Kind> {
        Ok(self.inode(ino)?.kind())
    }

    pub fn is_dir(&self, ino: Ino) -> bool {
        matches!(self.kind(ino), Ok(Kind::Directory))
    }

    /// The parent of directory `dir` (the root is its own parent). `ENOENT`
    /// for a removed directory whose parent is gone too.
    pub fn parent(&self, dir: Ino) -> SysResult<Ino> {
        if dir == ROOT {
            return Ok(ROOT);
        }
        let parent = self.dir(dir)?.parent;
        self.inode(parent)?;
        Ok(parent)
    }

    /// Looks up one directory entry, without following symlinks: `.` is
    /// `dir`, `..` its parent.
    pub fn lookup_child(&self, dir: Ino, name: &[u8]) -> SysResult<Ino> {
        let d = self.dir(dir)?;
        match name {
            b"." => Ok(dir),
            b".." => self.parent(dir),
            _ => {
                check_name(name)?;
                d.get(name).ok_or(ENOENT)
            }
        }
    }

    // --- internal helpers shared by the operation modules ----------------------

    fn inode(&self, ino: Ino) -> SysResult<&Inode> {
        self.inodes.get(&ino).ok_or(ENOENT)
    }

    fn inode_mut(&mut self, ino: Ino) -> SysResult<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(ENOENT)
    }

    /// The directory `ino`: `ENOENT` if there is no such inode, `ENOTDIR` if
    /// it is not a directory.
    fn dir(&self, ino: Ino) -> SysResult<&Dir> {
        match &self.inode(ino)?.node {
            Node::Dir(d) => Ok(d),
            _ => Err(ENOTDIR),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> SysResult<&mut Dir> {
        match &mut self.inode_mut(ino)?.node {
            Node::Dir(d) => Ok(d),
            _ => Err(ENOTDIR),
        }
    }

    /// A directory's contents changed: mtime and ctime.
    fn touch_dir(&mut self, dir: Ino, now: Timespec) {
        if let Ok(i) = self.inode_mut(dir) {
            i.mtime = now;
            i.ctime = now;
        }
    }

    /// Frees `ino` if it has neither a name nor an opener.
    fn maybe_free(&mut self, ino: Ino) {
        if ino == ROOT {
            return;
        }
        if let Some(i) = self.inodes.get(&ino) {
            if i.nlink == 0 && i.open == 0 {
                if let Some(i) = self.inodes.remove(&ino) {
                    self.data_used = self.data_used.saturating_sub(i.node.owned_len());
                }
            }
        }
    }

    /// Adds `inode` to the table under a fresh number.
    fn alloc(&mut self, inode: Inode) -> SysResult<Ino> {
        let ino = self.next_ino;
        self.next_ino = ino.checked_add(1).ok_or(ENOSPC)?;
        self.inodes.insert(ino, inode);
        Ok(ino)
    }
}

/// Checks a name for one directory entry: not empty (`ENOENT`, as Linux
/// reports empty paths), at most [`NAME_MAX`] bytes (`ENAMETOOLONG`), no `/`
/// or NUL (`EINVAL`; a path lookup never produces those).
fn check_name(name: &[u8]) -> SysResult<()> {
    if name.is_empty() {
        return Err(ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(EINVAL);
    }
    Ok(())
}
