//! Building the tree from a newc archive.

use super::*;
use crate::linux::fcntl::*;
use crate::linux::stat::makedev;
use initrd::cpio::{CpioError, Meta, Writer};

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

fn load(w: Writer) -> Result<Vfs, LoadError> {
    Vfs::from_cpio(leak(w.finish()), t(1_000))
}

/// A raw newc entry, for what `Writer` never makes (hard links, odd types).
struct Raw {
    buf: Vec<u8>,
}

impl Raw {
    fn new() -> Raw {
        Raw { buf: Vec::new() }
    }

    fn entry(&mut self, name: &str, ino: u32, mode: u32, nlink: u32, data: &[u8], dev: (u32, u32)) -> &mut Raw {
        self.buf.extend_from_slice(b"070701");
        let fields = [ino, mode, 0, 0, nlink, 77, data.len() as u32, dev.0, dev.1, 0, 0, name.len() as u32 + 1, 0];
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn finish(&mut self) -> &'static [u8] {
        self.entry("TRAILER!!!", 0, 0, 1, b"", (0, 0));
        leak(std::mem::take(&mut self.buf))
    }
}

#[test]
fn all_kinds_with_metadata() {
    let m = Meta { uid: 3, gid: 4, mtime: 1_700_000_000 };
    let mut w = Writer::new();
    w.dir("/", 0o700, Meta::root(5)).unwrap();
    w.dir("/bin", 0o755, m).unwrap();
    w.file("/bin/busybox", 0o4755, m, b"\x7fELF").unwrap();
    w.symlink("/bin/sh", "busybox", m).unwrap();
    w.dir("/dev", 0o755, Meta::root(6)).unwrap();
    w.char_device("/dev/console", 0o600, m, (5, 1)).unwrap();
    w.block_device("/dev/vda", 0o660, m, (254, 0)).unwrap();
    w.add("/dev/fifo", S_IFIFO | 0o644, m, b"", (0, 0)).unwrap();
    w.add("/dev/sock", S_IFSOCK | 0o755, m, b"", (0, 0)).unwrap();
    w.file("/init", 0o755, Meta::root(9), b"#!/bin/sh\n").unwrap();
    let v = load(w).unwrap();

    let root = v.stat(ROOT).unwrap();
    assert_eq!((root.mode, root.uid, root.nlink, root.mtime), (S_IFDIR | 0o700, 0, 4, t(5)));
    let bb = look(&v, "/bin/sh").unwrap();
    let st = v.stat(bb).unwrap();
    assert_eq!((st.mode, st.uid, st.gid, st.size), (S_IFREG | 0o4755, 3, 4, 4));
    assert_eq!((st.mtime, st.atime, st.ctime, st.btime), (t(1_700_000_000), t(1_700_000_000), t(1_000), t(1_000)));
    assert_eq!(contents(&v, bb), b"\x7fELF");
    let sh = llook(&v, "/bin/sh").unwrap();
    assert_eq!(v.readlink(sh, &NoMagic), Ok(b"busybox".to_vec()));
    assert_eq!(v.stat(sh).unwrap().mode, S_IFLNK | 0o777);
    let con = v.stat(look(&v, "/dev/console").unwrap()).unwrap();
    assert_eq!((con.mode, con.rdev, con.uid), (S_IFCHR | 0o600, makedev(5, 1), 3));
    let vda = v.stat(look(&v, "/dev/vda").unwrap()).unwrap();
    assert_eq!((vda.mode, vda.rdev), (S_IFBLK | 0o660, makedev(254, 0)));
    assert_eq!(v.kind(look(&v, "/dev/fifo").unwrap()), Ok(Kind::Fifo));
    assert_eq!(v.kind(look(&v, "/dev/sock").unwrap()), Ok(Kind::Socket));
    // Directory mtimes survive the creation of their children.
    let bin = v.stat(look(&v, "/bin").unwrap()).unwrap();
    assert_eq!((bin.mtime, bin.nlink, bin.uid), (t(1_700_000_000), 2, 3));
    assert_eq!(v.stat(look(&v, "/dev").unwrap()).unwrap().mtime, t(6));
    assert_eq!(names(&v, ROOT), ["bin", "dev", "init"]);
    check_invariants(&v);
}

