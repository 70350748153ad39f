/*
 * t_pipeproc - pipes between processes: a reader blocks until a writer
 * writes, end of file only when every write end (the child's inherited copy
 * too) is closed, EPIPE and SIGPIPE once the readers are gone (also for a
 * writer blocked on a full pipe), 8 MiB through one pipe, PIPE_BUF
 * atomicity with several writers, a blocked writer woken by the reader,
 * dup2 plumbing into exec'd programs (echo, echo | tr), O_NONBLOCK with a
 * slow peer, and poll/select woken by another process (with timeouts).
 * (The single-process pipe rules are in t_pipe.)
 */
#include "check.h"
#include <limits.h>
#include <poll.h>
#include <sys/select.h>
#include <time.h>

/* A child that sleeps ms, writes s to fd (unless NULL) and exits 0. */
static pid_t late_writer(int fd, long ms, const char *s)
{
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        sleep_ms(ms);
        if (s)
            write(fd, s, strlen(s));
        _exit(0);
    }
    return pid;
}

static void test_blocking_and_eof(void)
{
    int p[2];
    char buf[64];
    pipe(p);
    long t0 = now_ms();
    pid_t pid = late_writer(p[1], 100, "late");
    EXPECT_RET(pid > 0 ? read(p[0], buf, sizeof buf) : -1, 4, "a blocking read waits for the child's write");
    long dt = now_ms() - t0;
    CHECK(dt >= 80 && dt < 5000, "which came after about 100 ms");
    EXPECT_EXIT(t_wait(pid), 0, "the writer exited 0");
    close(p[0]);
    close(p[1]);

    pipe(p);
    pid = late_writer(p[1], 200, NULL); /* holds a write end, writes nothing */
    close(p[1]);
    struct pollfd pf = {p[0], POLLIN, 0};
    EXPECT_RET(poll(&pf, 1, 50), 0, "no end of file while the child still holds a write end");
    t0 = now_ms();
    EXPECT_RET(read(p[0], buf, sizeof buf), 0, "end of file once the child exits (its copy closed)");
    dt = now_ms() - t0;
    CHECK(dt >= 100, "not before the child exited (about 200 ms)");
    t_wait(pid);
    close(p[0]);

    pipe(p);
    pid = late_writer(p[1], 0, "x");
    t_wait(pid);
    EXPECT_RET(pid > 0 ? read(p[0], buf, 1) : -1, 1, "data from an exited child is still there");
    pf.fd = p[0];
    EXPECT_RET(poll(&pf, 1, 0), 0, "but no end of file: the parent still holds a write end");
    close(p[1]);
    EXPECT_RET(read(p[0], buf, 1), 0, "end of file after the parent closes its own");
    close(p[0]);
}

static void test_broken_pipe(void)
{
    int p[2], sync[2];
    pipe(p);
    pipe(sync);
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        signal(SIGPIPE, SIG_DFL);
        close(p[0]);
        char c;
        read(sync[0], &c, 1); /* the parent has closed its read end */
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[0]);
    write(sync[1], "g", 1);
    EXPECT_KILLED(t_wait(pid), SIGPIPE, "a child writing to a pipe without readers dies of SIGPIPE");
    close(p[1]);

    pipe(p);
    int rd;
    pid = t_spawn(&rd);
    if (pid == 0) {
        close(p[0]);
        char c;
        read(sync[0], &c, 1);
        signal(SIGPIPE, SIG_IGN);
        EXPECT_ERR(write(p[1], "x", 1), EPIPE, "child: with SIGPIPE ignored the write fails with EPIPE");
        signal(SIGPIPE, SIG_DFL);
        sigset_t set, pending;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigprocmask(SIG_BLOCK, &set, NULL);
        EXPECT_ERR(write(p[1], "x", 1), EPIPE, "child: with SIGPIPE blocked, EPIPE too");
        sigpending(&pending);
        CHECK(sigismember(&pending, SIGPIPE), "child: and SIGPIPE is pending");
        t_child_exit();
    }
    close(p[0]);
    write(sync[1], "g", 1);
    EXPECT_EXIT(t_collect(rd, pid), 0, "the EPIPE child exited 0");
    close(p[1]);

    /* A writer blocked on a full pipe when the last reader goes away. */
    pipe(p);
    pid = t_spawn(&rd);
    if (pid == 0) {
        close(p[0]);
        sigset_t set, pending;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigprocmask(SIG_BLOCK, &set, NULL);
        static char big[100000];
        EXPECT_RET(write(p[1], big, sizeof big), 65536,
                   "child: a write blocked on a full pipe returns what it wrote when the reader closes");
        sigpending(&pending);
        CHECK(sigismember(&pending, SIGPIPE), "child: and SIGPIPE is raised all the same");
        t_child_exit();
    }
    close(p[1]);
    sleep_ms(200);
    close(p[0]);
    EXPECT_EXIT(t_collect(rd, pid), 0, "the blocked-writer child exited 0");
    close(sync[0]);
    close(sync[1]);
}

