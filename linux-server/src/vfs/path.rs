//! Path resolution, as Linux's `namei` does it.
//!
//! A path is walked one component at a time from a starting directory (the
//! root for an absolute path, else the caller's: cwd or an `*at` directory).
//! Repeated slashes are one; `.` stays; `..` goes to the parent, and stays at
//! the root. A symlink met *before* the last component is always followed; at
//! the last one only if the caller says so (`stat` vs `lstat`). Following
//! means continuing with the link's target: from the root if it is absolute,
//! else from the directory holding the link. At most [`MAX_SYMLINKS`] links
//! are followed per resolution (`ELOOP`), which also ends link cycles.
//!
//! A trailing slash demands a directory: `file/` is `ENOTDIR`, and a symlink
//! in front of it is followed even by `lstat` (`link/` means the directory
//! it points to). The walk implements this by treating a trailing slash as a
//! trailing `/.` — `.` must be looked up in a directory, and makes the
//! component before it non-final. The same holds for a symlink target with a
//! trailing slash.
//!
//! Errors: empty path `ENOENT`; a path of [`PATH_MAX`] bytes or more, or a
//! component over [`NAME_MAX`], `ENAMETOOLONG`; a missing component `ENOENT`;
//! a non-directory used as one `ENOTDIR`. Search (`x`) permission on the
//! directories walked is *not* checked: that is credential policy, and the
//! caller can check with [`Vfs::may`] where it matters (everything starts
//! out running as root, which may search anything).
//!
//! The walk is a loop over a stack of pending components, never recursion:
//! a link's target is pushed in front of what is left of the path.

use super::magic::{MagicTarget, Resolver};
use super::{check_name, inode::Node, Ino, Vfs, MAX_SYMLINKS, NAME_MAX, PATH_MAX, ROOT};
use crate::linux::errno::*;
use alloc::borrow::Cow;
use alloc::vec::Vec;

/// The last component of a path, as creating and removing operations see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    /// The path was only slashes (`/`): no last component.
    Root,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// An ordinary name (1 to [`NAME_MAX`] bytes, no `/`).
    Name(Vec<u8>),
}

/// A path split into the directory it names an entry of, and that entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The directory holding the last component (the root for [`Last::Root`]).
    pub dir: Ino,
    pub last: Last,
    /// The path ended in one or more `/` (after the last component).
    pub trailing_slash: bool,
}

impl Parent {
    /// The last component if it is an ordinary name.
    pub fn name(&self) -> Option<&[u8]> {
        match &self.last {
            Last::Name(n) => Some(n),
            _ => None,
        }
    }
}

/// Empty paths do not exist; long ones are refused before anything else.
fn check_path(path: &[u8]) -> SysResult<()> {
    if path.is_empty() {
        return Err(ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    Ok(())
}

/// Pushes the components of `path` onto `todo` so that the first is on top;
/// a trailing slash adds a final `.`.
fn push_components<'a>(todo: &mut Vec<Cow<'a, [u8]>>, path: Cow<'a, [u8]>) {
    let trailing = path.last() == Some(&b'/') && path.iter().any(|&b| b != b'/');
    if trailing {
        todo.push(Cow::Borrowed(b"."));
    }
    match path {
        Cow::Borrowed(p) => {
            todo.extend(p.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(Cow::Borrowed));
        }
        Cow::Owned(p) => {
            todo.extend(p.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(|c| Cow::Owned(c.to_vec())));
        }
    }
}

impl Vfs {
    /// Resolves `path` from directory `start` (ignored for an absolute
    /// path); `follow` says whether a symlink as the last component is
    /// followed. Magic links ask `magic` for their targets.
    pub fn lookup(&self, start: Ino, path: &[u8], follow: bool, magic: &dyn Resolver) -> SysResult<Ino> {
        check_path(path)?;
        let mut todo = Vec::new();
        push_components(&mut todo, Cow::Borrowed(path));
        let cur = if path.first() == Some(&b'/') { ROOT } else { start };
        self.inode(cur)?;
        self.walk(cur, todo, follow, magic)
    }

    /// Resolves all but the last component of `path` (following every
    /// symlink on the way), for operations that create, remove or rename the
    /// last one. The directory is checked to be one (`ENOTDIR`), and an
    /// ordinary last name to be at most [`NAME_MAX`] bytes. Whether the entry
    /// exists is not looked at.
    pub fn lookup_parent(&self, start: Ino, path: &[u8], magic: &dyn Resolver) -> SysResult<Parent> {
        check_path(path)?;
        let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let (trimmed, trailing_slash) = (&path[..end], end < path.len());
        if trimmed.is_empty() {
            return Ok(Parent { dir: ROOT, last: Last::Root, trailing_slash: false });
        }
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            None => (start, trimmed),
            Some(0) => (ROOT, &trimmed[1..]),
            Some(i) => (self.lookup(start, &trimmed[..i], true, magic)?, &trimmed[i + 1..]),
        };
        self.dir(dir)?;
        let last = match name {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            _ => {
                if name.len() > NAME_MAX {
                    return Err(ENAMETOOLONG);
                }
                Last::Name(name.to_vec())
            }
        };
        Ok(Parent { dir, last, trailing_slash })
    }

    /// Walks the components on `todo` (top first) from `cur`.
    fn walk<'a>(
        &'a self,
        mut cur: Ino,
        mut todo: Vec<Cow<'a, [u8]>>,
        follow_last: bool,
        magic: &dyn Resolver,
    ) -> SysResult<Ino> {
        let mut links = 0u32;
        while let Some(comp) = todo.pop() {
            let dir = self.dir(cur)?;
            let name: &[u8] = &comp;
            if name == b"." {
                continue;
            }
            if name == b".." {
                cur = self.parent(cur)?;
                continue;
            }
            if name.len() > NAME_MAX {
                return Err(ENAMETOOLONG);
            }
            check_name(name)?;
            let child = dir.get(name).ok_or(ENOENT)?;
            if todo.is_empty() && !follow_last {
                return Ok(child);
            }
            let target: Cow<'a, [u8]> = match &self.inode(child)?.node {
                Node::Symlink(data) => Cow::Borrowed(data.bytes()),
                Node::Magic(id) => match magic.magic_link(*id) {
                    None => return Err(ENOENT),
                    Some(MagicTarget::Path(p)) => Cow::Owned(p),
                    Some(MagicTarget::Jump { ino, .. }) => {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return Err(ELOOP);
                        }
                        self.inode(ino)?;
                        cur = ino;
                        continue;
                    }
                },
                _ => {
                    cur = child;
                    continue;
                }
            };
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(ELOOP);
            }
            if target.is_empty() {
                return Err(ENOENT);
            }
            if target.len() >= PATH_MAX {
                return Err(ENAMETOOLONG);
            }
            if target.first() == Some(&b'/') {
                cur = ROOT;
            }
            push_components(&mut todo, target);
        }
        Ok(cur)
    }
}
