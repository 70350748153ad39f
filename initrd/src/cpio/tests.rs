//! Host tests of the cpio reader and writer: round trips, archives made by
//! GNU cpio (a stored fixture, and a fresh one when `cpio` is installed),
//! hand-made broken archives, and the corruption loop that serves as the
//! cpio parser's fuzz target.

use super::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GNU_NEWC: &[u8] = include_bytes!("../../tests/fixtures/gnu-newc.cpio");
const GNU_CRC: &[u8] = include_bytes!("../../tests/fixtures/gnu-crc.cpio");

fn all(archive: &[u8]) -> Vec<Entry<'_>> {
    entries(archive).collect::<Result<Vec<_>, _>>().unwrap_or_else(|e| panic!("archive does not parse: {e}"))
}

fn first_error(archive: &[u8]) -> CpioError {
    match entries(archive).find_map(Result::err) {
        Some(e) => e,
        None => panic!("archive parsed without error"),
    }
}

/// A raw header with the given magic and fields, followed by `name` + NUL.
fn raw_header(magic: &str, fields: [u32; 13], name: &str) -> Vec<u8> {
    let mut v = Vec::from(magic.as_bytes());
    for f in fields {
        v.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v
}

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn trailer() -> Vec<u8> {
    let mut t = raw_header("070701", [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0], TRAILER);
    pad4(&mut t);
    t
}

/// A regular file entry, padded, with the header fields given.
fn raw_file(name: &str, data: &[u8]) -> Vec<u8> {
    let fields = [7, S_IFREG | 0o644, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
    let mut v = raw_header("070701", fields, name);
    pad4(&mut v);
    v.extend_from_slice(data);
    pad4(&mut v);
    v
}

fn sample_archive() -> Vec<u8> {
    let m = Meta::root(1_700_000_000);
    let mut w = Writer::new();
    w.dir("/", 0o755, m).unwrap();
    w.dir("/bin", 0o755, m).unwrap();
    w.file("/bin/busybox", 0o4755, m, b"\x7fELF pretend").unwrap();
    w.symlink("/bin/sh", "busybox", m).unwrap();
    w.dir("/dev", 0o755, m).unwrap();
    w.char_device("/dev/console", 0o600, m, (5, 1)).unwrap();
    w.block_device("/dev/vda", 0o660, Meta { uid: 0, gid: 6, mtime: 7 }, (254, 0)).unwrap();
    w.dir("/etc", 0o755, m).unwrap();
    w.file("/etc/empty", 0o644, m, b"").unwrap();
    w.file("/etc/motd", 0o644, m, b"welcome\n").unwrap();
    w.file("/init", 0o755, m, b"#!/bin/sh\nexec /bin/sh\n").unwrap();
    w.finish()
}

#[test]
fn round_trip_all_kinds() {
    let archive = sample_archive();
    let e = all(&archive);
    let names: Vec<&str> = e.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [".", "bin", "bin/busybox", "bin/sh", "dev", "dev/console", "dev/vda", "etc", "etc/empty", "etc/motd", "init"]
    );
    assert_eq!(e[0].mode, S_IFDIR | 0o755);
    assert_eq!(e[0].nlink, 2);
    assert_eq!(e[2].mode, S_IFREG | 0o4755);
    assert_eq!(e[2].permissions(), 0o4755);
    assert_eq!(e[2].data, b"\x7fELF pretend");
    assert_eq!(e[2].nlink, 1);
    assert_eq!(e[2].mtime, 1_700_000_000);
    assert_eq!(e[3].file_type(), FileType::Symlink);
    assert_eq!(e[3].mode, S_IFLNK | 0o777);
    assert_eq!(e[3].symlink_target(), Some("busybox"));
    assert_eq!(e[2].symlink_target(), None);
    assert_eq!(e[5].file_type(), FileType::CharDevice);
    assert_eq!(e[5].mode, S_IFCHR | 0o600);
    assert_eq!(e[5].rdev, (5, 1));
    assert!(e[5].data.is_empty());
    assert_eq!(e[6].file_type(), FileType::BlockDevice);
    assert_eq!(e[6].rdev, (254, 0));
    assert_eq!((e[6].uid, e[6].gid, e[6].mtime), (0, 6, 7));
    assert_eq!(e[8].data, b"");
    assert_eq!(e[8].file_type(), FileType::Regular);
    assert_eq!(e[10].data, b"#!/bin/sh\nexec /bin/sh\n");
    // Inode numbers are fresh and increasing; all headers are aligned.
    for pair in e.windows(2) {
        assert!(pair[0].ino < pair[1].ino);
    }
    assert!(e.iter().all(|e| e.offset % 4 == 0 && e.dev == (0, 0)));
}

#[test]
fn odd_name_and_data_lengths_are_padded() {
    let m = Meta::default();
    let mut w = Writer::new();
    let mut want = Vec::new();
    for name_len in 1..=9 {
        for data_len in 0..=9 {
            let name = format!("{}{}", "n".repeat(name_len), data_len);
            let data: Vec<u8> = (0..data_len as u8).map(|b| b'a' + b).collect();
            w.file(&name, 0o644, m, &data).unwrap();
            want.push((name, data));
        }
    }
    let archive = w.finish();
    assert_eq!(archive.len() % 4, 0);
    let got = all(&archive);
    assert_eq!(got.len(), want.len());
    for (e, (name, data)) in got.iter().zip(&want) {
        assert_eq!(e.name, name);
        assert_eq!(e.data, &data[..]);
        assert_eq!(e.offset % 4, 0);
    }
}

/// The exact bytes Linux's unpacker expects, written out by hand.
#[test]
fn writer_header_is_exact() {
    let mut w = Writer::new();
    w.file("/init", 0o755, Meta::root(0x5f5e_1000), b"hi\n").unwrap();
    let archive = w.finish();
    let mut want = Vec::new();
    want.extend_from_slice(b"070701");
    want.extend_from_slice(b"00000001"); // ino
    want.extend_from_slice(b"000081ed"); // mode: regular, 0755
    want.extend_from_slice(b"00000000"); // uid
    want.extend_from_slice(b"00000000"); // gid
    want.extend_from_slice(b"00000001"); // nlink
    want.extend_from_slice(b"5f5e1000"); // mtime
    want.extend_from_slice(b"00000003"); // filesize
    want.extend_from_slice(b"0000000000000000"); // dev
    want.extend_from_slice(b"0000000000000000"); // rdev
    want.extend_from_slice(b"00000005"); // namesize: "init" + NUL
    want.extend_from_slice(b"00000000"); // check
    want.extend_from_slice(b"init\0"); // 110 + 5 = 115: one byte of padding
    want.extend_from_slice(b"\0");
    want.extend_from_slice(b"hi\n\0"); // 3 bytes of data, one of padding
    want.extend_from_slice(b"070701");
    want.extend_from_slice(b"00000000000000000000000000000000");
    want.extend_from_slice(b"00000001"); // the trailer's nlink
    want.extend_from_slice(b"000000000000000000000000000000000000000000000000");
    want.extend_from_slice(b"0000000b00000000");
    want.extend_from_slice(b"TRAILER!!!\0"); // 110 + 11 = 121: three of padding
    want.extend_from_slice(b"\0\0\0");
    assert_eq!(String::from_utf8_lossy(&archive), String::from_utf8_lossy(&want));
    assert_eq!(archive, want);
}

#[test]
fn writer_is_deterministic() {
    assert_eq!(sample_archive(), sample_archive());
}

#[test]
fn writer_rejects_bad_input() {
    let m = Meta::default();
    let mut w = Writer::new();
    assert_eq!(w.file("a\0b", 0o644, m, b""), Err(WriteError::NameHasNul));
    assert_eq!(w.file(TRAILER, 0o644, m, b""), Err(WriteError::ReservedName));
    assert_eq!(w.file(&"x".repeat(4096), 0o644, m, b""), Err(WriteError::NameTooLong { len: 4096 }));
    assert_eq!(w.file(&"x".repeat(4095), 0o644, m, b""), Ok(()));
    assert_eq!(w.symlink("l", "", m), Err(WriteError::BadSymlinkTarget));
    assert_eq!(w.symlink("l", "a\0", m), Err(WriteError::BadSymlinkTarget));
    assert_eq!(w.add("x", 0o644, m, b"", (0, 0)), Err(WriteError::BadFileType { mode: 0o644 }));
    assert_eq!(w.add("x", S_IFDIR | 0o755, m, b"data", (0, 0)), Err(WriteError::UnexpectedData));
    // A rejected entry leaves nothing behind.
    let archive = w.finish();
    let e = all(&archive);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name.len(), 4095);
    assert_eq!(e[0].ino, 1);
}

