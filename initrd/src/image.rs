//! The rootfs being assembled: a map from guest path to node, filled from
//! the spec, `--add` and busybox's applet list, then written as cpio.
//!
//! Keeping the whole tree in a sorted map, rather than writing entries as
//! they come, is what makes the output independent of the order of spec
//! lines and host directory listings (so builds are reproducible), lets
//! missing parent directories be filled in, and lets conflicts (a path
//! defined twice, a file under a symlink) be reported with the line that
//! defined the path first.
//!
//! Paths are normalized guest paths (see `spec::guest_path`): components
//! joined by `/`, no leading `/`, the root is `""`.

use initrd::cpio::{Meta, Writer};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where a node came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A spec line.
    Line(usize),
    /// An `--add HOST:GUEST` argument.
    Add(String),
    /// Created as the parent of something else.
    Parent,
}

/// A problem with building the image, and what caused it.
#[derive(Debug)]
pub struct BuildError {
    pub origin: Origin,
    pub msg: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    Device { block: bool, major: u32, minor: u32 },
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    /// Permission bits (symlinks are always 0777).
    pub perm: u32,
    pub origin: Origin,
}

impl Kind {
    fn describe(&self) -> &'static str {
        match self {
            Kind::Dir => "a directory",
            Kind::File(_) => "a file",
            Kind::Symlink(_) => "a symlink",
            Kind::Device { .. } => "a device node",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "at line {n}"),
            Origin::Add(a) => write!(f, "by --add {a}"),
            Origin::Parent => write!(f, "made as a parent directory"),
        }
    }
}

/// Shows a normalized guest path as the absolute path it stands for.
pub fn show(path: &str) -> String {
    format!("/{path}")
}

#[derive(Default)]
pub struct Image {
    nodes: BTreeMap<String, Node>,
}

