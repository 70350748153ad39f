/*
 * t_fileio - open/openat flags, read/write, pread64/pwrite64, readv/writev,
 * lseek, EOF behaviour, sparse files.
 */
#include "check.h"
#include <sys/uio.h>

static void test_open_flags(void)
{
    int fd = EXPECT_OK(open("f", O_WRONLY | O_CREAT | O_EXCL, 0644), "open O_CREAT|O_EXCL on a new file");
    EXPECT_RET(write(fd, "hello world", 11), 11, "write 11 bytes");
    EXPECT_OK(close(fd), "close");

    EXPECT_ERR(open("f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, "open O_CREAT|O_EXCL on existing file");
    EXPECT_ERR(open("missing", O_RDONLY), ENOENT, "open missing file without O_CREAT");
    EXPECT_ERR(open("nodir/x", O_RDONLY | O_CREAT, 0644), ENOENT, "open O_CREAT in a missing directory");
    EXPECT_ERR(open("f/x", O_RDONLY), ENOTDIR, "open with a regular file as a path component");
    EXPECT_ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR, "open O_DIRECTORY on a regular file");
    EXPECT_ERR(open("f", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR, "open O_NOFOLLOW|O_DIRECTORY on a file");

    /* O_CREAT without O_EXCL on an existing file opens it, contents intact */
    char buf[64];
    fd = EXPECT_OK(open("f", O_RDWR | O_CREAT, 0600), "open O_CREAT (no O_EXCL) on existing file");
    EXPECT_RET(read(fd, buf, sizeof buf), 11, "existing contents kept (read 11 bytes)");
    close(fd);

    /* O_RDONLY: writing fails with EBADF; O_WRONLY: reading fails with EBADF */
    fd = open("f", O_RDONLY);
    EXPECT_ERR(write(fd, "x", 1), EBADF, "write on an O_RDONLY fd");
    EXPECT_ERR(pwrite(fd, "x", 1, 0), EBADF, "pwrite64 on an O_RDONLY fd");
    close(fd);
    fd = open("f", O_WRONLY);
    EXPECT_ERR(read(fd, buf, 1), EBADF, "read on an O_WRONLY fd");
    close(fd);

    /* O_TRUNC empties the file */
    fd = EXPECT_OK(open("f", O_WRONLY | O_TRUNC), "open O_TRUNC");
    struct stat st;
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 0, "size after O_TRUNC is 0");
    EXPECT_RET(write(fd, "abc", 3), 3, "write after O_TRUNC");
    close(fd);

    /* O_APPEND: every write goes to the end, even after lseek(0) */
    fd = EXPECT_OK(open("f", O_WRONLY | O_APPEND), "open O_APPEND");
    EXPECT_RET(lseek(fd, 0, SEEK_SET), 0, "lseek to 0 on an O_APPEND fd");
    EXPECT_RET(write(fd, "def", 3), 3, "write on O_APPEND fd");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 6, "offset after O_APPEND write is the new end (6)");
    /* Linux quirk (pwrite(2) BUGS): pwrite on an O_APPEND fd appends anyway */
    EXPECT_RET(pwrite(fd, "gh", 2, 0), 2, "pwrite64 at 0 on an O_APPEND fd");
    close(fd);
    EXPECT_RET(get_file("f", buf, sizeof buf), 8, "file has 8 bytes");
    EXPECT_STR(buf, "abcdefgh", "O_APPEND contents (pwrite appended too)");

    /* directories */
    mkdir("d", 0755);
    EXPECT_ERR(open("d", O_WRONLY), EISDIR, "open a directory O_WRONLY");
    EXPECT_ERR(open("d", O_RDWR), EISDIR, "open a directory O_RDWR");
    EXPECT_ERR(open("d", O_RDONLY | O_CREAT, 0644), EISDIR, "open O_CREAT on an existing directory");
    EXPECT_ERR(open("newfile/", O_RDWR | O_CREAT, 0644), EISDIR, "open O_CREAT on a name with a trailing slash");
    EXPECT_ERR(open("f/", O_RDONLY), ENOTDIR, "open a regular file with a trailing slash");
    fd = EXPECT_OK(open("d", O_RDONLY | O_DIRECTORY), "open O_DIRECTORY on a directory");
    EXPECT_ERR(read(fd, buf, sizeof buf), EISDIR, "read on a directory fd");
    EXPECT_ERR(write(fd, "x", 1), EBADF, "write on a directory fd");

    /* openat: relative to a directory fd, absolute paths ignore it */
    int fd2 = EXPECT_OK(openat(fd, "g", O_WRONLY | O_CREAT | O_EXCL, 0644), "openat relative to a dir fd");
    close(fd2);
    struct stat st2;
    EXPECT_OK(stat("d/g", &st2), "openat created d/g");
    fd2 = EXPECT_OK(openat(fd, "/tmp/t_fileio/f", O_RDONLY), "openat with an absolute path ignores dirfd");
    close(fd2);
    fd2 = EXPECT_OK(openat(AT_FDCWD, "d/g", O_RDONLY), "openat AT_FDCWD");
    EXPECT_ERR(openat(fd2, "x", O_RDONLY), ENOTDIR, "openat relative to a non-directory fd");
    close(fd2);
    EXPECT_ERR(openat(1000, "x", O_RDONLY), EBADF, "openat relative to a closed fd");
    close(fd);
    EXPECT_ERR(open("", O_RDONLY), ENOENT, "open empty path");
}

