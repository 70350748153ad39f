//! What an inode holds: metadata, and per kind its contents — file bytes,
//! directory entries, a symlink target, a device number.
//!
//! **File data is copy-on-write.** Files unpacked from the boot archive keep
//! pointing into it (`Data::Borrowed`, a `&'static` slice: the archive lives
//! as long as the server), so booting copies nothing; the first write that
//! changes bytes or grows the file copies them into an owned vector. Shrinking
//! (`truncate`) just takes a shorter slice and stays borrowed: no reason to
//! copy what is kept unchanged. All growth uses `try_reserve`, so a full
//! memory is an `ENOSPC` and never an allocation abort.
//!
//! **Directory entries carry a sequence number** handed out at insertion and
//! never reused within the directory. `getdents` positions are these numbers,
//! so a reader that continues from a position sees every entry that existed
//! throughout exactly once, however many entries are added or removed in
//! between (what tmpfs's stable offsets give since Linux 6.6). Lookups go
//! through a second map by name.
//!
//! **A directory knows its parent and its own name** (directories have exactly
//! one name), so `..` and `getcwd` walk upwards without searching parents.

use super::{Ino, Kind, Owner};
use crate::linux::errno::*;
use crate::linux::stat::Timespec;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A file's bytes: a slice of the boot archive, or our own copy.
#[derive(Clone, Debug)]
pub(super) enum Data {
    Borrowed(&'static [u8]),
    Owned(Vec<u8>),
}

impl Data {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Borrowed(b) => b,
            Data::Owned(v) => v,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// The owned vector, copying borrowed bytes first, with room for `cap`
    /// bytes in total.
    fn owned(&mut self, cap: usize) -> SysResult<&mut Vec<u8>> {
        if let Data::Borrowed(b) = *self {
            let mut v = Vec::new();
            v.try_reserve_exact(cap.max(b.len())).map_err(|_| ENOSPC)?;
            v.extend_from_slice(b);
            *self = Data::Owned(v);
        }
        match self {
            Data::Owned(v) => {
                if let Some(more) = cap.checked_sub(v.len()) {
                    v.try_reserve(more).map_err(|_| ENOSPC)?;
                }
                Ok(v)
            }
            Data::Borrowed(_) => Err(EIO),
        }
    }

    /// Bytes of the new allocation that holding `len` bytes takes: none if
    /// they fit the vector's capacity; a borrowed file is copied whole.
    pub fn allocation_for(&self, len: usize) -> usize {
        match self {
            Data::Borrowed(b) => len.max(b.len()),
            Data::Owned(v) if len <= v.capacity() => 0,
            // `try_reserve` at least doubles.
            Data::Owned(v) => len.max(v.capacity().saturating_mul(2)),
        }
    }

    /// Writes `src` at `offset`, filling any gap past the end with zeros.
    /// Size limits are the caller's; this only checks arithmetic.
    pub fn write_at(&mut self, offset: usize, src: &[u8]) -> SysResult<()> {
        let end = offset.checked_add(src.len()).ok_or(EFBIG)?;
        let v = self.owned(end)?;
        if v.len() < end {
            v.resize(end, 0);
        }
        v.get_mut(offset..end).ok_or(EIO)?.copy_from_slice(src);
        Ok(())
    }

    /// Sets the length: shrinking cuts (borrowed data stays borrowed),
    /// growing appends zeros.
    pub fn set_len(&mut self, len: usize) -> SysResult<()> {
        match self {
            Data::Borrowed(b) if len <= b.len() => {
                let whole: &'static [u8] = b;
                *b = whole.get(..len).unwrap_or_default();
                Ok(())
            }
            _ => {
                let v = self.owned(len)?;
                v.resize(len, 0);
                if v.capacity() > 2 * len.max(4096) {
                    v.shrink_to_fit();
                }
                Ok(())
            }
        }
    }

    /// Bytes held in memory (counted against [`super::Vfs::set_data_limit`]):
    /// the length of owned data; borrowed data is the initrd's.
    pub fn owned_len(&self) -> u64 {
        match self {
            Data::Borrowed(_) => 0,
            Data::Owned(v) => v.len() as u64,
        }
    }

    #[cfg(test)]
    pub fn is_borrowed(&self) -> bool {
        matches!(self, Data::Borrowed(_))
    }
}

/// A directory's entries (without `.` and `..`), its parent and its name.
#[derive(Clone, Debug)]
pub(super) struct Dir {
    /// The directory holding this one; the root's is itself. Kept after the
    /// directory is removed (the parent may then be gone as well).
    pub parent: Ino,
    /// This directory's name in its parent (empty for the root).
    pub name: Vec<u8>,
    /// Name → (sequence number, inode).
    names: BTreeMap<Vec<u8>, (u64, Ino)>,
    /// Sequence number → name: the `getdents` order.
    order: BTreeMap<u64, Vec<u8>>,
    next_seq: u64,
}

/// The first entry's sequence number; positions 0 and 1 are `.` and `..`.
pub(super) const FIRST_SEQ: u64 = 2;
/// Positions must fit `d_off` (an `i64`), one past the last entry included.
const MAX_SEQ: u64 = i64::MAX as u64 - 1;

impl Dir {
    pub fn new(parent: Ino, name: Vec<u8>) -> Dir {
        Dir { parent, name, names: BTreeMap::new(), order: BTreeMap::new(), next_seq: FIRST_SEQ }
    }

