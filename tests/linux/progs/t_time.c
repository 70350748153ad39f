/*
 * t_time - clock_gettime/clock_getres/gettimeofday/time, nanosleep and
 * clock_nanosleep (relative and absolute). Raw system calls are used next
 * to musl's wrappers, since musl answers time() and gettimeofday() from
 * clock_gettime (and the vDSO when there is one).
 */
#include "check.h"
#include <sys/time.h>
#include <time.h>

#define NS 1000000000LL

static long long ns_of(struct timespec t)
{
    return t.tv_sec * NS + t.tv_nsec;
}

static long long mono_ns(void)
{
    struct timespec t;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    return ns_of(t);
}

static void test_clocks(void)
{
    struct timespec a, b, r;
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a), 0, "clock_gettime CLOCK_MONOTONIC");
    CHECK(a.tv_nsec >= 0 && a.tv_nsec < NS, "CLOCK_MONOTONIC tv_nsec in [0, 1e9)");
    long long prev = ns_of(a);
    int mono_ok = 1;
    for (int i = 0; i < 1000; i++) {
        long long now = mono_ns();
        if (now < prev)
            mono_ok = 0;
        prev = now;
    }
    CHECK(mono_ok, "CLOCK_MONOTONIC never goes backwards over 1000 reads");
    long long start = mono_ns(), now;
    while ((now = mono_ns()) == start)
        ;
    CHECK(now > start, "CLOCK_MONOTONIC advances");

    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_REALTIME, &b), 0, "clock_gettime CLOCK_REALTIME");
    CHECK(b.tv_nsec >= 0 && b.tv_nsec < NS, "CLOCK_REALTIME tv_nsec in [0, 1e9)");
    CHECK(b.tv_sec > 1577836800, "CLOCK_REALTIME is after 2020-01-01");
    EXPECT_RET(clock_gettime(CLOCK_MONOTONIC, &a), 0, "clock_gettime CLOCK_MONOTONIC (musl wrapper)");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &r), 0, "clock_gettime CLOCK_BOOTTIME");
    CHECK(ns_of(r) >= ns_of(a), "CLOCK_BOOTTIME >= CLOCK_MONOTONIC");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_MONOTONIC_COARSE, &r), 0, "clock_gettime CLOCK_MONOTONIC_COARSE");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_REALTIME_COARSE, &r), 0, "clock_gettime CLOCK_REALTIME_COARSE");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &r), 0, "clock_gettime CLOCK_MONOTONIC_RAW");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &r), 0, "clock_gettime CLOCK_PROCESS_CPUTIME_ID");
    EXPECT_RET(syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &r), 0, "clock_gettime CLOCK_THREAD_CPUTIME_ID");
    EXPECT_ERR(syscall(SYS_clock_gettime, 12345, &r), EINVAL, "clock_gettime with clock id 12345");
    EXPECT_ERR(syscall(SYS_clock_gettime, 16, &r), EINVAL, "clock_gettime with clock id 16");

    EXPECT_RET(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r), 0, "clock_getres CLOCK_MONOTONIC");
    CHECK(r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000, "CLOCK_MONOTONIC resolution in (0, 10 ms]");
    EXPECT_RET(syscall(SYS_clock_getres, CLOCK_REALTIME, &r), 0, "clock_getres CLOCK_REALTIME");
    CHECK(r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000, "CLOCK_REALTIME resolution in (0, 10 ms]");
    EXPECT_ERR(syscall(SYS_clock_getres, 12345, &r), EINVAL, "clock_getres with clock id 12345");
}

static void test_realtime_agree(void)
{
    struct timespec ts;
    struct timeval tv;
    long t1, t2;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    EXPECT_RET(syscall(SYS_gettimeofday, &tv, NULL), 0, "gettimeofday (SYS_gettimeofday)");
    t1 = syscall(SYS_time, NULL);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "gettimeofday tv_usec in [0, 1e6)");
    CHECK(tv.tv_sec >= ts.tv_sec && tv.tv_sec <= ts.tv_sec + 2, "gettimeofday agrees with CLOCK_REALTIME (2 s)");
    /* Linux answers time() from the coarse clock (the seconds as of the last
     * tick), so just after a second boundary it may still give the second
     * before the one clock_gettime read a moment ago. */
    CHECK(t1 >= ts.tv_sec - 1 && t1 <= ts.tv_sec + 2, "SYS_time agrees with CLOCK_REALTIME (coarse, 2 s)");
    EXPECT_RET(syscall(SYS_time, &t2), t2, "SYS_time stores its result through the pointer too");
    CHECK(t2 >= t1 && t2 <= t1 + 2, "SYS_time result is consistent");
    time_t t3 = time(NULL);
    CHECK(t3 >= t1 && t3 <= t1 + 2, "time() (musl) agrees");
    struct timezone tz;
    EXPECT_RET(syscall(SYS_gettimeofday, &tv, &tz), 0, "gettimeofday with a timezone pointer");
    EXPECT_RET(gettimeofday(&tv, NULL), 0, "gettimeofday (musl wrapper)");
}

