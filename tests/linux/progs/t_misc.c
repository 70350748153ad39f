/*
 * t_misc - process identity and environment: uname, PIDs/TIDs, credentials,
 * getgroups, getrandom, sysinfo, scheduling, resource limits,
 * set_tid_address, arch_prctl, prctl names, terminal ioctls.
 * Only system-independent facts are printed (no PIDs, sizes or times).
 */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <termios.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static void test_identity(void)
{
    struct utsname u;
    EXPECT_RET(syscall(SYS_uname, &u), 0, "uname");
    EXPECT_STR(u.sysname, "Linux", "uname sysname");
    EXPECT_STR(u.machine, "x86_64", "uname machine");
    CHECK(u.release[0] >= '0' && u.release[0] <= '9', "uname release starts with a digit");

    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid), ppid = syscall(SYS_getppid);
    CHECK(pid > 0, "getpid > 0");
    CHECK(tid == pid, "gettid == getpid in a single-threaded process");
    CHECK(ppid >= 0 && ppid != pid, "getppid >= 0 and differs from getpid");
    CHECK(getpid() == pid && gettid() == tid, "musl getpid/gettid agree with the system calls");
    static int ctid;
    EXPECT_RET(syscall(SYS_set_tid_address, &ctid), tid, "set_tid_address returns the tid");

    EXPECT_RET(syscall(SYS_getuid), 0, "getuid is 0");
    EXPECT_RET(syscall(SYS_geteuid), 0, "geteuid is 0");
    EXPECT_RET(syscall(SYS_getgid), 0, "getgid is 0");
    EXPECT_RET(syscall(SYS_getegid), 0, "getegid is 0");
    uid_t r = 9, e = 9, s = 9;
    EXPECT_RET(syscall(SYS_getresuid, &r, &e, &s), 0, "getresuid");
    CHECK(r == 0 && e == 0 && s == 0, "real, effective and saved uid are 0");
    gid_t gr = 9, ge = 9, gs = 9;
    EXPECT_RET(syscall(SYS_getresgid, &gr, &ge, &gs), 0, "getresgid");
    CHECK(gr == 0 && ge == 0 && gs == 0, "real, effective and saved gid are 0");

    long n = syscall(SYS_getgroups, 0, NULL);
    CHECK(n >= 0 && n <= 65536, "getgroups(0, NULL) returns the group count");
    gid_t groups[64];
    if (n >= 0 && n <= 64)
        EXPECT_RET(syscall(SYS_getgroups, 64, groups), n, "getgroups into a buffer returns the same count");
    EXPECT_ERR(syscall(SYS_getgroups, -1, groups), EINVAL, "getgroups with a negative size");
}

static void test_random_sysinfo(void)
{
    unsigned char a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    EXPECT_RET(syscall(SYS_getrandom, a, 32, 0), 32, "getrandom 32 bytes (blocking)");
    EXPECT_RET(syscall(SYS_getrandom, b, 32, 1 /* GRND_NONBLOCK */), 32, "getrandom 32 bytes GRND_NONBLOCK");
    CHECK(memcmp(a, b, 32) != 0 && !all_zero(a, 32), "two getrandom results differ and are not all zero");
    EXPECT_RET(syscall(SYS_getrandom, a, 0, 0), 0, "getrandom 0 bytes");
    EXPECT_ERR(syscall(SYS_getrandom, a, 8, 0x100), EINVAL, "getrandom with an unknown flag");

    struct sysinfo si;
    EXPECT_RET(syscall(SYS_sysinfo, &si), 0, "sysinfo");
    CHECK(si.totalram > 0, "sysinfo totalram > 0");
    CHECK(si.freeram <= si.totalram, "sysinfo freeram <= totalram");
    CHECK(si.mem_unit >= 1, "sysinfo mem_unit >= 1");
    CHECK(si.uptime > 0, "sysinfo uptime > 0 (Linux rounds up)");
    CHECK(si.procs >= 1, "sysinfo procs >= 1");
}

