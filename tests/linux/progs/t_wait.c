/*
 * t_wait - how parents learn about their children: exit codes and the raw
 * wait status encoding, death by signal (no core dump with RLIMIT_CORE 0),
 * stop and continue (WUNTRACED, WCONTINUED, SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU,
 * each reported once; a stop signal other than SIGSTOP is discarded for an
 * orphaned process group; SIGTERM kills a stopped process at once), WNOHANG,
 * ECHILD and EINVAL, waiting for a pid, for our process group and for
 * another one, waitid (P_PID/P_ALL/P_PGID, WEXITED/WSTOPPED/WCONTINUED,
 * WNOWAIT, the siginfo it fills), rusage of children, SIGCHLD (siginfo,
 * coalescing, SA_NOCLDSTOP), SIGCHLD ignored / SA_NOCLDWAIT (no zombies),
 * and SIGHUP+SIGCONT for a stopped process group that becomes orphaned.
 */
#include "check.h"
#include <poll.h>
#include <sys/resource.h>
#include <time.h>

/* A child that waits to be killed (or continued); it dies by itself after T_CHILD_SECS. */
static pid_t sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        for (;;)
            pause();
    }
    return pid;
}

static pid_t exiter(int code, long after_ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        if (after_ms)
            sleep_ms(after_ms);
        _exit(code);
    }
    return pid;
}

/* Wait for a byte from fd (a child's "ready"). */
static void wait_byte(int fd)
{
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
}

static void test_exit_codes(void)
{
    static const int codes[] = {0, 1, 255, 256, 3};
    static const int want[] = {0, 1, 255, 0, 3};
    for (int i = 0; i < 5; i++) {
        int st = t_wait(exiter(codes[i], 0));
        EXPECT_EXIT(st, want[i], "_exit(%d): WIFEXITED, WEXITSTATUS %d", codes[i], want[i]);
        if (i == 4)
            EXPECT_EQ(st, 0x300, "the raw status of exit 3 is 0x300");
    }
}

static void test_killed(void)
{
    struct rlimit rl = {0, RLIM_INFINITY};
    getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &rl);
    static const int sigs[] = {SIGTERM, SIGKILL, SIGINT, SIGHUP, SIGQUIT, SIGUSR1};
    for (int i = 0; i < 6; i++) {
        pid_t pid = sleeper();
        t_kill(pid, sigs[i]);
        int st = t_wait(pid);
        EXPECT_KILLED(st, sigs[i], "killed by signal %d: WIFSIGNALED, WTERMSIG, no WCOREDUMP", sigs[i]);
        if (sigs[i] == SIGKILL)
            EXPECT_EQ(st, SIGKILL, "the raw status of death by SIGKILL is 9");
    }
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        *(volatile int *)0 = 1;
        _exit(0);
    }
    int st = t_wait(pid);
    EXPECT_KILLED(st, SIGSEGV, "a NULL write: SIGSEGV, no core dump with RLIMIT_CORE 0");
    EXPECT_EQ(st, SIGSEGV, "the raw status is exactly 11 (no 0x80 core bit)");
    pid = fork();
    if (pid == 0) {
        t_quiet();
        abort();
    }
    st = t_wait(pid);
    EXPECT_KILLED(st, SIGABRT, "abort(): SIGABRT, no core dump");
}

