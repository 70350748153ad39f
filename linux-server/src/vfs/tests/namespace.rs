//! create, mkdir, mknod, symlink, link, unlink, rmdir — by name and by path.

use super::*;
use crate::linux::fcntl::*;
use crate::linux::stat::makedev;

#[test]
fn create_and_mkdir() {
    let mut v = fs();
    let d = v.mkdir(ROOT, b"d", 0o750, Owner { uid: 5, gid: 6 }, t(10)).unwrap();
    let st = v.stat(d).unwrap();
    assert_eq!((st.mode, st.nlink, st.uid, st.gid, st.size), (S_IFDIR | 0o750, 2, 5, 6, 40));
    assert_eq!((st.atime, st.mtime, st.ctime, st.btime), (t(10), t(10), t(10), t(10)));
    let root = v.stat(ROOT).unwrap();
    assert_eq!((root.nlink, root.mtime, root.ctime, root.atime), (3, t(10), t(10), t(1)));
    let f = v.create(d, b"f", 0o4644 | S_IFREG, R, t(11)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.mode, st.nlink, st.size, st.blocks), (S_IFREG | 0o4644, 1, 0, 0));
    assert_eq!(v.stat(d).unwrap().nlink, 2);
    assert_eq!(v.stat(d).unwrap().size, 60);
    assert_eq!(v.stat(d).unwrap().mtime, t(11));
    // Taken names, whatever they name.
    assert_eq!(v.create(d, b"f", 0o644, R, t(12)), Err(EEXIST));
    assert_eq!(v.mkdir(d, b"f", 0o755, R, t(12)), Err(EEXIST));
    assert_eq!(v.create(ROOT, b"d", 0o644, R, t(12)), Err(EEXIST));
    v.symlink(d, b"dangling", b"/nowhere", R, t(12)).unwrap();
    assert_eq!(v.create(d, b"dangling", 0o644, R, t(12)), Err(EEXIST));
    assert_eq!(v.mkdir(d, b".", 0o755, R, t(12)), Err(EEXIST));
    assert_eq!(v.mkdir(d, b"..", 0o755, R, t(12)), Err(EEXIST));
    // Bad names and bad directories.
    assert_eq!(v.create(d, b"", 0o644, R, t(12)), Err(ENOENT));
    assert_eq!(v.create(d, &[b'n'; 256], 0o644, R, t(12)), Err(ENAMETOOLONG));
    assert!(v.create(d, &[b'n'; 255], 0o644, R, t(12)).is_ok());
    assert_eq!(v.create(d, b"a/b", 0o644, R, t(12)), Err(EINVAL));
    assert_eq!(v.create(d, b"a\0", 0o644, R, t(12)), Err(EINVAL));
    assert_eq!(v.create(f, b"x", 0o644, R, t(12)), Err(ENOTDIR));
    assert_eq!(v.create(12345, b"x", 0o644, R, t(12)), Err(ENOENT));
    check_invariants(&v);
}

#[test]
fn setgid_directories() {
    let mut v = fs();
    let d = v.mkdir(ROOT, b"shared", 0o2775, Owner { uid: 0, gid: 50 }, t(2)).unwrap();
    let f = v.create(d, b"f", 0o644, Owner { uid: 7, gid: 7 }, t(3)).unwrap();
    assert_eq!((v.stat(f).unwrap().gid, v.stat(f).unwrap().mode & 0o7777), (50, 0o644));
    let sub = v.mkdir(d, b"sub", 0o755, Owner { uid: 7, gid: 7 }, t(3)).unwrap();
    assert_eq!((v.stat(sub).unwrap().gid, v.stat(sub).unwrap().mode & 0o7777), (50, 0o2755));
    let plain = v.mkdir(ROOT, b"plain", 0o755, Owner { uid: 7, gid: 7 }, t(3)).unwrap();
    assert_eq!(v.stat(plain).unwrap().gid, 7);
}

