/*
 * t_eintr - a blocking call that a timer signal interrupts returns EINTR,
 * whenever the signal comes.
 *
 * A periodic ITIMER_REAL SIGALRM (handler without SA_RESTART) interrupts
 * read() of an empty pipe and waitpid() of a child that does not end. Each
 * round re-arms the timer with a slightly different period and spins in
 * user mode (timed by the TSC, no system call) until between half a
 * millisecond before its first expiry and a millisecond after it, then
 * makes the call: calls start at every phase of the timer, also just after
 * it expired and before the signal reached the thread. On our system that
 * is when the server asks the signal thread to divert a thread running user
 * code, the thread's call arrives and parks, and the diversion then aborts
 * the parked call: the call must end as if the signal had interrupted it in
 * the server (EINTR at the instruction after `syscall`). It resumed two
 * bytes too far while the kernel's EXREGS reported the RIP from before the
 * abort: the syscall fuzzer's parent found it (docs/robustness.md), its
 * waitpid failing with ENOSYS, EINVAL or EFAULT; here a third of the calls
 * failed (EBADF).
 */
#include "check.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#define ROUNDS 300 /* of each call */
#define PERIOD_US 3000

static volatile sig_atomic_t ticks;
static void on_alarm(int s) { (void)s; ticks++; }

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static unsigned long long rdtsc(void)
{
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (unsigned long long)hi << 32 | lo;
}

/* TSC ticks per microsecond: the TSC keeps time however fast the CPU (or
 * an emulator) runs the spin loop. */
static unsigned long long tsc_per_us;

/* Spin in user mode (no system call) for `us` microseconds. */
static void spin_us(long us)
{
    unsigned long long end = rdtsc() + (unsigned long long)us * tsc_per_us;
    while (rdtsc() < end)
        ;
}

int main(void)
{
    t_begin("t_eintr");

    int p[2];
    if (!CHECK(pipe(p) == 0, "pipe"))
        return t_done();
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    if (!CHECK(child > 0, "fork a child that waits for ever"))
        return t_done();

    long long t0 = now_us();
    unsigned long long c0 = rdtsc();
    while (now_us() - t0 < 20000)
        ;
    long long dt = now_us() - t0;
    tsc_per_us = (rdtsc() - c0) / (unsigned long long)dt;
    if (!CHECK(tsc_per_us > 0, "the TSC counts"))
        return t_done();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: EINTR */
    sigaction(SIGALRM, &sa, 0);

    int bad_read = 0, bad_wait = 0;
    long first_r = 0, first_w = 0;
    int first_re = 0, first_we = 0;
    for (int i = 0; i < 2 * ROUNDS; i++) {
        /* A periodic timer (so that a call always ends) whose first expiry
         * has a different phase each round; the call starts between half a
         * millisecond before it and a millisecond after it. */
        long period = PERIOD_US + (i * 137) % 1000;
        struct itimerval it = {{0, period}, {0, period}};
        setitimer(ITIMER_REAL, &it, 0);
        spin_us(period - 500 + (i * 397) % 1500);
        int status;
        char c;
        errno = 0;
        long r = i % 2 ? waitpid(child, &status, WUNTRACED) : read(p[0], &c, 1);
        int e = errno;
        if (r == -1 && e == EINTR)
            continue;
        if (i % 2 && bad_wait++ == 0) {
            first_w = r;
            first_we = e;
        } else if (i % 2 == 0 && bad_read++ == 0) {
            first_r = r;
            first_re = e;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);

    char d[128] = "";
    if (bad_read)
        snprintf(d, sizeof d, "(%d of %d; first returned %ld, %s)", bad_read, ROUNDS, first_r, errname(first_re));
    t_check(bad_read == 0, d, "read of an empty pipe interrupted by SIGALRM at any phase returns EINTR");
    d[0] = 0;
    if (bad_wait)
        snprintf(d, sizeof d, "(%d of %d; first returned %ld, %s)", bad_wait, ROUNDS, first_w, errname(first_we));
    t_check(bad_wait == 0, d, "waitpid interrupted by SIGALRM at any phase returns EINTR");
    CHECK(ticks >= 2 * ROUNDS, "a handler ran for every interrupted call");

    kill(child, SIGKILL);
    int status;
    EXPECT_EQ(waitpid(child, &status, 0), child, "the child is reaped");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "it died of SIGKILL");
    return t_done();
}
