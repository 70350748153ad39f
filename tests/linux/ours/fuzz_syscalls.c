/*
 * fuzz_syscalls - a seeded, reproducible Linux system-call fuzzer.
 *
 *     fuzz_syscalls [-v] [-s START] [-b BATCH] [-t STALL_SECS] SEED CALLS
 *
 * Issues CALLS random system calls (indices START .. START+CALLS-1) through
 * the raw `syscall` instruction, taken from the linux-server's whole table
 * (linux-server/server/syscalls/mod.rs) plus unimplemented and out-of-range
 * numbers, with random and adversarial arguments: NULL, -1, ~0,
 * non-canonical and kernel addresses, addresses in the microkernel's window
 * of small spaces (abi::window: 8 slots of 64 GiB from 0x7f80_0000_0000),
 * buffers that run into a PROT_NONE or unmapped page, read-only buffers,
 * huge lengths, invalid and real descriptors (a file, a directory, a pipe,
 * /dev/null, a /proc file), random flags and small integers.
 *
 * Call i is a pure function of (SEED, i): its number and arguments come from
 * a generator seeded with splitmix64(SEED, i), so a failure reproduces with
 * `-v -s FIRST_CALL_OF_ITS_BATCH`. Calls run in forked children, one batch
 * of BATCH calls (default 1000, aligned to multiples of BATCH) per child:
 * calls that end the child (a fatal signal, exit) are expected and counted;
 * the next child resumes with the following call. Each child
 *   - is its own process group (the parent kills the group at the end of
 *     the batch, so nothing it forked survives it),
 *   - has /dev/null on 0, 1 and 2, and works in a scratch directory
 *     (/tmp/fuzz.PID/N, removed after the batch),
 *   - never signals or re-groups anything but itself: pid arguments of
 *     kill, tkill, tgkill, rt_(tg)sigqueueinfo, setpgid, prlimit64 and the
 *     scheduler calls are rewritten to itself, 0 or a pid that cannot exist,
 *   - runs the child side of fork/vfork/clone/clone3 straight into exit
 *     (in the same asm block, without touching the stack),
 *   - only names paths inside its scratch directory or under /proc/self
 *     (so execve can only fail; not /proc/self/exe, whose chmod would make
 *     the next run's exec fail: the truncate that name found is covered by
 *     t_fuzzfound) -- a path taken from a buffer must be relative and
 *     without "..", see contain_paths -- and never reboots (a correct magic
 *     number is changed),
 *   - takes a SIGALRM every 50 ms that interrupts blocking calls (EINTR),
 *     re-armed after any call that may have changed it.
 * The child writes each call (index, number, arguments) into a MAP_SHARED
 * page before issuing it, so the parent knows how far it got and the last
 * call before a crash. A child that makes no progress for STALL_SECS
 * (default 2; blocked for good, e.g. with SIGALRM masked) is killed and
 * counted as hung. The parent polls with a 100 ms interval timer.
 *
 * -v prints every call to the real stderr (kept at fd 1000) before issuing
 * it, and every child's end. At the end one line:
 *   fuzz: seed S calls N batches B children K crashed C (SIGSEGV x, ..., SIGRT y) exited E stopped P hung H parent_errors X elapsed_ms T calls_per_s R
 * (crashed: children ended by a signal, by signal, real-time ones together;
 * exited: children that ended by exit/exit_group or an exec'd image's exit;
 * stopped: children that stopped themselves, then killed; hung: see above;
 * parent_errors: calls of the parent itself that failed, a server bug)
 * and exit status 0 (1 for bad usage or if the fuzzer itself cannot run).
 * Every 10000 calls: "fuzz: progress calls N" (for scripts/fuzz).
 *
 * Only meaningful on our system (a fuzzer, not a comparison with Linux).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t u64;

#define PAGE 4096UL
#define TRACE_FD 1000
#define WINDOW_BASE 0x00007f8000000000UL
#define WINDOW_SLOT (64UL << 30)
#define WINDOW_SLOTS 8

/* ---- the generator ---- */

static u64 rng;

