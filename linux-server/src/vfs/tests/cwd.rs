//! getcwd and directory paths, including removed directories.

use super::*;

#[test]
fn paths_of_live_directories() {
    let mut v = fs();
    assert_eq!(v.getcwd(ROOT), Ok(b"/".to_vec()));
    assert_eq!(v.path_of(ROOT), Ok(b"/".to_vec()));
    let c = {
        mkdir(&mut v, "/a").unwrap();
        mkdir(&mut v, "/a/b").unwrap();
        mkdir(&mut v, "/a/b/c").unwrap()
    };
    assert_eq!(v.getcwd(c), Ok(b"/a/b/c".to_vec()));
    v.rename_at(ROOT, b"/a", ROOT, b"/z", 0, t(3), &NoMagic).unwrap();
    assert_eq!(v.getcwd(c), Ok(b"/z/b/c".to_vec()));
    assert_eq!(v.path_of(c), Ok(b"/z/b/c".to_vec()));
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.getcwd(f), Err(ENOTDIR));
    assert_eq!(v.path_of(f), Err(ENOTDIR));
    assert_eq!(v.getcwd(999), Err(ENOENT));
}

#[test]
fn removed_directories() {
    let mut v = fs();
    mkdir(&mut v, "/a").unwrap();
    let b = mkdir(&mut v, "/a/b").unwrap();
    let a = look(&v, "/a").unwrap();
    v.open_ref(b).unwrap(); // someone's cwd
    v.rmdir_at(ROOT, b"/a/b", t(3), &NoMagic).unwrap();
    assert!(v.exists(b));
    assert_eq!(v.stat(b).unwrap().nlink, 0);
    assert_eq!(v.getcwd(b), Err(ENOENT));
    assert_eq!(v.path_of(b), Ok(b"/a/b (deleted)".to_vec()));
    // Inside it: `.` works, `..` leads to the old parent, nothing can be made.
    assert_eq!(v.lookup(b, b".", true, &NoMagic), Ok(b));
    assert_eq!(v.lookup(b, b"..", true, &NoMagic), Ok(a));
    assert_eq!(v.lookup(b, b"x", true, &NoMagic), Err(ENOENT));
    assert_eq!(v.mkdir_at(b, b"x", 0o755, R, t(4), &NoMagic), Err(ENOENT));
    assert_eq!(v.create_at(b, b"x", 0o644, R, t(4), &NoMagic), Err(ENOENT));
    assert_eq!(v.symlink_at(b"t", b, b"x", R, t(4), &NoMagic), Err(ENOENT));
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.link(f, b, b"x", t(4)), Err(ENOENT));
    assert_eq!(v.mkdir_at(b, b".", 0o755, R, t(4), &NoMagic), Err(EEXIST));
    // Its parent goes too: the path starts at its own name.
    v.rmdir_at(ROOT, b"/a", t(5), &NoMagic).unwrap();
    assert!(!v.exists(a));
    assert_eq!(v.path_of(b), Ok(b"/b (deleted)".to_vec()));
    assert_eq!(v.lookup(b, b"..", true, &NoMagic), Err(ENOENT));
    assert_eq!(v.parent(b), Err(ENOENT));
    v.close_ref(b).unwrap();
    assert!(!v.exists(b));
    check_invariants(&v);
}

#[test]
fn long_paths() {
    let mut v = fs();
    let name = "n".repeat(255);
    let mut dir = ROOT;
    // 16 levels of 256 bytes each is 4096: one too many for a page.
    for _ in 0..15 {
        dir = v.mkdir(dir, name.as_bytes(), 0o755, R, t(2)).unwrap();
    }
    assert_eq!(v.getcwd(dir).map(|p| p.len()), Ok(15 * 256));
    let deeper = v.mkdir(dir, name.as_bytes(), 0o755, R, t(2)).unwrap();
    assert_eq!(v.getcwd(deeper), Err(ENAMETOOLONG));
}
