//! File contents: read, write, truncate, limits, copy-on-write.

use super::*;
use initrd::cpio::{Meta, Writer};

#[test]
fn read_and_write() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"hello world");
    let mut buf = [0u8; 5];
    assert_eq!(v.read_at(f, 0, &mut buf), Ok(5));
    assert_eq!(&buf, b"hello");
    assert_eq!(v.read_at(f, 6, &mut buf), Ok(5));
    assert_eq!(&buf, b"world");
    assert_eq!(v.read_at(f, 9, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"ld");
    assert_eq!(v.read_at(f, 11, &mut buf), Ok(0));
    assert_eq!(v.read_at(f, u64::MAX, &mut buf), Ok(0));
    assert_eq!(v.read_at(f, 0, &mut []), Ok(0));
    // Overwrite in the middle, extend at the end.
    assert_eq!(v.write_at(f, 6, b"there!", t(9)), Ok(6));
    assert_eq!(contents(&v, f), b"hello there!");
    let st = v.stat(f).unwrap();
    assert_eq!((st.size, st.mtime, st.ctime, st.atime), (12, t(9), t(9), t(2)));
    // Reads do not touch atime.
    v.read_at(f, 0, &mut buf).unwrap();
    assert_eq!(v.stat(f).unwrap().atime, t(2));
    // Zero-length writes change nothing, not even times.
    assert_eq!(v.write_at(f, 100, b"", t(10)), Ok(0));
    assert_eq!(v.stat(f).unwrap().mtime, t(9));
    assert_eq!(v.stat(f).unwrap().size, 12);
}

#[test]
fn sparse_growth_and_blocks() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.stat(f).unwrap().blocks, 0);
    assert_eq!(v.write_at(f, 10, b"x", t(3)), Ok(1));
    assert_eq!(contents(&v, f), b"\0\0\0\0\0\0\0\0\0\0x");
    assert_eq!(v.stat(f).unwrap().blocks, 8);
    v.write_at(f, 4096, b"y", t(3)).unwrap();
    assert_eq!(v.stat(f).unwrap().size, 4097);
    assert_eq!(v.stat(f).unwrap().blocks, 16);
    assert_eq!(v.stat(f).unwrap().blksize, 4096);
}

#[test]
fn truncate() {
    let mut v = fs();
    let f = file(&mut v, "/f", b"abcdef");
    v.truncate(f, 3, t(5)).unwrap();
    assert_eq!(contents(&v, f), b"abc");
    assert_eq!((v.stat(f).unwrap().mtime, v.stat(f).unwrap().ctime), (t(5), t(5)));
    v.truncate(f, 6, t(6)).unwrap();
    assert_eq!(contents(&v, f), b"abc\0\0\0");
    // Truncating to the same size still stamps the times.
    v.truncate(f, 6, t(7)).unwrap();
    assert_eq!(v.stat(f).unwrap().mtime, t(7));
    v.truncate(f, 0, t(8)).unwrap();
    assert_eq!(contents(&v, f), b"");
    let d = mkdir(&mut v, "/d").unwrap();
    assert_eq!(v.truncate(d, 0, t(9)), Err(EISDIR));
    let l = symlink(&mut v, "/f", "/l").unwrap();
    assert_eq!(v.truncate(l, 0, t(9)), Err(EINVAL));
    assert_eq!(v.truncate(999, 0, t(9)), Err(ENOENT));
}

#[test]
fn size_limit() {
    let mut v = fs();
    assert_eq!(v.max_file_size(), super::super::MAX_FILE_SIZE);
    const LIMIT: u64 = 1 << 16;
    v.set_max_file_size(LIMIT);
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.write_at(f, LIMIT, b"x", t(3)), Err(EFBIG));
    assert_eq!(v.write_at(f, u64::MAX, b"x", t(3)), Err(EFBIG));
    assert_eq!(v.truncate(f, LIMIT + 1, t(3)), Err(EFBIG));
    assert_eq!(v.truncate(f, u64::MAX, t(3)), Err(EFBIG));
    assert_eq!(v.stat(f).unwrap().size, 0);
    // A write crossing the limit is cut short there.
    assert_eq!(v.write_at(f, LIMIT - 2, b"abcd", t(3)), Ok(2));
    assert_eq!(v.stat(f).unwrap().size, LIMIT as i64);
    assert_eq!(v.read_at(f, LIMIT - 3, &mut [9; 8]), Ok(3));
    v.truncate(f, 0, t(4)).unwrap();
    assert!(v.data(f).unwrap().is_empty());
}