#[test]
fn missing_parents_are_created() {
    let mut w = Writer::new();
    w.file("/usr/share/doc/readme", 0o644, Meta::root(5), b"hi").unwrap();
    w.dir("/usr", 0o700, Meta::root(6)).unwrap();
    let v = load(w).unwrap();
    let share = v.stat(look(&v, "/usr/share").unwrap()).unwrap();
    assert_eq!((share.mode, share.uid, share.mtime), (S_IFDIR | 0o755, 0, t(1_000)));
    // A later entry for an existing directory updates it in place.
    let usr = v.stat(look(&v, "/usr").unwrap()).unwrap();
    assert_eq!((usr.mode, usr.mtime, usr.nlink), (S_IFDIR | 0o700, t(6), 3));
    assert_eq!(contents(&v, look(&v, "/usr/share/doc/readme").unwrap()), b"hi");
    check_invariants(&v);
}

#[test]
fn later_entries_replace_earlier_ones() {
    let m = Meta::root(5);
    let mut w = Writer::new();
    w.file("/f", 0o644, m, b"old").unwrap();
    w.file("/f", 0o600, m, b"new").unwrap();
    w.file("/g", 0o644, m, b"file").unwrap();
    w.dir("/g", 0o755, m).unwrap();
    w.file("/g/inside", 0o644, m, b"").unwrap();
    w.dir("/h", 0o755, m).unwrap();
    w.symlink("/h", "target", m).unwrap();
    w.symlink("/s", "one", m).unwrap();
    w.symlink("/s", "two", m).unwrap();
    let v = load(w).unwrap();
    let f = look(&v, "/f").unwrap();
    assert_eq!((contents(&v, f), v.stat(f).unwrap().mode), (b"new".to_vec(), S_IFREG | 0o600));
    assert_eq!(v.kind(look(&v, "/g").unwrap()), Ok(Kind::Directory));
    assert!(look(&v, "/g/inside").is_ok());
    assert_eq!(v.readlink(llook(&v, "/h").unwrap(), &NoMagic), Ok(b"target".to_vec()));
    assert_eq!(v.readlink(llook(&v, "/s").unwrap(), &NoMagic), Ok(b"two".to_vec()));
    assert_eq!(v.inode_count(), 1 + 5);
    check_invariants(&v);

    // A non-directory cannot replace a non-empty directory.
    let mut w = Writer::new();
    w.file("/d/x", 0o644, m, b"").unwrap();
    w.file("/d", 0o644, m, b"").unwrap();
    let archive = leak(w.finish());
    let err = Vfs::from_cpio(archive, t(1)).unwrap_err();
    let LoadError::Entry { offset, errno } = err else { panic!("{err:?}") };
    assert_eq!(errno, ENOTEMPTY);
    assert_eq!(&archive[offset..offset + 6], b"070701");
    assert!(format!("{err}").contains("ENOTEMPTY"));
}

#[test]
fn names_resolve_like_paths() {
    let m = Meta::root(5);
    let mut w = Writer::new();
    w.dir("/usr/lib", 0o755, m).unwrap();
    w.symlink("/lib", "usr/lib", m).unwrap();
    w.file("/lib/libc.so", 0o644, m, b"c").unwrap();
    w.file("/usr/../top", 0o644, m, b"t").unwrap();
    w.file("./usr/./lib//x", 0o644, m, b"x").unwrap();
    let v = load(w).unwrap();
    assert!(look(&v, "/usr/lib/libc.so").is_ok());
    assert_eq!(v.kind(llook(&v, "/lib").unwrap()), Ok(Kind::Symlink));
    assert!(look(&v, "/top").is_ok());
    assert!(look(&v, "/usr/lib/x").is_ok());
    check_invariants(&v);

    // A file in the way of a directory, or a dangling link: errors.
    let mut w = Writer::new();
    w.file("/f", 0o644, m, b"").unwrap();
    w.file("/f/x", 0o644, m, b"").unwrap();
    assert!(matches!(load(w), Err(LoadError::Entry { errno: ENOTDIR, .. })));
    let mut w = Writer::new();
    w.symlink("/l", "nowhere", m).unwrap();
    w.file("/l/x", 0o644, m, b"").unwrap();
    assert!(matches!(load(w), Err(LoadError::Entry { errno: ENOENT, .. })));
    let mut w = Writer::new();
    w.file("/x", 0o644, m, b"").unwrap();
    w.file("/.", 0o644, m, b"").unwrap();
    assert!(matches!(load(w), Err(LoadError::Entry { errno: EEXIST, .. })));
}

