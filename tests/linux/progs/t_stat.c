/*
 * t_stat - stat/fstat/lstat/newfstatat/statx, permission bits, umask,
 * link counts, symlinks, timestamps (relative facts only), access/faccessat.
 * Assumes root (uid 0), as on both target systems.
 */
#include "check.h"
#include <stdint.h>
#include <time.h>

/* statx, declared here: musl 1.2.3 has no wrapper and musl-gcc sees no kernel headers */
struct sx_ts {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct sx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, pad1;
    uint64_t ino, size, blocks, attributes_mask;
    struct sx_ts atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};
#define SX_TYPE 0x1u
#define SX_MODE 0x2u
#define SX_NLINK 0x4u
#define SX_SIZE 0x200u
#define SX_BASIC 0x7ffu
#define SX_RESERVED 0x80000000u

static int ts_after(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void test_types_and_sizes(void)
{
    struct stat st, st2;
    put_file("f", "0123456789", 10, 0644);
    mkdir("d", 0755);
    symlink("f", "ln");
    symlink("d", "lnd");

    EXPECT_OK(syscall(SYS_stat, "f", &st), "stat (SYS_stat) a file");
    CHECK(S_ISREG(st.st_mode), "stat: S_ISREG");
    EXPECT_EQ(st.st_size, 10, "stat: st_size 10");
    EXPECT_EQ(st.st_nlink, 1, "stat: st_nlink 1");
    CHECK(st.st_blksize > 0, "stat: st_blksize > 0");
    EXPECT_EQ(st.st_uid, 0, "stat: owner uid 0");
    EXPECT_EQ(st.st_gid, 0, "stat: owner gid 0");

    int fd = open("f", O_RDONLY);
    EXPECT_OK(syscall(SYS_fstat, fd, &st2), "fstat (SYS_fstat)");
    CHECK(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "fstat: same st_dev/st_ino as stat");
    EXPECT_EQ(st2.st_size, 10, "fstat: st_size 10");

    EXPECT_OK(syscall(SYS_stat, "d", &st), "stat a directory");
    CHECK(S_ISDIR(st.st_mode), "stat: S_ISDIR");
    EXPECT_EQ(st.st_nlink, 2, "new directory has st_nlink 2");
    mkdir("d/sub", 0755);
    syscall(SYS_stat, "d", &st);
    EXPECT_EQ(st.st_nlink, 3, "directory with one subdirectory has st_nlink 3");
    EXPECT_OK(stat("/", &st), "stat /");
    CHECK(S_ISDIR(st.st_mode), "/ is a directory");

    EXPECT_OK(syscall(SYS_lstat, "ln", &st), "lstat (SYS_lstat) a symlink");
    CHECK(S_ISLNK(st.st_mode), "lstat: S_ISLNK");
    EXPECT_EQ(st.st_size, 1, "lstat: symlink size is the target length (1)");
    EXPECT_EQ(st.st_mode & 07777, 0777, "lstat: symlink permission bits are 0777");
    syscall(SYS_stat, "ln", &st);
    CHECK(S_ISREG(st.st_mode) && st.st_size == 10 && st.st_ino == st2.st_ino, "stat follows the symlink to f");
    EXPECT_OK(syscall(SYS_lstat, "f", &st), "lstat on a regular file");
    CHECK(S_ISREG(st.st_mode), "lstat on a regular file: S_ISREG");
    syscall(SYS_lstat, "lnd/", &st);
    CHECK(S_ISDIR(st.st_mode), "lstat \"lnd/\" (trailing slash) follows the symlink");

    /* newfstatat */
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_OK(syscall(SYS_newfstatat, dfd, "f", &st, 0), "newfstatat relative to a dir fd");
    CHECK(st.st_ino == st2.st_ino, "newfstatat: same inode");
    syscall(SYS_newfstatat, dfd, "ln", &st, AT_SYMLINK_NOFOLLOW);
    CHECK(S_ISLNK(st.st_mode), "newfstatat AT_SYMLINK_NOFOLLOW: S_ISLNK");
    syscall(SYS_newfstatat, dfd, "ln", &st, 0);
    CHECK(S_ISREG(st.st_mode), "newfstatat without flags follows the symlink");
    EXPECT_OK(syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), "newfstatat AT_EMPTY_PATH on a file fd");
    CHECK(st.st_ino == st2.st_ino, "newfstatat AT_EMPTY_PATH: same inode");
    EXPECT_ERR(syscall(SYS_newfstatat, fd, "", &st, 0), ENOENT, "newfstatat empty path without AT_EMPTY_PATH");
    EXPECT_ERR(syscall(SYS_newfstatat, dfd, "f", &st, 0x40000), EINVAL, "newfstatat with an unknown flag");
    EXPECT_ERR(syscall(SYS_newfstatat, fd, "x", &st, 0), ENOTDIR, "newfstatat relative to a file fd");

    /* statx */
    struct sx sx;
    memset(&sx, 0, sizeof sx);
    EXPECT_OK(syscall(SYS_statx, dfd, "f", 0, SX_BASIC, &sx), "statx");
    CHECK((sx.mask & (SX_TYPE | SX_MODE | SX_NLINK | SX_SIZE)) == (SX_TYPE | SX_MODE | SX_NLINK | SX_SIZE),
          "statx: mask has TYPE|MODE|NLINK|SIZE");
    CHECK(S_ISREG(sx.mode) && (sx.mode & 07777) == 0644, "statx: regular file, mode 0644");
    EXPECT_EQ(sx.size, 10, "statx: size 10");
    EXPECT_EQ(sx.nlink, 1, "statx: nlink 1");
    CHECK(sx.ino == (uint64_t)st2.st_ino, "statx: same inode as stat");
    CHECK(sx.blksize > 0, "statx: blksize > 0");
    syscall(SYS_statx, AT_FDCWD, "ln", AT_SYMLINK_NOFOLLOW, SX_BASIC, &sx);
    CHECK(S_ISLNK(sx.mode), "statx AT_SYMLINK_NOFOLLOW: S_ISLNK");
    EXPECT_OK(syscall(SYS_statx, fd, "", AT_EMPTY_PATH, SX_BASIC, &sx), "statx AT_EMPTY_PATH on a file fd");
    EXPECT_EQ(sx.size, 10, "statx AT_EMPTY_PATH: size 10");
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0, SX_RESERVED, &sx), EINVAL, "statx with STATX__RESERVED in mask");
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0x40000, SX_BASIC, &sx), EINVAL, "statx with an unknown flag");
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "missing", 0, SX_BASIC, &sx), ENOENT, "statx on a missing file");
    close(dfd);
    close(fd);

    EXPECT_ERR(stat("missing", &st), ENOENT, "stat a missing file");
    EXPECT_ERR(stat("f/x", &st), ENOTDIR, "stat with a file as a path component");
    EXPECT_ERR(stat("f/", &st), ENOTDIR, "stat a regular file with a trailing slash");
    EXPECT_ERR(syscall(SYS_fstat, 1000, &st), EBADF, "fstat on a closed fd");
    EXPECT_ERR(syscall(SYS_fstat, -1, &st), EBADF, "fstat on fd -1");
}

