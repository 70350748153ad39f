/*
 * bench.h - the harness every tests/bench program shares (lmbench-style
 * microbenchmarks that run unchanged on native Linux and on our system).
 *
 * A program calls bench_init(argc, argv, name) and then bench_run() once per
 * row. bench_run() picks the number of operations N per repetition by
 * calibration (doubling runs until one lasts a good part of the target time,
 * then scaling), runs R repetitions of N operations each (R = 5, or 3 with
 * -q) and prints one line on stdout:
 *
 *     @bench <row> <value> <unit> ops=<N> reps=<R> ctxt=<C> cr3=<X> pkru=<P>
 *
 *   value  the MEDIAN over the R repetitions, %.3f; unit "us" (microseconds
 *          per operation) or "MB/s" (10^6 bytes per second).
 *   ops    operations per repetition (N).
 *   ctxt   context switches per operation: the increase of the "ctxt" line
 *          of /proc/stat (system-wide) summed over all R repetitions divided
 *          by the operations of all R repetitions (total/total, not the
 *          median repetition); "-" when /proc/stat has no ctxt line.
 *   cr3    the same for "cr3_loads" in /proc/l4/counters (lines "name value";
 *          only our system has it); "-" when the file or the line is absent.
 *   pkru   the same for "pkru_writes" (protection-key switches between
 *          small and large address spaces under tlb=small).
 *
 * Counters are read outside the timed interval: read counters, start the
 * clock, run, stop the clock, read counters. Time is CLOCK_MONOTONIC.
 *
 * Target time per repetition: 250 ms (full) or 20 ms (-q). One warm-up run
 * of min_n units and the calibration runs come first and are not reported. A row may bound N (min_n/max_n,
 * and qmin_n/qmax_n in quick mode).
 *
 * bench_done() then prints, on a system whose /proc/self/status has the
 * "SyscallsTrapped:" and "SyscallsDirect:" lines (ours; not Linux), how the
 * measuring process's own system calls reached the server:
 *
 *     @bench-syscalls <program> trapped=<T> direct=<D>
 *
 * (D is the libc shim's direct IPC calls; children are not counted).
 *
 * Nothing but @bench lines goes to stdout. Errors go to stderr as
 * "<program>: <what> failed: <strerror> (errno N)" and the program exits 1
 * after killing and reaping its children. A safety alarm (240 s, 60 s with
 * -q) ends a hung program with status 3; every child started with
 * bench_fork() has its own alarm a little later, so none outlives the run.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Not every program uses every helper. */
#define B_FN static __attribute__((unused))

#define BENCH_TARGET_NS_FULL 250000000.0
#define BENCH_TARGET_NS_QUICK 20000000.0
#ifndef BENCH_SAFETY_SECS_FULL
#define BENCH_SAFETY_SECS_FULL 240
#endif
#ifndef BENCH_SAFETY_SECS_QUICK
#define BENCH_SAFETY_SECS_QUICK 60
#endif
#define BENCH_MAX_REPS 16
#define BENCH_MAX_KIDS 64

static int bench_quick;
static int bench_reps = 5;
static const char *bench_name = "bench";
static const char *bench_argv0 = "";
static pid_t bench_kids[BENCH_MAX_KIDS];
static int bench_nkids;
/* Called (once) on every error exit, also from the safety alarm's handler:
 * must be async-signal-safe (e.g. unlink a scratch file). */
static void (*bench_cleanup)(void);

/* ---- time ---- */

B_FN double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- children and errors ---- */

/* Async-signal-safe: kill every registered child and reap it, then run
 * bench_cleanup. */
B_FN void bench_kill_children(void)
{
    for (int i = 0; i < bench_nkids; i++) {
        if (bench_kids[i] > 0) {
            kill(bench_kids[i], SIGKILL);
            while (waitpid(bench_kids[i], NULL, 0) < 0 && errno == EINTR)
                ;
            bench_kids[i] = 0;
        }
    }
    bench_nkids = 0;
    if (bench_cleanup) {
        void (*f)(void) = bench_cleanup;
        bench_cleanup = NULL;
        f();
    }
}

B_FN void __attribute__((noreturn, format(printf, 1, 2))) bench_die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    bench_kill_children();
    exit(1);
}

/* "<what> failed: <strerror(errno)> (errno N)", then exit 1. */
B_FN void __attribute__((noreturn)) bench_die_errno(const char *what)
{
    int e = errno;
    bench_die("%s failed: %s (errno %d)", what, strerror(e), e);
}

static void bench_on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = ": safety alarm: timed out, killing children\n";
    write(2, bench_name, strlen(bench_name));
    write(2, msg, sizeof msg - 1);
    bench_kill_children();
    _exit(3);
}

B_FN unsigned bench_child_secs(void)
{
    return (bench_quick ? BENCH_SAFETY_SECS_QUICK : BENCH_SAFETY_SECS_FULL) + 10;
}

