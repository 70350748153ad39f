//! `struct stat` (arch/x86/include/uapi/asm/stat.h, the x86-64 branch) and
//! `struct statx` (include/uapi/linux/stat.h), serialized by hand.
//!
//! The crate has no `unsafe`, so there is no `#[repr(C)]` struct to copy out:
//! each structure is written field by field into a byte array at the offsets
//! the headers define (listed next to the code and checked by the tests).
//! That also guarantees that padding and reserved fields are zero, which the
//! kernel promises too. All integers are little-endian.
//!
//! Device numbers are `dev_t` in glibc's 64-bit encoding ([`makedev`]), which
//! agrees with the kernel's `new_encode_dev` for every device the kernel can
//! name (12-bit major, 20-bit minor).

/// `struct timespec` / `struct __kernel_timespec` on x86-64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub const ZERO: Timespec = Timespec { sec: 0, nsec: 0 };

    pub const fn new(sec: i64, nsec: i64) -> Timespec {
        Timespec { sec, nsec }
    }
}

/// `utimensat` "set this time to the current time" (in `tv_nsec`).
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `utimensat` "leave this time alone" (in `tv_nsec`).
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// Size of `struct stat` on x86-64.
pub const STAT_LEN: usize = 144;
/// Size of `struct statx`.
pub const STATX_LEN: usize = 256;

// statx mask bits: what the caller asks for / what the result holds.
pub const STATX_TYPE: u32 = 0x1;
pub const STATX_MODE: u32 = 0x2;
pub const STATX_NLINK: u32 = 0x4;
pub const STATX_UID: u32 = 0x8;
pub const STATX_GID: u32 = 0x10;
pub const STATX_ATIME: u32 = 0x20;
pub const STATX_MTIME: u32 = 0x40;
pub const STATX_CTIME: u32 = 0x80;
pub const STATX_INO: u32 = 0x100;
pub const STATX_SIZE: u32 = 0x200;
pub const STATX_BLOCKS: u32 = 0x400;
/// Everything `struct stat` has.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;
/// Deprecated alias: basic stats plus btime.
pub const STATX_ALL: u32 = 0xfff;
pub const STATX_MNT_ID: u32 = 0x1000;
pub const STATX_DIOALIGN: u32 = 0x2000;
/// Reserved for a future `struct statx` extension; asking for it is EINVAL.
pub const STATX__RESERVED: u32 = 0x8000_0000;

/// glibc's `makedev`: the 64-bit `dev_t` for `major:minor`.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    (major & 0xffff_f000) << 32 | (major & 0xfff) << 8 | (minor & 0xffff_ff00) << 12 | (minor & 0xff)
}

/// glibc's `major`: inverse of [`makedev`].
pub const fn major(dev: u64) -> u32 {
    ((dev >> 32 & 0xffff_f000) | (dev >> 8 & 0xfff)) as u32
}

