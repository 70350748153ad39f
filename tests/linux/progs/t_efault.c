/*
 * t_efault - bad user pointers give EFAULT (never a signal), and buffers
 * that run into an unmapped page give partial transfers, as native Linux
 * does for regular files. Raw system calls throughout, so musl never
 * touches the bad pointers itself.
 */
#include "check.h"
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#define PG 4096UL
#define BAD1 ((void *)1)
#define KADDR ((void *)0xffff888000000000UL) /* kernel half of the address space */

static char *two_pages_second_unmapped(void)
{
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    munmap(p + PG, PG);
    return p;
}

static void test_read_write(void)
{
    struct stat st;
    char data[1024];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 'A' + i % 23;
    put_file("f", data, sizeof data, 0644);
    int fd = open("f", O_RDWR);

    EXPECT_ERR(syscall(SYS_read, fd, NULL, 10), EFAULT, "read into NULL");
    EXPECT_ERR(syscall(SYS_read, fd, BAD1, 10), EFAULT, "read into (void *)1");
    EXPECT_ERR(syscall(SYS_read, fd, KADDR, 10), EFAULT, "read into a kernel address");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 0, "failed reads leave the offset at 0");
    EXPECT_RET(syscall(SYS_read, fd, NULL, 0), 0, "read of 0 bytes into NULL returns 0");
    EXPECT_ERR(syscall(SYS_pread64, fd, BAD1, 10, 0), EFAULT, "pread64 into (void *)1");
    EXPECT_ERR(syscall(SYS_write, fd, NULL, 10), EFAULT, "write from NULL");
    EXPECT_ERR(syscall(SYS_write, fd, BAD1, 10), EFAULT, "write from (void *)1");
    EXPECT_ERR(syscall(SYS_write, fd, KADDR, 10), EFAULT, "write from a kernel address");
    EXPECT_ERR(syscall(SYS_pwrite64, fd, BAD1, 10, 0), EFAULT, "pwrite64 from (void *)1");
    EXPECT_RET(syscall(SYS_write, fd, NULL, 0), 0, "write of 0 bytes from NULL returns 0");
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 1024, "failed writes leave the file alone");
    lseek(fd, 0, SEEK_END);
    EXPECT_RET(syscall(SYS_read, fd, NULL, 10), 0, "read at EOF into NULL returns 0 (nothing to copy)");

    /* a read-only page cannot be read into; a PROT_NONE page cannot be written from */
    char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR(syscall(SYS_pread64, fd, ro, 10, 0), EFAULT, "read into a PROT_READ page");
    CHECK(all_zero(ro, PG), "the PROT_READ page is unchanged");
    mprotect(ro, PG, PROT_NONE);
    EXPECT_ERR(syscall(SYS_pwrite64, fd, ro, 10, 0), EFAULT, "write from a PROT_NONE page");
    munmap(ro, PG);

    /* iovecs */
    char a[8], b[8];
    struct iovec ok_bad[2] = {{a, 5}, {BAD1, 5}};
    EXPECT_ERR(syscall(SYS_readv, fd, BAD1, 1), EFAULT, "readv with a bad iovec array pointer");
    EXPECT_ERR(syscall(SYS_writev, fd, BAD1, 1), EFAULT, "writev with a bad iovec array pointer");
    struct iovec bad_only[1] = {{BAD1, 5}};
    EXPECT_ERR(syscall(SYS_preadv, fd, bad_only, 1, 0, 0), EFAULT, "preadv into a bad buffer");
    EXPECT_RET(syscall(SYS_preadv, fd, ok_bad, 2, 0, 0), 5, "preadv: good then bad buffer reads only the first");
    CHECK(memcmp(a, data, 5) == 0, "preadv: the first buffer got the data");
    memcpy(b, "12345", 5);
    struct iovec ok_bad_w[2] = {{b, 5}, {BAD1, 5}};
    EXPECT_RET(syscall(SYS_pwritev, fd, ok_bad_w, 2, 0, 0), 5, "pwritev: good then bad buffer writes only the first");
    pread(fd, a, 8, 0);
    CHECK(memcmp(a, "12345", 5) == 0 && a[5] == data[5], "pwritev: only the first buffer reached the file");
    close(fd);
}

