/*
 * t_killstorm - killing processes at any moment loses no other process's
 * data. While "keeper" pairs stream checksummed data through pipes and
 * write files, victims are SIGKILLed and respawned over and over, caught in
 * every state the server has: blocked reading an empty pipe, blocked
 * writing a full one, forking in a loop (killed mid-fork or with children
 * of their own), dirtying copy-on-write memory shared with a child,
 * sleeping, multi-threaded with threads in futex waits, stopped, in the
 * middle of execve (it execs itself over and over), inside a signal
 * handler (making system calls there), and reaping its own children (a
 * copy-on-write child dies with its parent: PR_SET_PDEATHSIG). Then
 * every keeper's data must have arrived intact, every victim is reaped
 * with SIGKILL as its status, and the system still forks, pipes and execs.
 */
#include "check.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

enum { KEEPERS = 3, KEEPER_BYTES = 1 << 20, VICTIM_KINDS = 10, ROUNDS = 42 };

/* argv[1] of the victim that execs itself in a loop. */
#define EXEC_LOOP "exec-loop"

/* The keeper data: a byte stream determined by the keeper's number. */
static unsigned char pattern(int k, long i)
{
    return (unsigned char)((i * 2654435761u + (unsigned)k * 40503u) >> 13);
}

static unsigned long checksum(int k, long n)
{
    unsigned long s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31 + pattern(k, i);
    return s;
}

/* A keeper pair: a writer streams KEEPER_BYTES through a pipe in odd-sized
 * pieces (and the same bytes into a file); the reader checksums them and
 * exits 0 only if all arrived in order. */
static void keeper_writer(int k, int fd)
{
    static unsigned char buf[7001];
    char name[32];
    snprintf(name, sizeof name, "keeper%d", k);
    int file = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long i = 0;
    while (i < KEEPER_BYTES) {
        long n = KEEPER_BYTES - i < (long)sizeof buf ? KEEPER_BYTES - i : (long)sizeof buf;
        for (long j = 0; j < n; j++)
            buf[j] = pattern(k, i + j);
        if (write(fd, buf, n) != n || write(file, buf, n) != n)
            _exit(2);
        i += n;
        if (i % (16 * 1024) < (long)sizeof buf)
            sleep_ms(5); /* spread the stream over the storm */
    }
    _exit(close(file) == 0 ? 0 : 3);
}

static void keeper_reader(int k, int fd)
{
    static unsigned char buf[5003];
    unsigned long s = 0;
    long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t j = 0; j < n; j++)
            s = s * 31 + buf[j];
        total += n;
    }
    _exit(total == KEEPER_BYTES && s == checksum(k, KEEPER_BYTES) ? 0 : 1);
}

/* ---- victims: each kind ends up in one state and stays there (or loops) ---- */

static int hold_pipe[2]; /* nobody writes: readers block; kept open by the parent */

static void *thread_wait(void *arg)
{
    pthread_mutex_t *m = arg;
    pthread_mutex_lock(m); /* held by main: a futex wait */
    return NULL;
}

static void in_handler(int sig)
{
    (void)sig;
    for (;;) {
        getpid();
        sleep_ms(1);
    }
}

static void victim(int kind)
{
    alarm(T_CHILD_SECS);
    switch (kind) {
    case 0: { /* blocked reading an empty pipe */
        char c;
        for (;;)
            read(hold_pipe[0], &c, 1);
    }
    case 1: { /* blocked writing a full pipe nobody reads */
        int p[2];
        if (pipe(p) != 0)
            _exit(9);
        static char buf[4096];
        for (;;)
            write(p[1], buf, sizeof buf);
    }
    case 2: /* forking in a loop: killed mid-fork, or with children */
        for (;;) {
            pid_t c = fork();
            if (c == 0) {
                sleep_ms(5);
                _exit(0);
            }
            if (c > 0 && (c & 1))
                waitpid(c, NULL, 0);
        }
    case 3: { /* copy-on-write memory dirtied by parent and child */
        size_t len = 64 * 4096;
        unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            _exit(9);
        memset(m, 1, len);
        pid_t parent = getpid();
        if (fork() == 0) { /* both sides dirty the shared pages */
            /* The child dies with its parent (and never outlives the test). */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            alarm(T_CHILD_SECS);
        }
        for (unsigned v = 0;; v++)
            for (size_t i = 0; i < len; i += 4096)
                m[i] = (unsigned char)v;
    }
    case 4: /* sleeping */
        for (;;)
            sleep_ms(1000);
    case 5: { /* threads blocked on a mutex (futex waits) */
        static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&m);
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, thread_wait, &m);
        for (;;)
            pause();
    }
    case 6: /* stopped */
        raise(SIGSTOP);
        for (;;)
            pause();
    case 7: /* in execve: the new image execs itself again (main) */
        execl("/proc/self/exe", "t_killstorm", EXEC_LOOP, (char *)NULL);
        _exit(9);
    case 8: { /* inside a signal handler, making system calls there */
        struct sigaction sa = {.sa_handler = in_handler};
        sigaction(SIGUSR1, &sa, NULL);
        raise(SIGUSR1);
        _exit(9);
    }
    default: /* reaping its children, one after another */
        for (;;) {
            pid_t c = fork();
            if (c == 0)
                _exit(3);
            if (c > 0)
                wait4(c, NULL, 0, NULL);
        }
    }
}