/// All files together: a write past the memory limit is cut short or
/// ENOSPC, growing by truncate is ENOSPC, and the bytes come back when a
/// file shrinks or goes.
#[test]
fn data_limit() {
    let mut v = fs();
    v.set_data_limit(100);
    let f = file(&mut v, "/f", b"");
    let g = file(&mut v, "/g", b"");
    assert_eq!(v.write_at(f, 0, &[1; 60], t(3)), Ok(60));
    assert_eq!(v.data_usage(), (60, 100));
    assert_eq!(v.write_at(g, 0, &[2; 60], t(3)), Ok(40));
    assert_eq!(v.write_at(g, 40, b"x", t(3)), Err(ENOSPC));
    assert_eq!(v.write_at(g, 10, b"over", t(3)), Ok(4), "overwriting needs no room");
    assert_eq!(v.truncate(f, 61, t(3)), Err(ENOSPC));
    assert_eq!(v.truncate(f, 1 << 29, t(3)), Err(ENOSPC));
    assert_eq!(v.stat(f).unwrap().size, 60);
    v.truncate(f, 10, t(4)).unwrap();
    assert_eq!(v.data_usage().0, 50);
    assert_eq!(v.truncate(g, 90, t(4)), Ok(()));
    v.unlink(ROOT, b"g", t(5)).unwrap();
    assert_eq!(v.data_usage().0, 10);
}

/// The server's check refuses allocations over 64 KiB (as when RAM is
/// short): growing a file into one is ENOSPC, and the file is unchanged.
#[test]
fn memory_check() {
    fn small_only(bytes: u64) -> bool {
        bytes <= 64 << 10
    }
    let mut v = fs();
    v.set_memory_check(small_only);
    let f = file(&mut v, "/f", b"");
    assert_eq!(v.write_at(f, 0, &[1; 1000], t(3)), Ok(1000));
    assert_eq!(v.write_at(f, 0, &[2; 100 << 10], t(3)), Err(ENOSPC));
    assert_eq!(v.truncate(f, 1 << 20, t(3)), Err(ENOSPC));
    assert_eq!(v.stat(f).unwrap().size, 1000);
    assert_eq!(v.write_at(f, 500, &[3; 400], t(3)), Ok(400), "within the capacity: no new allocation");
    assert_eq!(v.truncate(f, 10, t(3)), Ok(()), "shrinking needs no memory");
}

#[test]
fn not_files() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    assert_eq!(v.read_at(d, 0, &mut [0; 4]), Err(EISDIR));
    assert_eq!(v.write_at(d, 0, b"x", t(3)), Err(EISDIR));
    assert_eq!(v.data(d), Err(EISDIR));
    let l = symlink(&mut v, "/d", "/l").unwrap();
    assert_eq!(v.read_at(l, 0, &mut [0; 4]), Err(EINVAL));
    assert_eq!(v.write_at(l, 0, b"", t(3)), Err(EINVAL));
    assert_eq!(v.read_at(12345, 0, &mut [0; 4]), Err(ENOENT));
    assert_eq!(v.write_at(12345, 0, b"x", t(3)), Err(ENOENT));
}

#[test]
fn copy_on_write_from_the_archive() {
    let mut w = Writer::new();
    w.file("/a", 0o644, Meta::root(7), b"archive bytes").unwrap();
    w.file("/b", 0o644, Meta::root(7), b"0123456789").unwrap();
    w.file("/c", 0o644, Meta::root(7), b"0123456789").unwrap();
    let archive: &'static [u8] = Box::leak(w.finish().into_boxed_slice());
    let mut v = Vfs::from_cpio(archive, t(100)).unwrap();
    let a = look(&v, "/a").unwrap();
    assert!(v.is_borrowed(a));
    // The data is the archive's own bytes, not a copy.
    let data = v.data(a).unwrap();
    let range = archive.as_ptr_range();
    assert!(range.contains(&data.as_ptr()));
    // Reads keep it borrowed; the first write copies.
    v.read_at(a, 0, &mut [0; 4]).unwrap();
    assert!(v.is_borrowed(a));
    v.write_at(a, 0, b"ARCHIVE", t(101)).unwrap();
    assert!(!v.is_borrowed(a));
    assert_eq!(contents(&v, a), b"ARCHIVE bytes");
    // The archive is untouched.
    assert!(archive.windows(13).any(|w| w == b"archive bytes"));
    // Shrinking stays borrowed; growing copies.
    let b = look(&v, "/b").unwrap();
    v.truncate(b, 4, t(102)).unwrap();
    assert!(v.is_borrowed(b));
    assert_eq!(contents(&v, b), b"0123");
    v.truncate(b, 6, t(103)).unwrap();
    assert!(!v.is_borrowed(b));
    assert_eq!(contents(&v, b), b"0123\0\0");
    // Writing past the end of borrowed data.
    let c = look(&v, "/c").unwrap();
    v.write_at(c, 12, b"!", t(104)).unwrap();
    assert_eq!(contents(&v, c), b"0123456789\0\0!");
}
