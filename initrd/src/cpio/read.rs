//! Reading newc archives without trusting them.
//!
//! The input is whatever the boot loader handed over, so every number in a
//! header is checked before it is used: all offsets are computed with checked
//! arithmetic and every slice is taken with `get`, so a hostile or damaged
//! archive yields a [`CpioError`] (naming the problem and where it is), never
//! a panic. After the first error the iterator stops: with a broken header
//! there is no telling where the next one starts.
//!
//! Entries borrow from the archive; nothing is copied, so the reader needs no
//! allocation at all.

use super::{align4, FileType, HEADER_LEN, MAGIC, MAGIC_CRC, TRAILER};
use core::fmt;
use core::iter::FusedIterator;

/// One file, directory, link or device node of an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path with any leading `/` or `./` and trailing `/` removed, so that
    /// `/etc/passwd`, `./etc/passwd` and `etc/passwd` all read `etc/passwd`;
    /// the root directory itself is `.`.
    pub name: &'a str,
    pub ino: u32,
    /// Full `st_mode`: file-type bits and permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    /// File contents, or a symlink's target.
    pub data: &'a [u8],
    /// (major, minor) of the device the file was archived from.
    pub dev: (u32, u32),
    /// (major, minor) a device node stands for.
    pub rdev: (u32, u32),
    /// Byte offset of this entry's header in the archive.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// Permission bits (including setuid, setgid and sticky).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }

    /// The target of a symlink, if this is one and the target is UTF-8.
    pub fn symlink_target(&self) -> Option<&'a str> {
        match self.file_type() {
            FileType::Symlink => core::str::from_utf8(self.data).ok(),
            _ => None,
        }
    }
}

/// What is wrong with an archive, and the byte offset where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// Fewer than 110 bytes left where a header should start.
    TruncatedHeader { offset: usize },
    /// A header does not start with `070701` or `070702`.
    BadMagic { offset: usize },
    /// A header field is not 8 hex digits; `offset` is that of the field.
    BadField { offset: usize, field: &'static str },
    /// `namesize` is 0: not even room for the terminating NUL.
    EmptyName { offset: usize },
    /// The name runs past the end of the archive.
    TruncatedName { offset: usize, namesize: u32 },
    /// The name's first NUL is not its last byte (as `namesize` says it must be).
    NameNotTerminated { offset: usize },
    /// The name is not UTF-8.
    NameNotUtf8 { offset: usize },
    /// The data runs past the end of the archive; `offset` is where it starts.
    TruncatedData { offset: usize, size: u32 },
    /// A `070702` entry whose data does not sum to its `check` field.
    BadChecksum { offset: usize, expected: u32, actual: u32 },
    /// After a trailer and its NUL padding, the next archive does not start on
    /// a 4-byte boundary (Linux rejects this as broken padding).
    Misaligned { offset: usize },
    /// The input ends without a `TRAILER!!!` entry.
    MissingTrailer { offset: usize },
}