/*
 * fork() for helper processes that live for a while (pipe partners): the
 * parent registers the child so every exit path kills and reaps it; the
 * child gets SIGALRM's default action and its own safety alarm. A child
 * must leave with _exit(), never exit() (stdio buffers are the parent's).
 */
B_FN pid_t bench_fork(void)
{
    if (bench_nkids >= BENCH_MAX_KIDS)
        bench_die("too many children");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        bench_die_errno("fork");
    if (pid == 0) {
        bench_nkids = 0;
        bench_cleanup = NULL;
        signal(SIGALRM, SIG_DFL);
        alarm(bench_child_secs());
        return 0;
    }
    bench_kids[bench_nkids++] = pid;
    return pid;
}

/* Wait for a registered child, which must exit with status 0. */
B_FN void bench_reap(pid_t pid)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        bench_die_errno("waitpid");
    for (int i = 0; i < bench_nkids; i++)
        if (bench_kids[i] == pid)
            bench_kids[i] = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        bench_die("child %d ended with wait status 0x%x", (int)pid, st);
}

/* ---- counters ---- */

/* The number after "<key> " on a line of a small text file; -1 if absent. */
B_FN long long bench_file_value(const char *path, const char *key)
{
    static char buf[256 * 1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = 0;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '\t')) {
            char *end;
            long long v = strtoll(line + klen, &end, 10);
            return end == line + klen ? -1 : v;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

struct bench_ctr {
    long long ctxt; /* -1: absent */
    long long cr3;  /* -1: absent */
    long long pkru; /* -1: absent */
};

B_FN void bench_ctr_read(struct bench_ctr *c)
{
    c->ctxt = bench_file_value("/proc/stat", "ctxt");
    c->cr3 = bench_file_value("/proc/l4/counters", "cr3_loads");
    c->pkru = bench_file_value("/proc/l4/counters", "pkru_writes");
}

/* ---- measurement ---- */

/* What one measurement accumulates (bench_resume .. bench_pause). */
static struct {
    double ns;
    long long ctxt, cr3, pkru;
    int ctxt_ok, cr3_ok, pkru_ok;
    double t0;
    struct bench_ctr c0;
} bench_acc;

/* Start (or continue) the timed interval. Self-timed rows call this and
 * bench_pause() around the part to measure, possibly several times. */
B_FN void bench_resume(void)
{
    bench_ctr_read(&bench_acc.c0);
    bench_acc.t0 = bench_now_ns();
}

B_FN void bench_pause(void)
{
    double t = bench_now_ns();
    struct bench_ctr c;
    bench_ctr_read(&c);
    bench_acc.ns += t - bench_acc.t0;
    if (c.ctxt >= 0 && bench_acc.c0.ctxt >= 0)
        bench_acc.ctxt += c.ctxt - bench_acc.c0.ctxt;
    else
        bench_acc.ctxt_ok = 0;
    if (c.cr3 >= 0 && bench_acc.c0.cr3 >= 0)
        bench_acc.cr3 += c.cr3 - bench_acc.c0.cr3;
    else
        bench_acc.cr3_ok = 0;
    if (c.pkru >= 0 && bench_acc.c0.pkru >= 0)
        bench_acc.pkru += c.pkru - bench_acc.c0.pkru;
    else
        bench_acc.pkru_ok = 0;
}

struct bench {
    const char *row;
    const char *unit;          /* "us" (default) or "MB/s" */
    void (*fn)(long n, void *arg); /* performs n units of work */
    void *arg;
    int self_timed;            /* fn calls bench_resume/bench_pause itself */
    long per_n;                /* operations per unit of n (default 1) */
    double bytes_per_op;       /* MB/s rows: bytes moved per operation */
    long min_n, max_n;         /* bounds on n (full mode; 0: none) */
    long qmin_n, qmax_n;       /* bounds on n with -q (0: 1 / max_n) */
};

static void bench_measure(const struct bench *b, long n)
{
    bench_acc.ns = 0;
    bench_acc.ctxt = bench_acc.cr3 = bench_acc.pkru = 0;
    bench_acc.ctxt_ok = bench_acc.cr3_ok = bench_acc.pkru_ok = 1;
    if (b->self_timed) {
        b->fn(n, b->arg);
    } else {
        bench_resume();
        b->fn(n, b->arg);
        bench_pause();
    }
}

static void bench_sort(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

B_FN void bench_run(const struct bench *b)
{
    const char *unit = b->unit ? b->unit : "us";
    int mbps = strcmp(unit, "MB/s") == 0;
    long per = b->per_n > 0 ? b->per_n : 1;
    long min_n = bench_quick ? (b->qmin_n > 0 ? b->qmin_n : 1) : (b->min_n > 0 ? b->min_n : 1);
    long max_n = bench_quick ? (b->qmax_n > 0 ? b->qmax_n : b->max_n) : b->max_n;
    if (max_n <= 0)
        max_n = LONG_MAX / 1024;
    if (min_n > max_n)
        min_n = max_n;
    double target = bench_quick ? BENCH_TARGET_NS_QUICK : BENCH_TARGET_NS_FULL;

    /* Warm-up (caches, first-touch faults of freshly forked partners),
     * then calibration: grow n until a run lasts 40% of the target. */
    long n = min_n;
    double t;
    bench_measure(b, n);
    for (;;) {
        bench_measure(b, n);
        t = bench_acc.ns;
        if (n >= max_n || t >= 0.4 * target)
            break;
        double f = t > 0 ? 0.6 * target / t : 100;
        if (f > 100)
            f = 100;
        if (f < 2)
            f = 2;
        double next = (double)n * f;
        n = next >= (double)max_n ? max_n : (long)next;
    }
    if (t > 0) {
        double want = (double)n * target / t;
        n = want >= (double)max_n ? max_n : want < (double)min_n ? min_n : (long)want;
    }
    if (n < 1)
        n = 1;

    double v[BENCH_MAX_REPS] = { 0 };
    long long ctxt = 0, cr3 = 0, pkru = 0;
    int ctxt_ok = 1, cr3_ok = 1, pkru_ok = 1;
    long ops = n * per;
    for (int r = 0; r < bench_reps; r++) {
        bench_measure(b, n);
        double ns = bench_acc.ns > 0 ? bench_acc.ns : 1;
        if (mbps)
            v[r] = (double)ops * b->bytes_per_op * 1e3 / ns; /* bytes/ns * 1e9 / 1e6 */
        else
            v[r] = ns / 1e3 / (double)ops;
        ctxt += bench_acc.ctxt;
        cr3 += bench_acc.cr3;
        ctxt_ok &= bench_acc.ctxt_ok;
        cr3_ok &= bench_acc.cr3_ok;
        pkru += bench_acc.pkru;
        pkru_ok &= bench_acc.pkru_ok;
    }
    bench_sort(v, bench_reps);
    double median = bench_reps % 2 ? v[bench_reps / 2] : (v[bench_reps / 2 - 1] + v[bench_reps / 2]) / 2;

    char cs[32] = "-", rs[32] = "-", ps[32] = "-";
    double total_ops = (double)ops * bench_reps;
    if (ctxt_ok)
        snprintf(cs, sizeof cs, "%.2f", (double)ctxt / total_ops);
    if (cr3_ok)
        snprintf(rs, sizeof rs, "%.2f", (double)cr3 / total_ops);
    if (pkru_ok)
        snprintf(ps, sizeof ps, "%.2f", (double)pkru / total_ops);
    printf("@bench %s %.3f %s ops=%ld reps=%d ctxt=%s cr3=%s pkru=%s\n", b->row, median, unit, ops, bench_reps, cs, rs,
           ps);
    fflush(stdout);
}

/* ---- start-up ---- */

B_FN void bench_init(int argc, char **argv, const char *name)
{
    bench_name = name;
    bench_argv0 = argc > 0 ? argv[0] : "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0) {
            bench_quick = 1;
        } else {
            fprintf(stderr, "usage: %s [-q]\n", name);
            exit(2);
        }
    }
    bench_reps = bench_quick ? 3 : 5;
    /* A dead partner gives EPIPE (reported), not a silent SIGPIPE death. */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bench_on_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        bench_die_errno("sigaction SIGALRM");
    alarm(bench_quick ? BENCH_SAFETY_SECS_QUICK : BENCH_SAFETY_SECS_FULL);
}