static void test_stop_continue(void)
{
    pid_t pid = sleeper();
    int st = -1;
    t_kill(pid, SIGSTOP);
    EXPECT_RET(waitpid(pid, &st, WUNTRACED), pid, "waitpid WUNTRACED reports the stop");
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "WIFSTOPPED, WSTOPSIG == SIGSTOP");
    EXPECT_EQ(st, 0x137f, "the raw status of a SIGSTOP stop is 0x137f");
    EXPECT_RET(waitpid(pid, &st, WUNTRACED | WNOHANG), 0, "a stop is reported only once");
    EXPECT_RET(waitpid(pid, &st, WNOHANG), 0, "without WUNTRACED a stopped child is not reported");
    t_kill(pid, SIGCONT);
    EXPECT_RET(waitpid(pid, &st, WCONTINUED), pid, "waitpid WCONTINUED reports the continue");
    CHECK(WIFCONTINUED(st), "WIFCONTINUED");
    EXPECT_EQ(st, 0xffff, "the raw status of a continue is 0xffff");
    EXPECT_RET(waitpid(pid, &st, WCONTINUED | WNOHANG), 0, "a continue is reported only once");
    EXPECT_RET(waitpid(pid, &st, WNOHANG | WUNTRACED | WCONTINUED), 0, "WNOHANG on a running child returns 0");
    t_kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    t_kill(pid, SIGTERM);
    sleep_ms(100);
    EXPECT_RET(waitpid(pid, &st, WNOHANG), 0, "SIGTERM to a stopped child: it stays stopped, the signal pending");
    t_kill(pid, SIGCONT);
    EXPECT_KILLED(t_wait(pid), SIGTERM, "SIGCONT lets the pending SIGTERM kill it");
    pid = sleeper();
    t_kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    t_kill(pid, SIGKILL);
    EXPECT_KILLED(t_wait(pid), SIGKILL, "SIGKILL kills a stopped child");

    pid = fork();
    if (pid == 0) {
        t_quiet();
        raise(SIGSTOP);
        _exit(4);
    }
    EXPECT_RET(waitpid(pid, &st, WUNTRACED), pid, "a child that stops itself (raise SIGSTOP)");
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "is reported stopped by SIGSTOP");
    t_kill(pid, SIGCONT);
    EXPECT_EXIT(t_wait(pid), 4, "continued, it goes on to exit 4 (waitpid without WCONTINUED skips the continue)");

    /*
     * Terminal stop signals. A process group is orphaned when no member has
     * a parent in another group of the same session (a parent that is
     * process 1 does not count either); Linux discards SIGTSTP, SIGTTIN and
     * SIGTTOU for such a group. The child here has a group of its own and
     * its parent (not process 1) is in ours, so the stops take effect.
     */
    int rd;
    pid_t mgr = t_spawn(&rd);
    if (mgr == 0) {
        pid_t c = sleeper();
        setpgid(c, c);
        static const int stops[] = {SIGTSTP, SIGTTIN, SIGTTOU};
        for (int i = 0; i < 3; i++) {
            t_kill(c, stops[i]);
            st = -1;
            waitpid(c, &st, WUNTRACED);
            CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == stops[i], "signal %d stops a child in a process group of its own",
                  stops[i]);
            t_kill(c, SIGCONT);
            waitpid(c, &st, WCONTINUED);
            CHECK(WIFCONTINUED(st), "and SIGCONT continues it");
        }
        t_kill(c, SIGKILL);
        t_wait(c);

        int p[2];
        pipe(p);
        c = fork();
        if (c == 0) {
            t_quiet();
            setsid(); /* a new session: its group has no parent in the session */
            write(p[1], "r", 1);
            for (;;)
                pause();
        }
        if (c > 0)
            wait_byte(p[0]);
        t_kill(c, SIGTSTP);
        sleep_ms(200);
        EXPECT_RET(waitpid(c, &st, WUNTRACED | WNOHANG), 0, "SIGTSTP is discarded for an orphaned process group");
        t_kill(c, SIGSTOP);
        st = -1;
        waitpid(c, &st, WUNTRACED);
        CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "SIGSTOP still stops it");
        t_kill(c, SIGKILL);
        EXPECT_KILLED(t_wait(c), SIGKILL, "and SIGKILL ends it");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, mgr), 0, "the job-control child exited 0");
}

static void test_errors(void)
{
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        siginfo_t si;
        EXPECT_ERR(waitpid(-1, NULL, 0), ECHILD, "waitpid(-1) without children");
        EXPECT_ERR(waitpid(-1, NULL, WNOHANG), ECHILD, "waitpid(-1, WNOHANG) without children (not 0)");
        EXPECT_ERR(waitpid(getppid(), NULL, 0), ECHILD, "waitpid for a process that is not our child");
        EXPECT_ERR(waitpid(0, NULL, 0), ECHILD, "waitpid(0) without children");
        EXPECT_ERR(waitid(P_ALL, 0, &si, WEXITED), ECHILD, "waitid(P_ALL) without children");
        EXPECT_ERR(waitpid(-1, NULL, 0x100), EINVAL, "waitpid with an unknown option");
        EXPECT_ERR(waitid(P_ALL, 0, &si, 0), EINVAL, "waitid without WEXITED/WSTOPPED/WCONTINUED");
        EXPECT_ERR(waitid(P_PID, 0, &si, WEXITED), EINVAL, "waitid(P_PID, 0)");
        EXPECT_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL, "waitid with an unknown idtype");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the child without children exited 0");
}