#[test]
fn hard_links_share_an_inode() {
    let dir = S_IFDIR | 0o755;
    let reg = S_IFREG | 0o644;
    // GNU cpio style: data on the last of the group only.
    let archive = Raw::new()
        .entry(".", 1, dir, 2, b"", (0, 0))
        .entry("a", 10, reg, 3, b"", (8, 1))
        .entry("b", 10, reg, 3, b"", (8, 1))
        .entry("c", 10, reg, 3, b"shared", (8, 1))
        // Same ino on another device: a different file.
        .entry("other", 10, reg, 2, b"other", (8, 2))
        // nlink 1: never a link, even with a reused ino.
        .entry("single", 10, reg, 1, b"single", (8, 1))
        .finish();
    let v = Vfs::from_cpio(archive, t(1)).unwrap();
    let a = look(&v, "/a").unwrap();
    assert_eq!((look(&v, "/b"), look(&v, "/c")), (Ok(a), Ok(a)));
    assert_eq!(v.stat(a).unwrap().nlink, 3);
    assert_eq!(contents(&v, a), b"shared");
    assert_eq!(v.stat(a).unwrap().mtime, t(77));
    let other = look(&v, "/other").unwrap();
    assert_ne!(other, a);
    assert_eq!(contents(&v, other), b"other");
    assert_ne!(look(&v, "/single").unwrap(), a);
    check_invariants(&v);

    // A link group whose first name was replaced in between starts afresh;
    // a name listed twice stays one link.
    let archive = Raw::new()
        .entry("a", 5, reg, 2, b"1", (0, 0))
        .entry("a", 6, reg, 1, b"2", (0, 0))
        .entry("b", 5, reg, 2, b"3", (0, 0))
        .entry("b", 5, reg, 2, b"4", (0, 0))
        .finish();
    let v = Vfs::from_cpio(archive, t(1)).unwrap();
    let b = look(&v, "/b").unwrap();
    assert_eq!((contents(&v, b), v.stat(b).unwrap().nlink), (b"4".to_vec(), 1));
    assert_eq!(contents(&v, look(&v, "/a").unwrap()), b"2");
    check_invariants(&v);
}

#[test]
fn bad_entries() {
    let reg = S_IFREG | 0o644;
    // Unknown file type.
    let archive = Raw::new().entry("x", 1, 0o644, 1, b"", (0, 0)).finish();
    assert!(matches!(Vfs::from_cpio(archive, t(1)), Err(LoadError::Entry { errno: EINVAL, .. })));
    // Empty symlink target.
    let archive = Raw::new().entry("l", 1, S_IFLNK | 0o777, 1, b"", (0, 0)).finish();
    assert!(matches!(Vfs::from_cpio(archive, t(1)), Err(LoadError::Entry { errno: ENOENT, .. })));
    // A component too long.
    let long = format!("{}/x", "d".repeat(256));
    let archive = Raw::new().entry(&long, 1, reg, 1, b"", (0, 0)).finish();
    assert!(matches!(Vfs::from_cpio(archive, t(1)), Err(LoadError::Entry { errno: ENAMETOOLONG, .. })));
    // Damaged archives are the reader's errors.
    assert_eq!(Vfs::from_cpio(b"", t(1)).unwrap_err(), LoadError::Cpio(CpioError::MissingTrailer { offset: 0 }));
    assert!(matches!(Vfs::from_cpio(b"junk", t(1)), Err(LoadError::Cpio(CpioError::BadMagic { .. }))));
}

#[test]
fn corrupted_archives_never_panic() {
    let m = Meta::root(5);
    let mut w = Writer::new();
    w.dir("/d", 0o755, m).unwrap();
    w.file("/d/f", 0o644, m, b"contents").unwrap();
    w.symlink("/d/l", "f", m).unwrap();
    w.char_device("/d/c", 0o600, m, (1, 3)).unwrap();
    w.file("/g", 0o644, m, b"more").unwrap();
    let good = w.finish();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ok = 0;
    for _ in 0..3000 {
        let mut bad = good.clone();
        for _ in 0..1 + rand() % 4 {
            let i = (rand() % bad.len() as u64) as usize;
            bad[i] = match rand() % 4 {
                0 => b'0' + (rand() % 10) as u8,
                1 => b'a' + (rand() % 6) as u8,
                2 => b'/',
                _ => rand() as u8,
            };
        }
        if rand() % 8 == 0 {
            bad.truncate((rand() % bad.len() as u64) as usize);
        }
        if let Ok(v) = Vfs::from_cpio(leak(bad), t(1)) {
            check_invariants(&v);
            ok += 1;
        }
    }
    assert!(ok > 0);
}
