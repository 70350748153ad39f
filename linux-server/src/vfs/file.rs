//! Regular-file contents: `pread`/`pwrite`-style reads and writes at an
//! offset, and `truncate`. File positions, `O_APPEND` (write at the current
//! size) and device or pipe I/O are the caller's; here every other kind is
//! `EISDIR` (a directory) or `EINVAL`.
//!
//! Sizes are limited to [`Vfs::max_file_size`]: like Linux at `s_maxbytes`, a
//! write starting at or beyond it is `EFBIG`, one crossing it is cut short
//! there, and truncating past it is `EFBIG`. All files together hold at most
//! [`Vfs::set_data_limit`] bytes in memory: past it a write is cut short, or
//! is `ENOSPC` if nothing fits, and growing by truncate is `ENOSPC` (files
//! live in the server's heap; without the limit a `truncate -s 600M` would
//! exhaust it and the server's next allocation would fail). Writing past the end fills the
//! gap with zeros (files are not sparse in memory). Only a write of at least
//! one byte, and every truncate, sets mtime and ctime (as Linux). Reads leave
//! atime alone (see the `vfs` module doc).

use super::inode::{Data, Node};
use super::{Ino, Vfs};
use crate::linux::errno::*;
use crate::linux::stat::Timespec;

impl Vfs {
    /// The whole contents of regular file `ino` (for `exec` and `mmap`).
    pub fn data(&self, ino: Ino) -> SysResult<&[u8]> {
        match &self.inode(ino)?.node {
            Node::File(d) => Ok(d.bytes()),
            Node::Dir(_) => Err(EISDIR),
            _ => Err(EINVAL),
        }
    }

    /// Copies bytes from `offset` into `buf`; returns how many (0 at or past
    /// the end).
    pub fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let data = self.data(ino)?;
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        let Some(src) = data.get(start..) else { return Ok(0) };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    /// Writes `src` at `offset`; returns how many bytes were written.
    pub fn write_at(&mut self, ino: Ino, offset: u64, src: &[u8], now: Timespec) -> SysResult<usize> {
        let (max, check) = (self.max_file_size, self.memory_check);
        let left = self.data_limit.saturating_sub(self.data_used);
        let inode = self.inode_mut(ino)?;
        let data = file_data(&mut inode.node)?;
        if src.is_empty() {
            return Ok(0);
        }
        if offset >= max {
            return Err(EFBIG);
        }
        // The length the file may reach within the memory limit: what it
        // holds now plus what is left (a borrowed file becomes owned whole).
        let old = data.owned_len();
        let cap = old.saturating_add(left);
        if offset >= cap && offset + src.len() as u64 > data.len() as u64 {
            return Err(ENOSPC);
        }
        // Both fit in usize: the limit is at most isize::MAX.
        let room = usize::try_from(max.min(cap.max(data.len() as u64)) - offset).map_err(|_| EFBIG)?;
        let src = &src[..src.len().min(room)];
        let offset = usize::try_from(offset).map_err(|_| EFBIG)?;
        let need = data.allocation_for(offset.saturating_add(src.len()));
        if need > 0 && !check(need as u64) {
            return Err(ENOSPC);
        }
        data.write_at(offset, src)?;
        let new = data.owned_len();
        inode.mtime = now;
        inode.ctime = now;
        self.data_used = (self.data_used + new).saturating_sub(old);
        Ok(src.len())
    }

    /// Sets the size of regular file `ino` to `len`, cutting or zero-filling.
    pub fn truncate(&mut self, ino: Ino, len: u64, now: Timespec) -> SysResult<()> {
        let (max, check) = (self.max_file_size, self.memory_check);
        let left = self.data_limit.saturating_sub(self.data_used);
        let inode = self.inode_mut(ino)?;
        let data = file_data(&mut inode.node)?;
        if len > max {
            return Err(EFBIG);
        }
        let old = data.owned_len();
        if len > data.len() as u64 && len > old.saturating_add(left) {
            return Err(ENOSPC);
        }
        let len = usize::try_from(len).map_err(|_| EFBIG)?;
        let need = if len > data.len() { data.allocation_for(len) } else { 0 };
        if need > 0 && !check(need as u64) {
            return Err(ENOSPC);
        }
        data.set_len(len)?;
        let new = data.owned_len();
        inode.mtime = now;
        inode.ctime = now;
        self.data_used = (self.data_used + new).saturating_sub(old);
        Ok(())
    }

    /// Size in bytes as `stat` reports it.
    pub fn size(&self, ino: Ino) -> SysResult<u64> {
        Ok(self.stat(ino)?.size as u64)
    }

    #[cfg(test)]
    pub(super) fn is_borrowed(&self, ino: Ino) -> bool {
        matches!(&self.inodes.get(&ino).map(|i| &i.node), Some(Node::File(d)) if d.is_borrowed())
    }
}

fn file_data(node: &mut Node) -> SysResult<&mut Data> {
    match node {
        Node::File(d) => Ok(d),
        Node::Dir(_) => Err(EISDIR),
        _ => Err(EINVAL),
    }
}
