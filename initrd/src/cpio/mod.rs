//! The SVR4 "newc" cpio format, as Linux's initramfs unpacker reads it.
//!
//! An archive is a sequence of entries, each a 110-byte ASCII header, the
//! NUL-terminated name, then the data:
//!
//! ```text
//! magic "070701" (or "070702": same, with a data checksum in `check`)
//! 13 fields of 8 hex digits: ino mode uid gid nlink mtime filesize
//!                            devmajor devminor rdevmajor rdevminor namesize check
//! name (namesize bytes, including the NUL), zero-padded so that
//!      header + name end on a multiple of 4
//! data (filesize bytes), zero-padded to a multiple of 4
//! ```
//!
//! Alignment is counted from the start of the archive. The entry named
//! `TRAILER!!!` ends an archive; Linux accepts several archives one after the
//! other with NUL bytes between them (the kernel image's built-in initramfs
//! and early-microcode archives rely on it), and so does [`entries`]. A
//! symlink's data is its target; a directory or device has no data, a device
//! its number in `rdevmajor`/`rdevminor`.
//!
//! Why newc and not tar: it is the one format Linux unpacks into its rootfs,
//! so an image we build also boots a native kernel for comparison runs. It is
//! also simpler than tar: fixed-size header, no extension records.
//!
//! What the reader does *not* do, on purpose, because it has no file system
//! to check against: it does not resolve hard links (entries with the same
//! `ino` and `nlink > 1`; our writer never makes them), reject `..` in names,
//! or drop duplicate names. As in Linux, a later entry with the same name
//! replaces an earlier one; that is the consumer's business.

mod read;
mod write;

#[cfg(test)]
mod tests;

pub use read::{entries, CpioError, Entries, Entry};
pub use write::{Meta, WriteError, Writer};

/// Magic of a plain newc header.
pub const MAGIC: &[u8; 6] = b"070701";
/// Magic of a newc header whose `check` field is the sum of the data bytes.
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// Size of a header: magic plus 13 fields of 8 hex digits.
pub const HEADER_LEN: usize = 6 + 13 * 8;
/// Name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// Longest name Linux accepts, counting the terminating NUL (its `PATH_MAX`);
/// also the limit on a symlink target, which may not contain the NUL.
pub const PATH_MAX: usize = 4096;

/// File-type bits of `st_mode`, as Linux defines them.
pub const S_IFMT: u32 = 0o170_000;
pub const S_IFSOCK: u32 = 0o140_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFBLK: u32 = 0o060_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFIFO: u32 = 0o010_000;

/// The kind of file an entry describes, from the type bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// Type bits that name no file type (Linux skips such entries).
    Unknown,
}

impl FileType {
    pub fn from_mode(mode: u32) -> FileType {
        match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFLNK => FileType::Symlink,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            _ => FileType::Unknown,
        }
    }
}

/// Rounds `n` up to a multiple of 4, or `None` on overflow.
fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}
