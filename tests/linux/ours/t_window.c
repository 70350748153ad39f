/*
 * t_window - a Linux process cannot reach the small address spaces
 * (tlb=small) nor the other spaces (tlb=plain), and cannot get around the
 * rules that keep it so: W^X and no WRPKRU in executable pages.
 *
 * Under tlb=small the root pager and the linux-server live in the window
 * (0x7f80_0000_0000..) of this process's own page table, kept apart by
 * protection keys; protection keys do not stop instruction fetches, so the
 * server refuses to let a process execute WRPKRU (0f 01 ef), which would
 * grant it every key, and refuses pages that are writable and executable.
 * Under tlb=plain the window is simply not mapped here and Linux's RWX rules
 * apply. The mode comes from /proc/l4/tlb; each check says what it expects
 * in that mode. Every risky step runs in a forked child whose end (exit
 * status or signal) is the observation. Only meaningful on our system.
 */
#include "../progs/check.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGER_CODE 0x7f8000100000ull  /* slot 0 + 1 MiB: the root pager's text */
#define SERVER_CODE 0x7f9000100000ull /* slot 1 + 1 MiB: the linux-server's text */
#define PG 4096

static int small; /* tlb=small */

static const unsigned char WRPKRU_RET[] = {0x31, 0xc9, 0x31, 0xd2, 0x31, 0xc0, 0x0f, 0x01, 0xef, 0xc3};
static const unsigned char RET[] = {0xc3};