#[test]
fn mknod_kinds() {
    let mut v = fs();
    assert_eq!(Kind::for_mknod(0o644, (1, 2)), Ok(Kind::Regular));
    assert_eq!(Kind::for_mknod(S_IFREG | 0o644, (1, 2)), Ok(Kind::Regular));
    assert_eq!(Kind::for_mknod(S_IFCHR | 0o600, (5, 1)), Ok(Kind::CharDevice(5, 1)));
    assert_eq!(Kind::for_mknod(S_IFBLK, (8, 0)), Ok(Kind::BlockDevice(8, 0)));
    assert_eq!(Kind::for_mknod(S_IFIFO, (0, 0)), Ok(Kind::Fifo));
    assert_eq!(Kind::for_mknod(S_IFSOCK, (0, 0)), Ok(Kind::Socket));
    assert_eq!(Kind::for_mknod(S_IFDIR, (0, 0)), Err(EPERM));
    assert_eq!(Kind::for_mknod(S_IFLNK, (0, 0)), Err(EINVAL));
    assert_eq!(Kind::for_mknod(0o170000, (0, 0)), Err(EINVAL));
    let c = v.mknod(ROOT, b"console", Kind::CharDevice(5, 1), 0o600, R, t(2)).unwrap();
    let st = v.stat(c).unwrap();
    assert_eq!((st.mode, st.rdev, st.size), (S_IFCHR | 0o600, makedev(5, 1), 0));
    let b = v.mknod(ROOT, b"vda", Kind::BlockDevice(254, 3), 0o660, R, t(2)).unwrap();
    assert_eq!(v.stat(b).unwrap().rdev, makedev(254, 3));
    assert_eq!(v.stat(b).unwrap().mode, S_IFBLK | 0o660);
    let p = v.mknod(ROOT, b"pipe", Kind::Fifo, 0o644, R, t(2)).unwrap();
    assert_eq!(v.stat(p).unwrap().mode, S_IFIFO | 0o644);
    let s = v.mknod(ROOT, b"sock", Kind::Socket, 0o644, R, t(2)).unwrap();
    assert_eq!(v.stat(s).unwrap().mode, S_IFSOCK | 0o644);
    assert_eq!(v.mknod(ROOT, b"d", Kind::Directory, 0o755, R, t(2)), Err(EINVAL));
    assert_eq!(v.mknod(ROOT, b"l", Kind::Symlink, 0o755, R, t(2)), Err(EINVAL));
    assert_eq!(v.mknod(ROOT, b"m", Kind::MagicLink(1), 0o755, R, t(2)), Err(EINVAL));
    // Devices have no file contents here (the server routes their I/O).
    assert_eq!(v.read_at(c, 0, &mut [0; 4]), Err(EINVAL));
    assert_eq!(v.write_at(p, 0, b"x", t(3)), Err(EINVAL));
    let recs = records(&v, ROOT);
    let dt = |n: &[u8]| recs.iter().find(|r| r.name == n).unwrap().dtype;
    assert_eq!(dt(b"console"), dirent::DT_CHR);
    assert_eq!(dt(b"vda"), dirent::DT_BLK);
    assert_eq!(dt(b"pipe"), dirent::DT_FIFO);
    assert_eq!(dt(b"sock"), dirent::DT_SOCK);
    check_invariants(&v);
}

#[test]
fn symlinks_and_readlink() {
    let mut v = fs();
    let l = v.symlink(ROOT, b"l", b"some/where", Owner { uid: 3, gid: 4 }, t(5)).unwrap();
    let st = v.stat(l).unwrap();
    assert_eq!((st.mode, st.size, st.uid, st.gid, st.nlink), (S_IFLNK | 0o777, 10, 3, 4, 1));
    assert_eq!(v.readlink(l, &NoMagic), Ok(b"some/where".to_vec()));
    assert_eq!(v.readlink(ROOT, &NoMagic), Err(EINVAL));
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.readlink(f, &NoMagic), Err(EINVAL));
    assert_eq!(v.readlink(999, &NoMagic), Err(ENOENT));
    assert_eq!(v.symlink(ROOT, b"e", b"", R, t(5)), Err(ENOENT));
    assert_eq!(v.symlink(ROOT, b"e", b"a\0b", R, t(5)), Err(EINVAL));
    assert_eq!(v.symlink(ROOT, b"l", b"x", R, t(5)), Err(EEXIST));
    // Reading or writing a link's contents as a file is refused.
    assert_eq!(v.data(l), Err(EINVAL));
    check_invariants(&v);
}