static u64 splitmix(u64 *s)
{
    u64 z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static u64 rnd(void) { return splitmix(&rng); }
static u64 below(u64 n) { return rnd() % n; }
static int chance(int percent) { return (int)below(100) < percent; }

/* ---- raw system calls ---- */

static inline long raw6(u64 n, u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
    long ret;
    register u64 r10 __asm__("r10") = d;
    register u64 r8 __asm__("r8") = e;
    register u64 r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* fork, vfork, clone, clone3: the child (rax 0) exits at once, in the asm
 * block, on whatever stack it was given. */
static inline long raw6_fork(u64 n, u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
    long ret;
    register u64 r10 __asm__("r10") = d;
    register u64 r8 __asm__("r8") = e;
    register u64 r9 __asm__("r9") = f;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define raw0(n) raw6((n), 0, 0, 0, 0, 0, 0)
#define raw1(n, a) raw6((n), (u64)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) raw6((n), (u64)(a), (u64)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) raw6((n), (u64)(a), (u64)(b), (u64)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) raw6((n), (u64)(a), (u64)(b), (u64)(c), (u64)(d), 0, 0)

/* ---- the syscall table ----
 * Argument kinds: f fd, p buffer, s path, l length, i int/flags, x anything,
 * d pid, g signal, a address (mm calls), v iovec array, t timeout pointer,
 * P pollfd array, S sigset pointer, c ioctl command. */
struct sc {
    unsigned nr;
    const char *name;
    const char *args;
};

static const struct sc table[] = {
    {0, "read", "fpl"}, {1, "write", "fpl"}, {2, "open", "sii"}, {3, "close", "f"},
    {4, "stat", "sp"}, {5, "fstat", "fp"}, {6, "lstat", "sp"}, {7, "poll", "Pli"},
    {8, "lseek", "fxi"}, {9, "mmap", "aliifx"}, {10, "mprotect", "ali"}, {11, "munmap", "al"},
    {12, "brk", "a"}, {13, "rt_sigaction", "gppl"}, {14, "rt_sigprocmask", "iSSl"},
    {15, "rt_sigreturn", ""}, {16, "ioctl", "fcp"}, {17, "pread64", "fplx"},
    {18, "pwrite64", "fplx"}, {19, "readv", "fvi"}, {20, "writev", "fvi"}, {21, "access", "si"},
    {22, "pipe", "p"}, {23, "select", "ipppt"}, {24, "sched_yield", ""},
    {25, "mremap", "allia"}, {26, "msync", "ali"}, {27, "mincore", "alp"},
    {28, "madvise", "ali"}, {32, "dup", "f"}, {33, "dup2", "ff"}, {34, "pause", ""},
    {35, "nanosleep", "tp"}, {36, "getitimer", "ip"}, {37, "alarm", "i"},
    {38, "setitimer", "ipp"}, {39, "getpid", ""}, {40, "sendfile", "ffpl"},
    {56, "clone", "ippxx"}, {57, "fork", ""}, {58, "vfork", ""}, {59, "execve", "spp"},
    {60, "exit", "i"}, {61, "wait4", "dpip"}, {62, "kill", "dg"}, {63, "uname", "p"},
    {72, "fcntl", "fix"}, {74, "fsync", "f"}, {75, "fdatasync", "f"}, {76, "truncate", "sl"},
    {77, "ftruncate", "fl"}, {79, "getcwd", "pl"}, {80, "chdir", "s"}, {81, "fchdir", "f"},
    {82, "rename", "ss"}, {83, "mkdir", "si"}, {84, "rmdir", "s"}, {85, "creat", "si"},
    {86, "link", "ss"}, {87, "unlink", "s"}, {88, "symlink", "ss"}, {89, "readlink", "spl"},
    {90, "chmod", "si"}, {91, "fchmod", "fi"}, {92, "chown", "sii"}, {93, "fchown", "fii"},
    {94, "lchown", "sii"}, {95, "umask", "i"}, {96, "gettimeofday", "pp"},
    {97, "getrlimit", "ip"}, {98, "getrusage", "ip"}, {99, "sysinfo", "p"}, {100, "times", "p"},
    {102, "getuid", ""}, {104, "getgid", ""}, {105, "setuid", "i"}, {106, "setgid", "i"},
    {107, "geteuid", ""}, {108, "getegid", ""}, {109, "setpgid", "dd"}, {110, "getppid", ""},
    {111, "getpgrp", ""}, {112, "setsid", ""}, {113, "setreuid", "ii"}, {114, "setregid", "ii"},
    {115, "getgroups", "ip"}, {116, "setgroups", "ip"}, {117, "setresuid", "iii"},
    {118, "getresuid", "ppp"}, {119, "setresgid", "iii"}, {120, "getresgid", "ppp"},
    {121, "getpgid", "d"}, {122, "setfsuid", "i"}, {123, "setfsgid", "i"}, {124, "getsid", "d"},
    {127, "rt_sigpending", "pl"}, {128, "rt_sigtimedwait", "Sptl"},
    {129, "rt_sigqueueinfo", "dgp"}, {130, "rt_sigsuspend", "Sl"}, {131, "sigaltstack", "pp"},
    {133, "mknod", "sii"}, {135, "personality", "i"}, {137, "statfs", "sp"},
    {138, "fstatfs", "fp"}, {140, "getpriority", "id"}, {141, "setpriority", "idi"},
    {143, "sched_getparam", "dp"}, {145, "sched_getscheduler", "d"},
    {146, "sched_get_priority_max", "i"}, {147, "sched_get_priority_min", "i"},
    {149, "mlock", "al"}, {150, "munlock", "al"}, {151, "mlockall", "i"}, {152, "munlockall", ""},
    {157, "prctl", "ixxxx"}, {158, "arch_prctl", "ip"}, {160, "setrlimit", "ip"},
    {162, "sync", ""}, {164, "settimeofday", "pp"}, {165, "mount", "sssip"},
    {166, "umount2", "si"}, {169, "reboot", "xxip"}, {170, "sethostname", "pl"},
    {173, "ioperm", "xxi"}, {186, "gettid", ""}, {200, "tkill", "dg"}, {201, "time", "p"},
    {202, "futex", "piitpi"}, {203, "sched_setaffinity", "dlp"},
    {204, "sched_getaffinity", "dlp"}, {217, "getdents64", "fpl"}, {218, "set_tid_address", "p"},
    {227, "clock_settime", "ip"}, {228, "clock_gettime", "ip"}, {229, "clock_getres", "ip"},
    {230, "clock_nanosleep", "iitp"}, {231, "exit_group", "i"}, {234, "tgkill", "ddg"},
    {247, "waitid", "idpip"}, {257, "openat", "fsii"}, {258, "mkdirat", "fsi"},
    {259, "mknodat", "fsii"}, {260, "fchownat", "fsiii"}, {262, "newfstatat", "fspi"},
    {263, "unlinkat", "fsi"}, {264, "renameat", "fsfs"}, {265, "linkat", "fsfsi"},
    {266, "symlinkat", "sfs"}, {267, "readlinkat", "fspl"}, {268, "fchmodat", "fsi"},
    {269, "faccessat", "fsi"}, {270, "pselect6", "ipppttp"}, {271, "ppoll", "PltSl"},
    {273, "set_robust_list", "pl"}, {274, "get_robust_list", "dpp"},
    {280, "utimensat", "fspi"}, {292, "dup3", "ffi"}, {293, "pipe2", "pi"},
    {295, "preadv", "fvix"}, {296, "pwritev", "fvix"}, {297, "rt_tgsigqueueinfo", "ddgp"},
    {302, "prlimit64", "dipp"}, {306, "syncfs", "f"}, {309, "getcpu", "ppp"},
    {316, "renameat2", "fsfsi"}, {318, "getrandom", "pli"}, {322, "execveat", "fsppi"},
    {325, "mlock2", "ali"}, {332, "statx", "fsiip"}, {334, "rseq", "plii"},
    {435, "clone3", "pl"}, {436, "close_range", "ffi"}, {439, "faccessat2", "fsii"},
    /* not implemented by the server: ENOSYS (logged once) */
    {29, "shmget", "xlx"}, {41, "socket", "iii"}, {42, "connect", "fpl"},
    {53, "socketpair", "iiip"}, {73, "flock", "fi"}, {78, "getdents", "fpl"},
    {101, "ptrace", "idpp"}, {132, "utime", "sp"}, {134, "uselib", "s"},
    {142, "sched_setparam", "dp"}, {144, "sched_setscheduler", "dip"}, {155, "pivot_root", "ss"},
    {161, "chroot", "s"}, {213, "epoll_create", "i"}, {232, "epoll_wait", "fpit"},
    {253, "inotify_init", ""}, {283, "timerfd_create", "ii"}, {284, "eventfd", "i"},
    {290, "eventfd2", "ii"}, {310, "process_vm_readv", "dvivii"}, {319, "memfd_create", "si"},
    {424, "pidfd_send_signal", "fgpi"}, {425, "io_uring_setup", "ip"}, {434, "pidfd_open", "di"},
    {448, "process_mrelease", "fi"}, {451, "cachestat", "xxxx"},
};
#define NTABLE (sizeof table / sizeof table[0])

static const char *sc_name(u64 nr)
{
    for (unsigned i = 0; i < NTABLE; i++)
        if (table[i].nr == (unsigned)nr)
            return table[i].name;
    return "?";
}

/* ---- the child's world ---- */

/* The shared progress record: written by the child before each call. */
struct progress {
    volatile u64 index; /* the call being issued, or ~0 before the first */
    volatile u64 nr;
    volatile u64 args[6];
};

static struct progress *prog;
static unsigned char *arena; /* 64 pages; see layout() */
#define ARENA_PAGES 64
#define PG_IOV 4      /* iovec arrays */
#define PG_TIME 5     /* timespecs and timevals */
#define PG_SIGSET 6   /* signal sets */
#define PG_POLL 7     /* pollfd arrays */
#define PG_PATHS 8    /* path strings (pages 8..11; a long one crosses pages) */
#define PG_RDONLY 58  /* PROT_READ */
#define PG_NONE 60    /* PROT_NONE */
#define PG_HOLE 61    /* unmapped (61..63) */

static int fds[8];
static int nfds;
static pid_t self;
static int verbose;

static const char *const paths[] = {
    "a", "b", "c", "d", "d/e", "d/e/f", "fifo", "sym", "lnk", "", ".", "d/..", "a/", "d/./e",
    "missing/x", "/proc/self/status", "/proc/self/maps", "/proc/self/cwd/a", "/dev/null/x",
    "sym/x", "lnk/../a",
};
#define NPATHS (sizeof paths / sizeof paths[0])
static u64 path_ptr[NPATHS + 2]; /* + a 300-byte name and a 5000-byte path */

static void layout(void)
{
    u64 s = 0x5eed;
    for (unsigned i = 0; i < 4 * PAGE; i++)
        arena[i] = (unsigned char)splitmix(&s);
    /* iovecs: good ones, then ones that run into the PROT_NONE page, bad bases */
    u64 *iov = (u64 *)(arena + PG_IOV * PAGE);
    for (int i = 0; i < 256; i++) {
        u64 base, len;
        switch (i % 8) {
        case 0: base = (u64)arena + (i * 61) % (3 * PAGE); len = i % 300; break;
        case 1: base = (u64)arena + PG_NONE * PAGE - 100; len = 4096; break;
        case 2: base = 0; len = 16; break;
        case 3: base = 0x9999999999999999ULL; len = 8; break;
        case 4: base = (u64)arena; len = 0x8000000000000000ULL; break;
        case 5: base = (u64)arena + PG_RDONLY * PAGE; len = 512; break;
        case 6: base = (u64)arena + 2 * PAGE; len = 0; break;
        default: base = (u64)arena + PAGE; len = 4096; break;
        }
        iov[2 * i] = base;
        iov[2 * i + 1] = len;
    }
    /* timespecs {0, 1000}, {0, 0}, {0, 20 ms}, bad ones */
    long *ts = (long *)(arena + PG_TIME * PAGE);
    long tv[][2] = {{0, 1000}, {0, 0}, {0, 20000000}, {-1, 0}, {0, 2000000000}, {0, 5000}, {1, 0}, {0, -1}};
    for (int i = 0; i < 256; i++) {
        ts[2 * i] = tv[i % 8][0];
        ts[2 * i + 1] = tv[i % 8][1];
    }
    /* sigsets: all, none, random, without SIGALRM */
    u64 *ss = (u64 *)(arena + PG_SIGSET * PAGE);
    for (int i = 0; i < 512; i++)
        ss[i] = i % 4 == 0 ? ~0ULL : i % 4 == 1 ? 0 : i % 4 == 2 ? splitmix(&s) : (1ULL << 9) | (1ULL << 1);
    /* paths */
    char *p = (char *)(arena + PG_PATHS * PAGE);
    for (unsigned i = 0; i < NPATHS; i++) {
        path_ptr[i] = (u64)p;
        strcpy(p, paths[i]);
        p += strlen(paths[i]) + 1;
    }
    path_ptr[NPATHS] = (u64)p;
    memset(p, 'n', 300);
    p[300] = 0;
    p += 301;
    path_ptr[NPATHS + 1] = (u64)p;
    for (int i = 0; i < 5000; i++)
        p[i] = i % 10 == 9 ? '/' : 'q';
    p[5000] = 0;
}

/* pollfd arrays need the child's fds: filled in the child. */
static void layout_poll(void)
{
    int *pf = (int *)(arena + PG_POLL * PAGE);
    for (int i = 0; i < 512; i++) {
        pf[2 * i] = i % 5 == 4 ? -1 : fds[i % nfds];
        pf[2 * i + 1] = (i * 7) & 0xffff; /* events, revents */
    }
}

static u64 window_addr(void)
{
    u64 slot = below(WINDOW_SLOTS);
    u64 off = chance(50) ? (1UL << 20) + below(64) * PAGE : below(WINDOW_SLOT) & ~(PAGE - 1);
    return WINDOW_BASE + slot * WINDOW_SLOT + off;
}

static u64 adversarial(void)
{
    switch (below(16)) {
    case 0: return 0;
    case 1: return ~0ULL;
    case 2: return 0x9999999999999999ULL;
    case 3: return 0xffffffff81000000ULL;
    case 4: return window_addr();
    case 5: return 0x0000800000000000ULL; /* first non-canonical */
    case 6: return 0x00007ffffffff000ULL; /* the KIP page */
    case 7: return 1;
    case 8: return 0x7fffffffffffffffULL;
    case 9: return 0x8000000000000000ULL;
    case 10: return 0xffffffffULL;
    case 11: return 0x80000000ULL;
    case 12: return below(4096);
    case 13: return (u64)arena + PG_NONE * PAGE - below(64); /* ends at the boundary */
    case 14: return (u64)arena + (PG_HOLE + below(3)) * PAGE;
    default: return rnd();
    }
}

static u64 gen_len(void)
{
    switch (below(10)) {
    case 0: return 0;
    case 1: return 1 + below(16);
    case 2: return PAGE;
    case 3: return PAGE + 1;
    case 4: return below(1 << 16);
    case 5: return ~0ULL;
    case 6: return 0x7fffffff;
    case 7: return 1ULL << (20 + below(40));
    case 8: return 0x8000000000000000ULL;
    default: return below(512);
    }
}

static u64 gen_int(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: return below(8);
    case 2: return below(64);
    case 3: return 1ULL << below(32);
    case 4: return (u64)-1;
    case 5: return rnd() & 0xffffffff;
    case 6: return rnd() & rnd(); /* sparse flags */
    default: return below(4096);
    }
}

static u64 gen_fd(void)
{
    switch (below(8)) {
    case 0: case 1: case 2: case 3: return fds[below(nfds)];
    case 4: return below(3);
    case 5: return below(32);
    case 6: return (u64)(long)-100; /* AT_FDCWD */
    default: return chance(50) ? (u64)-1 : adversarial();
    }
}

static u64 gen_buf(void)
{
    switch (below(10)) {
    case 0: return adversarial();
    case 1: return (u64)arena + PG_NONE * PAGE - below(PAGE); /* tail runs into PROT_NONE */
    case 2: return (u64)arena + PG_RDONLY * PAGE + below(PAGE);
    case 3: return (u64)arena + (PG_HOLE - 2) * PAGE + below(2 * PAGE);
    default: return (u64)arena + below(4 * PAGE);
    }
}

static u64 gen_addr(void)
{
    switch (below(8)) {
    case 0: return adversarial();
    case 1: return window_addr();
    case 2: return (u64)arena + below(ARENA_PAGES) * PAGE + (chance(80) ? 0 : below(PAGE));
    case 3: return (below(1ULL << 35)) * PAGE; /* anywhere below 128 TiB */
    case 4: return 0x10000 + below(256) * PAGE;
    default: return (u64)arena + (PG_HOLE + below(3)) * PAGE;
    }
}

static u64 gen_pid(void)
{
    switch (below(5)) {
    case 0: return 0;
    case 1: return (u64)(long)-self;
    case 2: return 0x3fffffff; /* cannot exist */
    case 3: return (u64)-0x3fffffffL;
    default: return self;
    }
}

static u64 gen_ioctl(void)
{
    static const unsigned cmds[] = {0x5401, 0x5402, 0x5403, 0x5404, 0x5409, 0x540b, 0x540e, 0x540f,
                                    0x5410, 0x5413, 0x5414, 0x541b, 0x5421, 0x5422, 0x5429,
                                    0x5450, 0x5451, 0x80045430, 0xc0045877};
    return chance(80) ? cmds[below(sizeof cmds / sizeof cmds[0])] : gen_int();
}

static u64 gen_arg(char kind)
{
    if (chance(10))
        return adversarial();
    switch (kind) {
    case 'f': return gen_fd();
    case 'p': return gen_buf();
    case 's': return chance(90) ? path_ptr[below(NPATHS + 2)] : gen_buf();
    case 'l': return gen_len();
    case 'i': return gen_int();
    case 'd': return gen_pid();
    case 'g': return chance(90) ? below(66) : gen_int();
    case 'a': return gen_addr();
    case 'v': return (u64)arena + PG_IOV * PAGE + below(200) * 16;
    case 't': return chance(85) ? (u64)arena + PG_TIME * PAGE + below(250) * 16 : gen_buf();
    case 'P': return (u64)arena + PG_POLL * PAGE + below(500) * 8;
    case 'S': return chance(85) ? (u64)arena + PG_SIGSET * PAGE + below(500) * 8 : gen_buf();
    case 'c': return gen_ioctl();
    default: return rnd();
    }
}

/* Numbers outside the table: unimplemented, out of range, high bits set. */
static u64 odd_number(void)
{
    switch (below(6)) {
    case 0: return 335 + below(88);       /* the gap before 424 */
    case 1: return 452 + below(600);      /* past the end */
    case 2: return 0x40000000 + below(600); /* x32 */
    case 3: return 0x80000000ULL + below(1000); /* negative as an int */
    case 4: return (rnd() << 32) | 39;    /* getpid with garbage high bits */
    default: return rnd();
    }
}

/* Rare: calls that end the child, or restore a random frame. */
static int rare(unsigned nr)
{
    return nr == 60 || nr == 231 || nr == 15;
}

/* The call for index i: number, arguments and (in *kinds) their kinds. */
static u64 make_call(u64 seed, u64 i, u64 a[6], const char **kinds_out)
{
    u64 s = seed ^ (i * 0xd1b54a32d192ed03ULL);
    rng = splitmix(&s);
    u64 nr;
    const char *kinds = "xxxxxx";
    if (chance(4)) {
        nr = odd_number();
    } else {
        const struct sc *c = &table[below(NTABLE)];
        if (rare(c->nr) && !chance(10))
            c = &table[below(NTABLE)];
        nr = c->nr;
        kinds = c->args;
    }
    size_t k = strlen(kinds);
    for (int j = 0; j < 6; j++)
        a[j] = j < (int)k ? gen_arg(kinds[j]) : (chance(70) ? 0 : rnd());
    *kinds_out = kinds;
    return nr;
}

/* ---- paths stay in the scratch directory ----
 * A path argument is one of the fixed ones above, or whatever bytes a
 * buffer holds by the time of the call (random at first, then what earlier
 * calls wrote there: getcwd's "/tmp/...", file and /proc contents). Such a
 * string may be absolute or climb with "..": once it created "/p " in the
 * root directory, which outlived the campaign (an inode more at the end).
 * So a path is issued only if it is a fixed one, or relative without a ".."
 * component, or cannot be read at all (it faults in the server: EFAULT);
 * otherwise it is replaced by a non-canonical address (still EFAULT).
 * Reading it must not crash the child, so the child keeps a map of its
 * arena pages that may not be readable: the PROT_NONE page and the holes
 * from the start, and any page a memory-management call has touched since
 * (a path on or running into such a page is replaced, as it may have
 * become readable). Addresses outside the arena that a fuzzed mmap could
 * have made readable are replaced too; those below Linux's mmap_min_addr
 * and from the small-space window up are not (they fault). */

static u64 arena_unreadable; /* bit n: arena page n is PROT_NONE or a hole */
static u64 arena_unknown;    /* bit n: a memory-management call touched page n */

static void arena_touched(u64 addr, u64 len)
{
    u64 base = (u64)arena, end = base + ARENA_PAGES * PAGE;
    if (len > end - base)
        len = end - base;
    u64 last = addr + len < addr ? ~0ULL : addr + len;
    if (last <= base || addr >= end)
        return;
    u64 first_page = addr <= base ? 0 : (addr - base) / PAGE;
    u64 end_page = last >= end ? ARENA_PAGES : (last - base + PAGE - 1) / PAGE;
    for (u64 pg = first_page; pg < end_page; pg++)
        arena_unknown |= 1ULL << pg;
}

/* After a call: which arena pages it may have mapped, unmapped or protected. */
static void note_mm_call(u64 nr, const u64 a[6])
{
    switch (nr) {
    case 9: case 10: case 11: case 28: case 149: case 150: case 216: case 325: case 329:
        arena_touched(a[0], a[1] ? a[1] : 1);
        break;
    case 25: /* mremap: the old range, growth in place, a fixed new place */
        arena_touched(a[0], a[1] > a[2] ? a[1] : a[2]);
        if (a[3] & 2)
            arena_touched(a[4], a[2]);
        break;
    }
}

static int path_is_contained(const char *s)
{
    for (unsigned i = 0; i < NPATHS; i++)
        if (strcmp(s, paths[i]) == 0)
            return 1;
    if (s[0] == '/')
        return 0;
    for (const char *c = s; *c;) {
        const char *e = c;
        while (*e && *e != '/')
            e++;
        if (e - c == 2 && c[0] == '.' && c[1] == '.')
            return 0;
        c = *e ? e + 1 : e;
    }
    return 1;
}

static int path_is_safe(u64 p)
{
    u64 base = (u64)arena, end = base + ARENA_PAGES * PAGE;
    if (p < 0x10000 || p >= WINDOW_BASE)
        return 1;
    if (p < base || p >= end)
        return 0;
    static char copy[8192];
    for (u64 q = p, n = 0; n < sizeof copy; q++, n++) {
        if (q >= end)
            return 0;
        u64 bit = 1ULL << ((q - base) / PAGE);
        if (arena_unknown & bit)
            return 0;
        if (arena_unreadable & bit)
            return 1; /* the server faults before the string ends */
        copy[n] = *(const char *)q;
        if (!copy[n])
            return path_is_contained(copy);
    }
    return 1; /* longer than PATH_MAX: ENAMETOOLONG */
}

static void contain_paths(const char *kinds, u64 a[6])
{
    for (int j = 0; kinds[j] && j < 6; j++)
        if (kinds[j] == 's' && !path_is_safe(a[j]))
            a[j] = 0x9999999999999999ULL;
}

/* Keep the fuzzer's own harness out of reach (see the top comment). */
static void sandbox(u64 nr, u64 a[6])
{
    switch ((unsigned)nr) {
    case 62:  /* kill */
    case 129: /* rt_sigqueueinfo */
    case 121: case 124: /* getpgid, getsid: harmless, but keep them local */
    case 143: case 145: case 142: case 144: case 203: case 141: case 140: case 274:
    case 434: case 101: case 310:
        if (nr == 141 || nr == 140)
            a[1] = gen_pid();
        else
            a[0] = gen_pid();
        break;
    case 200: /* tkill */
        a[0] = chance(70) ? (u64)self : 0x3fffffff;
        break;
    case 234: /* tgkill */
    case 297: /* rt_tgsigqueueinfo */
        a[0] = chance(80) ? (u64)self : 0x3fffffff;
        a[1] = chance(70) ? (u64)self : 0x3fffffff;
        break;
    case 109: /* setpgid */
        a[0] = chance(50) ? 0 : (u64)self;
        a[1] = chance(50) ? 0 : chance(50) ? (u64)self : 0x3fffffff;
        break;
    case 302: /* prlimit64 */
        a[0] = chance(50) ? 0 : chance(80) ? (u64)self : 0x3fffffff;
        break;
    case 169: /* reboot */
        if ((unsigned)a[0] == 0xfee1deadU)
            a[0] ^= 1;
        break;
    case 424: /* pidfd_send_signal: fd argument, no pid */
        break;
    }
}

/* ---- SIGALRM: interrupts blocking calls ---- */

static void on_alarm(int sig) { (void)sig; }

/* The handler returns through this (the kernel's sigaction needs one). */
void fuzz_restorer(void);
__asm__(".text\n.globl fuzz_restorer\nfuzz_restorer:\n\tmov $15, %eax\n\tsyscall\n\tud2\n");

/* Raw calls only: a fuzzed arch_prctl may have taken musl's thread pointer. */
static void arm_alarm(void)
{
    struct {
        u64 handler, flags, restorer, mask;
    } ksa = {(u64)on_alarm, 0x04000000 /* SA_RESTORER; no SA_RESTART: EINTR */, (u64)fuzz_restorer, 0};
    raw4(SYS_rt_sigaction, SIGALRM, &ksa, 0, 8);
    u64 unblock = 1ULL << (SIGALRM - 1);
    raw4(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock, 0, 8);
    struct itimerval it = {{0, 50000}, {0, 50000}};
    raw3(SYS_setitimer, ITIMER_REAL, &it, 0);
}

/* After these the SIGALRM timer, handler or mask may be gone. */
static int touches_alarm(unsigned nr)
{
    return nr == 13 || nr == 14 || nr == 37 || nr == 38 || nr == 128 || nr == 130 || nr == 59 ||
           nr == 322 || nr == 157;
}

/* ---- tracing without libc state (errno, stdio, TLS may be gone) ---- */

static char tbuf[512];
static int tlen;
static void tput(const char *s) { while (*s && tlen < (int)sizeof tbuf - 1) tbuf[tlen++] = *s++; }
static void thex(u64 v)
{
    char d[19];
    int n = 0;
    d[n++] = '0';
    d[n++] = 'x';
    int started = 0;
    for (int sh = 60; sh >= 0; sh -= 4) {
        int x = (v >> sh) & 15;
        if (x || started || sh == 0) {
            d[n++] = "0123456789abcdef"[x];
            started = 1;
        }
    }
    d[n] = 0;
    tput(d);
}
static void tdec(u64 v)
{
    char d[21];
    int n = 20;
    d[n] = 0;
    do {
        d[--n] = '0' + v % 10;
        v /= 10;
    } while (v);
    tput(d + n);
}

static void format_call(u64 index, u64 nr, const u64 a[6])
{
    tlen = 0;
    tput("call ");
    tdec(index);
    tput(" nr ");
    tdec(nr);
    tput(" ");
    tput(sc_name(nr));
    tput("(");
    for (int j = 0; j < 6; j++) {
        if (j)
            tput(", ");
        thex(a[j]);
    }
    tput(")");
    tbuf[tlen] = 0;
}

static void trace_call(u64 index, u64 nr, const u64 a[6])
{
    format_call(index, nr, a);
    tput("\n");
    raw3(SYS_write, TRACE_FD, tbuf, tlen);
}

/* ---- the child ---- */

static int open_fds(void)
{
    nfds = 0;
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) fds[nfds++] = fd;
    fd = open("f", O_RDWR | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, "some contents\n", 14) != 14) return -1;
        fds[nfds++] = fd;
    }
    int p[2];
    if (pipe(p) == 0) {
        fds[nfds++] = p[0];
        fds[nfds++] = p[1];
    }
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) fds[nfds++] = fd;
    fd = open("/proc/self/status", O_RDONLY);
    if (fd >= 0) fds[nfds++] = fd;
    fd = open("f", O_RDONLY | O_APPEND);
    if (fd >= 0) fds[nfds++] = fd;
    mkdir("d", 0755);
    mkdir("d/e", 0755);
    symlink("a", "sym");
    close(open("a", O_RDWR | O_CREAT, 0600));
    link("a", "lnk");
    mkfifo("fifo", 0600);
    return nfds == 7 ? 0 : -1;
}