static void test_rw(void)
{
    char buf[64];
    int fd = open("rw", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_RET(write(fd, "0123456789", 10), 10, "write 10 bytes");
    EXPECT_RET(write(fd, "x", 0), 0, "write 0 bytes returns 0");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 10, "lseek SEEK_CUR after write is 10");
    EXPECT_RET(read(fd, buf, 5), 0, "read at EOF returns 0");
    EXPECT_RET(lseek(fd, 2, SEEK_SET), 2, "lseek SEEK_SET 2");
    EXPECT_RET(read(fd, buf, 3), 3, "read 3 bytes");
    CHECK(memcmp(buf, "234", 3) == 0, "read data is \"234\"");
    EXPECT_RET(lseek(fd, 2, SEEK_CUR), 7, "lseek SEEK_CUR +2 is 7");
    EXPECT_RET(read(fd, buf, 10), 3, "read across EOF is short (3 of 10)");
    EXPECT_RET(lseek(fd, -4, SEEK_END), 6, "lseek SEEK_END -4 is 6");
    EXPECT_RET(lseek(fd, -3, SEEK_CUR), 3, "lseek SEEK_CUR -3 is 3");
    EXPECT_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "lseek to a negative offset (SEEK_SET)");
    EXPECT_ERR(lseek(fd, -11, SEEK_END), EINVAL, "lseek to a negative offset (SEEK_END)");
    EXPECT_ERR(lseek(fd, 0, 7), EINVAL, "lseek with whence 7");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 3, "failed lseeks leave the offset alone");
    EXPECT_ERR(lseek(1000, 0, SEEK_SET), EBADF, "lseek on a closed fd");
    EXPECT_RET(lseek(fd, 100, SEEK_SET), 100, "lseek past EOF is allowed");
    EXPECT_RET(read(fd, buf, 5), 0, "read after EOF returns 0");
    struct stat st;
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 10, "lseek past EOF does not change the size");

    /* pread/pwrite use their own offset and leave the file offset alone */
    lseek(fd, 1, SEEK_SET);
    EXPECT_RET(pread(fd, buf, 4, 5), 4, "pread64 4 bytes at 5");
    CHECK(memcmp(buf, "5678", 4) == 0, "pread64 data is \"5678\"");
    EXPECT_RET(pwrite(fd, "AB", 2, 8), 2, "pwrite64 2 bytes at 8");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 1, "pread64/pwrite64 keep the file offset");
    EXPECT_RET(pread(fd, buf, 10, 10), 0, "pread64 at EOF returns 0");
    EXPECT_ERR(pread(fd, buf, 1, -1), EINVAL, "pread64 at a negative offset");
    EXPECT_ERR(pwrite(fd, buf, 1, -1), EINVAL, "pwrite64 at a negative offset");
    EXPECT_RET(pread(fd, buf, 10, 0), 10, "pread64 whole file");
    CHECK(memcmp(buf, "01234567AB", 10) == 0, "contents after pwrite64 are \"01234567AB\"");

    /* readv/writev */
    char a[3], b[5];
    struct iovec wv[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    lseek(fd, 0, SEEK_SET);
    EXPECT_RET(writev(fd, wv, 3), 8, "writev 3 iovecs (one empty) writes 8 bytes");
    EXPECT_RET(writev(fd, wv, 0), 0, "writev with 0 iovecs returns 0");
    EXPECT_ERR(writev(fd, wv, -1), EINVAL, "writev with iovcnt -1");
    EXPECT_ERR(writev(fd, wv, 1025), EINVAL, "writev with iovcnt 1025 (> IOV_MAX)");
    lseek(fd, 0, SEEK_SET);
    struct iovec rv[2] = {{a, 3}, {b, 5}};
    EXPECT_RET(readv(fd, rv, 2), 8, "readv 2 iovecs reads 8 bytes");
    CHECK(memcmp(a, "abc", 3) == 0 && memcmp(b, "defgh", 5) == 0, "readv scatters \"abc\" + \"defgh\"");
    memset(b, 0, sizeof b);
    rv[1].iov_len = 5;
    EXPECT_RET(readv(fd, rv, 2), 2, "readv across EOF is short (2 bytes)");
    CHECK(memcmp(a, "AB", 2) == 0, "readv short read data");
    struct iovec big[1] = {{buf, (size_t)-1}};
    EXPECT_ERR(readv(fd, big, 1), EINVAL, "readv with an iov_len > SSIZE_MAX");
    close(fd);
    EXPECT_ERR(read(fd, buf, 1), EBADF, "read on a closed fd");
    EXPECT_ERR(write(fd, buf, 1), EBADF, "write on a closed fd");
    EXPECT_ERR(read(-1, buf, 1), EBADF, "read on fd -1");
}

