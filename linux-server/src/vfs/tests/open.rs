//! Open references: unlinked-but-open files and directories.

use super::*;

#[test]
fn unlinked_open_file_stays_usable() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"data");
    v.open_ref(f).unwrap();
    v.open_ref(f).unwrap();
    assert_eq!(v.open_count(f), Ok(2));
    let count = v.inode_count();
    v.unlink_at(ROOT, b"/f", t(5), &NoMagic).unwrap();
    assert_eq!(look(&v, "/f"), Err(ENOENT));
    assert_eq!(v.inode_count(), count);
    let st = v.stat(f).unwrap();
    assert_eq!((st.nlink, st.ctime), (0, t(5)));
    assert_eq!(v.write_at(f, 4, b"++", t(6)), Ok(2));
    let mut buf = [0; 8];
    assert_eq!(v.read_at(f, 0, &mut buf), Ok(6));
    assert_eq!(&buf[..6], b"data++");
    v.truncate(f, 1, t(7)).unwrap();
    v.chmod(f, 0o600, t(7)).unwrap();
    // A new file of the same name is another inode.
    let g = file(&mut v, "/f", b"new");
    assert_ne!(f, g);
    v.close_ref(f).unwrap();
    assert!(v.exists(f));
    v.close_ref(f).unwrap();
    assert!(!v.exists(f));
    assert_eq!(v.stat(f), Err(ENOENT));
    assert_eq!(v.read_at(f, 0, &mut buf), Err(ENOENT));
    assert_eq!(v.close_ref(f), Err(ENOENT));
    assert_eq!(v.open_ref(f), Err(ENOENT));
    // Numbers are not reused.
    let h = file(&mut v, "/h", b"");
    assert!(h > g && h != f);
    check_invariants(&v);
}

#[test]
fn closing_a_linked_file_keeps_it() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"x");
    assert_eq!(v.close_ref(f), Err(EINVAL));
    v.open_ref(f).unwrap();
    v.close_ref(f).unwrap();
    assert!(v.exists(f));
    assert_eq!(v.open_count(f), Ok(0));
    // The root is never freed.
    v.open_ref(ROOT).unwrap();
    v.close_ref(ROOT).unwrap();
    assert!(v.exists(ROOT));
    check_invariants(&v);
}

#[test]
fn hard_linked_file_needs_all_names_gone() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"x");
    v.link(f, ROOT, b"g", t(3)).unwrap();
    v.open_ref(f).unwrap();
    v.unlink(ROOT, b"f", t(4)).unwrap();
    v.close_ref(f).unwrap();
    assert!(v.exists(f));
    v.unlink(ROOT, b"g", t(5)).unwrap();
    assert!(!v.exists(f));
    check_invariants(&v);
}

#[test]
fn removed_open_directory() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    v.open_ref(d).unwrap();
    v.rmdir(ROOT, b"d", t(3)).unwrap();
    assert!(v.exists(d));
    assert_eq!(v.stat(d).unwrap().nlink, 0);
    assert_eq!(v.stat(ROOT).unwrap().nlink, 2);
    // A new directory of the same name is unrelated.
    let d2 = mkdir(&mut v, "/d").unwrap();
    assert_ne!(d, d2);
    check_invariants(&v);
    v.close_ref(d).unwrap();
    assert!(!v.exists(d));
    check_invariants(&v);
}
