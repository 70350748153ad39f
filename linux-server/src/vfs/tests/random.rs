//! Randomized comparison against a reference model.
//!
//! The model is the simplest thing that can describe a file tree: a map from
//! canonical path (list of names) to a node id, and per id what it is (a
//! directory, a file's bytes, a symlink's target). Hard links are several
//! paths with one id; renaming a directory rewrites every path under it.
//! Path resolution in the model follows symlinks by string substitution on
//! those paths. Each seeded run applies random operations (on paths with
//! `.`, `..`, trailing slashes and symlinks in them) to both and requires the
//! same result or errno every time; after every step it compares the whole
//! tree — every name, kind, identity, link count, content and directory
//! listing — checks the VFS's internal invariants, and checks that no inode
//! leaked.

use super::*;
use crate::linux::fcntl::{RENAME_EXCHANGE, RENAME_NOREPLACE};
use std::collections::BTreeMap as Map;

type MPath = Vec<String>;

#[derive(Clone, Debug, PartialEq)]
enum MKind {
    Dir,
    File(Vec<u8>),
    Link(String),
}

#[derive(Clone, Debug, PartialEq)]
enum MLast {
    Root,
    Dot,
    DotDot,
    Name(String),
}

struct Model {
    /// Canonical path → node id (the root is the empty path).
    paths: Map<MPath, usize>,
    kinds: Map<usize, MKind>,
    /// Node id → the VFS inode it must be.
    inos: Map<usize, Ino>,
    next_id: usize,
}

fn comps(path: &str) -> Vec<String> {
    let mut c: Vec<String> = path.split('/').filter(|c| !c.is_empty()).map(String::from).collect();
    if path.ends_with('/') && !c.is_empty() {
        c.push(".".into());
    }
    c
}

fn join(p: &[String]) -> String {
    if p.is_empty() {
        "/".into()
    } else {
        p.iter().map(|c| format!("/{c}")).collect()
    }
}

impl Model {
    fn new() -> Model {
        let mut m = Model { paths: Map::new(), kinds: Map::new(), inos: Map::new(), next_id: 1 };
        m.paths.insert(vec![], 0);
        m.kinds.insert(0, MKind::Dir);
        m.inos.insert(0, ROOT);
        m
    }

    fn kind_at(&self, p: &MPath) -> Option<&MKind> {
        self.paths.get(p).and_then(|id| self.kinds.get(id))
    }

    fn is_dir(&self, p: &MPath) -> bool {
        self.kind_at(p) == Some(&MKind::Dir)
    }

    fn children(&self, dir: &MPath) -> Vec<String> {
        self.paths
            .keys()
            .filter(|p| p.len() == dir.len() + 1 && p.starts_with(dir))
            .map(|p| p[dir.len()].clone())
            .collect()
    }

