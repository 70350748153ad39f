//! rename and renameat2, rule by rule.

use super::*;
use crate::linux::fcntl::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};

fn mv(v: &mut Vfs, old: &str, new: &str) -> SysResult<()> {
    mv2(v, old, new, 0)
}

fn mv2(v: &mut Vfs, old: &str, new: &str, flags: u32) -> SysResult<()> {
    v.rename_at(ROOT, old.as_bytes(), ROOT, new.as_bytes(), flags, t(50), &NoMagic)
}

/// /d1/{f, sub/}, /d2/{g, empty/, full/x}, /h (file)
fn setup() -> Vfs {
    let mut v = fs();
    mkdir(&mut v, "/d1").unwrap();
    file(&mut v, "/d1/f", b"f");
    mkdir(&mut v, "/d1/sub").unwrap();
    mkdir(&mut v, "/d2").unwrap();
    file(&mut v, "/d2/g", b"g");
    mkdir(&mut v, "/d2/empty").unwrap();
    mkdir(&mut v, "/d2/full").unwrap();
    file(&mut v, "/d2/full/x", b"x");
    file(&mut v, "/h", b"h");
    v
}

#[test]
fn files() {
    let mut v = setup();
    let f = look(&v, "/d1/f").unwrap();
    let g = look(&v, "/d2/g").unwrap();
    // Same directory, new name.
    mv(&mut v, "/d1/f", "/d1/f2").unwrap();
    assert_eq!(look(&v, "/d1/f"), Err(ENOENT));
    assert_eq!(look(&v, "/d1/f2"), Ok(f));
    assert_eq!(v.stat(f).unwrap().ctime, t(50));
    assert_eq!(v.stat(f).unwrap().mtime, t(2));
    // Across directories, replacing a file (which is freed).
    mv(&mut v, "/d1/f2", "/d2/g").unwrap();
    assert_eq!(look(&v, "/d2/g"), Ok(f));
    assert!(!v.exists(g));
    let d1 = look(&v, "/d1").unwrap();
    assert_eq!((v.stat(d1).unwrap().mtime, v.stat(d1).unwrap().ctime), (t(50), t(50)));
    // Relative to different start directories.
    let d2 = look(&v, "/d2").unwrap();
    v.rename_at(d2, b"g", d1, b"back", 0, t(51), &NoMagic).unwrap();
    assert_eq!(look(&v, "/d1/back"), Ok(f));
    // Missing source.
    assert_eq!(mv(&mut v, "/d1/nope", "/x"), Err(ENOENT));
    assert_eq!(mv(&mut v, "/nope/f", "/x"), Err(ENOENT));
    assert_eq!(mv(&mut v, "/d1/back", "/nope/x"), Err(ENOENT));
    assert_eq!(mv(&mut v, "/d1/back", "/h/x"), Err(ENOTDIR));
    check_invariants(&v);
}

#[test]
fn replaced_file_that_is_open_survives() {
    let mut v = setup();
    let h = look(&v, "/h").unwrap();
    v.open_ref(h).unwrap();
    mv(&mut v, "/d2/g", "/h").unwrap();
    assert!(v.exists(h));
    assert_eq!(v.stat(h).unwrap().nlink, 0);
    assert_eq!(contents(&v, h), b"h");
    v.close_ref(h).unwrap();
    assert!(!v.exists(h));
    check_invariants(&v);
}

#[test]
fn directories() {
    let mut v = setup();
    let d1 = look(&v, "/d1").unwrap();
    let d2 = look(&v, "/d2").unwrap();
    let sub = look(&v, "/d1/sub").unwrap();
    assert_eq!((v.stat(d1).unwrap().nlink, v.stat(d2).unwrap().nlink), (3, 4));
    // Move a directory across: link counts and `..` move with it.
    mv(&mut v, "/d1/sub", "/d2/sub").unwrap();
    assert_eq!((v.stat(d1).unwrap().nlink, v.stat(d2).unwrap().nlink), (2, 5));
    assert_eq!(look(&v, "/d2/sub/.."), Ok(d2));
    assert_eq!(v.getcwd(sub), Ok(b"/d2/sub".to_vec()));
    // Onto an empty directory (which is freed): the parent loses one.
    let empty = look(&v, "/d2/empty").unwrap();
    mv(&mut v, "/d2/sub", "/d2/empty").unwrap();
    assert!(!v.exists(empty));
    assert_eq!(look(&v, "/d2/empty"), Ok(sub));
    assert_eq!(v.stat(d2).unwrap().nlink, 4);
    assert_eq!(v.getcwd(sub), Ok(b"/d2/empty".to_vec()));
    // Onto an empty directory elsewhere.
    mkdir(&mut v, "/d1/e").unwrap();
    mv(&mut v, "/d2/empty", "/d1/e").unwrap();
    assert_eq!((v.stat(d1).unwrap().nlink, v.stat(d2).unwrap().nlink), (3, 3));
    assert_eq!(v.parent(sub), Ok(d1));
    // Trailing slashes are fine on directories.
    mv(&mut v, "/d1/e/", "/d1/e2/").unwrap();
    assert_eq!(look(&v, "/d1/e2"), Ok(sub));
    check_invariants(&v);
}

