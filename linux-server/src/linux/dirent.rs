//! `struct linux_dirent64`, the record format of `getdents64`
//! (include/linux/dirent.h), and the `DT_*` file types (include/linux/fs_types.h).
//!
//! ```text
//!  0 d_ino u64   8 d_off i64   16 d_reclen u16   18 d_type u8   19 d_name[]
//! ```
//!
//! `d_name` is NUL-terminated and the record is zero-padded to a multiple of
//! 8 bytes, so the next record's `d_ino` is aligned; `d_reclen` counts the
//! padding. `d_off` is the position *after* this record: the value to hand to
//! `lseek` to continue behind it. The layout is the same on every
//! architecture, which is why the server implements only this variant and not
//! the old `getdents` (whose `d_type` sits at the end of the record).

use alloc::vec::Vec;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;
pub const DT_WHT: u8 = 14;

/// Offset of `d_name` in a record.
pub const NAME_OFFSET: usize = 19;

/// The `d_type` for an `st_mode` (Linux's `fs_umode_to_dtype`: the type bits
/// shifted down, which is how the `DT_*` values were chosen).
pub const fn dtype_from_mode(mode: u32) -> u8 {
    ((mode >> 12) & 0o17) as u8
}

/// Length of the record for a name of `name_len` bytes: header, name, NUL,
/// rounded up to 8. `None` if it does not fit `d_reclen` (names of the VFS
/// are at most 255 bytes, so this only guards against misuse).
pub fn record_len(name_len: usize) -> Option<usize> {
    let len = NAME_OFFSET.checked_add(name_len)?.checked_add(1)?.checked_add(7)? & !7;
    if len > u16::MAX as usize {
        None
    } else {
        Some(len)
    }
}

/// Appends one record to `out`; returns its length, or `None` (and appends
/// nothing) if the name is too long for a record.
pub fn push(out: &mut Vec<u8>, ino: u64, off: i64, dtype: u8, name: &[u8]) -> Option<usize> {
    let len = record_len(name.len())?;
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.push(dtype);
    out.extend_from_slice(name);
    // The NUL and the padding.
    out.resize(out.len() + len - NAME_OFFSET - name.len(), 0);
    Some(len)
}

/// How many bytes of `records` (a buffer this module built) are whole
/// records within its first `n` bytes — what a `getdents64` whose buffer
/// faulted after `n` bytes returns, as Linux writes record by record.
pub fn whole_records_within(records: &[u8], n: usize) -> usize {
    let mut at = 0;
    while let Some(len) = records.get(at + 16..at + 18).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize) {
        if len == 0 || at + len > n.min(records.len()) {
            break;
        }
        at += len;
    }
    at
}

/// One record decoded from a `getdents64` buffer (for tests and debugging).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub ino: u64,
    pub off: i64,
    pub dtype: u8,
    pub name: Vec<u8>,
}

/// Decodes a buffer of records; `None` if it is malformed.
pub fn parse(mut buf: &[u8]) -> Option<Vec<Record>> {
    let mut records = Vec::new();
    while !buf.is_empty() {
        let ino = u64::from_le_bytes(buf.get(0..8)?.try_into().ok()?);
        let off = i64::from_le_bytes(buf.get(8..16)?.try_into().ok()?);
        let reclen = u16::from_le_bytes(buf.get(16..18)?.try_into().ok()?) as usize;
        let dtype = *buf.get(18)?;
        if reclen % 8 != 0 || reclen <= NAME_OFFSET {
            return None;
        }
        let name_area = buf.get(NAME_OFFSET..reclen)?;
        let name_len = name_area.iter().position(|&b| b == 0)?;
        records.push(Record { ino, off, dtype, name: name_area[..name_len].to_vec() });
        buf = buf.get(reclen..)?;
    }
    Some(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::fcntl::*;

    #[test]
    fn dtypes_follow_modes() {
        assert_eq!(dtype_from_mode(S_IFREG | 0o644), DT_REG);
        assert_eq!(dtype_from_mode(S_IFDIR), DT_DIR);
        assert_eq!(dtype_from_mode(S_IFLNK), DT_LNK);
        assert_eq!(dtype_from_mode(S_IFCHR), DT_CHR);
        assert_eq!(dtype_from_mode(S_IFBLK), DT_BLK);
        assert_eq!(dtype_from_mode(S_IFIFO), DT_FIFO);
        assert_eq!(dtype_from_mode(S_IFSOCK), DT_SOCK);
        assert_eq!(dtype_from_mode(0o644), DT_UNKNOWN);
    }

    #[test]
    fn record_lengths() {
        // 19 header bytes + name + NUL, rounded up to 8.
        assert_eq!(record_len(0), Some(24));
        assert_eq!(record_len(1), Some(24));
        assert_eq!(record_len(4), Some(24));
        assert_eq!(record_len(5), Some(32));
        assert_eq!(record_len(12), Some(32));
        assert_eq!(record_len(13), Some(40));
        assert_eq!(record_len(255), Some(280));
        assert_eq!(record_len(70000), None);
        assert_eq!(record_len(usize::MAX), None);
    }

    #[test]
    fn record_layout() {
        let mut out = Vec::new();
        assert_eq!(push(&mut out, 0x0102_0304_0506_0708, 42, DT_REG, b"hello"), Some(32));
        assert_eq!(out.len(), 32);
        assert_eq!(&out[0..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&out[8..16], &42i64.to_le_bytes());
        assert_eq!(&out[16..18], &32u16.to_le_bytes());
        assert_eq!(out[18], DT_REG);
        assert_eq!(&out[19..24], b"hello");
        assert!(out[24..].iter().all(|&b| b == 0));
        assert_eq!(push(&mut out, 7, -1, DT_DIR, b"."), Some(24));
        assert_eq!(out.len(), 56);
        let recs = parse(&out).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1], Record { ino: 7, off: -1, dtype: DT_DIR, name: b".".to_vec() });
        assert_eq!(push(&mut out, 1, 1, DT_REG, &[b'x'; 70000]), None);
        assert_eq!(out.len(), 56);
        assert_eq!(parse(&out[..50]), None);
    }

    #[test]
    fn a_faulting_buffer_keeps_whole_records() {
        let mut b = Vec::new();
        let a = push(&mut b, 1, 1, DT_DIR, b".").unwrap();
        let c = push(&mut b, 2, 2, DT_REG, b"a-longer-name").unwrap();
        assert_eq!(whole_records_within(&b, 0), 0);
        assert_eq!(whole_records_within(&b, a - 1), 0);
        assert_eq!(whole_records_within(&b, a), a);
        assert_eq!(whole_records_within(&b, a + c - 1), a);
        assert_eq!(whole_records_within(&b, usize::MAX), a + c);
    }
}