    /// Resolves an absolute path, the model's way.
    fn resolve(&self, path: &str, follow_last: bool) -> SysResult<MPath> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        let mut todo: Vec<String> = comps(path).into_iter().rev().collect();
        let mut cur: MPath = vec![];
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if !self.is_dir(&cur) {
                return Err(ENOTDIR);
            }
            if c == "." {
                continue;
            }
            if c == ".." {
                cur.pop();
                continue;
            }
            let mut child = cur.clone();
            child.push(c);
            match self.kind_at(&child) {
                None => return Err(ENOENT),
                Some(MKind::Link(target)) if !todo.is_empty() || follow_last => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(ELOOP);
                    }
                    if target.starts_with('/') {
                        cur = vec![];
                    }
                    todo.extend(comps(target).into_iter().rev());
                }
                Some(_) => cur = child,
            }
        }
        Ok(cur)
    }

    fn parent(&self, path: &str) -> SysResult<(MPath, MLast, bool)> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        let trimmed = path.trim_end_matches('/');
        let trailing = trimmed.len() < path.len();
        if trimmed.is_empty() {
            return Ok((vec![], MLast::Root, false));
        }
        let i = trimmed.rfind('/').expect("absolute paths only");
        let dir = if i == 0 { vec![] } else { self.resolve(&trimmed[..i], true)? };
        if !self.is_dir(&dir) {
            return Err(ENOTDIR);
        }
        let last = match &trimmed[i + 1..] {
            "." => MLast::Dot,
            ".." => MLast::DotDot,
            n => MLast::Name(n.into()),
        };
        Ok((dir, last, trailing))
    }

    /// The name a non-directory may be created under (at.rs's rules).
    fn new_name(&self, path: &str) -> SysResult<MPath> {
        let (dir, last, trailing) = self.parent(path)?;
        let MLast::Name(name) = last else { return Err(EEXIST) };
        let mut p = dir;
        p.push(name);
        if trailing || self.paths.contains_key(&p) {
            return Err(if self.paths.contains_key(&p) { EEXIST } else { ENOENT });
        }
        Ok(p)
    }

    fn add(&mut self, p: MPath, kind: MKind) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        self.paths.insert(p, id);
        self.kinds.insert(id, kind);
        id
    }

    fn mkdir(&mut self, path: &str) -> SysResult<usize> {
        let (dir, last, _) = self.parent(path)?;
        let MLast::Name(name) = last else { return Err(EEXIST) };
        let mut p = dir;
        p.push(name);
        if self.paths.contains_key(&p) {
            return Err(EEXIST);
        }
        Ok(self.add(p, MKind::Dir))
    }

    fn create(&mut self, path: &str) -> SysResult<usize> {
        let p = self.new_name(path)?;
        Ok(self.add(p, MKind::File(vec![])))
    }

    fn symlink(&mut self, target: &str, path: &str) -> SysResult<usize> {
        let p = self.new_name(path)?;
        Ok(self.add(p, MKind::Link(target.into())))
    }

    fn link(&mut self, old: &str, follow: bool, new: &str) -> SysResult<()> {
        let src = self.resolve(old, follow)?;
        let p = self.new_name(new)?;
        let id = self.paths[&src];
        if self.kinds[&id] == MKind::Dir {
            return Err(EPERM);
        }
        self.paths.insert(p, id);
        Ok(())
    }

    fn unlink(&mut self, path: &str) -> SysResult<()> {
        let (dir, last, trailing) = self.parent(path)?;
        let MLast::Name(name) = last else { return Err(EISDIR) };
        let mut p = dir;
        p.push(name);
        let exists = self.paths.contains_key(&p);
        if trailing {
            return Err(if !exists {
                ENOENT
            } else if self.is_dir(&p) {
                EISDIR
            } else {
                ENOTDIR
            });
        }
        if !exists {
            return Err(ENOENT);
        }
        if self.is_dir(&p) {
            return Err(EISDIR);
        }
        self.remove_path(&p);
        Ok(())
    }

    fn rmdir(&mut self, path: &str) -> SysResult<()> {
        let (dir, last, _) = self.parent(path)?;
        let name = match last {
            MLast::Root => return Err(EBUSY),
            MLast::Dot => return Err(EINVAL),
            MLast::DotDot => return Err(ENOTEMPTY),
            MLast::Name(n) => n,
        };
        let mut p = dir;
        p.push(name);
        if !self.paths.contains_key(&p) {
            return Err(ENOENT);
        }
        if !self.is_dir(&p) {
            return Err(ENOTDIR);
        }
        if !self.children(&p).is_empty() {
            return Err(ENOTEMPTY);
        }
        self.remove_path(&p);
        Ok(())
    }

    fn remove_path(&mut self, p: &MPath) {
        if let Some(id) = self.paths.remove(p) {
            if !self.paths.values().any(|&i| i == id) {
                self.kinds.remove(&id);
                self.inos.remove(&id);
            }
        }
    }

    fn rename(&mut self, old: &str, new: &str, flags: u32) -> SysResult<()> {
        let exchange = flags & RENAME_EXCHANGE != 0;
        let noreplace = flags & RENAME_NOREPLACE != 0;
        let (odir, olast, oslash) = self.parent(old)?;
        let (ndir, nlast, nslash) = self.parent(new)?;
        let MLast::Name(oname) = olast else { return Err(EBUSY) };
        let MLast::Name(nname) = nlast else { return Err(if noreplace { EEXIST } else { EBUSY }) };
        let (mut src, mut dst) = (odir.clone(), ndir.clone());
        src.push(oname);
        dst.push(nname);
        let Some(&sid) = self.paths.get(&src) else { return Err(ENOENT) };
        let tid = self.paths.get(&dst).copied();
        if noreplace && tid.is_some() {
            return Err(EEXIST);
        }
        let sdir = self.is_dir(&src);
        let tdir = self.is_dir(&dst);
        if exchange {
            if tid.is_none() {
                return Err(ENOENT);
            }
            if !tdir && nslash {
                return Err(ENOTDIR);
            }
        }
        if !sdir && (oslash || (!exchange && nslash)) {
            return Err(ENOTDIR);
        }
        if sdir && ndir.starts_with(&src) {
            return Err(EINVAL);
        }
        if tid.is_some() && tdir && odir.starts_with(&dst) {
            return Err(if exchange { EINVAL } else { ENOTEMPTY });
        }
        if tid == Some(sid) {
            return Ok(());
        }
        if exchange {
            let moved: Vec<(MPath, usize)> = self
                .paths
                .iter()
                .filter(|(p, _)| p.starts_with(&src) || p.starts_with(&dst))
                .map(|(p, &i)| (p.clone(), i))
                .collect();
            for (p, _) in &moved {
                self.paths.remove(p);
            }
            for (p, i) in moved {
                let np = if p.starts_with(&src) {
                    [dst.clone(), p[src.len()..].to_vec()].concat()
                } else {
                    [src.clone(), p[dst.len()..].to_vec()].concat()
                };
                self.paths.insert(np, i);
            }
            return Ok(());
        }
        if tid.is_some() {
            if sdir && !tdir {
                return Err(ENOTDIR);
            }
            if !sdir && tdir {
                return Err(EISDIR);
            }
            if tdir && !self.children(&dst).is_empty() {
                return Err(ENOTEMPTY);
            }
            self.remove_path(&dst);
        }
        let moved: Vec<(MPath, usize)> =
            self.paths.iter().filter(|(p, _)| p.starts_with(&src)).map(|(p, &i)| (p.clone(), i)).collect();
        for (p, _) in &moved {
            self.paths.remove(p);
        }
        for (p, i) in moved {
            self.paths.insert([dst.clone(), p[src.len()..].to_vec()].concat(), i);
        }
        Ok(())
    }

    /// The file `path` leads to (following links), for writes.
    fn file(&self, path: &str) -> SysResult<usize> {
        let p = self.resolve(path, true)?;
        let id = self.paths[&p];
        match self.kinds[&id] {
            MKind::File(_) => Ok(id),
            MKind::Dir => Err(EISDIR),
            MKind::Link(_) => Err(EINVAL),
        }
    }

    fn write(&mut self, path: &str, off: usize, data: &[u8]) -> SysResult<usize> {
        let id = self.file(path)?;
        let Some(MKind::File(c)) = self.kinds.get_mut(&id) else { unreachable!() };
        if !data.is_empty() {
            if c.len() < off + data.len() {
                c.resize(off + data.len(), 0);
            }
            c[off..off + data.len()].copy_from_slice(data);
        }
        Ok(data.len())
    }

    fn truncate(&mut self, path: &str, len: usize) -> SysResult<()> {
        let id = self.file(path)?;
        let Some(MKind::File(c)) = self.kinds.get_mut(&id) else { unreachable!() };
        c.resize(len, 0);
        Ok(())
    }
}

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn path(&mut self) -> String {
        let depth = 1 + self.below(3);
        let mut p = String::new();
        for _ in 0..depth {
            p.push('/');
            p.push_str(match self.below(20) {
                0 => ".",
                1 => "..",
                _ => self.pick(&["a", "b", "c", "d"]),
            });
        }
        if self.below(8) == 0 {
            p.push('/');
        }
        p
    }

    /// Half the time a path that exists in the model (or a new name in an
    /// existing directory), so that operations succeed often enough.
    fn path_in(&mut self, m: &Model) -> String {
        if self.below(2) == 0 {
            return self.path();
        }
        let keys: Vec<&MPath> = m.paths.keys().collect();
        let mut p = join(keys[self.below(keys.len() as u64) as usize]);
        if self.below(3) == 0 {
            if !p.ends_with('/') {
                p.push('/');
            }
            p.push_str(self.pick(&["a", "b", "c", "d"]));
        }
        if self.below(10) == 0 {
            p.push('/');
        }
        p
    }

    /// Mostly an existing path (sources of operations).
    fn existing(&mut self, m: &Model) -> String {
        if self.below(10) < 3 {
            return self.path_in(m);
        }
        let keys: Vec<&MPath> = m.paths.keys().collect();
        let mut p = join(keys[self.below(keys.len() as u64) as usize]);
        if self.below(10) == 0 {
            p.push('/');
        }
        p
    }

    /// Mostly a new name in an existing directory (targets of operations).
    fn fresh(&mut self, m: &Model) -> String {
        if self.below(10) < 4 {
            return self.path_in(m);
        }
        let dirs: Vec<&MPath> = m.paths.keys().filter(|p| m.is_dir(p)).collect();
        let mut p = join(dirs[self.below(dirs.len() as u64) as usize]);
        if !p.ends_with('/') {
            p.push('/');
        }
        p.push_str(self.pick(&["a", "b", "c", "d", "e"]));
        if self.below(10) == 0 {
            p.push('/');
        }
        p
    }

    fn target(&mut self) -> String {
        match self.below(4) {
            0 => self.pick(&["a", "b", "../c", "d/a"]).into(),
            _ => self.path(),
        }
    }
}

