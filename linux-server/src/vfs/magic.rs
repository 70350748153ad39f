//! Magic links: symlinks whose target depends on who looks.
//!
//! `/proc/self` must point at the calling process's directory, and
//! `/proc/<pid>/exe` or `/cwd` at files that may have no name any more. The
//! VFS knows nothing about processes, so such a link is an inode of kind
//! [`Kind::MagicLink`](super::Kind::MagicLink) carrying a number the server
//! chose, and each lookup or `readlink` takes a [`Resolver`] that turns the
//! number into a target *for the current caller*. Nothing is stored per
//! process in the tree.
//!
//! A target is either a path, resolved like a symlink body (relative to the
//! directory holding the link: `/proc/self` → `"42"`), or a jump straight to
//! an inode (like Linux's `nd_jump_link`), which works for deleted files and
//! needs no path at all; `readlink` then shows the text given with it. A link
//! the resolver does not know (`None`) fails with `ENOENT`, as a `/proc`
//! entry of a process that has just exited does. Magic links count against
//! the limit of 40 links per resolution like ordinary ones.

use super::Ino;
use alloc::vec::Vec;

/// Where a magic link leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MagicTarget {
    /// A path, followed like a symlink's target.
    Path(Vec<u8>),
    /// Straight to inode `ino`; `readlink` shows `text` (e.g. the path the
    /// file was opened by, with Linux's `" (deleted)"` if it has gone).
    Jump { ino: Ino, text: Vec<u8> },
}

/// Supplies the targets of magic links for one caller.
pub trait Resolver {
    /// The target of magic link `id`, or `None` if it leads nowhere now.
    fn magic_link(&self, id: u32) -> Option<MagicTarget>;
}

/// For lookups that must not meet magic links (every one is `ENOENT`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMagic;

impl Resolver for NoMagic {
    fn magic_link(&self, _id: u32) -> Option<MagicTarget> {
        None
    }
}

/// Any closure from link number to target is a resolver.
impl<F: Fn(u32) -> Option<MagicTarget>> Resolver for F {
    fn magic_link(&self, id: u32) -> Option<MagicTarget> {
        self(id)
    }
}
