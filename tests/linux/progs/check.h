/*
 * check.h - the small harness every tests/linux program shares.
 *
 * Each check prints exactly one line to stdout and flushes it:
 *     ok - <what was checked>[: ERRNO]
 *     FAIL - <what was checked> (got ..., expected ...)
 * t_done() prints "<name>: N passed, M failed" and returns the exit status
 * (0 when every check passed, 1 otherwise).
 *
 * Output must be identical on native Linux and on our system, so an "ok"
 * line never contains a PID, inode number, address, time or size that
 * depends on the system: only the FAIL detail may show such values.
 *
 * Programs call the raw system call (syscall(SYS_x, ...)) wherever musl's
 * wrapper would check the arguments itself or pick another system call
 * (mprotect rounds addresses, mmap rejects unaligned offsets, dup3 rejects
 * old == new, brk/sbrk always fail, ...): the point is to test the kernel.
 */
#ifndef CHECK_H
#define CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Not every program uses every helper. */
#define T_FN static __attribute__((unused))

static int t_pass, t_fail;
static const char *t_name = "test";

T_FN const char *errname(int e)
{
    static char buf[24];
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
    E(EOVERFLOW) E(EOPNOTSUPP) E(ETXTBSY) E(ENODATA) E(ETIMEDOUT) E(EDEADLK)
#undef E
    case 0: return "0";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

/*
 * In a child started by t_spawn (see "Processes" below) check lines go to
 * the parent through this pipe instead of stdout.
 */
static int t_report_fd = -1;

/* Emit one finished line ("ok - ..." / "FAIL - ...") and count it. */
T_FN void t_emit(int ok, const char *line)
{
    if (t_report_fd >= 0) {
        char buf[1024];
        int n = snprintf(buf, sizeof buf - 1, "%s", line);
        if (n > (int)sizeof buf - 2)
            n = sizeof buf - 2;
        buf[n++] = '\n';
        ssize_t w;
        do
            w = write(t_report_fd, buf, n); /* one write under PIPE_BUF: never torn */
        while (w < 0 && errno == EINTR);
    } else {
        fputs(line, stdout);
        putchar('\n');
        fflush(stdout); /* a line per write: nothing is lost if we crash later */
    }
    if (ok)
        t_pass++;
    else
        t_fail++;
}

T_FN void t_line(int ok, const char *detail, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s", ok ? "ok - " : "FAIL - ");
    n += vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (detail && *detail && n < (int)sizeof line)
        snprintf(line + n, sizeof line - n, "%s%s", ok ? ": " : " ", detail);
    t_emit(ok, line);
}

__attribute__((format(printf, 3, 4))) T_FN int t_check(int ok, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t_line(ok, detail, fmt, ap);
    va_end(ap);
    return ok;
}

/* CHECK(cond, "what", ...): passes when cond is true. */
#define CHECK(cond, ...)                                                                                              \
    ({                                                                                                                 \
        int c_ = !!(cond);                                                                                             \
        t_check(c_, c_ ? "" : "(failed: " #cond ")", __VA_ARGS__);                                                     \
    })

/* EXPECT_EQ(got, expected, "what", ...): integer comparison. */
#define EXPECT_EQ(got, exp, ...)                                                                                      \
    ({                                                                                                                 \
        long long g_ = (long long)(got), x_ = (long long)(exp);                                                        \
        char d_[96] = "";                                                                                              \
        if (g_ != x_)                                                                                                  \
            snprintf(d_, sizeof d_, "(got %lld, expected %lld)", g_, x_);                                              \
        t_check(g_ == x_, d_, __VA_ARGS__);                                                                            \
    })

/* EXPECT_STR(got, expected, "what", ...) */
#define EXPECT_STR(got, exp, ...)                                                                                     \
    ({                                                                                                                 \
        const char *g_ = (got), *x_ = (exp);                                                                           \
        char d_[600] = "";                                                                                             \
        int ok_ = g_ && strcmp(g_, x_) == 0;                                                                           \
        if (!ok_)                                                                                                      \
            snprintf(d_, sizeof d_, "(got \"%.250s\", expected \"%.250s\")", g_ ? g_ : "(null)", x_);                  \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/*
 * EXPECT_ERR(expr, ERRNO, "what", ...): expr must return -1 with errno ERRNO.
 * The ok line ends in ": ERRNO". Evaluates to 1 when the check passed.
 */
#define EXPECT_ERR(expr, err, ...)                                                                                    \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr);                                                                                        \
        int e_ = errno, ok_ = (r_ == -1 && e_ == (err));                                                               \
        char d_[96];                                                                                                   \
        if (ok_)                                                                                                       \
            snprintf(d_, sizeof d_, "%s", errname(err));                                                               \
        else                                                                                                           \
            snprintf(d_, sizeof d_, "(got %ld, errno %s; expected -1, %s)", r_, r_ == -1 ? errname(e_) : "-",         \
                     errname(err));                                                                                    \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/*
 * EXPECT_OK(expr, "what", ...): expr must not return -1. Evaluates to the
 * value of expr, so `int fd = EXPECT_OK(open(...), "open");` works.
 */
#define EXPECT_OK(expr, ...)                                                                                          \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr);                                                                                        \
        int e_ = errno;                                                                                                \
        char d_[96] = "";                                                                                              \
        if (r_ == -1)                                                                                                  \
            snprintf(d_, sizeof d_, "(failed with %s)", errname(e_));                                                  \
        t_check(r_ != -1, d_, __VA_ARGS__);                                                                            \
        r_;                                                                                                            \
    })

/* EXPECT_RET(expr, value, "what", ...): expr must return exactly value. */
#define EXPECT_RET(expr, val, ...)                                                                                    \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr), v_ = (long)(val);                                                                      \
        int e_ = errno;                                                                                                \
        char d_[96] = "";                                                                                              \
        if (r_ != v_)                                                                                                  \
            snprintf(d_, sizeof d_, "(got %ld%s%s, expected %ld)", r_, r_ == -1 ? " errno " : "",                     \
                     r_ == -1 ? errname(e_) : "", v_);                                                                 \
        t_check(r_ == v_, d_, __VA_ARGS__);                                                                            \
    })