/// glibc's `minor`: inverse of [`makedev`].
pub const fn minor(dev: u64) -> u32 {
    ((dev >> 12 & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// What `stat` reports about a file, in Linux's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Device holding the file ([`makedev`] encoding).
    pub dev: u64,
    pub ino: u64,
    /// File-type and permission bits.
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    /// Device a device node stands for ([`makedev`] encoding), else 0.
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    /// Allocated space in 512-byte units.
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Creation time; only `statx` can report it (`struct stat` has no room).
    pub btime: Timespec,
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

impl Stat {
    /// The x86-64 `struct stat`:
    ///
    /// ```text
    ///   0 st_dev u64      8 st_ino u64      16 st_nlink u64
    ///  24 st_mode u32    28 st_uid u32      32 st_gid u32     36 pad u32
    ///  40 st_rdev u64    48 st_size i64     56 st_blksize i64 64 st_blocks i64
    ///  72 st_atime, 80 st_atime_nsec, 88 st_mtime, 96 st_mtime_nsec,
    /// 104 st_ctime, 112 st_ctime_nsec, 120..144 three reserved i64
    /// ```
    pub fn to_bytes(&self) -> [u8; STAT_LEN] {
        let mut b = [0u8; STAT_LEN];
        put(&mut b, 0, &self.dev.to_le_bytes());
        put(&mut b, 8, &self.ino.to_le_bytes());
        put(&mut b, 16, &self.nlink.to_le_bytes());
        put(&mut b, 24, &self.mode.to_le_bytes());
        put(&mut b, 28, &self.uid.to_le_bytes());
        put(&mut b, 32, &self.gid.to_le_bytes());
        put(&mut b, 40, &self.rdev.to_le_bytes());
        put(&mut b, 48, &self.size.to_le_bytes());
        put(&mut b, 56, &self.blksize.to_le_bytes());
        put(&mut b, 64, &self.blocks.to_le_bytes());
        for (at, t) in [(72, self.atime), (88, self.mtime), (104, self.ctime)] {
            put(&mut b, at, &t.sec.to_le_bytes());
            put(&mut b, at + 8, &t.nsec.to_le_bytes());
        }
        b
    }

    /// `struct statx` for a request `mask` (the `mask` argument of `statx`).
    ///
    /// Like Linux, the basic stats are always filled in and reported in
    /// `stx_mask` whether asked for or not; the birth time only when asked
    /// for (as tmpfs does). Layout:
    ///
    /// ```text
    ///   0 stx_mask u32          4 stx_blksize u32     8 stx_attributes u64
    ///  16 stx_nlink u32        20 stx_uid u32        24 stx_gid u32
    ///  28 stx_mode u16         30 pad u16
    ///  32 stx_ino u64          40 stx_size u64       48 stx_blocks u64
    ///  56 stx_attributes_mask u64
    ///  64 stx_atime, 80 stx_btime, 96 stx_ctime, 112 stx_mtime
    ///     (struct statx_timestamp: i64 tv_sec, u32 tv_nsec, i32 pad)
    /// 128 stx_rdev_major u32  132 stx_rdev_minor    136 stx_dev_major
    /// 140 stx_dev_minor       144 stx_mnt_id u64 (not reported: 0)
    /// 152..256 DIO alignment, subvolume, atomic-write fields, spares: 0
    /// ```
    pub fn to_statx_bytes(&self, mask: u32) -> [u8; STATX_LEN] {
        let mut b = [0u8; STATX_LEN];
        let result = STATX_BASIC_STATS | (mask & STATX_BTIME);
        put(&mut b, 0, &result.to_le_bytes());
        put(&mut b, 4, &(self.blksize.clamp(0, u32::MAX as i64) as u32).to_le_bytes());
        // 8: stx_attributes = 0
        put(&mut b, 16, &(self.nlink.min(u32::MAX as u64) as u32).to_le_bytes());
        put(&mut b, 20, &self.uid.to_le_bytes());
        put(&mut b, 24, &self.gid.to_le_bytes());
        put(&mut b, 28, &(self.mode as u16).to_le_bytes());
        put(&mut b, 32, &self.ino.to_le_bytes());
        put(&mut b, 40, &self.size.to_le_bytes());
        put(&mut b, 48, &self.blocks.to_le_bytes());
        // 56: stx_attributes_mask = 0 (no attributes supported)
        let btime = if result & STATX_BTIME != 0 { Some(self.btime) } else { None };
        for (at, t) in [(64, Some(self.atime)), (80, btime), (96, Some(self.ctime)), (112, Some(self.mtime))] {
            if let Some(t) = t {
                put(&mut b, at, &t.sec.to_le_bytes());
                put(&mut b, at + 8, &(t.nsec as u32).to_le_bytes());
            }
        }
        put(&mut b, 128, &major(self.rdev).to_le_bytes());
        put(&mut b, 132, &minor(self.rdev).to_le_bytes());
        put(&mut b, 136, &major(self.dev).to_le_bytes());
        put(&mut b, 140, &minor(self.dev).to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    fn sample() -> Stat {
        Stat {
            dev: makedev(0x123, 0x45678),
            ino: 0x1111_2222_3333_4444,
            mode: 0o100644 | 0o4000,
            nlink: 3,
            uid: 1000,
            gid: 100,
            rdev: makedev(4, 65),
            size: 0x0102_0304_0506,
            blksize: 4096,
            blocks: 24,
            atime: Timespec::new(1_700_000_001, 11),
            mtime: Timespec::new(1_700_000_002, 22),
            ctime: Timespec::new(1_700_000_003, 33),
            btime: Timespec::new(1_600_000_000, 44),
        }
    }

    #[test]
    fn dev_encoding() {
        // Values as glibc computes them (and `new_encode_dev` for 12:20 bits).
        assert_eq!(makedev(0, 0), 0);
        assert_eq!(makedev(8, 1), 0x801);
        assert_eq!(makedev(4, 65), 0x441);
        assert_eq!(makedev(0x123, 0x45678), 0x4561_2378);
        assert_eq!(makedev(0xabcde, 0x1234_5678), 0x000a_b123_456c_de78);
        for (ma, mi) in [(0, 0), (8, 1), (0x123, 0x45678), (u32::MAX, u32::MAX), (0xabcde, 0x1234_5678)] {
            let d = makedev(ma, mi);
            assert_eq!((major(d), minor(d)), (ma, mi));
        }
    }

    #[test]
    fn stat_layout() {
        let s = sample();
        let b = s.to_bytes();
        assert_eq!(b.len(), 144);
        assert_eq!(u64_at(&b, 0), s.dev);
        assert_eq!(u64_at(&b, 8), s.ino);
        assert_eq!(u64_at(&b, 16), 3);
        assert_eq!(u32_at(&b, 24), 0o104644);
        assert_eq!(u32_at(&b, 28), 1000);
        assert_eq!(u32_at(&b, 32), 100);
        assert_eq!(u32_at(&b, 36), 0);
        assert_eq!(u64_at(&b, 40), 0x441);
        assert_eq!(u64_at(&b, 48), 0x0102_0304_0506);
        assert_eq!(u64_at(&b, 56), 4096);
        assert_eq!(u64_at(&b, 64), 24);
        assert_eq!(u64_at(&b, 72), 1_700_000_001);
        assert_eq!(u64_at(&b, 80), 11);
        assert_eq!(u64_at(&b, 88), 1_700_000_002);
        assert_eq!(u64_at(&b, 96), 22);
        assert_eq!(u64_at(&b, 104), 1_700_000_003);
        assert_eq!(u64_at(&b, 112), 33);
        assert!(b[120..].iter().all(|&x| x == 0));
        // Negative values keep their two's-complement bytes.
        let neg = Stat { atime: Timespec::new(-1, 0), ..s }.to_bytes();
        assert_eq!(u64_at(&neg, 72), u64::MAX);
    }

    #[test]
    fn statx_layout() {
        let s = sample();
        let b = s.to_statx_bytes(STATX_BASIC_STATS);
        assert_eq!(b.len(), 256);
        assert_eq!(u32_at(&b, 0), STATX_BASIC_STATS);
        assert_eq!(u32_at(&b, 4), 4096);
        assert_eq!(u64_at(&b, 8), 0);
        assert_eq!(u32_at(&b, 16), 3);
        assert_eq!(u32_at(&b, 20), 1000);
        assert_eq!(u32_at(&b, 24), 100);
        assert_eq!(u16_at(&b, 28), 0o104644);
        assert_eq!(u16_at(&b, 30), 0);
        assert_eq!(u64_at(&b, 32), s.ino);
        assert_eq!(u64_at(&b, 40), 0x0102_0304_0506);
        assert_eq!(u64_at(&b, 48), 24);
        assert_eq!(u64_at(&b, 56), 0);
        // atime @64, btime @80 (not asked for: zero), ctime @96, mtime @112.
        assert_eq!((u64_at(&b, 64), u32_at(&b, 72), u32_at(&b, 76)), (1_700_000_001, 11, 0));
        assert!(b[80..96].iter().all(|&x| x == 0));
        assert_eq!((u64_at(&b, 96), u32_at(&b, 104), u32_at(&b, 108)), (1_700_000_003, 33, 0));
        assert_eq!((u64_at(&b, 112), u32_at(&b, 120), u32_at(&b, 124)), (1_700_000_002, 22, 0));
        assert_eq!((u32_at(&b, 128), u32_at(&b, 132)), (4, 65));
        assert_eq!((u32_at(&b, 136), u32_at(&b, 140)), (0x123, 0x45678));
        assert!(b[144..].iter().all(|&x| x == 0));

        let b = s.to_statx_bytes(STATX_BTIME | STATX_MNT_ID);
        assert_eq!(u32_at(&b, 0), STATX_BASIC_STATS | STATX_BTIME);
        assert_eq!((u64_at(&b, 80), u32_at(&b, 88), u32_at(&b, 92)), (1_600_000_000, 44, 0));
        assert_eq!(u64_at(&b, 144), 0);
    }
}