#[test]
fn type_mismatches() {
    let mut v = setup();
    assert_eq!(mv(&mut v, "/d2/empty", "/h"), Err(ENOTDIR));
    assert_eq!(mv(&mut v, "/h", "/d2/empty"), Err(EISDIR));
    assert_eq!(mv(&mut v, "/d1/sub", "/d2/full"), Err(ENOTEMPTY));
    // Trailing slash on a non-directory.
    assert_eq!(mv(&mut v, "/h/", "/x"), Err(ENOTDIR));
    assert_eq!(mv(&mut v, "/h", "/x/"), Err(ENOTDIR));
    assert_eq!(mv(&mut v, "/h", "/d2/g/"), Err(ENOTDIR));
    assert_eq!(mv(&mut v, "/nope/", "/x"), Err(ENOENT));
    check_invariants(&v);
}

#[test]
fn ancestry() {
    let mut v = setup();
    mkdir(&mut v, "/d1/sub/deep").unwrap();
    // Into itself or below: EINVAL.
    assert_eq!(mv(&mut v, "/d1", "/d1/sub/x"), Err(EINVAL));
    assert_eq!(mv(&mut v, "/d1", "/d1/sub/deep/x"), Err(EINVAL));
    assert_eq!(mv(&mut v, "/d1/sub", "/d1/sub/x"), Err(EINVAL));
    assert_eq!(mv(&mut v, "/d1/sub", "/d1/sub/deep"), Err(EINVAL));
    // Onto its own ancestor: ENOTEMPTY.
    assert_eq!(mv(&mut v, "/d1/sub/deep", "/d1"), Err(ENOTEMPTY));
    assert_eq!(mv(&mut v, "/d1/sub/deep", "/d1/sub"), Err(ENOTEMPTY));
    // Moving up is fine.
    mv(&mut v, "/d1/sub/deep", "/deep").unwrap();
    check_invariants(&v);
}

#[test]
fn same_inode_is_a_no_op() {
    let mut v = setup();
    let h = look(&v, "/h").unwrap();
    let before = v.stat(ROOT).unwrap();
    mv(&mut v, "/h", "/h").unwrap();
    mv(&mut v, "/d1", "/d1").unwrap();
    mv(&mut v, "/d1", "/d1/").unwrap();
    assert_eq!(v.stat(ROOT).unwrap(), before);
    // Hard links: both names stay.
    v.link(h, ROOT, b"h2", t(3)).unwrap();
    mv(&mut v, "/h", "/h2").unwrap();
    assert_eq!((look(&v, "/h"), look(&v, "/h2")), (Ok(h), Ok(h)));
    assert_eq!(v.stat(h).unwrap().nlink, 2);
    check_invariants(&v);
}

#[test]
fn dots_and_root() {
    let mut v = setup();
    for (old, new) in [("/", "/x"), ("/d1/.", "/x"), ("/d1/..", "/x"), (".", "/x")] {
        assert_eq!(mv(&mut v, old, new), Err(EBUSY), "{old}");
    }
    for new in ["/", "/d1/.", "/d1/.."] {
        assert_eq!(mv(&mut v, "/h", new), Err(EBUSY), "{new}");
        assert_eq!(mv2(&mut v, "/h", new, RENAME_NOREPLACE), Err(EEXIST), "{new}");
    }
    assert_eq!(v.rename(ROOT, b".", ROOT, b"x", 0, t(3)), Err(EBUSY));
    assert_eq!(v.rename(ROOT, b"h", ROOT, b"..", 0, t(3)), Err(EBUSY));
    assert_eq!(v.rename(ROOT, b"", ROOT, b"x", 0, t(3)), Err(ENOENT));
    assert_eq!(v.rename(ROOT, b"h", ROOT, &[b'x'; 256], 0, t(3)), Err(ENAMETOOLONG));
    check_invariants(&v);
}