static void test_sched(void)
{
    EXPECT_RET(syscall(SYS_sched_yield), 0, "sched_yield");
    unsigned long mask[16];
    memset(mask, 0, sizeof mask);
    long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    CHECK(n > 0 && n % 8 == 0, "sched_getaffinity returns a size in bytes, a multiple of 8");
    int cpus = 0;
    for (int i = 0; i < 16; i++)
        cpus += __builtin_popcountl(mask[i]);
    CHECK(cpus >= 1, "at least one CPU in the affinity mask");
    cpu_set_t set;
    EXPECT_RET(sched_getaffinity(0, sizeof set, &set), 0, "sched_getaffinity (musl wrapper) returns 0");
    EXPECT_EQ(CPU_COUNT(&set), cpus, "CPU_COUNT agrees with the raw mask");
    EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 4, mask), EINVAL, "sched_getaffinity with a 4-byte buffer");
    EXPECT_RET(syscall(SYS_sched_getscheduler, 0), SCHED_OTHER, "sched_getscheduler is SCHED_OTHER");
    struct sched_param sp = {.sched_priority = 9};
    EXPECT_RET(syscall(SYS_sched_getparam, 0, &sp), 0, "sched_getparam");
    EXPECT_EQ(sp.sched_priority, 0, "sched_priority is 0");
    EXPECT_RET(syscall(SYS_getpriority, PRIO_PROCESS, 0), 20, "getpriority system call returns 20 - nice (nice 0)");
    struct rusage ru;
    EXPECT_RET(syscall(SYS_getrusage, RUSAGE_SELF, &ru), 0, "getrusage RUSAGE_SELF");
    EXPECT_ERR(syscall(SYS_getrusage, 42, &ru), EINVAL, "getrusage with who 42");
}

static void test_rlimits(void)
{
    struct rlimit nf, st, rl, p;
    EXPECT_RET(syscall(SYS_getrlimit, RLIMIT_NOFILE, &nf), 0, "getrlimit RLIMIT_NOFILE");
    CHECK(nf.rlim_cur >= 64 && nf.rlim_cur <= nf.rlim_max, "RLIMIT_NOFILE: 64 <= soft <= hard");
    EXPECT_RET(syscall(SYS_getrlimit, RLIMIT_STACK, &st), 0, "getrlimit RLIMIT_STACK");
    CHECK(st.rlim_cur >= 128 * 1024 && st.rlim_cur <= st.rlim_max, "RLIMIT_STACK: 128 KiB <= soft <= hard");
    EXPECT_RET(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &p), 0, "prlimit64 read RLIMIT_NOFILE");
    CHECK(p.rlim_cur == nf.rlim_cur && p.rlim_max == nf.rlim_max, "prlimit64 agrees with getrlimit");
    EXPECT_RET(syscall(SYS_prlimit64, syscall(SYS_getpid), RLIMIT_STACK, NULL, &p), 0, "prlimit64 on our own pid");
    CHECK(p.rlim_cur == st.rlim_cur, "prlimit64 on our own pid agrees");
    EXPECT_ERR(syscall(SYS_prlimit64, 0x3fffffff, RLIMIT_NOFILE, NULL, &p), ESRCH, "prlimit64 on a nonexistent pid");
    EXPECT_ERR(syscall(SYS_getrlimit, 999, &rl), EINVAL, "getrlimit with resource 999");

    /* lower, check, raise back */
    rl.rlim_cur = 512;
    rl.rlim_max = nf.rlim_max;
    EXPECT_RET(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0, "setrlimit RLIMIT_NOFILE soft to 512");
    syscall(SYS_getrlimit, RLIMIT_NOFILE, &p);
    CHECK(p.rlim_cur == 512 && p.rlim_max == nf.rlim_max, "getrlimit shows soft 512, hard unchanged");
    struct rlimit old;
    rl.rlim_cur = nf.rlim_cur;
    EXPECT_RET(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, &old), 0, "prlimit64 raises it back");
    CHECK(old.rlim_cur == 512, "prlimit64 returned the old soft limit 512");
    syscall(SYS_getrlimit, RLIMIT_NOFILE, &p);
    CHECK(p.rlim_cur == nf.rlim_cur, "soft limit restored");
    rl.rlim_cur = nf.rlim_max + 1;
    rl.rlim_max = nf.rlim_max;
    EXPECT_ERR(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl), EINVAL, "setrlimit soft above hard");
    struct rlimit core;
    syscall(SYS_getrlimit, RLIMIT_CORE, &core);
    rl.rlim_cur = 0;
    rl.rlim_max = core.rlim_max;
    EXPECT_RET(syscall(SYS_setrlimit, RLIMIT_CORE, &rl), 0, "setrlimit RLIMIT_CORE soft to 0");
    EXPECT_RET(syscall(SYS_setrlimit, RLIMIT_CORE, &core), 0, "setrlimit RLIMIT_CORE back");
    EXPECT_RET(getrlimit(RLIMIT_NOFILE, &p), 0, "getrlimit (musl wrapper)");
    CHECK(p.rlim_cur == nf.rlim_cur, "musl getrlimit agrees");
}