static void test_sparse(void)
{
    static char buf[20000];
    int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_RET(write(fd, "head", 4), 4, "write header");
    EXPECT_RET(lseek(fd, 10000, SEEK_SET), 10000, "lseek to 10000");
    EXPECT_RET(write(fd, "tail", 4), 4, "write past EOF");
    struct stat st;
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 10004, "size after sparse write is 10004");
    memset(buf, 0xff, sizeof buf);
    EXPECT_RET(pread(fd, buf, sizeof buf, 0), 10004, "read the whole sparse file");
    CHECK(memcmp(buf, "head", 4) == 0 && memcmp(buf + 10000, "tail", 4) == 0, "data around the hole intact");
    CHECK(all_zero(buf + 4, 10000 - 4), "the hole reads as zeros");
    EXPECT_RET(pwrite(fd, "z", 1, 1 << 20), 1, "pwrite64 1 MiB past the start");
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, (1 << 20) + 1, "size after pwrite64 far past EOF");
    EXPECT_RET(pread(fd, buf, 4096, 500000), 4096, "read in the middle of the big hole");
    CHECK(all_zero(buf, 4096), "big hole reads as zeros");
    EXPECT_OK(fsync(fd), "fsync");
    EXPECT_OK(fdatasync(fd), "fdatasync");
    close(fd);
}

static void test_two_fds(void)
{
    /* two opens of one file have independent offsets but share data */
    char buf[8] = "";
    int a = open("two", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open("two", O_RDONLY);
    EXPECT_RET(write(a, "xyz", 3), 3, "write through the first fd");
    EXPECT_RET(read(b, buf, 8), 3, "second fd sees the data at its own offset 0");
    CHECK(memcmp(buf, "xyz", 3) == 0, "second fd reads \"xyz\"");
    close(a);
    close(b);
}

int main(void)
{
    t_begin("t_fileio");
    umask(022);
    test_open_flags();
    test_rw();
    test_sparse();
    test_two_fds();
    return t_done();
}