static void test_sleep(void)
{
    struct timespec req = {0, 50000000}, rem = {7, 7};
    long long t0 = mono_ns();
    EXPECT_RET(syscall(SYS_nanosleep, &req, &rem), 0, "nanosleep 50 ms");
    long long dt = mono_ns() - t0;
    CHECK(dt >= 50000000LL, "nanosleep slept at least 50 ms (CLOCK_MONOTONIC)");
    CHECK(dt < 5 * NS, "nanosleep returned within 5 s");

    t0 = mono_ns();
    EXPECT_RET(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0, "clock_nanosleep MONOTONIC 50 ms");
    dt = mono_ns() - t0;
    CHECK(dt >= 50000000LL && dt < 5 * NS, "clock_nanosleep slept at least 50 ms");

    t0 = mono_ns();
    EXPECT_RET(syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, NULL), 0, "clock_nanosleep REALTIME 50 ms");
    dt = mono_ns() - t0;
    CHECK(dt >= 50000000LL && dt < 5 * NS, "clock_nanosleep REALTIME slept at least 50 ms");

    struct timespec abs;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &abs);
    long long target = ns_of(abs) + 50000000LL;
    abs.tv_sec = target / NS;
    abs.tv_nsec = target % NS;
    EXPECT_RET(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL), 0,
               "clock_nanosleep TIMER_ABSTIME now+50 ms");
    CHECK(mono_ns() >= target, "TIMER_ABSTIME sleep ended at or after the target time");
    abs.tv_sec = 0;
    abs.tv_nsec = 0;
    t0 = mono_ns();
    EXPECT_RET(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL), 0,
               "clock_nanosleep TIMER_ABSTIME in the past");
    CHECK(mono_ns() - t0 < NS, "a past absolute time returns at once");
    EXPECT_RET(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0, "clock_nanosleep (musl wrapper)");

    struct timespec zero = {0, 0};
    EXPECT_RET(syscall(SYS_nanosleep, &zero, NULL), 0, "nanosleep 0");
    struct timespec bad = {0, 1000000000};
    EXPECT_ERR(syscall(SYS_nanosleep, &bad, NULL), EINVAL, "nanosleep tv_nsec = 1000000000");
    bad.tv_nsec = -1;
    EXPECT_ERR(syscall(SYS_nanosleep, &bad, NULL), EINVAL, "nanosleep tv_nsec = -1");
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    EXPECT_ERR(syscall(SYS_nanosleep, &bad, NULL), EINVAL, "nanosleep tv_sec = -1");
    bad.tv_sec = 0;
    bad.tv_nsec = 1000000000;
    EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL,
               "clock_nanosleep tv_nsec = 1000000000");
    EXPECT_ERR(syscall(SYS_clock_nanosleep, 12345, 0, &req, NULL), EINVAL, "clock_nanosleep with clock id 12345");
    /* not EINVAL as clock_nanosleep(2) says: the thread CPU clock has no nsleep, giving EOPNOTSUPP */
    EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EOPNOTSUPP,
               "clock_nanosleep on CLOCK_THREAD_CPUTIME_ID");
    /* musl's clock_nanosleep returns the error number instead of setting errno */
    EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL, "clock_nanosleep (musl) returns EINVAL");
}

static void test_cputime(void)
{
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &a);
    long long t0 = mono_ns();
    volatile unsigned long x = 0;
    while (mono_ns() - t0 < 100000000LL) /* spin for 100 ms */
        x++;
    syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &b);
    CHECK(ns_of(b) > ns_of(a), "CLOCK_PROCESS_CPUTIME_ID advances while spinning");
}

int main(void)
{
    t_begin("t_time");
    test_clocks();
    test_realtime_agree();
    test_sleep();
    test_cputime();
    return t_done();
}
