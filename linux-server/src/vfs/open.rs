//! Open references: why an unlinked file stays usable until closed.
//!
//! The server keeps open files (and working directories, and executables
//! it maps) by inode number. An inode is freed when it has no names *and* no
//! open references, so `unlink` or `rmdir` of something still open removes
//! only the name; reads, writes and `stat` through the reference keep
//! working (`st_nlink` 0), and the last [`Vfs::close_ref`] frees it. The
//! server takes one reference per open file description (not per fd:
//! `dup` and `fork` share the description), one per process whose cwd the
//! directory is, and one per executable image it keeps.

use super::{Ino, Vfs};
use crate::linux::errno::*;

impl Vfs {
    /// Takes an open reference on `ino` (`ENOENT` if there is no such
    /// inode, `ENFILE` if the counter is full).
    pub fn open_ref(&mut self, ino: Ino) -> SysResult<()> {
        let i = self.inode_mut(ino)?;
        i.open = i.open.checked_add(1).ok_or(ENFILE)?;
        Ok(())
    }

    /// Drops an open reference, freeing the inode if it was the last one and
    /// the inode has no names. `EINVAL` if `ino` has no open reference.
    pub fn close_ref(&mut self, ino: Ino) -> SysResult<()> {
        let i = self.inode_mut(ino)?;
        i.open = i.open.checked_sub(1).ok_or(EINVAL)?;
        self.maybe_free(ino);
        Ok(())
    }

    /// How many open references `ino` has.
    pub fn open_count(&self, ino: Ino) -> SysResult<u32> {
        Ok(self.inode(ino)?.open)
    }
}
