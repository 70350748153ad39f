//! Host tests of the VFS: one file per concern, shared helpers here, and
//! [`check_invariants`], which the other tests (and the randomized model
//! test) run to catch bookkeeping drift: link counts, parent links, no
//! leaked or dangling inodes.

mod attrs;
mod cwd;
mod files;
mod load;
mod magic;
mod namespace;
mod open;
mod paths;
mod random;
mod readdir;
mod rename;

use super::inode::Node;
use super::*;
use crate::linux::dirent;
use std::collections::BTreeMap as Map;
use std::string::String;
use std::vec::Vec;

pub(super) fn t(sec: i64) -> Timespec {
    Timespec::new(sec, 0)
}

pub(super) const R: Owner = Owner::ROOT;

pub(super) fn fs() -> Vfs {
    Vfs::new(t(1))
}

/// Resolves `path` from the root, following a final symlink.
pub(super) fn look(v: &Vfs, path: &str) -> SysResult<Ino> {
    v.lookup(ROOT, path.as_bytes(), true, &NoMagic)
}

/// Resolves `path` from the root, not following a final symlink.
pub(super) fn llook(v: &Vfs, path: &str) -> SysResult<Ino> {
    v.lookup(ROOT, path.as_bytes(), false, &NoMagic)
}

pub(super) fn mkdir(v: &mut Vfs, path: &str) -> SysResult<Ino> {
    v.mkdir_at(ROOT, path.as_bytes(), 0o755, R, t(2), &NoMagic)
}

/// Creates `path` with `contents`.
pub(super) fn file(v: &mut Vfs, path: &str, contents: &[u8]) -> Ino {
    let ino = v.create_at(ROOT, path.as_bytes(), 0o644, R, t(2), &NoMagic).unwrap();
    assert_eq!(v.write_at(ino, 0, contents, t(2)), Ok(contents.len()));
    ino
}

pub(super) fn symlink(v: &mut Vfs, target: &str, path: &str) -> SysResult<Ino> {
    v.symlink_at(target.as_bytes(), ROOT, path.as_bytes(), R, t(2), &NoMagic)
}

pub(super) fn contents(v: &Vfs, ino: Ino) -> Vec<u8> {
    v.data(ino).unwrap().to_vec()
}

/// All records of a directory, read with a roomy buffer.
pub(super) fn records(v: &Vfs, dir: Ino) -> Vec<dirent::Record> {
    let (buf, _) = v.getdents(dir, 0, 1 << 20).unwrap();
    dirent::parse(&buf).unwrap()
}

/// Entry names of a directory without `.` and `..`, sorted.
pub(super) fn names(v: &Vfs, dir: Ino) -> Vec<String> {
    let mut n: Vec<String> = records(v, dir)
        .into_iter()
        .map(|r| String::from_utf8(r.name).unwrap())
        .filter(|n| n != "." && n != "..")
        .collect();
    n.sort();
    n
}

/// Checks the structural invariants of the whole inode table.
pub(super) fn check_invariants(v: &Vfs) {
    let mut refs: Map<Ino, u32> = Map::new();
    for (&ino, inode) in &v.inodes {
        if let Node::Dir(d) = &inode.node {
            let mut subdirs = 0;
            for (name, child) in d.entries() {
                assert!(!name.is_empty() && name.len() <= NAME_MAX && !name.contains(&b'/'));
                let c = v.inodes.get(&child).unwrap_or_else(|| panic!("entry {name:?} of {ino} dangles"));
                *refs.entry(child).or_default() += 1;
                if let Node::Dir(cd) = &c.node {
                    subdirs += 1;
                    assert_eq!(cd.parent, ino, "parent link of {child}");
                    assert_eq!(cd.name, name, "name of {child}");
                }
            }
            assert_eq!(d.from(0).count(), d.len(), "order and name maps of {ino} disagree");
            if inode.nlink > 0 {
                assert_eq!(inode.nlink, 2 + subdirs, "nlink of dir {ino}");
            } else {
                assert!(d.is_empty(), "removed dir {ino} has entries");
            }
        }
    }
    for (&ino, inode) in &v.inodes {
        let r = refs.get(&ino).copied().unwrap_or(0);
        if ino == ROOT {
            assert_eq!(r, 0);
            continue;
        }
        if inode.is_dir() {
            assert!(r <= 1, "dir {ino} has {r} names");
            assert_eq!(r == 1, inode.nlink > 0, "dir {ino}: names {r}, nlink {}", inode.nlink);
        } else {
            assert_eq!(inode.nlink, r, "nlink of {ino}");
        }
        if r == 0 {
            assert!(inode.open > 0, "inode {ino} has neither names nor openers");
        }
    }
}