static void test_pid_and_groups(void)
{
    pid_t a = exiter(1, 0), b = exiter(2, 0), c = exiter(3, 0);
    int st = -1;
    EXPECT_RET(waitpid(b, &st, 0), b, "waitpid for a specific child (the second of three)");
    EXPECT_EXIT(st, 2, "gets that child's status");
    EXPECT_EXIT(t_wait(c), 3, "then the third");
    EXPECT_EXIT(t_wait(a), 1, "then the first");

    int p[2];
    pipe(p);
    pid_t other = fork();
    if (other == 0) {
        t_quiet();
        setpgid(0, 0);
        write(p[1], "r", 1);
        _exit(10);
    }
    setpgid(other, other);
    if (other > 0)
        wait_byte(p[0]);
    pid_t ours = exiter(11, 100);
    st = -1;
    EXPECT_RET(waitpid(0, &st, 0), ours, "waitpid(0) waits for the child in our group, not the other one");
    EXPECT_EXIT(st, 11, "with its status");
    EXPECT_RET(waitpid(-other, &st, 0), other, "waitpid(-pgid) reaps the child in the other group");
    EXPECT_EXIT(st, 10, "with its status");
    close(p[0]);
    close(p[1]);
}

static void test_waitid(void)
{
    siginfo_t si;
    pid_t pid = exiter(5, 0);
    memset(&si, 0x55, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0, "waitid(P_PID, WEXITED|WNOWAIT)");
    EXPECT_EQ(si.si_pid, pid, "si_pid is the child");
    EXPECT_EQ(si.si_signo, SIGCHLD, "si_signo is SIGCHLD");
    EXPECT_EQ(si.si_code, CLD_EXITED, "si_code is CLD_EXITED");
    EXPECT_EQ(si.si_status, 5, "si_status is the exit code");
    EXPECT_EQ(si.si_uid, 0, "si_uid is the child's uid");
    EXPECT_RET(t_kill(pid, 0), 0, "after WNOWAIT the zombie still exists (kill 0)");
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_ALL, 0, &si, WEXITED), 0, "waitid(P_ALL) reaps it");
    EXPECT_EQ(si.si_pid, pid, "the same child");
    EXPECT_EQ(si.si_status, 5, "the same status");
    EXPECT_ERR(t_kill(pid, 0), ESRCH, "once reaped it is gone");

    pid = sleeper();
    memset(&si, 0x55, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0, "waitid WNOHANG on a running child returns 0");
    CHECK(si.si_pid == 0 && si.si_signo == 0, "and clears si_pid and si_signo");
    t_kill(pid, SIGSTOP);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WSTOPPED), 0, "waitid WSTOPPED");
    CHECK(si.si_code == CLD_STOPPED && si.si_status == SIGSTOP && si.si_pid == pid,
          "si_code CLD_STOPPED, si_status SIGSTOP");
    memset(&si, 0x55, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0, "waitid WEXITED does not report a stop");
    EXPECT_EQ(si.si_pid, 0, "(si_pid 0)");
    t_kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WCONTINUED), 0, "waitid WCONTINUED");
    CHECK(si.si_code == CLD_CONTINUED && si.si_status == SIGCONT, "si_code CLD_CONTINUED, si_status SIGCONT");
    t_kill(pid, SIGKILL);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, pid, &si, WEXITED), 0, "waitid for a killed child");
    CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL, "si_code CLD_KILLED, si_status SIGKILL");

    pid = fork();
    if (pid == 0) {
        t_quiet();
        *(volatile int *)0 = 1;
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    waitid(P_PID, pid, &si, WEXITED);
    CHECK(si.si_code == CLD_KILLED && si.si_status == SIGSEGV, "a SIGSEGV without a core dump is CLD_KILLED");

    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        t_quiet();
        setpgid(0, 0);
        write(p[1], "r", 1);
        _exit(6);
    }
    setpgid(pid, pid);
    if (pid > 0)
        wait_byte(p[0]);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PGID, pid, &si, WEXITED), 0, "waitid(P_PGID) for the child's own group");
    CHECK(si.si_pid == pid && si.si_status == 6, "reaps that child");
    close(p[0]);
    close(p[1]);
}