/// An archive written by GNU cpio 2.13 (`cpio -o -H newc --owner=0:0
/// --reproducible`): uppercase hex, a `.` entry, a device node stored under
/// an absolute name, and padding with NULs to a 512-byte block.
#[test]
fn reads_gnu_cpio_fixture() {
    let e = all(GNU_NEWC);
    let names: Vec<&str> = e.iter().map(|e| e.name).collect();
    assert_eq!(names, [".", "d", "d/hello.txt", "d/empty", "d/a", "d/ab", "d/abc", "d/link", "dev/null"]);
    assert_eq!(e[0].file_type(), FileType::Directory);
    assert_eq!(e[1].mode, S_IFDIR | 0o755);
    assert_eq!(e[1].mtime, 1_700_000_000);
    assert_eq!(e[2].mode, S_IFREG | 0o644);
    assert_eq!(e[2].data, b"hello, world\n");
    assert_eq!(e[3].mode, S_IFREG | 0o600);
    assert_eq!(e[3].data, b"");
    assert_eq!(e[4].data, b"x");
    assert_eq!(e[5].data, b"ab");
    assert_eq!(e[6].data, b"abc");
    assert_eq!(e[7].symlink_target(), Some("hello.txt"));
    assert_eq!(e[8].mode, S_IFCHR | 0o666);
    assert_eq!(e[8].rdev, (1, 3));
    assert!(e.iter().all(|e| e.uid == 0 && e.gid == 0));
}