static void run_child(u64 seed, u64 first, u64 end, const char *dir)
{
    self = getpid();
    setpgid(0, 0);
    struct rlimit rl = {256, 256};
    setrlimit(RLIMIT_NPROC, &rl);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || chdir(dir) != 0)
        _exit(100);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
    if (open_fds() != 0)
        _exit(101);
    layout_poll();
    arena_unreadable = (1ULL << PG_NONE) | (~0ULL << PG_HOLE);
    arena_unknown = 0;
    arm_alarm();
    for (u64 i = first; i < end; i++) {
        u64 a[6];
        const char *kinds;
        u64 nr = make_call(seed, i, a, &kinds);
        sandbox(nr, a);
        contain_paths(kinds, a);
        prog->nr = nr;
        for (int j = 0; j < 6; j++)
            prog->args[j] = a[j];
        prog->index = i;
        if (verbose)
            trace_call(i, nr, a);
        unsigned low = (unsigned)nr;
        if (low == 56 || low == 57 || low == 58 || low == 435)
            raw6_fork(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        else
            raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        note_mm_call(nr, a);
        if (touches_alarm(low))
            arm_alarm();
    }
    prog->index = end; /* done */
    raw1(SYS_exit_group, 0);
}

/* ---- the parent ---- */

static volatile sig_atomic_t ticks;
static void on_tick(int sig) { (void)sig; ticks++; }

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(p);
    return 0;
}