/* Milliseconds on CLOCK_MONOTONIC. */
T_FN long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Sleep `ms` milliseconds, resuming after signal handlers. */
T_FN void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Remove a path recursively (like rm -rf); errors are ignored. */
T_FN void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            char sub[4096];
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/*
 * Start a test program: remember its name, create a fresh scratch
 * directory /tmp/<name> and make it the working directory.
 */
T_FN void t_begin(const char *name)
{
    char dir[256];
    t_name = name;
    snprintf(dir, sizeof dir, "/tmp/%s", name);
    rm_rf(dir);
    if (mkdir(dir, 0755) != 0 || chdir(dir) != 0) {
        printf("FAIL - %s: cannot set up scratch directory %s (%s)\n", name, dir, errname(errno));
        fflush(stdout);
        exit(1);
    }
}

/* Finish: print the summary line, remove the scratch directory, give the exit status. */
T_FN int t_done(void)
{
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/%s", t_name);
    if (chdir("/") == 0)
        rm_rf(dir);
    printf("%s: %d passed, %d failed\n", t_name, t_pass, t_fail);
    fflush(stdout);
    return t_fail ? 1 : 0;
}

/* Create (or replace) a file holding len bytes of data; returns 0 or -1. */
T_FN int put_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    ssize_t n = len ? write(fd, data, len) : 0;
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* Read up to cap-1 bytes of a file into buf, NUL-terminated; returns the length or -1. */
T_FN long get_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

/*
 * Processes (the fork, exec, wait, signal and thread programs).
 *
 * A check made in a child must not print on its own: the order of two
 * processes' lines would depend on the scheduler. t_spawn forks a child whose
 * check lines travel through a pipe; the parent's t_collect prints them, in
 * order, at a fixed point of its own output and counts them as its own:
 *
 *     int rd;
 *     pid_t pid = t_spawn(&rd);
 *     if (pid == 0) {                      // the child: check as usual
 *         CHECK(getppid() != getpid(), "...");
 *         t_child_exit();                  // _exit(1 if a check failed, else 0)
 *     }
 *     int st = t_collect(rd, pid);         // print its lines, reap it
 *     EXPECT_EXIT(st, 0, "the child exited 0");
 *
 * The child gets alarm(T_CHILD_SECS) so that one stuck on a bug dies instead of
 * hanging the program, and the parent's read ends when every copy of the
 * pipe's write end is closed (a grandchild keeps it too: t_quiet closes it).
 */
#include <signal.h>
#include <sys/wait.h>

#ifndef T_CHILD_SECS
#define T_CHILD_SECS 20
#endif

/* waitpid, retried on EINTR: the wait status, or -1 (errno set). */
T_FN int t_wait(pid_t pid)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : st;
}