static void test_rusage(void)
{
    struct rusage before, after, child;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        volatile unsigned long x = 0;
        do {
            for (int i = 0; i < 100000; i++)
                x += i;
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
        _exit(0);
    }
    int st;
    memset(&child, 0, sizeof child);
    EXPECT_RET(wait4(pid, &st, 0, &child), pid, "wait4 with a rusage");
    long us = child.ru_utime.tv_sec * 1000000L + child.ru_utime.tv_usec + child.ru_stime.tv_sec * 1000000L +
              child.ru_stime.tv_usec;
    CHECK(us > 0, "the child's rusage shows the CPU time it spun");
    getrusage(RUSAGE_CHILDREN, &after);
    long b = before.ru_utime.tv_sec * 1000000L + before.ru_utime.tv_usec;
    long a = after.ru_utime.tv_sec * 1000000L + after.ru_utime.tv_usec;
    CHECK(a >= b, "getrusage(RUSAGE_CHILDREN) user time never decreases");
    CHECK(a + after.ru_stime.tv_sec * 1000000L + after.ru_stime.tv_usec >
              b + before.ru_stime.tv_sec * 1000000L + before.ru_stime.tv_usec,
          "and grew by the reaped spinner's time");
}

static volatile int chld_count, chld_code, chld_status;
static volatile pid_t chld_pid;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    chld_count++;
    chld_code = si->si_code;
    chld_pid = si->si_pid;
    chld_status = si->si_status;
}

static void set_chld(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(SIGCHLD, &sa, NULL);
}

static int chld_pending(void)
{
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, SIGCHLD);
}

static void test_sigchld(void)
{
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    set_chld(SA_RESTART);
    sigprocmask(SIG_BLOCK, &chld, &old);
    chld_count = 0;
    pid_t pid = exiter(7, 0);
    t_wait(pid);
    CHECK(chld_pending(), "a child's exit makes SIGCHLD pending (blocked)");
    sigprocmask(SIG_SETMASK, &old, NULL);
    EXPECT_EQ(chld_count, 1, "unblocked, the handler runs once");
    EXPECT_EQ(chld_code, CLD_EXITED, "its siginfo: si_code CLD_EXITED");
    EXPECT_EQ(chld_pid, pid, "si_pid is the child");
    EXPECT_EQ(chld_status, 7, "si_status is the exit code");

    sigprocmask(SIG_BLOCK, &chld, NULL);
    chld_count = 0;
    for (int i = 0; i < 3; i++)
        t_wait(exiter(i, 0));
    sigprocmask(SIG_SETMASK, &old, NULL);
    EXPECT_EQ(chld_count, 1, "three exits while blocked: one SIGCHLD (standard signals do not queue)");

    chld_count = 0;
    pid = exiter(8, 100);
    EXPECT_EXIT(t_wait(pid), 8, "waitpid while the handler is installed (SA_RESTART)");
    EXPECT_EQ(chld_count, 1, "the handler ran once for the exit");

    set_chld(SA_RESTART | SA_NOCLDSTOP);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    pid = sleeper();
    int st;
    t_kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    t_kill(pid, SIGCONT);
    waitpid(pid, &st, WCONTINUED);
    sleep_ms(50);
    CHECK(!chld_pending(), "SA_NOCLDSTOP: no SIGCHLD for a stop or a continue");
    set_chld(SA_RESTART);
    t_kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    sleep_ms(50);
    CHECK(chld_pending(), "without SA_NOCLDSTOP a stop sends SIGCHLD");
    chld_count = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    EXPECT_EQ(chld_code, CLD_STOPPED, "with si_code CLD_STOPPED");
    t_kill(pid, SIGKILL);
    t_wait(pid);
    signal(SIGCHLD, SIG_DFL);
}