static unsigned char pattern(unsigned long i)
{
    return (unsigned char)(i * 131 + (i >> 9) * 7 + 1);
}

static void test_large_transfer(void)
{
    enum { TOTAL = 8 << 20 };
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        close(p[0]);
        static unsigned char chunk[70000];
        unsigned long off = 0;
        size_t sizes[] = {1, 4095, 4096, 4097, 65536, 70000, 123, 8192};
        for (int k = 0; off < TOTAL; k++) {
            size_t n = sizes[k % 8];
            if (n > TOTAL - off)
                n = TOTAL - off;
            for (size_t i = 0; i < n; i++)
                chunk[i] = pattern(off + i);
            size_t done = 0;
            while (done < n) {
                ssize_t w = write(p[1], chunk + done, n - done);
                if (w <= 0)
                    _exit(2);
                done += w;
            }
            off += n;
        }
        _exit(0);
    }
    close(p[1]);
    static unsigned char buf[10000];
    unsigned long got = 0, bad = 0;
    ssize_t n;
    int k = 0;
    while ((n = read(p[0], buf, 1000 + (k++ % 9) * 1000)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(got + i))
                bad++;
        got += n;
    }
    close(p[0]);
    EXPECT_EQ(got, TOTAL, "8 MiB arrive through one pipe (varied write and read sizes)");
    EXPECT_EQ(bad, 0, "every byte in order");
    EXPECT_EXIT(t_wait(pid), 0, "the writer exited 0");
}

static void test_pipe_buf_atomicity(void)
{
    enum { WRITERS = 4, RECORDS = 64 };
    int p[2];
    pipe(p);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            t_quiet();
            alarm(T_CHILD_SECS);
            close(p[0]);
            static char rec[PIPE_BUF];
            memset(rec, 'A' + w, sizeof rec);
            for (int i = 0; i < RECORDS; i++)
                if (write(p[1], rec, sizeof rec) != sizeof rec)
                    _exit(2);
            _exit(0);
        }
    }
    close(p[1]);
    static char rec[PIPE_BUF];
    int count[WRITERS] = {0}, mixed = 0, short_reads = 0;
    size_t have = 0;
    ssize_t n;
    while ((n = read(p[0], rec + have, sizeof rec - have)) > 0) {
        if (have + n < sizeof rec) {
            short_reads++;
            have += n;
            continue;
        }
        have = 0;
        int id = rec[0] - 'A';
        int same = id >= 0 && id < WRITERS;
        for (size_t i = 1; same && i < sizeof rec; i++)
            same = rec[i] == rec[0];
        if (same)
            count[id]++;
        else
            mixed++;
    }
    close(p[0]);
    EXPECT_EQ(PIPE_BUF, 4096, "PIPE_BUF is 4096");
    EXPECT_EQ(mixed, 0, "4 writers x 64 records of PIPE_BUF bytes: no record is interleaved");
    int all = 1;
    for (int w = 0; w < WRITERS; w++)
        all &= count[w] == RECORDS;
    CHECK(all, "every record of every writer arrives");
    EXPECT_EQ(short_reads, 0, "each read of 4096 bytes returns one whole record");
    int ok = 0;
    for (int w = 0; w < WRITERS; w++)
        ok += WIFEXITED(t_wait(pids[w]));
    EXPECT_EQ(ok, WRITERS, "the writers exited");
}

static void test_blocked_writer(void)
{
    int p[2];
    pipe(p);
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        close(p[0]);
        static char big[65536 + 10000];
        memset(big, 'w', sizeof big);
        EXPECT_RET(write(p[1], big, sizeof big), sizeof big, "child: a write larger than the pipe completes");
        t_child_exit();
    }
    close(p[1]);
    sleep_ms(150);
    int st;
    EXPECT_RET(waitpid(pid, &st, WNOHANG), 0, "the writer is blocked on the full pipe");
    static char buf[65536 + 10000];
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, 4096)) > 0)
        got += n;
    EXPECT_EQ(got, sizeof buf, "the reader drains everything; the writer was woken to finish");
    close(p[0]);
    EXPECT_EXIT(t_collect(rd, pid), 0, "the writer exited 0");
}

/* Run argv with stdout on a pipe; read its output into out. */
static int capture(char *const argv[], char *out, size_t cap)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += n;
    out[len] = 0;
    close(p[0]);
    return t_wait(pid);
}