impl CpioError {
    /// Byte offset in the archive where the problem was found.
    pub fn offset(&self) -> usize {
        match *self {
            CpioError::TruncatedHeader { offset }
            | CpioError::BadMagic { offset }
            | CpioError::BadField { offset, .. }
            | CpioError::EmptyName { offset }
            | CpioError::TruncatedName { offset, .. }
            | CpioError::NameNotTerminated { offset }
            | CpioError::NameNotUtf8 { offset }
            | CpioError::TruncatedData { offset, .. }
            | CpioError::BadChecksum { offset, .. }
            | CpioError::Misaligned { offset }
            | CpioError::MissingTrailer { offset } => offset,
        }
    }
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CpioError::TruncatedHeader { offset } => {
                write!(f, "offset {offset}: archive ends inside an entry header")
            }
            CpioError::BadMagic { offset } => {
                write!(f, "offset {offset}: bad magic (not a newc cpio header: expected 070701 or 070702)")
            }
            CpioError::BadField { offset, field } => {
                write!(f, "offset {offset}: header field {field} is not 8 hex digits")
            }
            CpioError::EmptyName { offset } => {
                write!(f, "offset {offset}: entry has namesize 0")
            }
            CpioError::TruncatedName { offset, namesize } => {
                write!(f, "offset {offset}: name of {namesize} bytes runs past the end of the archive")
            }
            CpioError::NameNotTerminated { offset } => {
                write!(f, "offset {offset}: name is not a NUL-terminated string of namesize bytes")
            }
            CpioError::NameNotUtf8 { offset } => {
                write!(f, "offset {offset}: name is not valid UTF-8")
            }
            CpioError::TruncatedData { offset, size } => {
                write!(f, "offset {offset}: data of {size} bytes runs past the end of the archive")
            }
            CpioError::BadChecksum { offset, expected, actual } => {
                write!(f, "offset {offset}: data checksum is {actual:#010x}, header says {expected:#010x}")
            }
            CpioError::Misaligned { offset } => {
                write!(f, "offset {offset}: archive after a trailer does not start on a 4-byte boundary")
            }
            CpioError::MissingTrailer { offset } => {
                write!(f, "offset {offset}: archive ends without a TRAILER!!! entry")
            }
        }
    }
}

/// Iterates over the entries of `archive` (trailers are not returned).
///
/// Yields at most one error, then ends. An input that is empty or ends
/// without a trailer yields [`CpioError::MissingTrailer`] at the end, after
/// the entries before it.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries { archive, pos: 0, between_archives: true, seen_trailer: false, done: false }
}

/// Iterator returned by [`entries`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    archive: &'a [u8],
    /// Where the next header (or the NUL padding before one) starts.
    pos: usize,
    /// At the start of the input or just after a trailer, where NUL bytes
    /// are skipped and the end of input is fine (once a trailer was seen).
    between_archives: bool,
    seen_trailer: bool,
    done: bool,
}

/// What one header turned out to be.
enum Step<'a> {
    Entry(Entry<'a>),
    Trailer,
}

const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

