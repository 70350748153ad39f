/*
 * t_brk - the program break through the raw brk system call.
 *
 * musl's brk() always fails and its sbrk() only supports sbrk(0), so every
 * change goes through syscall(SYS_brk, x), which returns the new break on
 * success and the unchanged break on failure (it never returns -1).
 * Whether the initial break is page-aligned depends on the system: only
 * relative behaviour is checked. No malloc here: musl's malloc may use brk.
 */
#include "check.h"
#include <sys/mman.h>

#define PG 4096UL

static unsigned long cur_brk(void)
{
    return (unsigned long)syscall(SYS_brk, 0);
}

static unsigned long page_up(unsigned long x)
{
    return (x + PG - 1) & ~(PG - 1);
}

int main(void)
{
    t_begin("t_brk");
    unsigned long b0 = cur_brk();
    CHECK(b0 != 0 && b0 != (unsigned long)-1, "brk(0) returns the current break");
    EXPECT_EQ(cur_brk(), b0, "brk(0) twice returns the same break");
    EXPECT_EQ((unsigned long)sbrk(0), b0, "sbrk(0) agrees with brk(0)");

    /* grow by 3 pages + 100 bytes: the exact (unrounded) value comes back */
    unsigned long want = b0 + 3 * PG + 100;
    EXPECT_EQ(syscall(SYS_brk, want), want, "grow the break by 3 pages + 100 bytes");
    EXPECT_EQ(cur_brk(), want, "brk(0) reports the new break exactly");
    unsigned char *p = (unsigned char *)b0;
    CHECK(all_zero(p, want - b0), "new heap memory reads as zeros");
    memset(p, 0xAA, want - b0);
    CHECK(p[0] == 0xAA && p[want - b0 - 1] == 0xAA, "new heap memory is writable");
    /* the rest of the last page up to the page boundary is mapped too */
    unsigned char *tail = (unsigned char *)want;
    CHECK(all_zero(tail, page_up(want) - want), "bytes between the break and the page end read as zeros");

    /* shrink to one page above b0, then grow again: pages that were freed come back zeroed */
    unsigned long small = b0 + PG;
    EXPECT_EQ(syscall(SYS_brk, small), small, "shrink the break");
    EXPECT_EQ(cur_brk(), small, "brk(0) reports the shrunk break");
    CHECK(p[0] == 0xAA, "memory below the shrunk break is kept");
    EXPECT_EQ(syscall(SYS_brk, want), want, "grow the break again");
    unsigned long freed = page_up(small);
    CHECK(all_zero((void *)freed, want - freed), "pages freed by the shrink read as zeros after growing again");
    CHECK(p[small - b0 - 1] == 0xAA, "data below the shrunk break survived the shrink and regrow");

    /* a large growth (64 MiB) */
    unsigned long big = b0 + (64UL << 20);
    EXPECT_EQ(syscall(SYS_brk, big), big, "grow the break by 64 MiB");
    volatile unsigned char *q = (unsigned char *)(big - 1);
    *q = 7;
    CHECK(*q == 7 && ((unsigned char *)b0)[32UL << 20] == 0, "the far end of the 64 MiB heap is usable and zeroed");

    /* failures return the current break unchanged */
    EXPECT_EQ(syscall(SYS_brk, 1UL << 63), big, "brk to 2^63 (beyond the user address space) fails, break unchanged");
    EXPECT_EQ(syscall(SYS_brk, -PG), big, "brk to 2^64-4096 fails");
    EXPECT_EQ(syscall(SYS_brk, 4096), big, "brk below the start of the heap fails (break unchanged)");
    EXPECT_EQ(syscall(SYS_brk, b0 - 1), big, "brk one byte below the initial break fails");
    EXPECT_EQ(cur_brk(), big, "break still at the 64 MiB mark");

    /* shrink all the way back to the initial break */
    EXPECT_EQ(syscall(SYS_brk, b0), b0, "shrink back to the initial break");
    EXPECT_EQ(cur_brk(), b0, "brk(0) is the initial break again");
    EXPECT_EQ(syscall(SYS_brk, b0 + PG), b0 + PG, "grow one page after shrinking back");
    CHECK(all_zero((void *)page_up(b0), b0 + PG - page_up(b0)), "the regrown page reads as zeros");

    /* mmap does not move the break */
    void *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_EQ(cur_brk(), b0 + PG, "mmap does not move the break");
    munmap(m, PG);
    return t_done();
}