static void test_links(void)
{
    struct stat st, st2;
    put_file("a", "x", 1, 0644);
    EXPECT_OK(link("a", "b"), "link a b");
    stat("a", &st);
    stat("b", &st2);
    EXPECT_EQ(st.st_nlink, 2, "nlink 2 after link");
    CHECK(st.st_ino == st2.st_ino, "both names have the same inode");
    link("a", "c");
    stat("b", &st);
    EXPECT_EQ(st.st_nlink, 3, "nlink 3 after a second link");
    unlink("a");
    stat("c", &st);
    EXPECT_EQ(st.st_nlink, 2, "nlink 2 after unlink");
    int fd = open("b", O_RDONLY);
    unlink("b");
    unlink("c");
    fstat(fd, &st);
    EXPECT_EQ(st.st_nlink, 0, "fstat of an open, fully unlinked file: nlink 0");
    char c = 0;
    EXPECT_RET(read(fd, &c, 1), 1, "an unlinked open file is still readable");
    CHECK(c == 'x', "unlinked file data intact");
    close(fd);
}

static void test_modes(void)
{
    struct stat st;
    umask(022);
    put_file("m", "", 0, 0666);
    stat("m", &st);
    EXPECT_EQ(st.st_mode & 07777, 0644, "create 0666 with umask 022 gives 0644");
    umask(077);
    put_file("m2", "", 0, 0666);
    stat("m2", &st);
    EXPECT_EQ(st.st_mode & 07777, 0600, "create 0666 with umask 077 gives 0600");
    mkdir("md", 0777);
    stat("md", &st);
    EXPECT_EQ(st.st_mode & 07777, 0700, "mkdir 0777 with umask 077 gives 0700");
    umask(0);
    put_file("m3", "", 0, 0777);
    stat("m3", &st);
    EXPECT_EQ(st.st_mode & 07777, 0777, "create 0777 with umask 0 gives 0777");
    umask(022);

    EXPECT_OK(chmod("m", 0640), "chmod 0640");
    stat("m", &st);
    EXPECT_EQ(st.st_mode & 07777, 0640, "mode after chmod is 0640");
    CHECK(S_ISREG(st.st_mode), "chmod keeps the file type");
    int fd = open("m", O_RDONLY);
    EXPECT_OK(fchmod(fd, 04755), "fchmod 04755 (setuid, as root)");
    fstat(fd, &st);
    EXPECT_EQ(st.st_mode & 07777, 04755, "mode after fchmod is 04755");
    close(fd);
    EXPECT_OK(fchmodat(AT_FDCWD, "md", 01777, 0), "fchmodat a directory to 01777");
    stat("md", &st);
    EXPECT_EQ(st.st_mode & 07777, 01777, "directory mode 01777 (sticky)");
    EXPECT_ERR(chmod("missing", 0644), ENOENT, "chmod a missing file");
    EXPECT_OK(chown("m", 0, 0), "chown to 0:0 (as root)");
    EXPECT_OK(lchown("ln", 0, 0), "lchown a symlink");
}