/* How a child running fn(arg) ended: exit status, or 128 + signal. */
static int in_child(void (*fn)(uintptr_t), uintptr_t arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void do_read(uintptr_t a) { (void)*(volatile unsigned char *)a; }
static void do_write(uintptr_t a) { *(volatile unsigned char *)a = 0x90; }
static void do_call(uintptr_t a) { ((void (*)(void))a)(); }

/* Map the file `fd` (harmless code: ret at 64) shared RW and RX, run it,
 * store WRPKRU through the RW mapping, run it again. If the RX mapping
 * kept its execute rights, WRPKRU runs and the window opens: read the
 * server's code then (exit 0 means the rule failed). */
static void store_then_call(uintptr_t fd)
{
    unsigned char *fw = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    unsigned char *fe = mmap(0, PG, PROT_READ | PROT_EXEC, MAP_SHARED, (int)fd, 0);
    if (fw == MAP_FAILED || fe == MAP_FAILED)
        _exit(2);
    do_call((uintptr_t)fe + 64);
    memcpy(fw + 64, WRPKRU_RET, sizeof WRPKRU_RET);
    do_call((uintptr_t)fe + 64);
    do_read(SERVER_CODE);
}

/* The same with a private RX mapping and pwrite(2) into the page cache. */
static void pwrite_then_call(uintptr_t fd)
{
    unsigned char *fp = mmap(0, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, (int)fd, 0);
    if (fp == MAP_FAILED)
        _exit(2);
    do_call((uintptr_t)fp + 64);
    if (pwrite((int)fd, WRPKRU_RET, sizeof WRPKRU_RET, 64) != (ssize_t)sizeof WRPKRU_RET)
        _exit(3);
    do_call((uintptr_t)fp + 64);
    do_read(SERVER_CODE);
}

/* XRSTOR of a crafted area whose PKRU component (bit 9) would be all zeros:
 * XSAVE is off (CR4.OSXSAVE clear), so the instruction itself is #UD. */
static void do_xrstor(uintptr_t unused)
{
    (void)unused;
    static unsigned char area[4096] __attribute__((aligned(64)));
    memset(area, 0, sizeof area);
    area[512] = 0x03;         /* XSTATE_BV: x87, SSE */
    area[512 + 1] = 0x02;     /* ... and bit 9: PKRU */
    __asm__ volatile("xrstor %0" ::"m"(area), "a"(0xffffffffu), "d"(0xffffffffu) : "memory");
}

/* RDPKRU: the rights this process has (faults without PKU enabled). */
static unsigned rdpkru(void)
{
    unsigned eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
    return eax;
}
static void do_rdpkru(uintptr_t unused)
{
    (void)unused;
    unsigned v = rdpkru();
    /* Keys 1..14 (the small spaces') must be access- and write-disabled. */
    for (int k = 1; k < 15; k++)
        if (((v >> (2 * k)) & 3) != 3)
            _exit(10 + k);
    _exit(0);
}

static const char *mode_name(void)
{
    static char mode[16] = "?";
    FILE *f = fopen("/proc/l4/tlb", "r");
    if (f) {
        if (fscanf(f, "mode %15s", mode) != 1)
            strcpy(mode, "?");
        fclose(f);
    }
    return mode;
}

/* An anonymous RW area of `pages` pages with `code` at offset `at`. */
static unsigned char *code_area(int pages, size_t at, const unsigned char *code, size_t n)
{
    unsigned char *p = mmap(0, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    memset(p, 0x90, pages * PG);
    memcpy(p + at, code, n);
    return p;
}

int main(void)
{
    t_begin("t_window");
    const char *mode = mode_name();
    small = strcmp(mode, "small") == 0;
    printf("mode %s\n", mode);
    int segv = 128 + SIGSEGV, ill = 128 + SIGILL;

    /* The window: data and code of the pager and the server. */
    EXPECT_EQ(in_child(do_read, SERVER_CODE), segv, "reading the server's code: SIGSEGV");
    EXPECT_EQ(in_child(do_write, SERVER_CODE), segv, "writing the server's code: SIGSEGV");
    EXPECT_EQ(in_child(do_read, PAGER_CODE), segv, "reading the pager's code: SIGSEGV");
    EXPECT_EQ(in_child(do_write, PAGER_CODE + 0x10000), segv, "writing the pager's memory: SIGSEGV");
    EXPECT_EQ(in_child(do_call, SERVER_CODE), segv, "jumping into the server's code: SIGSEGV");
    EXPECT_EQ(in_child(do_call, PAGER_CODE), segv, "jumping into the pager's code: SIGSEGV");

    /* XRSTOR cannot load PKRU (nor anything: XSAVE is off). */
    EXPECT_EQ(in_child(do_xrstor, 0), ill, "XRSTOR with a crafted PKRU component: SIGILL");
    /* The rights the process runs with. */
    EXPECT_EQ(in_child(do_rdpkru, 0), small ? 0 : ill,
              small ? "RDPKRU: keys 1..14 denied" : "RDPKRU without protection keys: SIGILL");

    /* W^X: writable and executable at once. */
    void *rwx = mmap(0, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (small)
        CHECK(rwx == MAP_FAILED && errno == EACCES, "mmap RWX: EACCES");
    else
        CHECK(rwx != MAP_FAILED, "mmap RWX allowed");
    unsigned char *p = code_area(1, 0, RET, sizeof RET);
    int r = mprotect(p, PG, PROT_READ | PROT_WRITE | PROT_EXEC);
    if (small)
        CHECK(r == -1 && errno == EACCES, "mprotect RW -> RWX: EACCES");
    else
        CHECK(r == 0, "mprotect RW -> RWX allowed");
    EXPECT_OK(mprotect(p, PG, PROT_READ | PROT_EXEC), "mprotect RW -> RX of harmless code");
    EXPECT_EQ(in_child(do_call, (uintptr_t)p), 0, "calling it returns");

    /* WRPKRU placed in a page, then made executable. */
    unsigned char *w = code_area(1, 100, WRPKRU_RET, sizeof WRPKRU_RET);
    r = mprotect(w, PG, PROT_READ | PROT_EXEC);
    if (small) {
        CHECK(r == -1 && errno == EACCES, "mprotect RX of a page holding WRPKRU: EACCES");
    } else {
        CHECK(r == 0, "mprotect RX of a page holding WRPKRU allowed");
        EXPECT_EQ(in_child(do_call, (uintptr_t)w + 100), ill, "executing WRPKRU without protection keys: SIGILL");
    }
    /* ... straddling two pages: 0f 01 | ef. */
    unsigned char *s = code_area(2, PG - 8, WRPKRU_RET, sizeof WRPKRU_RET);
    r = mprotect(s, 2 * PG, PROT_READ | PROT_EXEC);
    if (small)
        CHECK(r == -1 && errno == EACCES, "mprotect RX of WRPKRU across a page edge: EACCES");
    else
        CHECK(r == 0, "mprotect RX of WRPKRU across a page edge allowed");
    /* ... the second page made executable after the first. */
    unsigned char *t = code_area(2, PG - 8, WRPKRU_RET, sizeof WRPKRU_RET);
    EXPECT_OK(mprotect(t, PG, PROT_READ | PROT_EXEC), "mprotect RX of the first half (0f 01 at its end)");
    r = mprotect(t + PG, PG, PROT_READ | PROT_EXEC);
    if (small)
        CHECK(r == -1 && errno == EACCES, "then of the second half (ef at its start): EACCES");
    else
        CHECK(r == 0, "then of the second half allowed");

    /* A file holding WRPKRU, mapped executable without ever being present:
     * the server finds it at the execute fault. */
    unlink("/tmp/t_window.bin");
    unsigned char file[PG];
    memset(file, 0x90, sizeof file);
    memcpy(file + 64, WRPKRU_RET, sizeof WRPKRU_RET);
    CHECK(put_file("/tmp/t_window.bin", file, sizeof file, 0644) == 0, "a file holding WRPKRU");
    int fd = open("/tmp/t_window.bin", O_RDWR);
    unsigned char *fx = mmap(0, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    CHECK(fx != MAP_FAILED, "mmap of it RX");
    EXPECT_EQ(in_child(do_call, (uintptr_t)fx + 64), small ? segv : ill,
              small ? "executing it: SIGSEGV (never mapped executable)" : "executing it: SIGILL");

    /* A shared file page executable in one mapping and writable in
     * another: a store through the second must not reach code the first
     * may still execute unchecked. All in one child, whose own mapping is
     * what must lose execute rights (a fork child starts with none). */
    memset(file, 0x90, sizeof file);
    file[64] = 0xc3;
    CHECK(pwrite(fd, file, sizeof file, 0) == (ssize_t)sizeof file, "the file now holds harmless code");
    EXPECT_EQ(in_child(store_then_call, (uintptr_t)fd), small ? segv : ill,
              small ? "WRPKRU stored through a shared RW mapping, then executed through an RX one: SIGSEGV"
                    : "WRPKRU stored through a shared RW mapping, then executed through an RX one: SIGILL");
    /* The same through write(2) into the page cache, seen by a private mapping. */
    CHECK(pwrite(fd, file, sizeof file, 0) == (ssize_t)sizeof file, "harmless code again");
    EXPECT_EQ(in_child(pwrite_then_call, (uintptr_t)fd), small ? segv : ill,
              small ? "WRPKRU written with pwrite, then executed through a private RX mapping: SIGSEGV"
                    : "WRPKRU written with pwrite, then executed through a private RX mapping: SIGILL");
    close(fd);
    unlink("/tmp/t_window.bin");

    /* Still nothing of the window is reachable. */
    EXPECT_EQ(in_child(do_read, SERVER_CODE), segv, "reading the server's code afterwards: SIGSEGV");
    return t_done();
}
