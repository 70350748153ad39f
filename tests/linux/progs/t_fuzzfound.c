/*
 * t_fuzzfound - regressions for what the system-call fuzzer
 * (tests/linux/ours/fuzz_syscalls.c, docs/robustness.md) found, each as
 * Linux does it:
 *   - truncate() of a program a live process runs is ETXTBSY (the fuzzer
 *     truncated its own /proc/self/exe and its parent, running the same
 *     file, died of SIGSEGV),
 *   - a clone child's exit signal is reset to SIGCHLD when it is reparented
 *     (a zombie with exit signal SIGINT, orphaned, must not kill its new
 *     parent or init), and CLONE_PARENT takes the caller's exit signal, not
 *     the one given,
 *   - /proc/<pid> is gone once the process is reaped, and /proc's names
 *     cannot be added to, removed or renamed (a name the fuzzer added in
 *     /proc/<pid> kept that directory alive after the process),
 *   - mincore of a terabyte-sized mapping answers page by page (ours built
 *     the whole 512 MiB answer in the server's heap and the server died).
 */
#include "check.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static volatile sig_atomic_t usr1, chld;
static void on_usr1(int s) { (void)s; usr1++; }
static void on_chld(int s) { (void)s; chld++; }

/* fork through the raw clone call with exit signal sig (and extra flags). */
static pid_t clone_with(unsigned long flags, int sig)
{
    return (pid_t)syscall(SYS_clone, flags | (unsigned long)sig, 0, 0, 0, 0);
}

int main(void)
{
    t_begin("t_fuzzfound");

    /* A running program cannot be truncated. */
    EXPECT_ERR(truncate("/proc/self/exe", 0), ETXTBSY, "truncate of the running program");
    EXPECT_ERR(truncate("/proc/self/exe", 4097), ETXTBSY, "truncate of the running program to 4097");
    EXPECT_ERR(truncate("/proc/self/exe", -1), EINVAL, "truncate of the running program to -1");
    EXPECT_ERR(open("/proc/self/exe", O_WRONLY), ETXTBSY, "open of the running program for writing");
    struct stat st;
    CHECK(stat("/proc/self/exe", &st) == 0 && st.st_size > 4097, "the program kept its size");
    put_file("prog", "not running\n", 12, 0755);
    EXPECT_OK(truncate("prog", 4), "truncate of a file nobody runs");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, 0);
    EXPECT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");

    /* An orphaned zombie whose exit signal was SIGUSR1 comes to us as an
     * ordinary child: SIGCHLD, and wait without __WCLONE finds it. */
    pid_t b = fork();
    if (b == 0) {
        pid_t g = clone_with(0, SIGUSR1);
        if (g == 0)
            _exit(7);
        siginfo_t si;
        /* Wait for its end without reaping it. */
        int r;
        do
            r = waitid(P_PID, g, &si, WEXITED | WNOWAIT | __WCLONE);
        while (r < 0 && errno == EINTR); /* its SIGUSR1 may come first */
        _exit(g > 0 && r == 0 ? 0 : 1);
    }
    int s = t_wait(b);
    EXPECT_EXIT(s, 0, "the middle process saw its clone child end");
    int gs = 0;
    pid_t g = waitpid(-1, &gs, 0);
    CHECK(g > 0 && g != b, "the orphan is our child, found without __WCLONE");
    EXPECT_EXIT(g > 0 ? gs : -1, 7, "the orphan's status");
    sleep_ms(20);
    EXPECT_EQ(usr1, 0, "no SIGUSR1 for the adopted orphan");
    CHECK(chld >= 1, "SIGCHLD for the children");

    /* CLONE_PARENT: the sibling's end reaches us by SIGCHLD (the middle
     * process's own exit signal), not by the SIGUSR1 it asked for. */
    usr1 = 0;
    b = fork();
    if (b == 0) {
        pid_t g2 = clone_with(CLONE_PARENT, SIGUSR1);
        if (g2 == 0)
            _exit(9);
        _exit(g2 > 0 ? 0 : 1);
    }
    s = t_wait(b);
    EXPECT_EXIT(s, 0, "CLONE_PARENT clone made");
    g = waitpid(-1, &gs, 0);
    CHECK(g > 0 && g != b, "the CLONE_PARENT sibling is our child, found without __WCLONE");
    EXPECT_EXIT(g > 0 ? gs : -1, 9, "the sibling's status");
    sleep_ms(20);
    EXPECT_EQ(usr1, 0, "no SIGUSR1 for the CLONE_PARENT sibling");

    /* /proc is not a place for names of one's own. */
    put_file("pf", "x", 1, 0644);
    EXPECT_ERR(mkdir("/proc/self/d", 0755), ENOENT, "mkdir in /proc/self");
    EXPECT_ERR(open("/proc/self/newf", O_CREAT | O_WRONLY, 0644), ENOENT, "O_CREAT in /proc/self");
    EXPECT_ERR(mknod("/proc/self/n", S_IFIFO | 0600, 0), ENOENT, "mknod in /proc/self");
    EXPECT_ERR(symlink("x", "/proc/self/sl"), ENOENT, "symlink in /proc/self");
    EXPECT_ERR(link("pf", "/proc/self/lnk"), ENOENT, "link into /proc/self");
    EXPECT_ERR(link("/proc/self/status", "l2"), EXDEV, "link out of /proc");
    EXPECT_ERR(rename("/proc/self/status", "x"), EXDEV, "rename out of /proc");
    EXPECT_ERR(rename("pf", "/proc/self/maps"), EXDEV, "rename over a /proc file");
    EXPECT_ERR(rename("/proc/self/status", "/proc/self/st2"), ENOENT, "rename within /proc/self");
    EXPECT_ERR(unlink("/proc/self/status"), EPERM, "unlink in /proc/self");
    EXPECT_ERR(unlink("/proc/meminfo"), EPERM, "unlink in /proc");
    EXPECT_ERR(rmdir("/proc"), EBUSY, "rmdir /proc");
    EXPECT_ERR(rename("/proc", "p"), EBUSY, "rename /proc");
    EXPECT_ERR(mkdir("/proc/newdir", 0755), ENOENT, "mkdir in /proc");
    CHECK(access("/proc/self/status", R_OK) == 0, "/proc/self/status is still there");

    /* /proc/<pid> goes with the reaped process. */
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)c);
    EXPECT_EXIT(t_wait(c), 0, "child exited");
    EXPECT_ERR(access(path, F_OK), ENOENT, "/proc/<pid> after the child is reaped");

    /* mincore of 2 TiB of PROT_NONE: the answer vector's first page is
     * writable, the next is not: EFAULT, the first page filled in. */
    size_t huge = (size_t)2 << 40;
    char *area = mmap(0, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    EXPECT_EQ(area != MAP_FAILED, 1, "a 2 TiB PROT_NONE mapping");
    unsigned char *vec = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_EQ(vec != MAP_FAILED && munmap(vec + 4096, 4096) == 0, 1, "a one-page answer buffer");
    memset(vec, 7, 4096);
    if (area != MAP_FAILED) {
        EXPECT_ERR(mincore(area, huge, vec), EFAULT, "mincore of 2 TiB into one page");
        EXPECT_EQ(vec[0] | vec[4095], 0, "its first page says: not resident");
        EXPECT_OK(mincore(area, 4096 * 4096, vec), "mincore of 16 MiB of it");
        EXPECT_OK(munmap(area, huge), "munmap of the 2 TiB");
    }
    return t_done();
}