/* A wait status in words, for FAIL details. */
T_FN const char *t_wstr(int st)
{
    static char buf[64];
    if (st == -1)
        snprintf(buf, sizeof buf, "no status (%s)", errname(errno));
    else if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "signal %d%s", WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by %d", WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        snprintf(buf, sizeof buf, "continued");
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}

/* EXPECT_EXIT(status, code, "what", ...): the process exited with code. */
#define EXPECT_EXIT(st, code, ...)                                                                                    \
    ({                                                                                                                 \
        int s_ = (st), c_ = (code), ok_ = s_ != -1 && WIFEXITED(s_) && WEXITSTATUS(s_) == c_;                          \
        char d_[96] = "";                                                                                              \
        if (!ok_)                                                                                                      \
            snprintf(d_, sizeof d_, "(got %s, expected exit %d)", t_wstr(s_), c_);                                     \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/* EXPECT_KILLED(status, sig, "what", ...): the process was killed by sig, without a core dump. */
#define EXPECT_KILLED(st, sig, ...)                                                                                   \
    ({                                                                                                                 \
        int s_ = (st), g_ = (sig), ok_ = s_ != -1 && WIFSIGNALED(s_) && WTERMSIG(s_) == g_ && !WCOREDUMP(s_);         \
        char d_[96] = "";                                                                                              \
        if (!ok_)                                                                                                      \
            snprintf(d_, sizeof d_, "(got %s, expected signal %d)", t_wstr(s_), g_);                                   \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/* Fork a child that reports its checks through a pipe: see above. */
T_FN pid_t t_spawn(int *rd)
{
    int p[2];
    *rd = -1;
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        t_report_fd = p[1];
        t_pass = t_fail = 0;
        alarm(T_CHILD_SECS);
        return 0;
    }
    close(p[1]);
    *rd = p[0];
    return pid;
}

/*
 * Start from a known signal state whatever the caller left us (a shell may
 * leave SIGINT or SIGQUIT ignored, a parent may block signals): every
 * catchable signal to SIG_DFL, none blocked.
 */
T_FN void t_reset_signals(void)
{
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * kill and killpg for a pid that fork returned: a failed fork (-1) must not
 * turn into kill(-1, sig), which signals every process we may signal, or
 * into killpg(-1, sig), which is kill(1, sig).
 */
T_FN int t_kill(pid_t pid, int sig)
{
    if (pid == -1 || pid == 0) {
        errno = ESRCH;
        return -1;
    }
    return kill(pid, sig);
}

T_FN int t_killpg(pid_t pgid, int sig)
{
    if (pgid <= 1) {
        errno = ESRCH;
        return -1;
    }
    return kill(-pgid, sig);
}

/* The end of a t_spawn child. */
T_FN void t_child_exit(void)
{
    _exit(t_fail ? 1 : 0);
}

/* In a helper process that makes no checks: let go of the report pipe. */
T_FN void t_quiet(void)
{
    if (t_report_fd >= 0)
        close(t_report_fd);
    t_report_fd = -1;
}

/* Print (or pass up) one line a child reported. */
T_FN void t_relay(const char *line)
{
    if (strncmp(line, "ok - ", 5) == 0)
        t_emit(1, line);
    else if (strncmp(line, "FAIL - ", 7) == 0)
        t_emit(0, line);
    else {
        char buf[1024];
        snprintf(buf, sizeof buf, "FAIL - a child printed: %.900s", line);
        t_emit(0, buf);
    }
}

/*
 * The parent's side: print the child's lines until every writer is gone,
 * then reap the child (pid > 0) and return its wait status (-1 if that failed).
 * With pid -1 nothing is reaped. A failed t_spawn (rd -1) is a FAIL.
 */
T_FN int t_collect(int rd, pid_t pid)
{
    if (rd < 0) {
        t_emit(0, "FAIL - could not start a child (fork or pipe failed)");
        return -1;
    }
    char buf[2048];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(rd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += n;
        char *nl;
        while ((nl = memchr(buf, '\n', len))) {
            *nl = 0;
            t_relay(buf);
            size_t used = nl + 1 - buf;
            memmove(buf, nl + 1, len - used);
            len -= used;
        }
        if (len == sizeof buf - 1) {
            buf[len] = 0;
            t_relay(buf);
            len = 0;
        }
    }
    if (len) {
        buf[len] = 0;
        t_relay(buf);
    }
    close(rd);
    return pid > 0 ? t_wait(pid) : 0;
}

/* Is every byte of buf zero? */
T_FN int all_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

#endif
