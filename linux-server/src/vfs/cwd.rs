//! Paths of directories: `getcwd`, and the text of `/proc/<pid>/cwd`.
//!
//! A directory records its parent and its name, so its path is built by
//! walking up to the root. Only directories have paths here: a file can have
//! several names or none, so the server remembers by which path it opened
//! or executed a file (for `/proc/<pid>/exe` and `/proc/<pid>/fd/*`).
//!
//! A removed directory: `getcwd` fails with `ENOENT`, as Linux's does.
//! [`Vfs::path_of`], for `readlink` of `/proc/<pid>/cwd`, returns the path it
//! had with `" (deleted)"` appended, like Linux's `d_path`. Its parent link
//! still names the old parent; if that has been freed too (removed and not
//! anyone's cwd), the walk stops there and the path starts at the removed
//! directory's own name (`/name (deleted)`) — Linux would still know the
//! full old path, which would mean keeping dead directories alive for it.

use super::{Ino, Vfs, PATH_MAX, ROOT};
use crate::linux::errno::*;
use alloc::vec::Vec;

impl Vfs {
    /// The absolute path of live directory `dir` (`ENOENT` if removed,
    /// `ENOTDIR` if not a directory, `ENAMETOOLONG` if longer than a page,
    /// where Linux gives up too).
    pub fn getcwd(&self, dir: Ino) -> SysResult<Vec<u8>> {
        self.dir(dir)?;
        if self.inode(dir)?.nlink == 0 {
            return Err(ENOENT);
        }
        self.build_path(dir)
    }

    /// The path of directory `dir`, with `" (deleted)"` if it was removed.
    pub fn path_of(&self, dir: Ino) -> SysResult<Vec<u8>> {
        self.dir(dir)?;
        let mut path = self.build_path(dir)?;
        if self.inode(dir)?.nlink == 0 {
            path.extend_from_slice(b" (deleted)");
        }
        Ok(path)
    }

    fn build_path(&self, dir: Ino) -> SysResult<Vec<u8>> {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut cur = dir;
        let mut len = 0usize;
        // Bounded even if parent links were ever to form a cycle.
        for _ in 0..=self.inodes.len() {
            if cur == ROOT {
                break;
            }
            let Ok(d) = self.dir(cur) else { break };
            names.push(&d.name);
            len += d.name.len() + 1;
            if len >= PATH_MAX {
                return Err(ENAMETOOLONG);
            }
            cur = d.parent;
        }
        if names.is_empty() {
            return Ok(b"/".to_vec());
        }
        let mut path = Vec::with_capacity(len);
        for name in names.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        Ok(path)
    }
}