/// GNU cpio's `-H crc` variant: the data sum is checked for regular files.
#[test]
fn reads_gnu_crc_fixture_and_checks_sum() {
    let e = all(GNU_CRC);
    assert_eq!(e.len(), 3);
    assert_eq!(e[1].data, b"hello, world\n");
    assert_eq!(e[2].symlink_target(), Some("hello.txt"));

    let mut bad = GNU_CRC.to_vec();
    let at = e[1].data.as_ptr() as usize - GNU_CRC.as_ptr() as usize;
    bad[at] ^= 0x20;
    let sum = b"hello, world\n".iter().map(|&b| u32::from(b)).sum::<u32>();
    assert_eq!(first_error(&bad), CpioError::BadChecksum { offset: e[1].offset, expected: sum, actual: sum - 0x20 });
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("initrd-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have_cpio() -> bool {
    let ok = Command::new("cpio")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        std::println!("note: `cpio` is not installed; only the stored GNU cpio fixture was checked");
    }
    ok
}

fn run_cpio(dir: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("cpio")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "cpio {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn reads_live_gnu_cpio_output() {
    if !have_cpio() {
        return;
    }
    use std::os::unix::fs::{symlink, PermissionsExt};
    let t = TempDir::new("gnu-out");
    let root = &t.0;
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/five"), b"12345").unwrap();
    std::fs::write(root.join("sub/seven77"), b"").unwrap();
    std::fs::set_permissions(root.join("sub/five"), std::fs::Permissions::from_mode(0o640)).unwrap();
    symlink("../elsewhere/x", root.join("sub/ln")).unwrap();
    let list = b"sub\nsub/five\nsub/seven77\nsub/ln\n";
    let archive = run_cpio(root, &["-o", "-H", "newc", "--quiet"], list);
    let e = all(&archive);
    let names: Vec<&str> = e.iter().map(|e| e.name).collect();
    assert_eq!(names, ["sub", "sub/five", "sub/seven77", "sub/ln"]);
    assert_eq!(e[0].file_type(), FileType::Directory);
    assert_eq!(e[1].mode, S_IFREG | 0o640);
    assert_eq!(e[1].data, b"12345");
    assert_eq!(e[2].data, b"");
    assert_eq!(e[3].symlink_target(), Some("../elsewhere/x"));
}