fn compare(v: &Vfs, m: &Model, step: usize) {
    let ctx = |p: &MPath| format!("step {step}, path {}", join(p));
    for (p, &id) in &m.paths {
        let ino = m.inos[&id];
        assert_eq!(llook(v, &join(p)), Ok(ino), "{}", ctx(p));
        let st = v.stat(ino).unwrap();
        let links = m.paths.values().filter(|&&i| i == id).count() as u64;
        match &m.kinds[&id] {
            MKind::Dir => {
                let children = m.children(p);
                let subdirs = children.iter().filter(|c| m.is_dir(&[p.clone(), vec![(*c).clone()]].concat())).count();
                assert_eq!(st.nlink, 2 + subdirs as u64, "{}", ctx(p));
                let mut want = children.clone();
                want.sort();
                assert_eq!(names(v, ino), want, "{}", ctx(p));
            }
            MKind::File(c) => {
                assert_eq!(v.kind(ino), Ok(Kind::Regular), "{}", ctx(p));
                assert_eq!(v.data(ino).unwrap(), &c[..], "{}", ctx(p));
                assert_eq!(st.nlink, links, "{}", ctx(p));
            }
            MKind::Link(t) => {
                assert_eq!(v.readlink(ino, &NoMagic).unwrap(), t.as_bytes(), "{}", ctx(p));
                assert_eq!(st.nlink, links, "{}", ctx(p));
            }
        }
    }
    assert_eq!(v.inode_count(), m.kinds.len(), "step {step}: inode count");
    check_invariants(v);
}