static void test_plumbing(void)
{
    char out[256];
    char *echo[] = {"/bin/echo", "hello from echo", NULL};
    EXPECT_EXIT(capture(echo, out, sizeof out), 0, "a child with stdout on a pipe execs /bin/echo");
    EXPECT_STR(out, "hello from echo\n", "the parent reads its output");

    /* echo | tr a-z A-Z, both exec'd, the parent reading tr's output. */
    int a[2], b[2];
    pipe(a);
    pipe(b);
    pid_t e = fork();
    if (e == 0) {
        t_quiet();
        dup2(a[1], 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        execl("/bin/echo", "echo", "through a pipeline", (char *)NULL);
        _exit(127);
    }
    pid_t t = fork();
    if (t == 0) {
        t_quiet();
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        execl("/usr/bin/tr", "tr", "a-z", "A-Z", (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(a[1]);
    close(b[1]);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(b[0], out + len, sizeof out - 1 - len)) > 0)
        len += n;
    out[len] = 0;
    close(b[0]);
    EXPECT_STR(out, "THROUGH A PIPELINE\n", "echo | tr: two exec'd programs joined by a pipe");
    EXPECT_EXIT(t_wait(e), 0, "echo exited 0");
    EXPECT_EXIT(t_wait(t), 0, "tr exited 0 (it saw end of file)");
}

static void test_nonblocking(void)
{
    int p[2];
    char buf[65536];
    pipe2(p, O_NONBLOCK);
    pid_t pid = late_writer(p[1], 100, "slow");
    EXPECT_ERR(read(p[0], buf, sizeof buf), EAGAIN, "nonblocking read before the slow writer writes");
    struct pollfd pf = {p[0], POLLIN, 0};
    EXPECT_RET(poll(&pf, 1, 5000), 1, "poll waits for it");
    EXPECT_RET(read(p[0], buf, sizeof buf), 4, "then the read gets the data"); /* nonblocking */
    EXPECT_ERR(read(p[0], buf, sizeof buf), EAGAIN, "and EAGAIN again (the parent still holds a write end)");
    t_wait(pid);

    /* The other direction: fill the pipe, a slow reader makes room. */
    EXPECT_RET(write(p[1], buf, sizeof buf), 65536, "fill the nonblocking pipe");
    EXPECT_ERR(write(p[1], buf, 1), EAGAIN, "full: EAGAIN");
    pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        sleep_ms(100);
        static char sink[8192];
        read(p[0], sink, sizeof sink);
        _exit(0);
    }
    pf.fd = p[1];
    pf.events = POLLOUT;
    long t0 = now_ms();
    EXPECT_RET(poll(&pf, 1, 5000), 1, "poll POLLOUT waits for the slow reader");
    CHECK(now_ms() - t0 >= 50, "(which read after about 100 ms)");
    EXPECT_RET(write(p[1], buf, 100), 100, "now a write fits");
    t_wait(pid);
    close(p[0]);
    close(p[1]);
}

static void test_poll_select_wakeups(void)
{
    int p[2];
    char buf[16];
    pipe(p);
    pid_t pid = late_writer(p[1], 100, "p");
    struct pollfd pf = {p[0], POLLIN, 0};
    long t0 = now_ms();
    EXPECT_RET(poll(&pf, 1, 2000), 1, "poll (2 s timeout) returns when the child writes");
    long dt = now_ms() - t0;
    CHECK(dt >= 50 && dt < 1900, "at about 100 ms, well within the timeout");
    EXPECT_EQ(pf.revents, POLLIN, "with POLLIN");
    if (pf.revents & POLLIN)
        read(p[0], buf, sizeof buf);
    t_wait(pid);

    pid = late_writer(p[1], 100, "s");
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {2, 0};
    t0 = now_ms();
    EXPECT_RET(select(p[0] + 1, &r, NULL, NULL, &tv), 1, "select (2 s timeout) returns when the child writes");
    dt = now_ms() - t0;
    CHECK(dt >= 50 && dt < 1900, "at about 100 ms");
    if (CHECK(FD_ISSET(p[0], &r), "with the read end set"))
        read(p[0], buf, sizeof buf);
    t_wait(pid);

    t0 = now_ms();
    EXPECT_RET(poll(&pf, 1, 300), 0, "poll on a silent pipe times out");
    dt = now_ms() - t0;
    CHECK(dt >= 280 && dt < 5000, "after about the timeout (300 ms)");

    pid = late_writer(p[1], 100, NULL);
    close(p[1]);
    t0 = now_ms();
    EXPECT_RET(poll(&pf, 1, 2000), 1, "poll returns when the child closes the last write end");
    EXPECT_EQ(pf.revents, POLLHUP, "with POLLHUP");
    CHECK(now_ms() - t0 >= 50, "(when it exited)");
    t_wait(pid);
    close(p[0]);
}

int main(void)
{
    t_begin("t_pipeproc");
    t_reset_signals();
    test_blocking_and_eof();
    test_broken_pipe();
    test_large_transfer();
    test_pipe_buf_atomicity();
    test_blocked_writer();
    test_plumbing();
    test_nonblocking();
    test_poll_select_wakeups();
    return t_done();
}