#[test]
fn hard_links() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    let f = file(&mut v, "/f", b"data");
    v.link(f, d, b"g", t(20)).unwrap();
    assert_eq!(look(&v, "/d/g"), Ok(f));
    let st = v.stat(f).unwrap();
    assert_eq!((st.nlink, st.ctime, st.mtime), (2, t(20), t(2)));
    assert_eq!(v.stat(d).unwrap().mtime, t(20));
    assert_eq!(v.link(f, d, b"g", t(21)), Err(EEXIST));
    assert_eq!(v.link(f, d, b".", t(21)), Err(EEXIST));
    assert_eq!(v.link(d, ROOT, b"d2", t(21)), Err(EPERM));
    assert_eq!(v.link(d, ROOT, b"d", t(21)), Err(EEXIST));
    assert_eq!(v.link(777, ROOT, b"x", t(21)), Err(ENOENT));
    assert_eq!(v.link(f, f, b"x", t(21)), Err(ENOTDIR));
    // Writes through one name show through the other.
    v.write_at(look(&v, "/d/g").unwrap(), 0, b"DA", t(22)).unwrap();
    assert_eq!(contents(&v, f), b"DAta");
    v.unlink(ROOT, b"f", t(23)).unwrap();
    assert_eq!(v.stat(f).unwrap().nlink, 1);
    assert_eq!(contents(&v, look(&v, "/d/g").unwrap()), b"DAta");
    // An open file without names cannot get one back.
    v.open_ref(f).unwrap();
    v.unlink(d, b"g", t(24)).unwrap();
    assert_eq!(v.link(f, ROOT, b"back", t(25)), Err(ENOENT));
    v.close_ref(f).unwrap();
    assert!(!v.exists(f));
    // Symlinks can be hard-linked (the link itself, not its target).
    let l = v.symlink(ROOT, b"l", b"/d", R, t(26)).unwrap();
    v.link_at(ROOT, b"/l", false, ROOT, b"/l2", t(27), &NoMagic).unwrap();
    assert_eq!(llook(&v, "/l2"), Ok(l));
    v.link_at(ROOT, b"/l", true, ROOT, b"/l3", t(27), &NoMagic).unwrap_err();
    check_invariants(&v);
}

#[test]
fn link_at_rules() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    let f = file(&mut v, "/f", b"");
    let n = |v: &mut Vfs, old: &str, follow: bool, new: &str| {
        v.link_at(ROOT, old.as_bytes(), follow, ROOT, new.as_bytes(), t(3), &NoMagic)
    };
    symlink(&mut v, "/f", "/lf").unwrap();
    n(&mut v, "/lf", true, "/hard").unwrap();
    assert_eq!(llook(&v, "/hard"), Ok(f));
    assert_eq!(n(&mut v, "/f/", false, "/x"), Err(ENOTDIR));
    assert_eq!(n(&mut v, "/d/", false, "/x"), Err(EPERM));
    assert_eq!(n(&mut v, "/d", false, "/x"), Err(EPERM));
    assert_eq!(n(&mut v, "/nope", false, "/x"), Err(ENOENT));
    assert_eq!(n(&mut v, "/f", false, "/d"), Err(EEXIST));
    assert_eq!(n(&mut v, "/f", false, "/"), Err(EEXIST));
    assert_eq!(n(&mut v, "/f", false, "/d/."), Err(EEXIST));
    assert_eq!(n(&mut v, "/f", false, "/d/.."), Err(EEXIST));
    assert_eq!(n(&mut v, "/f", false, "/new/"), Err(ENOENT));
    assert_eq!(n(&mut v, "/f", false, "/hard/"), Err(EEXIST));
    assert_eq!(n(&mut v, "/f", false, "/nope/x"), Err(ENOENT));
    assert_eq!(n(&mut v, "/f", false, "/f/x"), Err(ENOTDIR));
    n(&mut v, "/f", false, "/d/x").unwrap();
    assert_eq!(v.stat(f).unwrap().nlink, 3);
    let _ = d;
    check_invariants(&v);
}