static void test_arch(void)
{
    unsigned long fs = 0, gs = 1, tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    EXPECT_RET(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0, "arch_prctl ARCH_GET_FS");
    CHECK(fs != 0 && fs == (unsigned long)pthread_self(), "ARCH_GET_FS is musl's thread pointer");
    CHECK(tp == fs, "fs:0 holds the thread pointer itself (TLS self-pointer)");
    EXPECT_RET(syscall(SYS_arch_prctl, ARCH_SET_FS, fs), 0, "arch_prctl ARCH_SET_FS (same value)");
    EXPECT_RET(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0, "arch_prctl ARCH_GET_GS");
    EXPECT_EQ(gs, 0, "GS base is 0");
    EXPECT_ERR(syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL, "arch_prctl with an unknown code");
    EXPECT_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, 1UL << 63), EPERM, "ARCH_SET_FS to a non-canonical address");
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    CHECK(tp == fs, "TLS still works after the failed ARCH_SET_FS");

    char name[32] = "";
    EXPECT_RET(prctl(PR_SET_NAME, "tmisc-renamed"), 0, "prctl PR_SET_NAME");
    EXPECT_RET(prctl(PR_GET_NAME, name), 0, "prctl PR_GET_NAME");
    EXPECT_STR(name, "tmisc-renamed", "PR_GET_NAME returns the new name");
    prctl(PR_SET_NAME, "a-very-long-thread-name");
    prctl(PR_GET_NAME, name);
    EXPECT_STR(name, "a-very-long-thr", "PR_SET_NAME truncates to 15 bytes");
}

static void test_ioctl(void)
{
    struct termios t;
    struct winsize ws;
    int tty = isatty(1);
    printf("ok - isatty(1): %s\n", tty ? "yes" : "no");
    t_pass++;
    errno = 0;
    int r = ioctl(1, TCGETS, &t);
    CHECK(tty ? r == 0 : (r == -1 && errno == ENOTTY), "TCGETS on stdout agrees with isatty");
    r = ioctl(1, TIOCGWINSZ, &ws);
    CHECK(tty ? r == 0 : (r == -1 && errno == ENOTTY), "TIOCGWINSZ on stdout agrees with isatty");

    put_file("f", "0123456789", 10, 0644);
    int fd = open("f", O_RDONLY);
    EXPECT_ERR(ioctl(fd, TCGETS, &t), ENOTTY, "TCGETS on a regular file");
    EXPECT_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY, "TIOCGWINSZ on a regular file");
    EXPECT_RET(isatty(fd), 0, "isatty on a regular file");
    int avail = -1;
    lseek(fd, 3, SEEK_SET);
    EXPECT_RET(ioctl(fd, FIONREAD, &avail), 0, "FIONREAD on a regular file");
    EXPECT_EQ(avail, 7, "FIONREAD gives the bytes left to read (7)");
    EXPECT_ERR(ioctl(fd, 0x12345678, &avail), ENOTTY, "unknown ioctl on a regular file");
    close(fd);
    EXPECT_ERR(ioctl(1000, TCGETS, &t), EBADF, "ioctl on a closed fd");
}

int main(void)
{
    t_begin("t_misc");
    test_identity();
    test_random_sysinfo();
    test_sched();
    test_rlimits();
    test_arch();
    test_ioctl();
    return t_done();
}
