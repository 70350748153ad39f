//! stat, chmod, chown, utimens, access checks.

use super::*;
use crate::linux::fcntl::*;
use crate::linux::stat::{makedev, UTIME_NOW, UTIME_OMIT};

#[test]
fn stat_values() {
    let mut v = fs();
    let root = v.stat(ROOT).unwrap();
    assert_eq!((root.ino, root.mode, root.nlink, root.size, root.blocks), (ROOT, S_IFDIR | 0o755, 2, 40, 0));
    assert_eq!((root.dev, root.rdev, root.blksize), (makedev(DEV.0, DEV.1), 0, 4096));
    let f = file(&mut v, "/f", &[1; 5000]);
    let st = v.stat(f).unwrap();
    assert_eq!((st.ino, st.size, st.blocks, st.nlink, st.dev), (f, 5000, 16, 1, root.dev));
    assert_eq!(v.size(f), Ok(5000));
    assert_eq!(v.size(ROOT), Ok(60));
    assert_eq!(v.stat(424242), Err(ENOENT));
    // The bytes a syscall returns come from here.
    let bytes = st.to_bytes();
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), f);
}

#[test]
fn chmod_and_chown() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"");
    v.chmod(f, S_IFDIR | 0o6755, t(30)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.mode, st.ctime, st.mtime), (S_IFREG | 0o6755, t(30), t(2)));
    // chown keeps setgid without group-exec, drops setuid; sets ids.
    v.chmod(f, 0o6745, t(30)).unwrap();
    v.chown(f, Some(10), None, t(31)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.uid, st.gid, st.mode & 0o7777, st.ctime), (10, 0, 0o2745, t(31)));
    v.chmod(f, 0o6755, t(32)).unwrap();
    v.chown(f, None, None, t(33)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.uid, st.gid, st.mode & 0o7777, st.ctime), (10, 0, 0o0755, t(33)));
    v.chown(f, None, Some(20), t(34)).unwrap();
    assert_eq!(v.stat(f).unwrap().gid, 20);
    // Directories keep their bits.
    let d = mkdir(&mut v, "/d").unwrap();
    v.chmod(d, 0o3777, t(35)).unwrap();
    v.chown(d, Some(1), Some(1), t(35)).unwrap();
    assert_eq!(v.stat(d).unwrap().mode, S_IFDIR | 0o3777);
    assert_eq!(v.chmod(999, 0, t(1)), Err(ENOENT));
    assert_eq!(v.chown(999, None, None, t(1)), Err(ENOENT));
}

#[test]
fn utimens() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"");
    let at = |s| TimeSet::At(Timespec::new(s, 5));
    v.utimens(f, at(100), at(200), t(40)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.atime, st.mtime, st.ctime), (Timespec::new(100, 5), Timespec::new(200, 5), t(40)));
    v.utimens(f, TimeSet::Now, TimeSet::Omit, t(41)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.atime, st.mtime, st.ctime), (t(41), Timespec::new(200, 5), t(41)));
    v.utimens(f, TimeSet::Omit, TimeSet::Now, t(42)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.atime, st.mtime, st.ctime), (t(41), t(42), t(42)));
    // Both omitted: nothing at all, not even ctime; any inode.
    v.utimens(f, TimeSet::Omit, TimeSet::Omit, t(43)).unwrap();
    assert_eq!(v.stat(f).unwrap().ctime, t(42));
    assert_eq!(v.utimens(999, TimeSet::Omit, TimeSet::Omit, t(43)), Ok(()));
    assert_eq!(v.utimens(999, TimeSet::Now, TimeSet::Omit, t(43)), Err(ENOENT));
    // Decoding the syscall's timespecs.
    assert_eq!(TimeSet::from_linux(Timespec::new(7, UTIME_NOW)), Ok(TimeSet::Now));
    assert_eq!(TimeSet::from_linux(Timespec::new(-3, UTIME_OMIT)), Ok(TimeSet::Omit));
    assert_eq!(TimeSet::from_linux(Timespec::new(-3, 0)), Ok(TimeSet::At(Timespec::new(-3, 0))));
    assert_eq!(TimeSet::from_linux(Timespec::new(1, 999_999_999)), Ok(TimeSet::At(Timespec::new(1, 999_999_999))));
    assert_eq!(TimeSet::from_linux(Timespec::new(1, 1_000_000_000)), Err(EINVAL));
    assert_eq!(TimeSet::from_linux(Timespec::new(1, -1)), Err(EINVAL));
}

#[test]
fn access_checks() {
    let mut v = fs();
    let f = v.create(ROOT, b"f", 0o640, Owner { uid: 10, gid: 20 }, t(2)).unwrap();
    let x = v.create(ROOT, b"x", 0o001, Owner { uid: 10, gid: 20 }, t(2)).unwrap();
    let n = v.create(ROOT, b"n", 0o000, Owner { uid: 10, gid: 20 }, t(2)).unwrap();
    let d = v.mkdir(ROOT, b"d", 0o000, Owner { uid: 10, gid: 20 }, t(2)).unwrap();
    // Root: read and write anything; execute needs some x bit (dirs: always).
    assert_eq!(v.may(n, R_OK | W_OK, 0, 0), Ok(()));
    assert_eq!(v.may(n, X_OK, 0, 0), Err(EACCES));
    assert_eq!(v.may(x, X_OK, 0, 0), Ok(()));
    assert_eq!(v.may(d, R_OK | W_OK | X_OK, 0, 0), Ok(()));
    // Owner class only for the owner, even if others get more.
    assert_eq!(v.may(f, R_OK | W_OK, 10, 99), Ok(()));
    assert_eq!(v.may(f, X_OK, 10, 99), Err(EACCES));
    assert_eq!(v.may(x, X_OK, 10, 20), Err(EACCES));
    assert_eq!(v.may(x, X_OK, 11, 21), Ok(()));
    // Group.
    assert_eq!(v.may(f, R_OK, 11, 20), Ok(()));
    assert_eq!(v.may(f, W_OK, 11, 20), Err(EACCES));
    // Others.
    assert_eq!(v.may(f, R_OK, 11, 21), Err(EACCES));
    assert_eq!(v.may(f, F_OK, 11, 21), Ok(()));
    assert_eq!(v.may(d, X_OK, 11, 21), Err(EACCES));
    assert_eq!(v.may(999, F_OK, 0, 0), Err(ENOENT));
}