static void test_partial(void)
{
    static char data[1024], back[1024];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 'a' + i % 26;
    char *p = two_pages_second_unmapped();
    CHECK(p != NULL, "mmap 2 pages and munmap the second");
    if (!p)
        return;
    char *buf = p + PG - 512; /* 512 good bytes, then the hole */

    /* write(): the bytes before the hole are written, the count says so */
    memcpy(buf, data, 512);
    int fd = open("w", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_RET(syscall(SYS_write, fd, buf, 1024), 512, "write of 1024 bytes running into a hole returns 512");
    struct stat st;
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 512, "the file got 512 bytes");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 512, "the offset advanced by 512");
    EXPECT_ERR(syscall(SYS_write, fd, p + PG, 16), EFAULT, "write starting in the hole");
    pread(fd, back, 512, 0);
    CHECK(memcmp(back, data, 512) == 0, "the 512 bytes written are the right ones");
    close(fd);

    /* read(): fills up to the hole, returns the partial count */
    put_file("r", data, 1024, 0644);
    fd = open("r", O_RDONLY);
    memset(buf, 0, 512);
    EXPECT_RET(syscall(SYS_read, fd, buf, 1024), 512, "read of 1024 bytes into a buffer running into a hole returns 512");
    CHECK(memcmp(buf, data, 512) == 0, "the 512 bytes read are the right ones");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 512, "the offset advanced by 512");
    EXPECT_RET(syscall(SYS_read, fd, buf, 1024), 512, "a second partial read returns the next 512");
    CHECK(memcmp(buf, data + 512, 512) == 0, "the second 512 bytes are the right ones");
    EXPECT_RET(syscall(SYS_pread64, fd, p + PG - 100, 1024, 0), 100, "pread64 with 100 good bytes returns 100");
    close(fd);
    munmap(p, PG);
}

static void test_other_calls(void)
{
    char buf[256];
    struct stat st;
    struct timespec ts;
    put_file("s", "x", 1, 0644);
    symlink("s", "sl");
    int fd = open("s", O_RDONLY);
    EXPECT_ERR(syscall(SYS_open, NULL, O_RDONLY), EFAULT, "open with a NULL path");
    EXPECT_ERR(syscall(SYS_openat, AT_FDCWD, BAD1, O_RDONLY), EFAULT, "openat with path (void *)1");
    EXPECT_ERR(syscall(SYS_stat, BAD1, &st), EFAULT, "stat with path (void *)1");
    EXPECT_ERR(syscall(SYS_stat, "s", BAD1), EFAULT, "stat into a bad struct pointer");
    EXPECT_ERR(syscall(SYS_lstat, KADDR, &st), EFAULT, "lstat with a kernel-address path");
    EXPECT_ERR(syscall(SYS_fstat, fd, NULL), EFAULT, "fstat into NULL");
    EXPECT_ERR(syscall(SYS_newfstatat, AT_FDCWD, BAD1, &st, 0), EFAULT, "newfstatat with path (void *)1");
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "s", 0, 0x7ff, BAD1), EFAULT, "statx into a bad buffer");
    EXPECT_ERR(syscall(SYS_access, BAD1, F_OK), EFAULT, "access with path (void *)1");
    EXPECT_ERR(syscall(SYS_mkdir, BAD1, 0755), EFAULT, "mkdir with path (void *)1");
    EXPECT_ERR(syscall(SYS_unlink, BAD1), EFAULT, "unlink with path (void *)1");
    EXPECT_ERR(syscall(SYS_chdir, NULL), EFAULT, "chdir with a NULL path");
    EXPECT_ERR(syscall(SYS_rename, "s", BAD1), EFAULT, "rename to path (void *)1");
    EXPECT_ERR(syscall(SYS_readlink, "sl", BAD1, 10), EFAULT, "readlink into a bad buffer");
    EXPECT_ERR(syscall(SYS_getcwd, BAD1, sizeof buf), EFAULT, "getcwd into a bad buffer");
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR(syscall(SYS_getdents64, dfd, BAD1, 4096), EFAULT, "getdents64 into a bad buffer");
    close(dfd);
    EXPECT_ERR(syscall(SYS_uname, BAD1), EFAULT, "uname into a bad buffer");
    EXPECT_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL), EFAULT, "clock_gettime into NULL");
    EXPECT_RET(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0, "clock_getres with NULL is allowed");
    EXPECT_ERR(syscall(SYS_gettimeofday, BAD1, NULL), EFAULT, "gettimeofday into a bad buffer");
    EXPECT_RET(syscall(SYS_gettimeofday, NULL, NULL), 0, "gettimeofday(NULL, NULL) is allowed");
    EXPECT_ERR(syscall(SYS_time, BAD1), EFAULT, "time into a bad pointer");
    EXPECT_ERR(syscall(SYS_nanosleep, BAD1, NULL), EFAULT, "nanosleep with a bad request pointer");
    ts.tv_sec = 0;
    ts.tv_nsec = 1000;
    EXPECT_RET(syscall(SYS_nanosleep, &ts, NULL), 0, "nanosleep 1 us with a NULL remainder pointer");
    EXPECT_ERR(syscall(SYS_getrlimit, 7, BAD1), EFAULT, "getrlimit into a bad buffer");
    EXPECT_ERR(syscall(SYS_sysinfo, NULL), EFAULT, "sysinfo into NULL");
    EXPECT_ERR(syscall(SYS_getrandom, BAD1, 8, 0), EFAULT, "getrandom into a bad buffer");
    EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 128, BAD1), EFAULT, "sched_getaffinity into a bad buffer");
    EXPECT_ERR(syscall(SYS_pipe2, BAD1, 0), EFAULT, "pipe2 into a bad buffer");
    close(fd);
}

int main(void)
{
    t_begin("t_efault");
    test_read_write();
    test_partial();
    test_other_calls();
    return t_done();
}
