/*
 * t_forkbomb - RLIMIT_NPROC contains a fork bomb. Linux does not enforce
 * RLIMIT_NPROC for root, so a child first becomes uid/gid 1000 and sets the
 * limit to 20 processes (its own included). It forks sleeping children until
 * fork fails (EAGAIN, after exactly 19), kills and reaps them, forks again;
 * then a real fork bomb (every process forks until it cannot) in a process
 * group of its own, killed with killpg and reaped by the child as a
 * subreaper (PR_SET_CHILD_SUBREAPER). Afterwards root still forks, even with
 * RLIMIT_NPROC at 1.
 */
#include "check.h"
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

enum { LIMIT = 20 };

/* A child that sleeps until it is killed (or T_CHILD_SECS pass). */
static void sleep_forever(void)
{
    t_quiet();
    alarm(T_CHILD_SECS);
    for (;;)
        pause();
}

static void linear(void)
{
    pid_t kids[64];
    int n = 0, err = 0;
    while (n < 64) {
        pid_t p = fork();
        if (p == 0)
            sleep_forever();
        if (p < 0) {
            err = errno;
            break;
        }
        kids[n++] = p;
    }
    EXPECT_EQ(n, LIMIT - 1, "fork failed after %d successful forks (this process counts too)", LIMIT - 1);
    EXPECT_EQ(err, EAGAIN, "with EAGAIN");
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    CHECK(p == -1 && errno == EAGAIN, "and fails again while the children live");
    if (p > 0)
        t_wait(p);
    EXPECT_ERR(kill(getppid(), 0), EPERM, "uid 1000 may not signal root's process");
    int killed = 0;
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) {
        int st = t_wait(kids[i]);
        killed += st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    }
    EXPECT_EQ(killed, n, "every sleeping child is killed and reaped");
    p = fork();
    if (p == 0)
        _exit(5);
    EXPECT_EXIT(p > 0 ? t_wait(p) : -1, 5, "then fork works again");
}

struct bomb {
    int made;    /* successful forks, counted by the parent */
    int started; /* processes that began, counted by themselves */
    int failed;  /* processes whose fork failed */
    int other;   /* failures other than EAGAIN */
};

static void bomb(void)
{
    struct bomb *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_RET(prctl(PR_SET_CHILD_SUBREAPER, 1), 0, "become a subreaper (orphans of the bomb come to us)");
    pid_t root = fork();
    if (root == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        setpgid(0, 0);
        for (;;) {
            pid_t p = fork();
            if (p == 0) {
                alarm(T_CHILD_SECS);
                __atomic_add_fetch(&b->started, 1, __ATOMIC_SEQ_CST);
                continue; /* the child forks too */
            }
            if (p > 0) {
                __atomic_add_fetch(&b->made, 1, __ATOMIC_SEQ_CST);
                continue;
            }
            if (errno != EAGAIN)
                __atomic_add_fetch(&b->other, 1, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&b->failed, 1, __ATOMIC_SEQ_CST);
            break;
        }
        for (;;)
            pause();
    }
    setpgid(root, root);
    /* Done when every process has failed once and every fork is counted on both sides. */
    int settled = 0;
    for (int i = 0; i < 1000 && !settled; i++) {
        int made = __atomic_load_n(&b->made, __ATOMIC_SEQ_CST);
        settled = __atomic_load_n(&b->failed, __ATOMIC_SEQ_CST) == 1 + made &&
                  __atomic_load_n(&b->started, __ATOMIC_SEQ_CST) == made;
        if (!settled)
            sleep_ms(10);
    }
    CHECK(settled, "the bomb stops growing: every process's fork fails");
    EXPECT_EQ(1 + b->made, LIMIT - 1, "the bomb grew to %d processes", LIMIT - 1);
    EXPECT_EQ(b->other, 0, "every failure was EAGAIN");
    EXPECT_RET(t_killpg(root, SIGKILL), 0, "killpg the bomb's process group");
    int reaped = 0, st;
    pid_t p;
    while ((p = waitpid(-1, &st, 0)) > 0 || (p < 0 && errno == EINTR))
        reaped += p > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    EXPECT_EQ(reaped, 1 + b->made, "the subreaper reaps every bomb process, each killed by SIGKILL");
    p = fork();
    if (p == 0)
        _exit(6);
    EXPECT_EXIT(p > 0 ? t_wait(p) : -1, 6, "then fork works again");
    munmap(b, 4096);
}

int main(void)
{
    t_begin("t_forkbomb");
    t_reset_signals();
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        EXPECT_OK(setgid(1000), "setgid(1000)");
        EXPECT_OK(setuid(1000), "setuid(1000)");
        CHECK(getuid() == 1000 && geteuid() == 1000 && getgid() == 1000, "now uid and gid 1000");
        struct rlimit rl = {LIMIT, LIMIT};
        EXPECT_OK(setrlimit(RLIMIT_NPROC, &rl), "setrlimit RLIMIT_NPROC %d", LIMIT);
        linear();
        bomb();
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the uid 1000 child exited 0");

    pid = t_spawn(&rd);
    if (pid == 0) {
        struct rlimit one = {1, 1};
        setrlimit(RLIMIT_NPROC, &one);
        pid_t p = fork();
        if (p == 0)
            _exit(7);
        EXPECT_EXIT(p > 0 ? t_wait(p) : -1, 7, "root forks even with RLIMIT_NPROC 1");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the root child exited 0");
    pid = fork();
    if (pid == 0)
        _exit(8);
    EXPECT_EXIT(t_wait(pid), 8, "and the parent forks normally afterwards");
    return t_done();
}
