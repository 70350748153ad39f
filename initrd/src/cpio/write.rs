//! Writing newc archives that Linux's initramfs unpacker accepts.
//!
//! Linux parses headers strictly (exactly `070701`, exactly 8 hex digits per
//! field) and creates each entry as it streams past, so a file's directory
//! must come before it: the [`Writer`] keeps the caller's order and leaves
//! that to the caller (the build tool sorts). Everything else the unpacker
//! needs is decided here: fresh inode numbers in order of addition, `nlink` 1
//! (2 for directories; never a hard link), device fields 0, `check` 0.
//!
//! Output depends only on the calls made, never on the host (no clock, no
//! real inode numbers), so identical input gives byte-identical archives.

use super::{align4, FileType, MAGIC, PATH_MAX, S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, TRAILER};
use alloc::vec::Vec;
use core::fmt;

/// Owner and modification time of an entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub uid: u32,
    pub gid: u32,
    pub mtime: u32,
}

impl Meta {
    /// Owned by root (uid and gid 0), modified at `mtime`.
    pub fn root(mtime: u32) -> Meta {
        Meta { uid: 0, gid: 0, mtime }
    }
}

/// Why an entry could not be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The name contains a NUL byte.
    NameHasNul,
    /// The name, with its NUL, is longer than Linux's `PATH_MAX`.
    NameTooLong { len: usize },
    /// The name is `TRAILER!!!`, which would end the archive early.
    ReservedName,
    /// The mode's file-type bits name no file type.
    BadFileType { mode: u32 },
    /// Data for a directory or device node, which have none.
    UnexpectedData,
    /// The data does not fit the 32-bit `filesize` field.
    DataTooLarge { len: usize },
    /// A symlink target that is empty, contains NUL or is too long for Linux.
    BadSymlinkTarget,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NameHasNul => write!(f, "name contains a NUL byte"),
            WriteError::NameTooLong { len } => {
                write!(f, "name of {len} bytes is too long (at most {} allowed)", PATH_MAX - 1)
            }
            WriteError::ReservedName => write!(f, "name {TRAILER} is reserved for the trailer"),
            WriteError::BadFileType { mode } => {
                write!(f, "mode {mode:#o} has no valid file type")
            }
            WriteError::UnexpectedData => {
                write!(f, "directories and device nodes cannot have contents")
            }
            WriteError::DataTooLarge { len } => {
                write!(f, "contents of {len} bytes exceed the 4 GiB cpio limit")
            }
            WriteError::BadSymlinkTarget => write!(f, "symlink target must be 1 to {} bytes without NUL", PATH_MAX - 1),
        }
    }
}

/// Builds a newc archive in memory.
#[derive(Clone, Debug)]
pub struct Writer {
    buf: Vec<u8>,
    next_ino: u32,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer { buf: Vec::new(), next_ino: 1 }
    }

    /// Appends an entry. `mode` is the full `st_mode` (type and permission
    /// bits); `data` is a file's contents or a symlink's target; `rdev` is
    /// the (major, minor) of a device node. Leading and trailing `/` are
    /// dropped from `name`, and `/` itself is written as `.`.
    pub fn add(&mut self, name: &str, mode: u32, meta: Meta, data: &[u8], rdev: (u32, u32)) -> Result<(), WriteError> {
        let name = name.trim_start_matches('/').trim_end_matches('/');
        let name = if name.is_empty() { "." } else { name };
        if name.contains('\0') {
            return Err(WriteError::NameHasNul);
        }
        if name.len() >= PATH_MAX {
            return Err(WriteError::NameTooLong { len: name.len() });
        }
        if name == TRAILER {
            return Err(WriteError::ReservedName);
        }
        let filesize = u32::try_from(data.len()).map_err(|_| WriteError::DataTooLarge { len: data.len() })?;
        let nlink = match FileType::from_mode(mode) {
            FileType::Unknown => return Err(WriteError::BadFileType { mode }),
            FileType::Regular => 1,
            FileType::Symlink => {
                if data.is_empty() || data.len() >= PATH_MAX || data.contains(&0) {
                    return Err(WriteError::BadSymlinkTarget);
                }
                1
            }
            FileType::Directory if data.is_empty() => 2,
            _ if data.is_empty() => 1,
            _ => return Err(WriteError::UnexpectedData),
        };
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1);
        self.entry(name, [ino, mode, meta.uid, meta.gid, nlink, meta.mtime, filesize], rdev, data);
        Ok(())
    }

    /// Appends a directory with permissions `perm` (only `0o7777` is used).
    pub fn dir(&mut self, name: &str, perm: u32, meta: Meta) -> Result<(), WriteError> {
        self.add(name, S_IFDIR | perm & 0o7777, meta, &[], (0, 0))
    }

    /// Appends a regular file.
    pub fn file(&mut self, name: &str, perm: u32, meta: Meta, data: &[u8]) -> Result<(), WriteError> {
        self.add(name, S_IFREG | perm & 0o7777, meta, data, (0, 0))
    }

    /// Appends a symlink to `target` (permissions 0777, as Linux makes them).
    pub fn symlink(&mut self, name: &str, target: &str, meta: Meta) -> Result<(), WriteError> {
        self.add(name, S_IFLNK | 0o777, meta, target.as_bytes(), (0, 0))
    }

    /// Appends a character device node for device `major:minor`.
    pub fn char_device(
        &mut self,
        name: &str,
        perm: u32,
        meta: Meta,
        (major, minor): (u32, u32),
    ) -> Result<(), WriteError> {
        self.add(name, S_IFCHR | perm & 0o7777, meta, &[], (major, minor))
    }

    /// Appends a block device node for device `major:minor`.
    pub fn block_device(
        &mut self,
        name: &str,
        perm: u32,
        meta: Meta,
        (major, minor): (u32, u32),
    ) -> Result<(), WriteError> {
        self.add(name, S_IFBLK | perm & 0o7777, meta, &[], (major, minor))
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        // Same trailer as the kernel's gen_init_cpio: all zero but nlink 1.
        self.entry(TRAILER, [0, 0, 0, 0, 1, 0, 0], (0, 0), &[]);
        self.buf
    }

    /// Writes header, name, data and padding. `first` holds ino, mode, uid,
    /// gid, nlink, mtime and filesize; the name is known to be short.
    fn entry(&mut self, name: &str, first: [u32; 7], rdev: (u32, u32), data: &[u8]) {
        let namesize = name.len() as u32 + 1;
        self.buf.extend_from_slice(MAGIC);
        for v in first {
            push_hex8(&mut self.buf, v);
        }
        for v in [0, 0, rdev.0, rdev.1, namesize, 0] {
            push_hex8(&mut self.buf, v);
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        let len = align4(self.buf.len()).unwrap_or(self.buf.len());
        self.buf.resize(len, 0);
    }
}

fn push_hex8(buf: &mut Vec<u8>, v: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..8).rev() {
        buf.push(DIGITS[(v >> (shift * 4) & 0xf) as usize]);
    }
}