static void rm_rf(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static u64 now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
    fprintf(stderr, "usage: fuzz_syscalls [-v] [-s START] [-b BATCH] [-t STALL_SECS] SEED CALLS\n");
    exit(1);
}

int main(int argc, char **argv)
{
    u64 start = 0, batch = 1000, stall_s = 2;
    int opt;
    while ((opt = getopt(argc, argv, "vs:b:t:")) != -1) {
        switch (opt) {
        case 'v': verbose = 1; break;
        case 's': start = strtoull(optarg, 0, 0); break;
        case 'b': batch = strtoull(optarg, 0, 0); break;
        case 't': stall_s = strtoull(optarg, 0, 0); break;
        default: usage();
        }
    }
    if (argc - optind != 2 || batch == 0 || stall_s == 0)
        usage();
    u64 seed = strtoull(argv[optind], 0, 0);
    u64 ncalls = strtoull(argv[optind + 1], 0, 0);
    u64 end = start + ncalls;

    setvbuf(stdout, 0, _IOLBF, 0);
    if (verbose && dup2(2, TRACE_FD) != TRACE_FD) {
        perror("fuzz: dup2 stderr");
        return 1;
    }
    prog = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    arena = mmap(0, ARENA_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (prog == MAP_FAILED || arena == MAP_FAILED) {
        perror("fuzz: mmap");
        return 1;
    }
    layout();
    if (mprotect(arena + PG_RDONLY * PAGE, PAGE, PROT_READ) || mprotect(arena + PG_NONE * PAGE, PAGE, PROT_NONE) ||
        munmap(arena + PG_HOLE * PAGE, (ARENA_PAGES - PG_HOLE) * PAGE)) {
        perror("fuzz: arena");
        return 1;
    }
    char root[64], dir[96];
    snprintf(root, sizeof root, "/tmp/fuzz.%d", (int)getpid());
    if (mkdir(root, 0777) != 0) {
        perror("fuzz: mkdir scratch");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 100000}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, 0);

    u64 t0 = now_ms();
    u64 issued = 0, children = 0, batches = 0, crashed = 0, exited = 0, hung = 0, stopped = 0, parent_errors = 0;
    u64 by_signal[65] = {0};
    u64 next_progress = (start / 10000 + 1) * 10000;
    u64 i = start;
    int setup_failures = 0;
    while (i < end) {
        u64 batch_end = (i / batch + 1) * batch;
        if (batch_end > end)
            batch_end = end;
        if (i % batch == 0 || i == start)
            batches++;
        snprintf(dir, sizeof dir, "%s/%llu", root, (unsigned long long)children);
        if (mkdir(dir, 0777) != 0) {
            perror("fuzz: mkdir batch dir");
            return 1;
        }
        prog->index = ~0ULL;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fuzz: fork");
            return 1;
        }
        if (pid == 0)
            run_child(seed, i, batch_end, dir);
        children++;
        setpgid(pid, pid); /* also here: no race with the kill below */
        u64 last = ~0ULL, last_change = now_ms();
        int status = 0, hang = 0;
        for (;;) {
            pid_t w = waitpid(pid, &status, WUNTRACED);
            if (w == pid)
                break;
            if (w < 0 && errno != EINTR) {
                /* The server failed the parent's own call: a bug in it, not
                 * the fuzzer's. Counted (the summary shows it and
                 * scripts/fuzz fails); the batch is ended as if it hung. */
                printf("fuzz: PARENT ERROR: waitpid(%d) failed: %s, child %llu, last call %llu\n", (int)pid,
                       strerror(errno), (unsigned long long)children, (unsigned long long)prog->index);
                parent_errors++;
                hang = 1;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            u64 cur = prog->index;
            if (cur != last) {
                last = cur;
                last_change = now_ms();
            } else if (now_ms() - last_change > stall_s * 1000) {
                hang = 1;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            }
        }
        if (!hang && WIFSTOPPED(status)) {
            stopped++;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        } else {
            kill(-pid, SIGKILL); /* whatever it forked */
        }
        /* Reap the group's leftovers that were reparented to us (CLONE_PARENT). */
        while (waitpid(-1, 0, WNOHANG) > 0)
            ;
        u64 got = prog->index;
        u64 last_nr = prog->nr, la[6];
        for (int j = 0; j < 6; j++)
            la[j] = prog->args[j];
        u64 next;
        if (got == ~0ULL) {
            /* Died before its first call: setup failed (or a stray signal). */
            if (++setup_failures > 20) {
                fprintf(stderr, "fuzz: children keep failing before their first call (status 0x%x)\n", status);
                return 1;
            }
            next = i;
        } else if (got >= batch_end) {
            next = batch_end;
        } else {
            next = got + 1;
        }
        issued += next - i;
        const char *how = "done";
        if (hang) {
            hung++;
            how = "hung";
        } else if (WIFSTOPPED(status)) {
            how = "stopped";
        } else if (WIFSIGNALED(status)) {
            crashed++;
            int sig = WTERMSIG(status);
            by_signal[sig < 65 ? sig : 0]++;
            how = strsignal(sig);
        } else if (got < batch_end) {
            exited++;
            how = "exited";
        }
        if (hang || verbose) {
            if (got != ~0ULL && got < batch_end) {
                format_call(got, last_nr, la);
                printf("fuzz: child %llu %s at %s\n", (unsigned long long)children, how, tbuf);
            } else if (verbose) {
                printf("fuzz: child %llu %s\n", (unsigned long long)children, how);
            }
        }
        rm_rf(dir);
        i = next;
        if (i >= next_progress && i < end) {
            printf("fuzz: progress calls %llu\n", (unsigned long long)(i - start));
            next_progress = (i / 10000 + 1) * 10000;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    rm_rf(root);
    u64 ms = now_ms() - t0;
    printf("fuzz: seed %llu calls %llu batches %llu children %llu crashed %llu (", (unsigned long long)seed,
           (unsigned long long)issued, (unsigned long long)batches, (unsigned long long)children,
           (unsigned long long)crashed);
    int first = 1;
    u64 rt = 0;
    for (int s = 32; s < 65; s++)
        rt += by_signal[s];
    for (int s = 1; s < 33; s++) {
        if (s == 32 && rt) {
            printf("%sSIGRT %llu", first ? "" : ", ", (unsigned long long)rt);
            first = 0;
        }
        if (s == 32 || !by_signal[s])
            continue;
        static const char *const names[32] = {0, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
            "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"};
        const char *n = names[s];
        printf("%sSIG%s %llu", first ? "" : ", ", n, (unsigned long long)by_signal[s]);
        first = 0;
    }
    printf(") exited %llu stopped %llu hung %llu parent_errors %llu elapsed_ms %llu calls_per_s %llu\n",
           (unsigned long long)exited, (unsigned long long)stopped, (unsigned long long)hung,
           (unsigned long long)parent_errors, (unsigned long long)ms,
           (unsigned long long)(ms ? issued * 1000 / ms : 0));
    return 0;
}