#[test]
fn flags() {
    let mut v = setup();
    assert_eq!(mv2(&mut v, "/h", "/x", 8), Err(EINVAL));
    assert_eq!(mv2(&mut v, "/h", "/x", RENAME_EXCHANGE | RENAME_NOREPLACE), Err(EINVAL));
    assert_eq!(mv2(&mut v, "/h", "/x", RENAME_EXCHANGE | RENAME_WHITEOUT), Err(EINVAL));
    assert_eq!(mv2(&mut v, "/h", "/x", RENAME_WHITEOUT), Err(EINVAL));
    // NOREPLACE.
    assert_eq!(mv2(&mut v, "/h", "/d2/g", RENAME_NOREPLACE), Err(EEXIST));
    assert_eq!(mv2(&mut v, "/h", "/h", RENAME_NOREPLACE), Err(EEXIST));
    mv2(&mut v, "/h", "/h2", RENAME_NOREPLACE).unwrap();
    assert!(look(&v, "/h2").is_ok());
    check_invariants(&v);
}

#[test]
fn exchange() {
    let mut v = setup();
    let d1 = look(&v, "/d1").unwrap();
    let d2 = look(&v, "/d2").unwrap();
    let f = look(&v, "/d1/f").unwrap();
    let g = look(&v, "/d2/g").unwrap();
    let sub = look(&v, "/d1/sub").unwrap();
    let full = look(&v, "/d2/full").unwrap();
    // Two files.
    mv2(&mut v, "/d1/f", "/d2/g", RENAME_EXCHANGE).unwrap();
    assert_eq!((look(&v, "/d1/f"), look(&v, "/d2/g")), (Ok(g), Ok(f)));
    assert_eq!(v.stat(f).unwrap().ctime, t(50));
    // A directory and a file in different directories: link counts move.
    let (n1, n2) = (v.stat(d1).unwrap().nlink, v.stat(d2).unwrap().nlink);
    mv2(&mut v, "/d1/sub", "/d2/g", RENAME_EXCHANGE).unwrap();
    assert_eq!((look(&v, "/d2/g"), look(&v, "/d1/sub")), (Ok(sub), Ok(f)));
    assert_eq!((v.stat(d1).unwrap().nlink, v.stat(d2).unwrap().nlink), (n1 - 1, n2 + 1));
    assert_eq!(v.getcwd(sub), Ok(b"/d2/g".to_vec()));
    // Two directories, one non-empty (fine for an exchange).
    mv2(&mut v, "/d2/g", "/d2/full", RENAME_EXCHANGE).unwrap();
    assert_eq!((look(&v, "/d2/g"), look(&v, "/d2/full")), (Ok(full), Ok(sub)));
    assert_eq!(look(&v, "/d2/g/x").is_ok(), true);
    // Target must exist; no trailing slash on a non-directory target.
    assert_eq!(mv2(&mut v, "/h", "/nope", RENAME_EXCHANGE), Err(ENOENT));
    assert_eq!(mv2(&mut v, "/d1", "/h/", RENAME_EXCHANGE), Err(ENOTDIR));
    // With an ancestor: EINVAL either way.
    assert_eq!(mv2(&mut v, "/d2", "/d2/g/x", RENAME_EXCHANGE), Err(EINVAL));
    assert_eq!(mv2(&mut v, "/d2/g/x", "/d2", RENAME_EXCHANGE), Err(EINVAL));
    // Same inode.
    mv2(&mut v, "/h", "/h", RENAME_EXCHANGE).unwrap();
    check_invariants(&v);
}

#[test]
fn into_removed_directory() {
    let mut v = setup();
    let e = look(&v, "/d2/empty").unwrap();
    v.open_ref(e).unwrap();
    v.rmdir_at(ROOT, b"/d2/empty", t(3), &NoMagic).unwrap();
    assert_eq!(v.rename(ROOT, b"h", e, b"h", 0, t(4)), Err(ENOENT));
    assert_eq!(v.rename(e, b"x", ROOT, b"y", 0, t(4)), Err(ENOENT));
    v.close_ref(e).unwrap();
    check_invariants(&v);
}

#[test]
fn symlinks_are_renamed_not_followed() {
    let mut v = setup();
    let l = symlink(&mut v, "/d1", "/l").unwrap();
    mv(&mut v, "/l", "/d2/l").unwrap();
    assert_eq!(llook(&v, "/d2/l"), Ok(l));
    assert_eq!(look(&v, "/d1").is_ok(), true);
    // A directory cannot replace a symlink to a directory.
    assert_eq!(mv(&mut v, "/d2/empty", "/d2/l"), Err(ENOTDIR));
    check_invariants(&v);
}