static void test_no_zombies(void)
{
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        signal(SIGCHLD, SIG_IGN);
        pid_t a = exiter(1, 0), b = exiter(2, 200);
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        EXPECT_ERR(wait(NULL), ECHILD, "SIGCHLD ignored: wait blocks until the children are gone, then ECHILD");
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        CHECK(ms >= 150, "(it waited for the slower child)");
        EXPECT_ERR(kill(a, 0), ESRCH, "no zombie is left of the first child");
        EXPECT_ERR(kill(b, 0), ESRCH, "nor of the second");

        signal(SIGCHLD, SIG_DFL);
        pid_t z = exiter(3, 0);
        siginfo_t si;
        waitid(P_PID, z, &si, WEXITED | WNOWAIT); /* z is a zombie now */
        signal(SIGCHLD, SIG_IGN);
        int st = -1;
        EXPECT_RET(waitpid(z, &st, 0), z, "ignoring SIGCHLD does not reap an existing zombie");
        EXPECT_EXIT(st, 3, "which still has its status");

        set_chld(SA_NOCLDWAIT);
        sigset_t chld, old;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, &old);
        chld_count = 0;
        pid_t c = exiter(4, 0);
        EXPECT_ERR(waitpid(c, NULL, 0), ECHILD, "SA_NOCLDWAIT: the child leaves no zombie (ECHILD)");
        CHECK(chld_pending(), "SA_NOCLDWAIT with a handler: SIGCHLD is still sent");
        sigprocmask(SIG_SETMASK, &old, NULL);
        EXPECT_EQ(chld_count, 1, "and the handler runs");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the child ignoring SIGCHLD exited 0");
}

/*
 * When a process group becomes orphaned while one of its members is
 * stopped, every member gets SIGHUP and then SIGCONT. Last: the stopped
 * process is reparented to process 1, which may be this program.
 */
static int hup_fd;
static void on_hup(int sig)
{
    write(hup_fd, sig == SIGHUP ? "H" : "C", 1);
}

static void test_orphaned_stopped_group(void)
{
    int p[2];
    pipe(p);
    int rd;
    pid_t mgr = t_spawn(&rd);
    if (mgr == 0) {
        int ready[2];
        pipe(ready);
        pid_t c = fork();
        if (c == 0) {
            t_quiet();
            alarm(T_CHILD_SECS);
            setpgid(0, 0);
            hup_fd = p[1];
            signal(SIGHUP, on_hup);
            signal(SIGCONT, on_hup);
            write(ready[1], "r", 1);
            raise(SIGSTOP);
            sleep_ms(100);
            _exit(0);
        }
        setpgid(c, c);
        if (c > 0)
            wait_byte(ready[0]);
        int st = -1;
        waitpid(c, &st, WUNTRACED);
        CHECK(WIFSTOPPED(st), "a child in a group of its own stops itself");
        t_child_exit(); /* its group is orphaned now */
    }
    close(p[1]);
    EXPECT_EXIT(t_collect(rd, mgr), 0, "its parent exited 0");
    char got[8] = "";
    int n = 0;
    struct pollfd pf = {p[0], POLLIN, 0};
    while (n < 2 && poll(&pf, 1, 5000) == 1 && read(p[0], got + n, 1) == 1)
        n++;
    CHECK(memchr(got, 'H', n) != NULL, "the orphaned stopped group got SIGHUP");
    CHECK(memchr(got, 'C', n) != NULL, "and SIGCONT");
    close(p[0]);
}

int main(void)
{
    t_begin("t_wait");
    t_reset_signals();
    test_exit_codes();
    test_killed();
    test_stop_continue();
    test_errors();
    test_pid_and_groups();
    test_waitid();
    test_rusage();
    test_sigchld();
    test_no_zombies();
    test_orphaned_stopped_group();
    return t_done();
}