static void test_times(void)
{
    struct stat st, st2;
    put_file("t", "a", 1, 0644);
    stat("t", &st);
    sleep_ms(30);
    int fd = open("t", O_WRONLY | O_APPEND);
    write(fd, "b", 1);
    fstat(fd, &st2);
    CHECK(ts_after(st2.st_mtim, st.st_mtim), "mtime advanced after write");
    CHECK(ts_after(st2.st_ctim, st.st_ctim), "ctime advanced after write");
    close(fd);
    st = st2;
    sleep_ms(30);
    chmod("t", 0600);
    stat("t", &st2);
    CHECK(ts_after(st2.st_ctim, st.st_ctim), "ctime advanced after chmod");
    CHECK(st2.st_mtim.tv_sec == st.st_mtim.tv_sec && st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec,
          "mtime unchanged by chmod");

    struct timespec ts[2] = {{1000000000, 500000000}, {1234567890, 123456789}};
    EXPECT_OK(utimensat(AT_FDCWD, "t", ts, 0), "utimensat with explicit times");
    stat("t", &st);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 500000000, "atime is exactly as set");
    CHECK(st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 123456789, "mtime is exactly as set");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    EXPECT_ERR(utimensat(AT_FDCWD, "t", bad, 0), EINVAL, "utimensat with tv_nsec 1000000000");
    struct timespec keep[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    EXPECT_OK(utimensat(AT_FDCWD, "t", keep, 0), "utimensat UTIME_OMIT/UTIME_NOW");
    stat("t", &st2);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK(st2.st_atim.tv_sec == 1000000000 && st2.st_atim.tv_nsec == 500000000, "UTIME_OMIT keeps atime");
    CHECK(st2.st_mtim.tv_sec <= now.tv_sec && st2.st_mtim.tv_sec >= now.tv_sec - 2,
          "UTIME_NOW sets mtime to the current time (within 2 s)");
}

static void test_access(void)
{
    put_file("r644", "", 0, 0644);
    put_file("x755", "", 0, 0755);
    put_file("n000", "", 0, 0644);
    chmod("n000", 0);
    mkdir("d000", 0);
    EXPECT_RET(access("r644", F_OK), 0, "access F_OK on an existing file");
    EXPECT_ERR(access("missing", F_OK), ENOENT, "access F_OK on a missing file");
    EXPECT_RET(access("r644", R_OK | W_OK), 0, "access R_OK|W_OK on 0644 (root)");
    EXPECT_ERR(access("r644", X_OK), EACCES, "access X_OK on 0644 (root)");
    EXPECT_RET(access("x755", X_OK), 0, "access X_OK on 0755 (root)");
    EXPECT_RET(access("n000", R_OK | W_OK), 0, "access R_OK|W_OK on 0000 (root)");
    EXPECT_ERR(access("n000", X_OK), EACCES, "access X_OK on 0000 (root)");
    EXPECT_RET(access("d000", R_OK | W_OK | X_OK), 0, "access R_OK|W_OK|X_OK on a 0000 directory (root)");
    EXPECT_ERR(access("r644", 8), EINVAL, "access with mode 8");
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_RET(faccessat(dfd, "x755", X_OK, 0), 0, "faccessat X_OK on 0755 relative to a dir fd");
    EXPECT_ERR(faccessat(dfd, "r644", X_OK, 0), EACCES, "faccessat X_OK on 0644");
    EXPECT_ERR(faccessat(dfd, "missing", F_OK, 0), ENOENT, "faccessat F_OK on a missing file");
    EXPECT_RET(syscall(SYS_faccessat, dfd, "r644", R_OK), 0, "faccessat (SYS_faccessat) R_OK");
    close(dfd);
    int fd = open("n000", O_RDWR);
    CHECK(fd >= 0, "root opens a 0000 file O_RDWR");
    close(fd);
}

int main(void)
{
    t_begin("t_stat");
    umask(022);
    test_types_and_sizes();
    test_links();
    test_modes();
    test_times();
    test_access();
    return t_done();
}
