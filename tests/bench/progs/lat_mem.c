/*
 * lat_mem - memory-management costs, microseconds per operation:
 *
 *   page_fault_file  a 4 MiB file in /tmp (created here, removed at the
 *                    end) is mapped MAP_SHARED PROT_READ and one byte of
 *                    every page is read, in order: time per page touched.
 *                    Only the touching is timed; every 1024 pages the
 *                    mapping is removed and made again (untimed), so each
 *                    touch meets an unmapped page. (Native Linux maps up to
 *                    16 page-cache pages per fault, "fault-around", so it
 *                    takes fewer faults than pages touched.)
 *   mmap_munmap_1m   mmap of 1 MiB anonymous private memory + munmap, the
 *                    pages never touched (the anonymous, untouched variant,
 *                    not lmbench lat_mmap's touched file mapping).
 *   brk_grow         the raw brk system call grows the break by 4 KiB and
 *                    the new page is written to. The break starts page
 *                    aligned; every 4096 pages (16 MiB) and after every run
 *                    it is shrunk back (untimed).
 */
#include "bench.h"

#define PAGE 4096
#define FILE_PAGES 1024
#define FILE_SIZE ((size_t)FILE_PAGES * PAGE)
#define MAP_1M (1024 * 1024)
#define BRK_BATCH 4096

static char path[64];
static int file_fd = -1;
static volatile unsigned long sink;

static void remove_file(void)
{
    unlink(path);
}

static void do_faults(long n, void *arg)
{
    (void)arg;
    while (n > 0) {
        long k = n < FILE_PAGES ? n : FILE_PAGES;
        volatile unsigned char *p = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, file_fd, 0);
        if (p == MAP_FAILED)
            bench_die_errno("mmap file MAP_SHARED");
        unsigned long sum = 0;
        bench_resume();
        for (long i = 0; i < k; i++)
            sum += p[(size_t)i * PAGE];
        bench_pause();
        sink += sum;
        if (munmap((void *)p, FILE_SIZE) != 0)
            bench_die_errno("munmap file");
        n -= k;
    }
}

static void do_mmap(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, MAP_1M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            bench_die_errno("mmap 1 MiB anonymous");
        if (munmap(p, MAP_1M) != 0)
            bench_die_errno("munmap 1 MiB");
    }
}

static unsigned long brk_base;

static void brk_set(unsigned long want)
{
    unsigned long got = (unsigned long)syscall(SYS_brk, want);
    if (got != want)
        bench_die("brk(%#lx) returned %#lx", want, got);
}

static void do_brk(long n, void *arg)
{
    (void)arg;
    while (n > 0) {
        long k = n < BRK_BATCH ? n : BRK_BATCH;
        unsigned long cur = brk_base;
        bench_resume();
        for (long i = 0; i < k; i++) {
            unsigned long next = cur + PAGE;
            if ((unsigned long)syscall(SYS_brk, next) != next) {
                bench_pause();
                bench_die("brk grow to %#lx failed (break stays below)", next);
            }
            *(volatile char *)cur = 1;
            cur = next;
        }
        bench_pause();
        brk_set(brk_base);
        n -= k;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_mem");

    snprintf(path, sizeof path, "/tmp/bench_lat_mem.%d", (int)getpid());
    file_fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (file_fd < 0)
        bench_die_errno("create file in /tmp");
    bench_cleanup = remove_file;
    static char page[PAGE];
    memset(page, 'm', sizeof page);
    for (int i = 0; i < FILE_PAGES; i++) {
        if (write(file_fd, page, PAGE) != PAGE)
            bench_die_errno("write file in /tmp");
    }
    bench_run(&(struct bench){ .row = "page_fault_file", .fn = do_faults, .self_timed = 1 });
    close(file_fd);
    bench_cleanup = NULL;
    if (unlink(path) != 0)
        bench_die_errno("unlink file in /tmp");

    bench_run(&(struct bench){ .row = "mmap_munmap_1m", .fn = do_mmap });

    unsigned long start = (unsigned long)syscall(SYS_brk, 0);
    brk_base = (start + PAGE - 1) & ~(unsigned long)(PAGE - 1);
    brk_set(brk_base);
    bench_run(&(struct bench){ .row = "brk_grow", .fn = do_brk, .self_timed = 1 });
    brk_set(start);
    return bench_done();
}