#[test]
fn unlink_rules() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    let f = file(&mut v, "/d/f", b"x");
    assert_eq!(v.unlink(ROOT, b"d", t(3)), Err(EISDIR));
    assert_eq!(v.unlink(d, b".", t(3)), Err(EISDIR));
    assert_eq!(v.unlink(d, b"..", t(3)), Err(EISDIR));
    assert_eq!(v.unlink(d, b"nope", t(3)), Err(ENOENT));
    assert_eq!(v.unlink(d, b"", t(3)), Err(ENOENT));
    assert_eq!(v.unlink(f, b"x", t(3)), Err(ENOTDIR));
    let before = v.inode_count();
    v.unlink(d, b"f", t(4)).unwrap();
    assert!(!v.exists(f));
    assert_eq!(v.inode_count(), before - 1);
    assert_eq!(v.stat(d).unwrap().mtime, t(4));
    assert_eq!(v.stat(d).unwrap().ctime, t(4));
    assert_eq!(v.unlink(d, b"f", t(5)), Err(ENOENT));
    assert_eq!(v.stat(f), Err(ENOENT));
    // Unlinking a symlink removes the link, not its target.
    let g = file(&mut v, "/g", b"");
    symlink(&mut v, "/g", "/lg").unwrap();
    v.unlink_at(ROOT, b"/lg", t(6), &NoMagic).unwrap();
    assert_eq!(look(&v, "/g"), Ok(g));
    // Paths.
    let u = |v: &mut Vfs, p: &str| v.unlink_at(ROOT, p.as_bytes(), t(7), &NoMagic);
    assert_eq!(u(&mut v, "/"), Err(EISDIR));
    assert_eq!(u(&mut v, "/d/."), Err(EISDIR));
    assert_eq!(u(&mut v, "/d/.."), Err(EISDIR));
    assert_eq!(u(&mut v, "/d"), Err(EISDIR));
    assert_eq!(u(&mut v, "/d/"), Err(EISDIR));
    assert_eq!(u(&mut v, "/g/"), Err(ENOTDIR));
    assert_eq!(u(&mut v, "/nope/"), Err(ENOENT));
    assert_eq!(u(&mut v, "/nope"), Err(ENOENT));
    assert_eq!(u(&mut v, "/g/x"), Err(ENOTDIR));
    u(&mut v, "/g").unwrap();
    check_invariants(&v);
}