impl Image {
    pub fn new() -> Image {
        Image::default()
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Adds a node, creating missing parent directories. Defining a path
    /// twice is an error, except that an explicit directory replaces one
    /// made as a parent, and with `merge_dirs` a directory that is already
    /// there is kept as it is (for `--add` of directory trees).
    pub fn insert(&mut self, path: &str, node: Node, merge_dirs: bool) -> Result<(), String> {
        if path.is_empty() && node.kind != Kind::Dir {
            return Err(format!("/ must be a directory, not {}", node.kind.describe()));
        }
        self.make_parents(path)?;
        if let Some(old) = self.nodes.get(path) {
            match (&old.kind, &node.kind) {
                (Kind::Dir, Kind::Dir) if old.origin == Origin::Parent => {}
                (Kind::Dir, Kind::Dir) if merge_dirs => return Ok(()),
                _ => {
                    return Err(format!(
                        "{} is already defined, as {} ({})",
                        show(path),
                        old.kind.describe(),
                        old.origin
                    ))
                }
            }
        }
        self.nodes.insert(path.to_string(), node);
        Ok(())
    }

    /// Creates each missing ancestor of `path` as a 0755 directory.
    fn make_parents(&mut self, path: &str) -> Result<(), String> {
        for (i, _) in path.match_indices('/') {
            let parent = &path[..i];
            match self.nodes.get(parent) {
                Some(Node { kind: Kind::Dir, .. }) => {}
                Some(n) => {
                    return Err(format!(
                        "cannot create {}: its parent {} is {} ({})",
                        show(path),
                        show(parent),
                        n.kind.describe(),
                        n.origin
                    ))
                }
                None => {
                    let dir = Node { kind: Kind::Dir, perm: 0o755, origin: Origin::Parent };
                    self.nodes.insert(parent.to_string(), dir);
                }
            }
        }
        Ok(())
    }

    /// Adds a host file, symlink or directory tree at `guest`, with the host
    /// permissions. A symlink named by `host` itself is followed; symlinks
    /// inside a tree are copied as symlinks. Adding a tree at `/` adds its
    /// contents only, so the host directory's mode does not become the root's.
    pub fn add_host(&mut self, host: &Path, guest: &str, origin: &Origin) -> Result<(), String> {
        let meta = fs::metadata(host).map_err(|e| format!("{}: {e}", host.display()))?;
        self.add_host_entry(host, guest, meta, origin)
    }

    fn add_host_entry(&mut self, host: &Path, guest: &str, meta: fs::Metadata, origin: &Origin) -> Result<(), String> {
        let perm = meta.permissions().mode() & 0o7777;
        let node = |kind| Node { kind, perm, origin: origin.clone() };
        let ft = meta.file_type();
        if ft.is_dir() {
            if !guest.is_empty() {
                self.insert(guest, node(Kind::Dir), true)?;
            }
            let mut children = Vec::new();
            for entry in fs::read_dir(host).map_err(|e| format!("{}: {e}", host.display()))? {
                let entry = entry.map_err(|e| format!("{}: {e}", host.display()))?;
                let name = entry
                    .file_name()
                    .into_string()
                    .map_err(|n| format!("{}: file name {n:?} is not UTF-8", host.display()))?;
                children.push(name);
            }
            children.sort();
            for name in children {
                let child_host = host.join(&name);
                let child_guest = if guest.is_empty() { name } else { format!("{guest}/{name}") };
                let meta = fs::symlink_metadata(&child_host).map_err(|e| format!("{}: {e}", child_host.display()))?;
                self.add_host_entry(&child_host, &child_guest, meta, origin)?;
            }
            Ok(())
        } else if ft.is_file() {
            let data = fs::read(host).map_err(|e| format!("{}: {e}", host.display()))?;
            self.insert(guest, node(Kind::File(data)), false)
        } else if ft.is_symlink() {
            let target = fs::read_link(host).map_err(|e| format!("{}: {e}", host.display()))?;
            let target = target.to_str().ok_or_else(|| format!("{}: symlink target is not UTF-8", host.display()))?;
            self.insert(guest, node(Kind::Symlink(target.to_string())), false)
        } else {
            Err(format!("{}: not a regular file, directory or symlink (use `nod` for devices)", host.display()))
        }
    }

    /// Adds a symlink to `/busybox` for each applet path in `list` (the
    /// output of `busybox --list-full`, one relative path a line). Paths that
    /// exist are left alone; symlinks among an applet's parent directories
    /// are followed within the image (so `/bin -> usr/bin` works), and an
    /// applet below something that is not a directory is skipped. Returns
    /// how many symlinks were added.
    pub fn add_applets(&mut self, busybox: &str, list: &str, origin: &Origin) -> Result<usize, String> {
        if !matches!(self.get(busybox), Some(Node { kind: Kind::File(_), .. })) {
            return Err(format!(
                "{} is not a file in the image (add busybox with `file` or --add first)",
                show(busybox)
            ));
        }
        let mut added = 0;
        for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let path = crate::spec::guest_path(&format!("/{line}"))
                .map_err(|e| format!("busybox printed a bad applet path: {e}"))?;
            let Some(path) = self.resolve_parents(&path) else {
                continue;
            };
            if path.is_empty() || self.nodes.contains_key(&path) {
                continue;
            }
            let link = Node { kind: Kind::Symlink(show(busybox)), perm: 0o777, origin: origin.clone() };
            self.insert(&path, link, false)?;
            added += 1;
        }
        Ok(added)
    }