impl<'a> Entries<'a> {
    fn fail(&mut self, e: CpioError) -> Option<Result<Entry<'a>, CpioError>> {
        self.done = true;
        Some(Err(e))
    }

    /// Parses the header at `self.pos` and advances past its entry.
    fn step(&mut self) -> Result<Step<'a>, CpioError> {
        let archive = self.archive;
        let at = self.pos;
        let rest = archive.get(at..).unwrap_or_default();
        // Check the magic first, even in a short tail: junk is reported as
        // junk, not as a truncated header.
        let magic = rest.get(..6).unwrap_or(rest);
        if !MAGIC.starts_with(magic) && !MAGIC_CRC.starts_with(magic) {
            return Err(CpioError::BadMagic { offset: at });
        }
        let header = rest.get(..HEADER_LEN).ok_or(CpioError::TruncatedHeader { offset: at })?;
        let crc = header.get(..6) == Some(&MAGIC_CRC[..]);
        let mut f = [0u32; 13];
        for (i, (value, name)) in f.iter_mut().zip(FIELDS).enumerate() {
            let start = 6 + 8 * i;
            *value = header
                .get(start..start + 8)
                .and_then(hex8)
                .ok_or(CpioError::BadField { offset: at + start, field: name })?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check] =
            f;

        if namesize == 0 {
            return Err(CpioError::EmptyName { offset: at });
        }
        let name_at = at + HEADER_LEN;
        let name_bytes = usize::try_from(namesize)
            .ok()
            .and_then(|n| name_at.checked_add(n))
            .and_then(|end| archive.get(name_at..end))
            .ok_or(CpioError::TruncatedName { offset: name_at, namesize })?;
        let (last, raw) = name_bytes.split_last().ok_or(CpioError::EmptyName { offset: at })?;
        if *last != 0 || raw.contains(&0) {
            return Err(CpioError::NameNotTerminated { offset: name_at });
        }
        let raw = core::str::from_utf8(raw).map_err(|_| CpioError::NameNotUtf8 { offset: name_at })?;

        // Padding may be cut off at the very end of the input; Linux does not
        // care either, and there is nothing after it to misread.
        let data_at = align4(name_at + name_bytes.len()).unwrap_or(usize::MAX).min(archive.len());
        let data = usize::try_from(filesize)
            .ok()
            .and_then(|n| data_at.checked_add(n))
            .and_then(|end| archive.get(data_at..end))
            .ok_or(CpioError::TruncatedData { offset: data_at, size: filesize })?;
        self.pos = align4(data_at + data.len()).unwrap_or(usize::MAX).min(archive.len());

        if raw == TRAILER {
            return Ok(Step::Trailer);
        }
        let entry = Entry {
            name: normalize(raw),
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            data,
            dev: (devmajor, devminor),
            rdev: (rdevmajor, rdevminor),
            offset: at,
        };
        // Linux checks the sum only when it writes file contents.
        if crc && entry.file_type() == FileType::Regular {
            let actual = data.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
            if actual != check {
                return Err(CpioError::BadChecksum { offset: at, expected: check, actual });
            }
        }
        Ok(Step::Entry(entry))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if self.between_archives {
                let rest = self.archive.get(self.pos..).unwrap_or(&[]);
                self.pos += rest.iter().take_while(|&&b| b == 0).count();
                if self.pos >= self.archive.len() {
                    if self.seen_trailer {
                        self.done = true;
                        return None;
                    }
                    return self.fail(CpioError::MissingTrailer { offset: self.pos });
                }
                if self.pos % 4 != 0 {
                    return self.fail(CpioError::Misaligned { offset: self.pos });
                }
                self.between_archives = false;
                self.seen_trailer = false;
            }
            if self.pos >= self.archive.len() {
                return self.fail(CpioError::MissingTrailer { offset: self.pos });
            }
            match self.step() {
                Err(e) => return self.fail(e),
                Ok(Step::Entry(e)) => return Some(Ok(e)),
                Ok(Step::Trailer) => {
                    self.seen_trailer = true;
                    self.between_archives = true;
                }
            }
        }
    }
}

impl FusedIterator for Entries<'_> {}

/// Parses exactly 8 hex digits (either case).
fn hex8(digits: &[u8]) -> Option<u32> {
    if digits.len() != 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |v, &c| {
        let d = char::from(c).to_digit(16)?;
        Some(v << 4 | d)
    })
}

/// Strips leading `/` and `./` and trailing `/`; the root becomes `.`.
fn normalize(raw: &str) -> &str {
    let mut s = raw;
    loop {
        if let Some(rest) = s.strip_prefix("./") {
            s = rest;
        } else if let Some(rest) = s.strip_prefix('/') {
            s = rest;
        } else {
            break;
        }
    }
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        "."
    } else {
        s
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn hex_fields() {
        assert_eq!(hex8(b"0000001f"), Some(31));
        assert_eq!(hex8(b"0000001F"), Some(31));
        assert_eq!(hex8(b"ffffffff"), Some(u32::MAX));
        assert_eq!(hex8(b"0000001g"), None);
        assert_eq!(hex8(b" 0000001"), None);
        assert_eq!(hex8(b"+0000001"), None);
        assert_eq!(hex8(b"0000001"), None);
    }

    #[test]
    fn names_are_normalized() {
        for (raw, want) in [
            (".", "."),
            ("./", "."),
            ("/", "."),
            ("//", "."),
            ("./etc", "etc"),
            ("/etc/passwd", "etc/passwd"),
            ("././etc/", "etc"),
            ("etc", "etc"),
            ("..", ".."),
            (".hidden", ".hidden"),
        ] {
            assert_eq!(normalize(raw), want, "{raw:?}");
        }
    }
}
