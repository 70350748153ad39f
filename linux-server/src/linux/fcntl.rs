//! File-control constants (asm-generic/fcntl.h, linux/fcntl.h, linux/stat.h,
//! stdio.h's `RENAME_*`; x86-64 uses the generic values).
//!
//! Types follow the C types, not the register width: `open`'s flags and
//! `*at`'s flags are `int` and modes are `mode_t`, so they are `u32` here. The
//! kernel ignores the upper half of a register that carries an `int`, so the
//! dispatcher truncates (`reg as u32`) before comparing; it must not reject a
//! call because of junk in bits 32..63. `AT_FDCWD` is a (negative) `int`.

// --- open(2) flags -----------------------------------------------------------

pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0o0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_NDELAY: u32 = O_NONBLOCK;
pub const O_DSYNC: u32 = 0o10000;
pub const FASYNC: u32 = 0o20000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
const __O_SYNC: u32 = 0o4000000;
pub const O_SYNC: u32 = __O_SYNC | O_DSYNC;
pub const O_PATH: u32 = 0o10000000;
const __O_TMPFILE: u32 = 0o20000000;
/// `O_TMPFILE` includes `O_DIRECTORY`, so kernels without it fail safely.
pub const O_TMPFILE: u32 = __O_TMPFILE | O_DIRECTORY;

// --- *at(2) --------------------------------------------------------------------

/// The "directory fd" meaning "relative to the current working directory".
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `faccessat`: check with the effective rather than the real IDs.
pub const AT_EACCESS: u32 = 0x200;
/// `unlinkat`: act like `rmdir` (same bit as `AT_EACCESS`, other syscall).
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
pub const AT_STATX_SYNC_AS_STAT: u32 = 0x0000;
pub const AT_STATX_FORCE_SYNC: u32 = 0x2000;
pub const AT_STATX_DONT_SYNC: u32 = 0x4000;
pub const AT_RECURSIVE: u32 = 0x8000;

// --- fcntl(2) commands -----------------------------------------------------------

pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_GETLK: u32 = 5;
pub const F_SETLK: u32 = 6;
pub const F_SETLKW: u32 = 7;
pub const F_SETOWN: u32 = 8;
pub const F_GETOWN: u32 = 9;
pub const F_SETSIG: u32 = 10;
pub const F_GETSIG: u32 = 11;
pub const F_SETOWN_EX: u32 = 15;
pub const F_GETOWN_EX: u32 = 16;
pub const F_GETOWNER_UIDS: u32 = 17;
pub const F_OFD_GETLK: u32 = 36;
pub const F_OFD_SETLK: u32 = 37;
pub const F_OFD_SETLKW: u32 = 38;
pub const F_LINUX_SPECIFIC_BASE: u32 = 1024;
pub const F_SETLEASE: u32 = F_LINUX_SPECIFIC_BASE;
pub const F_GETLEASE: u32 = F_LINUX_SPECIFIC_BASE + 1;
pub const F_NOTIFY: u32 = F_LINUX_SPECIFIC_BASE + 2;
pub const F_CANCELLK: u32 = F_LINUX_SPECIFIC_BASE + 5;
pub const F_DUPFD_CLOEXEC: u32 = F_LINUX_SPECIFIC_BASE + 6;
pub const F_SETPIPE_SZ: u32 = F_LINUX_SPECIFIC_BASE + 7;
pub const F_GETPIPE_SZ: u32 = F_LINUX_SPECIFIC_BASE + 8;
pub const F_ADD_SEALS: u32 = F_LINUX_SPECIFIC_BASE + 9;
pub const F_GET_SEALS: u32 = F_LINUX_SPECIFIC_BASE + 10;

/// `F_GETFD`/`F_SETFD` flag.
pub const FD_CLOEXEC: u32 = 1;

/// `struct flock` lock types.
pub const F_RDLCK: u32 = 0;
pub const F_WRLCK: u32 = 1;
pub const F_UNLCK: u32 = 2;

// --- access(2) -------------------------------------------------------------------

pub const F_OK: u32 = 0;
pub const X_OK: u32 = 1;
pub const W_OK: u32 = 2;
pub const R_OK: u32 = 4;

// --- lseek(2) --------------------------------------------------------------------

pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

// --- renameat2(2) ----------------------------------------------------------------

pub const RENAME_NOREPLACE: u32 = 1 << 0;
pub const RENAME_EXCHANGE: u32 = 1 << 1;
pub const RENAME_WHITEOUT: u32 = 1 << 2;

// --- st_mode ---------------------------------------------------------------------

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;

pub const S_IRWXU: u32 = 0o700;
pub const S_IRUSR: u32 = 0o400;
pub const S_IWUSR: u32 = 0o200;
pub const S_IXUSR: u32 = 0o100;
pub const S_IRWXG: u32 = 0o070;
pub const S_IRGRP: u32 = 0o040;
pub const S_IWGRP: u32 = 0o020;
pub const S_IXGRP: u32 = 0o010;
pub const S_IRWXO: u32 = 0o007;
pub const S_IROTH: u32 = 0o004;
pub const S_IWOTH: u32 = 0o002;
pub const S_IXOTH: u32 = 0o001;

/// All permission bits, including setuid, setgid and sticky.
pub const S_IALLUGO: u32 = 0o7777;

#[cfg(test)]
mod tests {
    use super::*;

    /// Spot checks against the octal values in the headers, and the cpio
    /// crate's own copy of the type bits (both must describe Linux).
    #[test]
    fn values() {
        assert_eq!(O_DIRECTORY, 0x1_0000);
        assert_eq!(O_CLOEXEC, 0x8_0000);
        assert_eq!(O_TMPFILE, 0x41_0000);
        assert_eq!(O_SYNC, 0x10_1000);
        assert_eq!(O_PATH, 0x20_0000);
        assert_eq!(F_DUPFD_CLOEXEC, 1030);
        assert_eq!(F_GET_SEALS, 1034);
        for (a, b) in [
            (S_IFMT, initrd::cpio::S_IFMT),
            (S_IFSOCK, initrd::cpio::S_IFSOCK),
            (S_IFLNK, initrd::cpio::S_IFLNK),
            (S_IFREG, initrd::cpio::S_IFREG),
            (S_IFBLK, initrd::cpio::S_IFBLK),
            (S_IFDIR, initrd::cpio::S_IFDIR),
            (S_IFCHR, initrd::cpio::S_IFCHR),
            (S_IFIFO, initrd::cpio::S_IFIFO),
        ] {
            assert_eq!(a, b);
        }
    }
}
