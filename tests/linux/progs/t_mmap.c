/*
 * t_mmap - mmap/munmap/mprotect/mremap/madvise/mincore through raw system
 * calls (musl's wrappers round mprotect addresses and reject some bad
 * arguments themselves). Unmapped memory is never touched: holes are
 * observed through MAP_FIXED_NOREPLACE (EEXIST when something is mapped)
 * and mincore (ENOMEM on unmapped pages).
 */
#include "check.h"
#include <sys/mman.h>

#define PG 4096UL
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static long sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static char *map_anon(size_t len)
{
    long r = sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return r == -1 ? NULL : (char *)r;
}

/* Is [addr, addr+len) free? Probe with MAP_FIXED_NOREPLACE and undo. */
static int is_free(char *addr, size_t len)
{
    long r = sys_mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == -1)
        return errno == EEXIST ? 0 : -1;
    syscall(SYS_munmap, r, len);
    return r == (long)addr ? 1 : -1;
}

static void test_anon(void)
{
    char *p = map_anon(3 * PG);
    CHECK(p != NULL, "mmap 3 anonymous pages");
    CHECK(((unsigned long)p & (PG - 1)) == 0, "the address is page-aligned");
    CHECK(all_zero(p, 3 * PG), "anonymous memory is zero-filled");
    memset(p, 0x5A, 3 * PG);
    CHECK(p[0] == 0x5A && p[3 * PG - 1] == 0x5A, "anonymous memory is writable");

    /* munmap the middle page: neighbours stay, the hole is free */
    EXPECT_RET(syscall(SYS_munmap, p + PG, PG), 0, "munmap the middle page");
    EXPECT_EQ(is_free(p + PG, PG), 1, "the middle page is free afterwards");
    EXPECT_EQ(is_free(p, PG), 0, "the first page is still mapped");
    EXPECT_EQ(is_free(p + 2 * PG, PG), 0, "the last page is still mapped");
    CHECK(p[0] == 0x5A && p[2 * PG] == 0x5A, "the remaining pages keep their data");
    unsigned char vec[4];
    EXPECT_ERR(syscall(SYS_mincore, p, 3 * PG, vec), ENOMEM, "mincore over the hole");
    EXPECT_RET(syscall(SYS_mincore, p, PG, vec), 0, "mincore on a mapped page");
    EXPECT_ERR(syscall(SYS_mincore, p + 1, PG, vec), EINVAL, "mincore at an unaligned address");

    /* MAP_FIXED into the hole */
    long r = sys_mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)(p + PG), "MAP_FIXED into the hole returns exactly that address");
    CHECK(all_zero(p + PG, PG), "the refilled page is zero");
    /* MAP_FIXED over existing memory replaces it */
    r = sys_mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)p && all_zero(p, PG), "MAP_FIXED over a mapped page replaces it with zeros");
    EXPECT_ERR(sys_mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST,
               "MAP_FIXED_NOREPLACE over a mapped page");
    EXPECT_RET(syscall(SYS_munmap, p, 3 * PG), 0, "munmap all 3 pages");
    EXPECT_RET(syscall(SYS_munmap, p, 3 * PG), 0, "munmap of an already unmapped range succeeds");
    EXPECT_EQ(is_free(p, 3 * PG), 1, "the whole range is free");

    /* a hint address that is free is honoured */
    r = sys_mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r == (long)p, "a free hint address is used");
    syscall(SYS_munmap, p, PG);

    /* munmap argument errors */
    char *q = map_anon(2 * PG);
    EXPECT_ERR(syscall(SYS_munmap, q + 1, PG), EINVAL, "munmap at an unaligned address");
    EXPECT_ERR(syscall(SYS_munmap, q, 0), EINVAL, "munmap with length 0");
    EXPECT_RET(syscall(SYS_munmap, q, PG + 1), 0, "munmap with an unaligned length rounds up");
    EXPECT_EQ(is_free(q, 2 * PG), 1, "both pages were unmapped");
}

