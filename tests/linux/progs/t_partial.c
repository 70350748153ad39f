/*
 * t_partial - buffers whose tail runs into an unmapped page, for the calls
 * t_efault does not cover: readv/writev with the hole in the second iovec,
 * pipes (read and write), getdents64, and structs (stat, timespec, pipe's
 * fd pair) straddling the hole. For files Linux copies what fits before the
 * hole and returns that count when it is not zero; a pipe moves whole
 * pieces or nothing (EFAULT); structs are all or nothing. Raw system calls
 * throughout.
 */
#include "check.h"
#include <sys/mman.h>
#include <sys/uio.h>

#define PG 4096UL

/* Two pages, the second unmapped: the hole starts at p + PG. */
static char *hole_after_page(void)
{
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    munmap(p + PG, PG);
    return p;
}

static char data[2048];

static void test_vectors(char *p)
{
    put_file("v", data, sizeof data, 0644);
    int fd = open("v", O_RDWR);
    char first[100];
    struct iovec iov[2] = {{first, sizeof first}, {p + PG - 300, 1000}};
    EXPECT_RET(syscall(SYS_readv, fd, iov, 2), 400, "readv: 100 + 300 good bytes of 1100");
    CHECK(memcmp(first, data, 100) == 0 && memcmp(p + PG - 300, data + 100, 300) == 0, "readv: the right bytes");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 400, "readv: the offset advanced by 400");
    memset(p + PG - 300, 'z', 300);
    EXPECT_RET(syscall(SYS_pwritev, fd, iov, 2, 0, 0), 400, "pwritev: 100 + 300 good bytes of 1100");
    char back[500];
    pread(fd, back, sizeof back, 0);
    CHECK(memcmp(back, data, 100) == 0 && back[100] == 'z' && back[399] == 'z' && back[400] == data[400],
          "pwritev: only the good bytes reached the file");
    struct iovec bad_first[2] = {{p + PG, 10}, {first, sizeof first}};
    EXPECT_ERR(syscall(SYS_writev, fd, bad_first, 2), EFAULT, "writev: the first iovec in the hole");
    close(fd);
}

static void test_pipes(char *p)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "a pipe");
    /* Linux copies a pipe write a page at a time and keeps nothing of a
     * page it could not copy whole: EFAULT, and the pipe stays empty. */
    memcpy(p + PG - 200, data, 200);
    EXPECT_ERR(syscall(SYS_write, fds[1], p + PG - 200, 1000), EFAULT, "pipe write of 1000 with 200 good bytes");
    EXPECT_ERR(syscall(SYS_write, fds[1], p + PG, 10), EFAULT, "pipe write starting in the hole");
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char rest[200];
    EXPECT_ERR(read(fds[0], rest, sizeof rest), EAGAIN, "nothing of them is in the pipe");
    /* A read that cannot take what is there whole: EFAULT, the data stays. */
    EXPECT_RET(write(fds[1], data, 200), 200, "200 bytes written properly");
    EXPECT_ERR(syscall(SYS_read, fds[0], p + PG - 50, 1000), EFAULT, "pipe read of 200 ready bytes into 50 good ones");
    EXPECT_RET(read(fds[0], rest, sizeof rest), 200, "the 200 bytes are all still there");
    CHECK(memcmp(rest, data, 200) == 0, "... in order");
    /* pipe2's fd pair straddling the hole: one int fits, the other not. */
    EXPECT_ERR(syscall(SYS_pipe2, (int *)(p + PG - 4), 0), EFAULT, "pipe2 with the fd pair across the hole");
    close(fds[0]);
    close(fds[1]);
}

static void test_structs(char *p)
{
    put_file("s", data, 10, 0644);
    struct stat *st = (struct stat *)(p + PG - sizeof(struct stat) / 2);
    EXPECT_ERR(syscall(SYS_stat, "s", st), EFAULT, "stat into a struct across the hole");
    st = (struct stat *)(p + PG - sizeof(struct stat));
    EXPECT_RET(syscall(SYS_stat, "s", st), 0, "stat into a struct ending at the hole");
    EXPECT_EQ(st->st_size, 10, "... filled in");
    struct timespec *ts = (struct timespec *)(p + PG - 8);
    EXPECT_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts), EFAULT, "clock_gettime across the hole");
    /* A path running into the hole without its NUL. */
    memset(p + PG - 16, 'a', 16);
    EXPECT_ERR(syscall(SYS_open, p + PG - 16, O_RDONLY), EFAULT, "a path without NUL before the hole");
}

static void test_getdents(char *p)
{
    rm_rf("d");
    mkdir("d", 0755);
    char name[64];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "d/entry-with-a-longish-name-%02d", i);
        put_file(name, "", 0, 0644);
    }
    char buf[8192];
    int fd = open("d", O_RDONLY | O_DIRECTORY);
    long all = syscall(SYS_getdents64, fd, buf, sizeof buf);
    CHECK(all > 200, "the whole listing in one call");
    close(fd);
    fd = open("d", O_RDONLY | O_DIRECTORY);
    /* Room claimed for all of it, 200 good bytes: the whole entries that
     * fit before the hole. */
    long n = syscall(SYS_getdents64, fd, p + PG - 200, 4096);
    CHECK(n > 0 && n <= 200 && n % 8 == 0, "getdents64 into 200 good bytes returns whole entries");
    CHECK(n > 0 && strcmp(p + PG - 200 + 19, ".") == 0, "... starting with \".\"");
    long total = n, m;
    while ((m = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        total += m;
    EXPECT_EQ(total, all, "the rest follow, none lost or repeated");
    close(fd);
    fd = open("d", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR(syscall(SYS_getdents64, fd, p + PG, 4096), EFAULT, "getdents64 into the hole");
    close(fd);
    rm_rf("d");
}

int main(void)
{
    t_begin("t_partial");
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 'A' + i % 41;
    char *p = hole_after_page();
    CHECK(p != NULL, "a page followed by a hole");
    if (!p)
        return t_done();
    test_vectors(p);
    test_pipes(p);
    test_structs(p);
    test_getdents(p);
    unlink("v");
    unlink("s");
    return t_done();
}