/// GNU cpio unpacks what the writer makes (devices left out: making them
/// needs privileges).
#[test]
fn gnu_cpio_extracts_writer_output() {
    if !have_cpio() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let m = Meta::root(1_600_000_000);
    let mut w = Writer::new();
    w.dir("/etc", 0o750, m).unwrap();
    w.file("/etc/hostname", 0o600, m, b"guest\n").unwrap();
    w.file("/etc/x", 0o644, m, b"").unwrap();
    w.dir("/bin", 0o755, m).unwrap();
    w.file("/bin/tool", 0o755, m, &[0xab; 1001]).unwrap();
    w.symlink("/bin/alias", "tool", m).unwrap();
    let archive = w.finish();
    let t = TempDir::new("gnu-in");
    run_cpio(&t.0, &["-i", "-d", "-m", "--quiet", "--no-preserve-owner"], &archive);
    let meta = |p: &str| std::fs::symlink_metadata(t.0.join(p)).unwrap();
    assert_eq!(std::fs::read(t.0.join("etc/hostname")).unwrap(), b"guest\n");
    assert_eq!(meta("etc/hostname").permissions().mode() & 0o7777, 0o600);
    assert_eq!(meta("etc").permissions().mode() & 0o7777, 0o750);
    assert_eq!(std::fs::read(t.0.join("etc/x")).unwrap(), b"");
    assert_eq!(std::fs::read(t.0.join("bin/tool")).unwrap(), [0xab; 1001]);
    assert_eq!(meta("bin/tool").permissions().mode() & 0o7777, 0o755);
    assert_eq!(std::fs::read_link(t.0.join("bin/alias")).unwrap(), Path::new("tool"));
}