#[test]
fn rmdir_rules() {
    let mut v = fs();
    let a = mkdir(&mut v, "/a").unwrap();
    let b = mkdir(&mut v, "/a/b").unwrap();
    file(&mut v, "/a/f", b"");
    assert_eq!(v.stat(a).unwrap().nlink, 3);
    assert_eq!(v.rmdir(ROOT, b"a", t(3)), Err(ENOTEMPTY));
    assert_eq!(v.rmdir(a, b"f", t(3)), Err(ENOTDIR));
    assert_eq!(v.rmdir(a, b".", t(3)), Err(EINVAL));
    assert_eq!(v.rmdir(a, b"..", t(3)), Err(ENOTEMPTY));
    assert_eq!(v.rmdir(a, b"nope", t(3)), Err(ENOENT));
    v.rmdir(a, b"b", t(4)).unwrap();
    assert!(!v.exists(b));
    assert_eq!(v.stat(a).unwrap().nlink, 2);
    assert_eq!(v.stat(a).unwrap().mtime, t(4));
    let r = |v: &mut Vfs, p: &str| v.rmdir_at(ROOT, p.as_bytes(), t(5), &NoMagic);
    assert_eq!(r(&mut v, "/"), Err(EBUSY));
    assert_eq!(r(&mut v, "//"), Err(EBUSY));
    assert_eq!(r(&mut v, "/a/."), Err(EINVAL));
    assert_eq!(r(&mut v, "."), Err(EINVAL));
    assert_eq!(r(&mut v, "/a/.."), Err(ENOTEMPTY));
    assert_eq!(r(&mut v, "/a/f"), Err(ENOTDIR));
    assert_eq!(r(&mut v, "/a/f/"), Err(ENOTDIR));
    assert_eq!(r(&mut v, "/a"), Err(ENOTEMPTY));
    v.unlink_at(ROOT, b"/a/f", t(6), &NoMagic).unwrap();
    // rmdir does not follow a symlink as the last component.
    symlink(&mut v, "/a", "/la").unwrap();
    assert_eq!(r(&mut v, "/la"), Err(ENOTDIR));
    r(&mut v, "/a/").unwrap();
    assert!(!v.exists(a));
    assert_eq!(v.stat(ROOT).unwrap().nlink, 2);
    check_invariants(&v);
}

#[test]
fn creating_by_path() {
    let mut v = fs();
    let m = |v: &mut Vfs, p: &str| mkdir(v, p);
    assert_eq!(m(&mut v, "/"), Err(EEXIST));
    assert_eq!(m(&mut v, "."), Err(EEXIST));
    assert_eq!(m(&mut v, ".."), Err(EEXIST));
    let a = m(&mut v, "/a/").unwrap();
    assert_eq!(m(&mut v, "/a//"), Err(EEXIST));
    assert_eq!(m(&mut v, "/a/b/c"), Err(ENOENT));
    let b = v.mkdir_at(a, b"b", 0o700, R, t(3), &NoMagic).unwrap();
    assert_eq!(look(&v, "/a/b"), Ok(b));
    // Non-directories with a trailing slash: EEXIST if taken, else ENOENT.
    let mk = |v: &mut Vfs, p: &str| v.mknod_at(ROOT, p.as_bytes(), Kind::Fifo, 0o644, R, t(4), &NoMagic);
    assert_eq!(mk(&mut v, "/p/"), Err(ENOENT));
    assert_eq!(mk(&mut v, "/a/"), Err(EEXIST));
    assert_eq!(mk(&mut v, "/a/."), Err(EEXIST));
    assert_eq!(mk(&mut v, "/"), Err(EEXIST));
    mk(&mut v, "/a/p").unwrap();
    assert_eq!(symlink(&mut v, "x", "/s/"), Err(ENOENT));
    assert_eq!(symlink(&mut v, "x", "/a/"), Err(EEXIST));
    assert_eq!(symlink(&mut v, "x", "/a/.."), Err(EEXIST));
    assert_eq!(v.create_at(ROOT, b"/c/", 0o644, R, t(4), &NoMagic), Err(ENOENT));
    assert_eq!(v.create_at(ROOT, b"/a/p/c", 0o644, R, t(4), &NoMagic), Err(ENOTDIR));
    // Creating through a symlinked directory.
    symlink(&mut v, "a/b", "/lb").unwrap();
    let f = v.create_at(ROOT, b"/lb/f", 0o644, R, t(5), &NoMagic).unwrap();
    assert_eq!(look(&v, "/a/b/f"), Ok(f));
    // mkdir over a dangling symlink: the name is taken.
    symlink(&mut v, "/nowhere", "/dl").unwrap();
    assert_eq!(m(&mut v, "/dl"), Err(EEXIST));
    assert_eq!(m(&mut v, "/dl/"), Err(EEXIST));
    check_invariants(&v);
}