static void test_bad_args(void)
{
    int fd = open("file", O_RDWR);
    int ro = open("file", O_RDONLY);
    int rw = PROT_READ | PROT_WRITE;
    EXPECT_ERR(sys_mmap(NULL, 0, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL, "mmap with length 0");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_PRIVATE, fd, 100), EINVAL, "mmap a file at an unaligned offset");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_PRIVATE, 1000, 0), EBADF, "mmap a closed fd");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_PRIVATE, -1, 0), EBADF, "mmap fd -1 without MAP_ANONYMOUS");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_ANONYMOUS, -1, 0), EINVAL, "mmap without MAP_PRIVATE or MAP_SHARED");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0), EINVAL,
               "mmap with MAP_PRIVATE|MAP_SHARED");
    EXPECT_ERR(sys_mmap((void *)0x10000001, PG, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL,
               "MAP_FIXED at an unaligned address");
    EXPECT_ERR(sys_mmap(NULL, 1UL << 57, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM,
               "mmap 2^57 bytes (more than any user address space)");
    EXPECT_ERR(sys_mmap(NULL, (size_t)-PG, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM, "mmap length 2^64-4096");
    EXPECT_ERR(sys_mmap(NULL, (size_t)-1, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM,
               "mmap length 2^64-1 (rounds up to 0)");
    EXPECT_ERR(sys_mmap((void *)(1UL << 63), PG, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM,
               "MAP_FIXED at 2^63 (above the user address space)");
    EXPECT_ERR(sys_mmap(NULL, PG, rw, MAP_SHARED, ro, 0), EACCES, "MAP_SHARED PROT_WRITE of an O_RDONLY fd");
    long r = sys_mmap(NULL, PG, rw, MAP_PRIVATE, ro, 0);
    CHECK(r != -1, "MAP_PRIVATE PROT_WRITE of an O_RDONLY fd is allowed");
    if (r != -1)
        syscall(SYS_munmap, r, PG);
    int wo = open("file", O_WRONLY);
    EXPECT_ERR(sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0), EACCES, "mmap an O_WRONLY fd");
    close(wo);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR(sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV, "mmap a directory");
    close(dfd);
    close(fd);
    close(ro);
}

static void test_file(void)
{
    static char data[2 * PG], buf[2 * PG];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 'a' + i % 26;
    put_file("file", data, PG + 100, 0644);
    int fd = open("file", O_RDWR);

    long r = sys_mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(r != -1, "mmap a file MAP_PRIVATE (2 pages, file is 1 page + 100 bytes)");
    char *p = (char *)r;
    CHECK(memcmp(p, data, PG + 100) == 0, "the mapping shows the file contents");
    CHECK(all_zero(p + PG + 100, PG - 100), "the rest of the last page past EOF reads as zeros");
    memcpy(p, "PRIVATE", 7);
    pread(fd, buf, 7, 0);
    CHECK(memcmp(buf, data, 7) == 0, "MAP_PRIVATE writes do not reach the file");
    CHECK(memcmp(p, "PRIVATE", 7) == 0, "MAP_PRIVATE writes are visible in the mapping");
    EXPECT_RET(syscall(SYS_madvise, p, PG, MADV_DONTNEED), 0, "madvise MADV_DONTNEED on the private file page");
    CHECK(memcmp(p, data, 7) == 0, "after MADV_DONTNEED the private file page shows the file again");
    syscall(SYS_munmap, p, 2 * PG);

    r = sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    CHECK(r != -1 && memcmp((char *)r, data + PG, 100) == 0, "mmap at file offset 4096 shows the second page");
    syscall(SYS_munmap, r, PG);

    r = sys_mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(r != -1, "mmap a file MAP_SHARED");
    p = (char *)r;
    memcpy(p + 10, "SHARED", 6);
    pread(fd, buf, 16, 0);
    CHECK(memcmp(buf + 10, "SHARED", 6) == 0, "MAP_SHARED writes are visible to read()");
    pwrite(fd, "WRITE", 5, 20);
    CHECK(memcmp(p + 20, "WRITE", 5) == 0, "write() is visible in a MAP_SHARED mapping");
    EXPECT_RET(syscall(SYS_msync, p, PG, MS_SYNC), 0, "msync MS_SYNC");
    EXPECT_ERR(syscall(SYS_msync, p + 1, PG, MS_SYNC), EINVAL, "msync at an unaligned address");
    syscall(SYS_munmap, p, PG);
    close(fd);
    /* the mapping survives close() of its fd */
    fd = open("file", O_RDONLY);
    r = sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    CHECK(r != -1 && memcmp((char *)r + 10, "SHARED", 6) == 0, "a file mapping stays valid after close(fd)");
    syscall(SYS_munmap, r, PG);
}

static void test_mprotect(void)
{
    char *p = map_anon(4 * PG);
    p[0] = 1;
    EXPECT_RET(syscall(SYS_mprotect, p, PG, PROT_READ), 0, "mprotect one page PROT_READ");
    CHECK(p[0] == 1, "read-only page is still readable");
    EXPECT_RET(syscall(SYS_mprotect, p, PG, PROT_READ | PROT_WRITE), 0, "mprotect it back to PROT_READ|PROT_WRITE");
    p[0] = 2;
    CHECK(p[0] == 2, "page is writable again");
    EXPECT_RET(syscall(SYS_mprotect, p + PG, 2 * PG, PROT_NONE), 0, "mprotect two middle pages PROT_NONE");
    EXPECT_RET(syscall(SYS_mprotect, p + PG, 2 * PG, PROT_READ | PROT_WRITE), 0, "restore them");
    CHECK(all_zero(p + PG, 2 * PG), "restored pages still read as zeros");
    EXPECT_ERR(syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL, "mprotect at an unaligned address");
    EXPECT_ERR(syscall(SYS_mprotect, p, PG, 0x1000), EINVAL, "mprotect with an unknown PROT bit");
    EXPECT_RET(syscall(SYS_mprotect, p, 0, PROT_READ), 0, "mprotect with length 0 succeeds");
    EXPECT_RET(syscall(SYS_mprotect, p, 1, PROT_READ | PROT_WRITE), 0, "mprotect with length 1 (rounds up)");
    syscall(SYS_munmap, p + 2 * PG, PG);
    EXPECT_ERR(syscall(SYS_mprotect, p, 4 * PG, PROT_READ), ENOMEM, "mprotect over a range with a hole");
    EXPECT_ERR(syscall(SYS_mprotect, p + 2 * PG, PG, PROT_READ), ENOMEM, "mprotect an unmapped page");
    syscall(SYS_munmap, p, 4 * PG);

    /* PROT_WRITE on a read-only shared file mapping is refused */
    int fd = open("file", O_RDONLY);
    long r = sys_mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_ERR(syscall(SYS_mprotect, r, PG, PROT_READ | PROT_WRITE), EACCES,
               "mprotect PROT_WRITE on a MAP_SHARED mapping of an O_RDONLY fd");
    syscall(SYS_munmap, r, PG);
    close(fd);
}

static void test_mremap(void)
{
    /* 3 pages; the third made read-only, so the first two cannot grow in place */
    char *p = map_anon(3 * PG);
    memset(p, 0x11, 2 * PG);
    long blk = (long)(p + 2 * PG);
    EXPECT_RET(syscall(SYS_mprotect, blk, PG, PROT_READ), 0, "split a 3-page mapping with mprotect");
    EXPECT_ERR(syscall(SYS_mremap, p, 2 * PG, 4 * PG, 0), ENOMEM, "mremap grow in place when blocked");
    long r = syscall(SYS_mremap, p, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    CHECK(r != -1 && r != (long)p, "mremap MREMAP_MAYMOVE moves the mapping");
    char *n = (char *)r;
    CHECK(n[0] == 0x11 && n[2 * PG - 1] == 0x11, "moved mapping keeps its contents");
    CHECK(all_zero(n + 2 * PG, 2 * PG), "the grown part reads as zeros");
    EXPECT_EQ(is_free(p, 2 * PG), 1, "the old range is free after the move");
    syscall(SYS_munmap, blk, PG);

    /* shrink in place, then grow in place into the space it freed */
    r = syscall(SYS_mremap, n, 4 * PG, PG, 0);
    CHECK(r == (long)n, "mremap shrink stays in place");
    EXPECT_EQ(is_free(n + PG, 3 * PG), 1, "the shrunk tail is unmapped");
    r = syscall(SYS_mremap, n, PG, 3 * PG, 0);
    CHECK(r == (long)n, "mremap grow in place into free space");
    CHECK(n[0] == 0x11 && all_zero(n + PG, 2 * PG), "in-place growth: data kept, new pages zero");

    /* MREMAP_FIXED to a chosen address */
    char *dst = map_anon(3 * PG);
    r = syscall(SYS_mremap, n, 3 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    CHECK(r == (long)dst && dst[0] == 0x11, "mremap MREMAP_FIXED moves onto the chosen address");

    EXPECT_ERR(syscall(SYS_mremap, dst + 1, PG, 2 * PG, MREMAP_MAYMOVE), EINVAL, "mremap an unaligned address");
    EXPECT_ERR(syscall(SYS_mremap, dst, PG, 0, MREMAP_MAYMOVE), EINVAL, "mremap to new length 0");
    EXPECT_ERR(syscall(SYS_mremap, dst, PG, 2 * PG, 0x80), EINVAL, "mremap with an unknown flag");
    EXPECT_ERR(syscall(SYS_mremap, dst, PG, 2 * PG, MREMAP_FIXED, dst + 8 * PG), EINVAL,
               "mremap MREMAP_FIXED without MREMAP_MAYMOVE");
    EXPECT_ERR(syscall(SYS_mremap, n, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT, "mremap an unmapped address");
    syscall(SYS_munmap, dst, 3 * PG);
}

static void test_madvise(void)
{
    char *p = map_anon(4 * PG);
    memset(p, 0x77, 4 * PG);
    EXPECT_RET(syscall(SYS_madvise, p + PG, 2 * PG, MADV_DONTNEED), 0, "madvise MADV_DONTNEED on 2 of 4 pages");
    CHECK(all_zero(p + PG, 2 * PG), "MADV_DONTNEED pages read as zeros");
    CHECK(p[0] == 0x77 && p[3 * PG] == 0x77, "pages outside the range keep their data");
    EXPECT_RET(syscall(SYS_madvise, p, 4 * PG, MADV_WILLNEED), 0, "madvise MADV_WILLNEED");
    EXPECT_RET(syscall(SYS_madvise, p, 4 * PG, MADV_NORMAL), 0, "madvise MADV_NORMAL");
    EXPECT_ERR(syscall(SYS_madvise, p + 1, PG, MADV_DONTNEED), EINVAL, "madvise at an unaligned address");
    EXPECT_ERR(syscall(SYS_madvise, p, PG, 12345), EINVAL, "madvise with an unknown advice");
    syscall(SYS_munmap, p, 4 * PG);
    EXPECT_ERR(syscall(SYS_madvise, p, PG, MADV_NORMAL), ENOMEM, "madvise on an unmapped range");
}

int main(void)
{
    t_begin("t_mmap");
    put_file("file", "x", 1, 0644);
    test_anon();
    test_bad_args();
    test_file();
    test_mprotect();
    test_mremap();
    test_madvise();
    return t_done();
}