/* Kill and reap whatever children are left, print this process's system
 * call counters where the system has them (our /proc/self/status), then the
 * program's status. */
B_FN int bench_done(void)
{
    bench_kill_children();
    long long trapped = bench_file_value("/proc/self/status", "SyscallsTrapped:");
    long long direct = bench_file_value("/proc/self/status", "SyscallsDirect:");
    if (trapped >= 0 && direct >= 0) {
        printf("@bench-syscalls %s trapped=%lld direct=%lld\n", bench_name, trapped, direct);
        fflush(stdout);
    }
    return 0;
}

/* Full read/write of len bytes (pipes may transfer less at a time). */
B_FN void bench_read_full(int fd, void *buf, size_t len, const char *what)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            bench_die_errno(what);
        if (r == 0)
            bench_die("%s: unexpected end of file", what);
        p += r;
        len -= (size_t)r;
    }
}

B_FN void bench_write_full(int fd, const void *buf, size_t len, const char *what)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            bench_die_errno(what);
        p += r;
        len -= (size_t)r;
    }
}

/* The directory of argv[0] ("/bench" when argv[0] has no slash) + "/" + file. */
B_FN const char *bench_sibling(const char *file)
{
    static char path[PATH_MAX];
    const char *slash = strrchr(bench_argv0, '/');
    if (!slash)
        snprintf(path, sizeof path, "/bench/%s", file);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - bench_argv0), bench_argv0, file);
    return path;
}

#endif