/// Successes and failures per operation: name → (ok, err).
type Tally = Map<&'static str, (usize, usize)>;

fn tally(t: &mut Tally, op: &'static str, ok: bool) {
    let e = t.entry(op).or_default();
    if ok {
        e.0 += 1;
    } else {
        e.1 += 1;
    }
}

fn run(seed: u64, steps: usize, tallies: &mut Tally) {
    let mut rng = Rng(seed | 1);
    let mut v = fs();
    let mut m = Model::new();
    for step in 0..steps {
        let now = t(step as i64);
        let op = rng.below(100);
        // Creating operations want fresh names, the others existing paths.
        let path = match op {
            0..=34 | 93.. => rng.fresh(&m),
            _ => rng.existing(&m),
        };
        let what = format!("step {step}: op {op} on {path}");
        match op {
            0..=19 => {
                let r = v.mkdir_at(ROOT, path.as_bytes(), 0o755, R, now, &NoMagic);
                let e = m.mkdir(&path);
                tally(tallies, "mkdir", e.is_ok());
                assert_eq!(r.map(|_| ()), e.map(|_| ()), "{what}");
                if let (Ok(ino), Ok(id)) = (r, e) {
                    m.inos.insert(id, ino);
                }
            }
            20..=34 => {
                let r = v.create_at(ROOT, path.as_bytes(), 0o644, R, now, &NoMagic);
                let e = m.create(&path);
                tally(tallies, "create", e.is_ok());
                assert_eq!(r.map(|_| ()), e.map(|_| ()), "{what}");
                if let (Ok(ino), Ok(id)) = (r, e) {
                    m.inos.insert(id, ino);
                }
            }
            35..=44 => {
                let off = rng.below(20) as usize;
                let len = rng.below(10) as usize;
                let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let r = look(&v, &path).and_then(|ino| v.write_at(ino, off as u64, &data, now));
                tally(tallies, "write", r.is_ok());
                assert_eq!(r, m.write(&path, off, &data), "{what}");
            }
            45..=49 => {
                let len = rng.below(30) as usize;
                let r = look(&v, &path).and_then(|ino| v.truncate(ino, len as u64, now));
                tally(tallies, "truncate", r.is_ok());
                assert_eq!(r, m.truncate(&path, len), "{what}");
            }
            50..=64 => {
                let new = if rng.below(2) == 0 { rng.fresh(&m) } else { rng.existing(&m) };
                let flags = match rng.below(6) {
                    0 => RENAME_NOREPLACE,
                    1 => RENAME_EXCHANGE,
                    _ => 0,
                };
                let r = v.rename_at(ROOT, path.as_bytes(), ROOT, new.as_bytes(), flags, now, &NoMagic);
                tally(tallies, "rename", r.is_ok());
                assert_eq!(r, m.rename(&path, &new, flags), "{what} -> {new} flags {flags}");
            }
            65..=74 => {
                let r = v.unlink_at(ROOT, path.as_bytes(), now, &NoMagic);
                tally(tallies, "unlink", r.is_ok());
                assert_eq!(r, m.unlink(&path), "{what}");
            }
            75..=84 => {
                let r = v.rmdir_at(ROOT, path.as_bytes(), now, &NoMagic);
                tally(tallies, "rmdir", r.is_ok());
                assert_eq!(r, m.rmdir(&path), "{what}");
            }
            85..=92 => {
                let new = rng.fresh(&m);
                let follow = rng.below(2) == 0;
                let r = v.link_at(ROOT, path.as_bytes(), follow, ROOT, new.as_bytes(), now, &NoMagic);
                tally(tallies, "link", r.is_ok());
                assert_eq!(r, m.link(&path, follow, &new), "{what} -> {new}");
            }
            _ => {
                let target = rng.target();
                let r = v.symlink_at(target.as_bytes(), ROOT, path.as_bytes(), R, now, &NoMagic);
                let e = m.symlink(&target, &path);
                tally(tallies, "symlink", e.is_ok());
                assert_eq!(r.map(|_| ()), e.map(|_| ()), "{what} -> {target}");
                if let (Ok(ino), Ok(id)) = (r, e) {
                    m.inos.insert(id, ino);
                }
            }
        }
        compare(&v, &m, step);
        // Resolution of random paths, following links, agrees too.
        for _ in 0..4 {
            let p = rng.path_in(&m);
            let follow = rng.below(2) == 0;
            let got = v.lookup(ROOT, p.as_bytes(), follow, &NoMagic);
            tally(tallies, "lookup", got.is_ok());
            let want = m.resolve(&p, follow).map(|mp| m.inos[&m.paths[&mp]]);
            assert_eq!(got, want, "step {step}: lookup {p} follow {follow}");
        }
    }
}

#[test]
fn random_operations_match_the_model() {
    let mut t = Tally::new();
    for seed in 1..=16u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 1000, &mut t);
    }
    println!("(ok, err) per operation: {t:?}");
    // Every operation must both succeed and fail often, or the test has
    // stopped testing what it claims to.
    for (op, (ok, err)) in t {
        assert!(ok >= 100 && err >= 100, "{op}: {ok} ok, {err} errors");
    }
}
