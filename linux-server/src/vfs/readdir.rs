//! `getdents64`: a directory's entries as `linux_dirent64` records.
//!
//! Positions (the `d_off` cookies, and what `lseek` on a directory sets) are:
//! 0 for `.`, 1 for `..`, then each entry's sequence number (see `inode.rs`),
//! which orders entries by when they were added. Each record's `d_off` is the
//! position to continue *after* it. Reading on from a position therefore sees
//! every entry that was there all along exactly once, whatever was added or
//! removed in between; any number is a valid position (seeking between
//! entries continues at the next one).
//!
//! Like Linux, a call returns as many whole records as fit the caller's
//! buffer, `EINVAL` if not even the first one fits, and an empty result at the
//! end. Reading a removed directory is `ENOENT` (Linux's `IS_DEADDIR`), even
//! if it is still open. `..` of the root is the root.

use super::inode::FIRST_SEQ;
use super::{Ino, Kind, Vfs};
use crate::linux::dirent;
use crate::linux::errno::*;
use alloc::vec::Vec;

impl Vfs {
    /// Records of directory `dir` from position `pos`, at most `bufsize`
    /// bytes of them, and the position to continue from.
    pub fn getdents(&self, dir: Ino, pos: u64, bufsize: usize) -> SysResult<(Vec<u8>, u64)> {
        let d = self.dir(dir)?;
        if self.inode(dir)?.nlink == 0 {
            return Err(ENOENT);
        }
        let mut out = Vec::new();
        let mut next = pos;
        let dot = [(0u64, &b"."[..], dir), (1, &b".."[..], self.parent(dir)?)];
        let entries = dot.into_iter().filter(|&(p, _, _)| p >= pos).chain(d.from(pos.max(FIRST_SEQ)));
        for (p, name, ino) in entries {
            let dtype = self.inode(ino).map_or(Kind::Regular.dtype(), |i| i.kind().dtype());
            let off = p + 1;
            let len = dirent::record_len(name.len()).ok_or(EINVAL)?;
            if out.len() + len > bufsize {
                if out.is_empty() {
                    return Err(EINVAL);
                }
                break;
            }
            dirent::push(&mut out, ino, off as i64, dtype, name);
            next = off;
        }
        Ok((out, next))
    }
}