    /// Follows symlinks among the ancestors of `path` (not the last
    /// component). `None` if an ancestor is a file or device, or the links
    /// loop or climb out of the root.
    fn resolve_parents(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path.split('/').rev().map(String::from).collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if pending.is_empty() {
                done.push(part);
                break;
            }
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    done.pop()?;
                    continue;
                }
                _ => {}
            }
            done.push(part);
            match self.nodes.get(&done.join("/")).map(|n| &n.kind) {
                None | Some(Kind::Dir) => {}
                Some(Kind::Symlink(target)) => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    done.pop();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    pending.extend(target.split('/').rev().map(String::from));
                }
                Some(_) => return None,
            }
        }
        let path = done.join("/");
        Some(path)
    }

    /// Writes the image as a newc archive, parents before children, every
    /// entry owned by root and dated `mtime`.
    pub fn to_cpio(&self, mtime: u32) -> Result<Vec<u8>, BuildError> {
        let mut order: Vec<(&String, &Node)> = self.nodes.iter().collect();
        order.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
        let meta = Meta::root(mtime);
        let mut w = Writer::new();
        for (path, node) in order {
            let name = if path.is_empty() { "." } else { path.as_str() };
            let result = match &node.kind {
                Kind::Dir => w.dir(name, node.perm, meta),
                Kind::File(data) => w.file(name, node.perm, meta, data),
                Kind::Symlink(target) => w.symlink(name, target, meta),
                Kind::Device { block: false, major, minor } => w.char_device(name, node.perm, meta, (*major, *minor)),
                Kind::Device { block: true, major, minor } => w.block_device(name, node.perm, meta, (*major, *minor)),
            };
            result.map_err(|e| BuildError { origin: node.origin.clone(), msg: format!("{}: {e}", show(path)) })?;
        }
        Ok(w.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: Kind, line: usize) -> Node {
        Node { kind, perm: 0o644, origin: Origin::Line(line) }
    }

    fn names(img: &Image) -> Vec<String> {
        let archive = img.to_cpio(0).unwrap();
        initrd::cpio::entries(&archive).map(|e| e.unwrap().name.to_string()).collect()
    }

    #[test]
    fn parents_are_made_and_come_first() {
        let mut img = Image::new();
        img.insert("usr/lib/x", node(Kind::File(b"x".to_vec()), 1), false).unwrap();
        img.insert("usr-local", node(Kind::Dir, 2), false).unwrap();
        img.insert("usr/bin", node(Kind::Dir, 3), false).unwrap();
        assert_eq!(names(&img), ["usr", "usr/bin", "usr/lib", "usr/lib/x", "usr-local"]);
        assert_eq!(img.get("usr/lib").unwrap().perm, 0o755);
        assert_eq!(img.get("usr/lib").unwrap().origin, Origin::Parent);
    }

    #[test]
    fn explicit_dir_replaces_a_parent_but_not_a_definition() {
        let mut img = Image::new();
        img.insert("etc/x", node(Kind::File(vec![]), 1), false).unwrap();
        img.insert("etc", Node { kind: Kind::Dir, perm: 0o700, origin: Origin::Line(2) }, false).unwrap();
        assert_eq!(img.get("etc").unwrap().perm, 0o700);
        let e = img.insert("etc", node(Kind::Dir, 3), false).unwrap_err();
        assert_eq!(e, "/etc is already defined, as a directory (at line 2)");
        assert!(img.insert("etc", node(Kind::Dir, 3), true).is_ok());
        assert_eq!(img.get("etc").unwrap().perm, 0o700);
        let e = img.insert("etc/x/y", node(Kind::Dir, 4), false).unwrap_err();
        assert_eq!(e, "cannot create /etc/x/y: its parent /etc/x is a file (at line 1)");
        let e = img.insert("", node(Kind::File(vec![]), 5), false).unwrap_err();
        assert!(e.contains("/ must be a directory"), "{e}");
    }

    #[test]
    fn applets_follow_symlinked_parents_and_skip_existing() {
        let mut img = Image::new();
        img.insert("usr/bin/busybox", node(Kind::File(vec![1]), 1), false).unwrap();
        img.insert("bin", node(Kind::Symlink("usr/bin".into()), 2), false).unwrap();
        img.insert("sbin", node(Kind::Symlink("/usr/sbin".into()), 3), false).unwrap();
        img.insert("usr/bin/vi", node(Kind::File(vec![]), 4), false).unwrap();
        img.insert("etc", node(Kind::File(vec![]), 5), false).unwrap();
        let list = "linuxrc\nbin/sh\nbin/vi\nsbin/init\nusr/bin/awk\netc/x/y\n\n";
        let n = img.add_applets("usr/bin/busybox", list, &Origin::Line(9)).unwrap();
        assert_eq!(n, 4);
        let link = |p: &str| match &img.get(p).unwrap().kind {
            Kind::Symlink(t) => t.clone(),
            k => panic!("{p} is {k:?}"),
        };
        assert_eq!(link("linuxrc"), "/usr/bin/busybox");
        assert_eq!(link("usr/bin/sh"), "/usr/bin/busybox");
        assert_eq!(link("usr/sbin/init"), "/usr/bin/busybox");
        assert_eq!(link("usr/bin/awk"), "/usr/bin/busybox");
        assert!(img.get("usr/bin/vi").unwrap().kind == Kind::File(vec![]));
        assert!(img.get("bin/sh").is_none());
        assert_eq!(img.get("usr/sbin").unwrap().origin, Origin::Parent);
        let e = img.add_applets("bin/busybox", list, &Origin::Line(9)).unwrap_err();
        assert!(e.contains("/bin/busybox is not a file in the image"), "{e}");
    }

    #[test]
    fn symlink_loops_end() {
        let mut img = Image::new();
        img.insert("a", node(Kind::Symlink("b".into()), 1), false).unwrap();
        img.insert("b", node(Kind::Symlink("/a".into()), 2), false).unwrap();
        img.insert("up", node(Kind::Symlink("../..".into()), 3), false).unwrap();
        assert_eq!(img.resolve_parents("a/x"), None);
        assert_eq!(img.resolve_parents("up/x"), None);
        assert_eq!(img.resolve_parents("c/d/x"), Some("c/d/x".into()));
    }
}