/* Each victim is in a process group of its own: a stopped victim in ours
 * would make this process's group one with stopped members, and Linux hangs
 * up such a group (SIGHUP) when it is orphaned — ours is (our parent is
 * init) as soon as a victim's orphaned child exits. */
static pid_t spawn_victim(int kind)
{
    pid_t p = fork();
    if (p == 0) {
        t_quiet();
        setpgid(0, 0);
        victim(kind);
    }
    if (p > 0)
        setpgid(p, p);
    return p;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], EXEC_LOOP) == 0) {
        execl("/proc/self/exe", "t_killstorm", EXEC_LOOP, (char *)NULL);
        _exit(9);
    }
    t_begin("t_killstorm");
    EXPECT_OK(pipe(hold_pipe), "a pipe nobody writes, for the blocked readers");

    /* The keepers. */
    pid_t writers[KEEPERS], readers[KEEPERS];
    for (int k = 0; k < KEEPERS; k++) {
        int p[2];
        if (pipe(p) != 0)
            break;
        writers[k] = fork();
        if (writers[k] == 0) {
            t_quiet();
            close(p[0]);
            keeper_writer(k, p[1]);
        }
        readers[k] = fork();
        if (readers[k] == 0) {
            t_quiet();
            close(p[1]);
            keeper_reader(k, p[0]);
        }
        close(p[0]);
        close(p[1]);
    }

    /* The storm: every round kills one victim of each kind, at a different
     * moment of its life, and starts a new one. */
    pid_t victims[VICTIM_KINDS];
    for (int v = 0; v < VICTIM_KINDS; v++)
        victims[v] = spawn_victim(v);
    int spawned = VICTIM_KINDS, killed = 0, spawn_failures = 0;
    unsigned seed = 12345;
    for (int r = 0; r < ROUNDS; r++) {
        for (int v = 0; v < VICTIM_KINDS; v++) {
            seed = seed * 1103515245 + 12345;
            if ((seed >> 16) % 3 == 0)
                sleep_ms(1 + (seed >> 20) % 7);
            if (victims[v] <= 0)
                continue;
            kill(victims[v], SIGKILL);
            int st = t_wait(victims[v]);
            killed += st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
            victims[v] = spawn_victim(v);
            if (victims[v] > 0)
                spawned++;
            else
                spawn_failures++;
        }
    }
    for (int v = 0; v < VICTIM_KINDS; v++) {
        if (victims[v] <= 0)
            continue;
        kill(victims[v], SIGKILL);
        int st = t_wait(victims[v]);
        killed += st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    }
    EXPECT_EQ(spawn_failures, 0, "every victim could be started");
    EXPECT_EQ(killed, spawned, "every victim was reaped, killed by SIGKILL (%d of them)", ROUNDS * VICTIM_KINDS + VICTIM_KINDS);

    /* The keepers' data. */
    int intact = 0, written = 0;
    for (int k = 0; k < KEEPERS; k++) {
        int st = t_wait(writers[k]);
        written += st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        st = t_wait(readers[k]);
        intact += st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    EXPECT_EQ(written, KEEPERS, "every keeper writer finished");
    EXPECT_EQ(intact, KEEPERS, "every keeper reader got its %d bytes intact and in order", KEEPER_BYTES);
    int files_ok = 0;
    static unsigned char buf[KEEPER_BYTES + 1];
    for (int k = 0; k < KEEPERS; k++) {
        char name[32];
        snprintf(name, sizeof name, "keeper%d", k);
        int fd = open(name, O_RDONLY);
        long n = 0, got;
        while (fd >= 0 && (got = read(fd, buf + n, sizeof buf - n)) > 0)
            n += got;
        if (fd >= 0)
            close(fd);
        unsigned long s = 0;
        for (long i = 0; i < n; i++)
            s = s * 31 + buf[i];
        files_ok += n == KEEPER_BYTES && s == checksum(k, KEEPER_BYTES);
    }
    EXPECT_EQ(files_ok, KEEPERS, "every keeper's file holds exactly what it wrote");

    /* Nothing of ours is left, and the system still works. */
    EXPECT_ERR(waitpid(-1, NULL, WNOHANG), ECHILD, "no children are left");
    int p[2];
    EXPECT_OK(pipe(p), "pipe still works");
    pid_t c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        execl("/bin/echo", "echo", "still alive", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[32] = "";
    long n = read(p[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = 0;
    EXPECT_STR(line, "still alive\n", "fork, exec and a pipe still work");
    EXPECT_EXIT(t_wait(c), 0, "and the child exits 0");
    return t_done();
}