#[test]
fn broken_archives_name_problem_and_offset() {
    let file = raw_file("f", b"abc");
    let good = [file.clone(), trailer()].concat();
    assert_eq!(all(&good).len(), 1);

    assert_eq!(first_error(b""), CpioError::MissingTrailer { offset: 0 });
    assert_eq!(first_error(&good[..50]), CpioError::TruncatedHeader { offset: 0 });
    assert_eq!(
        first_error(&[file.clone(), trailer()[..109].to_vec()].concat()),
        CpioError::TruncatedHeader { offset: file.len() }
    );
    assert_eq!(first_error(&file), CpioError::MissingTrailer { offset: file.len() });

    let mut bad = good.clone();
    bad[5] = b'7';
    assert_eq!(first_error(&bad), CpioError::BadMagic { offset: 0 });

    let mut bad = good.clone();
    bad[6 + 8 * 6 + 3] = b'x'; // filesize
    assert_eq!(first_error(&bad), CpioError::BadField { offset: 6 + 8 * 6, field: "filesize" });

    let mut bad = good.clone();
    bad[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000000"); // namesize
    assert_eq!(first_error(&bad), CpioError::EmptyName { offset: 0 });

    let mut bad = good.clone();
    bad[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"ffffffff");
    assert_eq!(first_error(&bad), CpioError::TruncatedName { offset: 110, namesize: u32::MAX });

    let mut bad = good.clone();
    bad[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000001"); // only the 'f'
    assert_eq!(first_error(&bad), CpioError::NameNotTerminated { offset: 110 });

    let mut bad = good.clone();
    bad[110] = 0xff;
    assert_eq!(first_error(&bad), CpioError::NameNotUtf8 { offset: 110 });

    for size in ["ffffffff", "80000000", "00000100"] {
        let mut bad = good.clone();
        bad[6 + 8 * 6..6 + 8 * 7].copy_from_slice(size.as_bytes());
        assert_eq!(
            first_error(&bad),
            CpioError::TruncatedData { offset: 112, size: u32::from_str_radix(size, 16).unwrap() }
        );
    }

    // Junk after the trailer is a new archive that does not parse.
    let junk = [good.clone(), b"junk".to_vec()].concat();
    assert_eq!(first_error(&junk), CpioError::BadMagic { offset: good.len() });
    let junk = [good.clone(), b"\0\0\0\0\0junk".to_vec()].concat();
    assert_eq!(first_error(&junk), CpioError::Misaligned { offset: good.len() + 5 });
}

#[test]
fn concatenated_archives_and_nul_padding() {
    let a = [raw_file("./a", b"1"), trailer()].concat();
    let b = [raw_file("/b", b"22"), trailer()].concat();
    let joined = [a.clone(), vec![0; 512], b.clone(), vec![0; 7]].concat();
    let e = all(&joined);
    assert_eq!(e.iter().map(|e| e.name).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(e[1].data, b"22");
    // Leading NULs are skipped too, as Linux does.
    assert_eq!(all(&[vec![0; 8], a.clone()].concat()).len(), 1);
    // An archive that is all NULs, or whose second part lacks a trailer.
    assert_eq!(first_error(&[0; 16]), CpioError::MissingTrailer { offset: 16 });
    let unfinished = [a.clone(), raw_file("c", b"")].concat();
    assert_eq!(first_error(&unfinished), CpioError::MissingTrailer { offset: unfinished.len() });
    // A trailer whose padding is cut off by the end of the input is fine.
    let short = &a[..a.len() - 3];
    assert_eq!(all(short).len(), 1);
}

#[test]
fn iterator_ends_after_an_error() {
    let mut bad = [raw_file("a", b"x"), raw_file("b", b"y"), trailer()].concat();
    let second = raw_file("a", b"x").len();
    bad[second] = b'X';
    let mut it = entries(&bad);
    assert!(matches!(it.next(), Some(Ok(e)) if e.name == "a"));
    assert_eq!(it.next(), Some(Err(CpioError::BadMagic { offset: second })));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn error_messages_say_what_and_where() {
    let msg = format!("{}", CpioError::BadField { offset: 54, field: "filesize" });
    assert_eq!(msg, "offset 54: header field filesize is not 8 hex digits");
    let msg = format!("{}", CpioError::MissingTrailer { offset: 7 });
    assert!(msg.starts_with("offset 7:") && msg.contains("TRAILER!!!"), "{msg}");
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Applies one random corruption to `a`.
fn mutate(rng: &mut Rng, a: &mut Vec<u8>) {
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let pos = rng.below(a.len() + 1);
    match rng.below(9) {
        0 => {
            if pos < a.len() {
                a[pos] ^= 1 << rng.below(8);
            }
        }
        1 => {
            if pos < a.len() {
                a[pos] = rng.next() as u8;
            }
        }
        2 => a.truncate(pos),
        3 => {
            let n = 1 + rng.below(16);
            for _ in 0..n {
                let b = rng.next() as u8;
                a.insert(pos.min(a.len()), b);
            }
        }
        4 => {
            let end = (pos + 1 + rng.below(64)).min(a.len());
            a.drain(pos.min(end)..end);
        }
        5 | 6 => {
            // Hit a header field with hex, so that the numbers get used:
            // random digits, or an extreme value.
            let headers: Vec<usize> =
                a.windows(6).enumerate().filter(|(_, w)| w.starts_with(b"07070")).map(|(i, _)| i).collect();
            if headers.is_empty() {
                return;
            }
            let field = headers[rng.below(headers.len())] + 6 + 8 * rng.below(13);
            for i in 0..8 {
                let b = match rng.below(4) {
                    0 => b'f',
                    1 => b'0',
                    _ => HEX[rng.below(HEX.len())],
                };
                if let Some(slot) = a.get_mut(field + i) {
                    *slot = b;
                }
            }
        }
        7 => {
            // Duplicate a chunk somewhere else.
            let start = rng.below(a.len());
            let end = (start + rng.below(200)).min(a.len());
            let chunk = a[start..end].to_vec();
            let at = rng.below(a.len() + 1);
            a.splice(at..at, chunk);
        }
        _ => {
            if pos < a.len() {
                a[pos] = 0;
            }
        }
    }
}

/// The fuzz target for the cpio parser: whatever the bytes, parsing ends,
/// never panics, reports at most one error, and hands out only names and
/// data that lie inside the input. `INITRD_FUZZ_ITERATIONS` and
/// `INITRD_FUZZ_SEED` make longer or different runs.
#[test]
fn fuzz_corrupted_archives_never_panic() {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let iterations = env("INITRD_FUZZ_ITERATIONS", 100_000);
    let seed = env("INITRD_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15) | 1;
    let seeds = [sample_archive(), GNU_NEWC.to_vec(), GNU_CRC.to_vec(), {
        let mut w = Writer::new();
        w.file("x", 0o644, Meta::default(), b"").unwrap();
        w.finish()
    }];
    let mut rng = Rng(seed);
    let (mut oks, mut errs) = (0usize, 0usize);
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..iterations {
        let mut a = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut a);
        }
        let base = a.as_ptr() as usize;
        let inside = |p: *const u8, len: usize| {
            let p = p as usize;
            p >= base && p + len <= base + a.len()
        };
        let mut it = entries(&a);
        let mut count = 0;
        while let Some(item) = it.next() {
            count += 1;
            // Every entry takes at least 112 bytes, so this bounds the loop.
            assert!(count <= a.len() / 112 + 1, "too many entries");
            match item {
                Ok(e) => {
                    oks += 1;
                    assert!(inside(e.data.as_ptr(), e.data.len()));
                    // Names are slices of the input, except the root's ".".
                    assert!(inside(e.name.as_ptr(), e.name.len()) || e.name == ".");
                    assert!(e.offset < a.len() && e.offset % 4 == 0);
                    let _ = (e.file_type(), e.symlink_target(), e.permissions());
                }
                Err(e) => {
                    errs += 1;
                    let kind = format!("{e:?}");
                    let kind = kind.split(' ').next().unwrap_or_default().to_string();
                    *kinds.entry(kind).or_insert(0usize) += 1;
                    assert!(e.offset() <= a.len(), "{e}");
                    let _ = format!("{e}");
                    assert!(it.next().is_none(), "iterator went on after {e}");
                    break;
                }
            }
        }
    }
    std::println!("fuzz: {oks} entries, {errs} errors: {kinds:?}");
    // The corpus must reach every outcome, or the loop tests little.
    if iterations >= 20_000 {
        assert!(oks > iterations as usize && errs > iterations as usize / 2);
        assert_eq!(kinds.len(), 11, "not every kind of error was reached");
    }
}

/// Checks one parse of `a`: it ends, yields at most one error (then
/// nothing), and every entry's name and data lie inside the input.
/// Returns (entries, the error if any).
fn check_parse(a: &[u8]) -> (usize, Option<CpioError>) {
    let base = a.as_ptr() as usize;
    let inside = |p: *const u8, len: usize| (p as usize) >= base && (p as usize) + len <= base + a.len();
    let mut it = entries(a);
    let mut n = 0;
    while let Some(item) = it.next() {
        match item {
            Ok(e) => {
                n += 1;
                assert!(n <= a.len() / 112 + 1, "too many entries");
                assert!(inside(e.data.as_ptr(), e.data.len()));
                assert!(inside(e.name.as_ptr(), e.name.len()) || e.name == ".");
                assert!(e.offset + HEADER_LEN <= a.len() && e.offset % 4 == 0);
            }
            Err(e) => {
                assert!(e.offset() <= a.len(), "{e}");
                assert!(it.next().is_none(), "iterator went on after {e}");
                return (n, Some(e));
            }
        }
    }
    (n, None)
}

/// Length fields at the edge: `namesize` or `filesize` of a random entry set
/// to exactly what is left of the input, one more or less, a few more, or
/// the largest values. An entry reaching past the end is TruncatedName or
/// TruncatedData; one that fits parses.
#[test]
fn fuzz_length_fields_pointing_past_the_end() {
    let mut rng = Rng(0x1e57_ed9e | 1);
    let base = sample_archive();
    let headers: Vec<usize> =
        base.windows(6).enumerate().filter(|(_, w)| w.starts_with(b"070701")).map(|(i, _)| i).collect();
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..20_000 {
        let mut a = base.clone();
        let h = headers[rng.below(headers.len())];
        let namesize = usize::from_str_radix(std::str::from_utf8(&a[h + 94..h + 102]).unwrap(), 16).unwrap();
        let name_at = h + HEADER_LEN;
        let data_at = (name_at + namesize).next_multiple_of(4);
        let (field, left) = if rng.below(2) == 0 { (94, a.len() - name_at) } else { (54, a.len() - data_at) };
        let v: u64 = match rng.below(6) {
            0 => left as u64,
            1 => left as u64 + 1,
            2 => (left as u64).saturating_sub(1),
            3 => left as u64 + 2 + rng.below(64) as u64,
            4 => u32::MAX as u64,
            _ => u32::MAX as u64 - rng.below(8) as u64,
        };
        a[h + field..h + field + 8].copy_from_slice(format!("{v:08x}").as_bytes());
        let truncated = rng.below(4) == 0;
        if truncated {
            a.truncate(rng.below(a.len() + 1));
        }
        let (_, err) = check_parse(&a);
        let past_end = if field == 94 { name_at + v as usize > a.len() } else { data_at + v as usize > a.len() };
        if past_end && !truncated {
            // Everything before the header at `h` is intact: the error is found there.
            let want = if field == 94 {
                CpioError::TruncatedName { offset: name_at, namesize: v as u32 }
            } else {
                CpioError::TruncatedData { offset: data_at, size: v as u32 }
            };
            assert_eq!(err, Some(want));
        }
        let kind = format!("{err:?}");
        *outcomes.entry(kind.split([' ', '(']).take(2).collect::<Vec<_>>().join("")).or_insert(0) += 1;
    }
    std::println!("length-field fuzz: {outcomes:?}");
    assert!(
        outcomes.keys().any(|k| k.contains("TruncatedName")) && outcomes.keys().any(|k| k.contains("TruncatedData"))
    );
}

/// Random bytes, with and without a plausible magic: errors only.
#[test]
fn fuzz_random_bytes() {
    let mut rng = Rng(0xb17_5eed | 1);
    let mut errors = 0;
    for _ in 0..50_000 {
        let n = rng.below(400);
        let mut a: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && a.len() >= 6 {
            a[..6].copy_from_slice([MAGIC, MAGIC_CRC][rng.below(2)]);
            // Hex digits in the fields, so the numbers get used.
            for b in a.iter_mut().take(HEADER_LEN).skip(6) {
                *b = b"0123456789abcdef"[rng.below(16)];
            }
        }
        if check_parse(&a).1.is_some() {
            errors += 1;
        }
    }
    assert!(errors > 40_000, "{errors}");
}
