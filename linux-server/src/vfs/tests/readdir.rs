//! getdents64: records, positions, buffer sizes, concurrent changes.

use super::*;
use crate::linux::dirent::{parse, record_len, Record, DT_DIR, DT_LNK, DT_REG};

fn read(v: &Vfs, dir: Ino, pos: u64, size: usize) -> (Vec<Record>, u64) {
    let (buf, next) = v.getdents(dir, pos, size).unwrap();
    (parse(&buf).unwrap(), next)
}

#[test]
fn dots_then_entries_in_creation_order() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    let z = file(&mut v, "/d/z", b"");
    let a = mkdir(&mut v, "/d/a").unwrap();
    let l = symlink(&mut v, "z", "/d/l").unwrap();
    let recs = records(&v, d);
    let got: Vec<(&[u8], u64, u8)> = recs.iter().map(|r| (&r.name[..], r.ino, r.dtype)).collect();
    assert_eq!(
        got,
        [(&b"."[..], d, DT_DIR), (b"..", ROOT, DT_DIR), (b"z", z, DT_REG), (b"a", a, DT_DIR), (b"l", l, DT_LNK)]
    );
    // Each d_off continues after its record; they increase.
    let offs: Vec<i64> = recs.iter().map(|r| r.off).collect();
    assert!(offs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(offs[0], 1);
    assert_eq!(offs[1], 2);
    // The root's `..` is itself.
    let root = records(&v, ROOT);
    assert_eq!((root[1].name.as_slice(), root[1].ino), (&b".."[..], ROOT));
    // The end: no bytes, same position.
    let (_, end) = v.getdents(d, 0, 1 << 16).unwrap();
    assert_eq!(v.getdents(d, end, 1 << 16), Ok((Vec::new(), end)));
    assert_eq!(v.getdents(d, u64::MAX, 1 << 16), Ok((Vec::new(), u64::MAX)));
}

#[test]
fn buffer_sizes() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    file(&mut v, "/d/a-long-name", b"");
    // Too small for even `.`: EINVAL.
    assert_eq!(v.getdents(d, 0, 0), Err(EINVAL));
    assert_eq!(v.getdents(d, 0, 23), Err(EINVAL));
    // Exactly one record.
    let (recs, next) = read(&v, d, 0, 24);
    assert_eq!((recs.len(), next), (1, 1));
    let (recs, next) = read(&v, d, next, 24 + 23);
    assert_eq!((recs.len(), next), (1, 2));
    assert_eq!(recs[0].name, b"..");
    // "a-long-name" needs 19 + 12 -> 32 bytes.
    assert_eq!(record_len(11), Some(32));
    assert_eq!(v.getdents(d, next, 31), Err(EINVAL));
    let (recs, next2) = read(&v, d, next, 32);
    assert_eq!((recs.len(), recs[0].name.as_slice()), (1, &b"a-long-name"[..]));
    assert_eq!(v.getdents(d, next2, 24), Ok((Vec::new(), next2)));
}

#[test]
fn reading_in_pieces_sees_everything_once() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    for i in 0..100 {
        file(&mut v, &format!("/d/f{i:03}"), b"");
    }
    let mut pos = 0;
    let mut seen = Vec::new();
    loop {
        let (recs, next) = read(&v, d, pos, 100);
        if recs.is_empty() {
            break;
        }
        assert_eq!(recs.last().unwrap().off as u64, next);
        seen.extend(recs.into_iter().map(|r| String::from_utf8(r.name).unwrap()));
        pos = next;
    }
    assert_eq!(seen.len(), 102);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 102);
}

#[test]
fn changes_between_calls() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    for n in ["a", "b", "c", "d", "e"] {
        file(&mut v, &format!("/d/{n}"), b"");
    }
    // Read ., .., a, b.
    let (recs, pos) = read(&v, d, 0, 4 * 24);
    assert_eq!(recs.len(), 4);
    // Remove one already seen and one not yet seen, add one, rename one.
    v.unlink(d, b"a", t(3)).unwrap();
    v.unlink(d, b"d", t(3)).unwrap();
    file(&mut v, "/d/new", b"");
    v.rename(d, b"b", d, b"b2", 0, t(3)).unwrap();
    let (rest, _) = read(&v, d, pos, 1 << 16);
    let names: Vec<&[u8]> = rest.iter().map(|r| r.name.as_slice()).collect();
    // c and e (there all along) once; d gone; new and the renamed b2 after.
    assert_eq!(names, [&b"c"[..], b"e", b"new", b"b2"]);
    // Any number is a position: between entries continues at the next.
    let all = records(&v, d);
    let c_off = all.iter().find(|r| r.name == b"c").unwrap().off;
    let (from_c, _) = read(&v, d, (c_off - 1) as u64, 1 << 16);
    assert_eq!(from_c[0].name, b"c");
    let (after_c, _) = read(&v, d, c_off as u64, 1 << 16);
    assert_eq!(after_c[0].name, b"e");
}

#[test]
fn errors() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.getdents(f, 0, 4096), Err(ENOTDIR));
    assert_eq!(v.getdents(999, 0, 4096), Err(ENOENT));
    let d = mkdir(&mut v, "/d").unwrap();
    v.open_ref(d).unwrap();
    v.rmdir(ROOT, b"d", t(3)).unwrap();
    assert_eq!(v.getdents(d, 0, 4096), Err(ENOENT));
    v.close_ref(d).unwrap();
}