    pub fn get(&self, name: &[u8]) -> Option<Ino> {
        self.names.get(name).map(|&(_, ino)| ino)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether one more entry can be added (sequence numbers are finite).
    pub fn has_room(&self) -> bool {
        self.next_seq < MAX_SEQ
    }

    /// Adds an entry; the caller has checked that `name` is free and that
    /// there is room.
    pub fn insert(&mut self, name: &[u8], ino: Ino) -> SysResult<()> {
        if self.names.contains_key(name) {
            return Err(EEXIST);
        }
        if !self.has_room() {
            return Err(ENOSPC);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.names.insert(name.to_vec(), (seq, ino));
        self.order.insert(seq, name.to_vec());
        Ok(())
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Ino> {
        let (seq, ino) = self.names.remove(name)?;
        self.order.remove(&seq);
        Some(ino)
    }

    /// Points an existing entry at another inode, keeping its position
    /// (`RENAME_EXCHANGE`).
    pub fn repoint(&mut self, name: &[u8], ino: Ino) -> SysResult<()> {
        let entry = self.names.get_mut(name).ok_or(ENOENT)?;
        entry.1 = ino;
        Ok(())
    }

    /// Entries from position `pos` on, in order: (position, name, inode).
    pub fn from(&self, pos: u64) -> impl Iterator<Item = (u64, &[u8], Ino)> + '_ {
        self.order
            .range(pos..)
            .filter_map(|(&seq, name)| self.names.get(name.as_slice()).map(|&(_, ino)| (seq, name.as_slice(), ino)))
    }

    /// All entries, by name.
    #[cfg(test)]
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], Ino)> + '_ {
        self.names.iter().map(|(n, &(_, ino))| (n.as_slice(), ino))
    }
}

/// What an inode is, with its contents.
#[derive(Clone, Debug)]
pub(super) enum Node {
    File(Data),
    Dir(Dir),
    Symlink(Data),
    Magic(u32),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
    Socket,
}

impl Node {
    /// A regular file's contents in memory (0 for anything else).
    pub fn owned_len(&self) -> u64 {
        match self {
            Node::File(d) => d.owned_len(),
            _ => 0,
        }
    }

    /// The contents of a new, empty node of `kind`.
    pub fn empty(kind: Kind, parent: Ino, name: &[u8]) -> Node {
        match kind {
            Kind::Regular => Node::File(Data::Owned(Vec::new())),
            Kind::Directory => Node::Dir(Dir::new(parent, name.to_vec())),
            Kind::Symlink => Node::Symlink(Data::Owned(Vec::new())),
            Kind::MagicLink(id) => Node::Magic(id),
            Kind::CharDevice(ma, mi) => Node::Char(ma, mi),
            Kind::BlockDevice(ma, mi) => Node::Block(ma, mi),
            Kind::Fifo => Node::Fifo,
            Kind::Socket => Node::Socket,
        }
    }
}

/// One inode.
#[derive(Clone, Debug)]
pub(super) struct Inode {
    pub node: Node,
    /// Permission bits, `0o7777` (setuid, setgid, sticky included).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Names (for directories: 2 + subdirectories; 0 once removed).
    pub nlink: u32,
    /// Open references the server holds ([`super::Vfs::open_ref`]).
    pub open: u32,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    pub btime: Timespec,
}

impl Inode {
    /// A new inode with all times `now`, not yet linked anywhere.
    pub fn new(node: Node, perm: u32, owner: Owner, now: Timespec) -> Inode {
        Inode {
            node,
            perm: perm & 0o7777,
            uid: owner.uid,
            gid: owner.gid,
            nlink: 0,
            open: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
        }
    }

    pub fn kind(&self) -> Kind {
        match &self.node {
            Node::File(_) => Kind::Regular,
            Node::Dir(_) => Kind::Directory,
            Node::Symlink(_) => Kind::Symlink,
            Node::Magic(id) => Kind::MagicLink(*id),
            Node::Char(ma, mi) => Kind::CharDevice(*ma, *mi),
            Node::Block(ma, mi) => Kind::BlockDevice(*ma, *mi),
            Node::Fifo => Kind::Fifo,
            Node::Socket => Kind::Socket,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.node, Node::Dir(_))
    }
}
