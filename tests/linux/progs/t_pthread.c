/*
 * t_pthread - threads through musl's pthreads (clone with CLONE_VM |
 * CLONE_THREAD | CLONE_SETTLS | CLONE_CHILD_CLEARTID ..., futexes, tgkill):
 * a mutex-protected counter, a condition-variable queue, join values, thread
 * locals, thread ids, barriers, detached threads, 64 threads at once, a
 * thread with a big stack, per-thread signal masks, pthread_kill to one
 * thread and a process-directed signal taken by the one thread that does not
 * block it, futex wait/wake and timeouts, and how threads end a process:
 * exit() in a thread, a fault in a thread, the main thread's pthread_exit,
 * and execve from a thread that is not the main one.
 */
#include "check.h"
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

/* From <linux/futex.h> (musl-gcc has no kernel headers). */
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)

static const char *self;

static pid_t tid(void)
{
    return syscall(SYS_gettid);
}

/* ---- mutex counter ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *incrementer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void test_mutex(void)
{
    pthread_t t[8];
    int created = 0;
    for (int i = 0; i < 8; i++)
        created += pthread_create(&t[i], NULL, incrementer, NULL) == 0;
    EXPECT_EQ(created, 8, "create 8 threads");
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    EXPECT_EQ(counter, 80000, "8 threads x 10000 locked increments: exactly 80000");
    EXPECT_RET(pthread_mutex_trylock(&lock), 0, "trylock on a free mutex");
    EXPECT_RET(pthread_mutex_trylock(&lock), EBUSY, "trylock on a held mutex: EBUSY");
    pthread_mutex_unlock(&lock);
}

/* ---- condition variable queue ---- */

enum { PRODUCERS = 2, CONSUMERS = 3, ITEMS = 2000, QSIZE = 16 };
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static int queue[QSIZE], qhead, qlen, producers_done;
static unsigned char consumed[PRODUCERS * ITEMS];
static int duplicates;

static void *producer(void *arg)
{
    int base = (int)(long)arg * ITEMS;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (qlen == QSIZE)
            pthread_cond_wait(&not_full, &lock);
        queue[(qhead + qlen++) % QSIZE] = base + i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long n = 0;
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (qlen == 0 && producers_done < PRODUCERS)
            pthread_cond_wait(&not_empty, &lock);
        if (qlen == 0) {
            pthread_mutex_unlock(&lock);
            return (void *)n;
        }
        int item = queue[qhead];
        qhead = (qhead + 1) % QSIZE;
        qlen--;
        if (consumed[item]++)
            duplicates++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        n++;
    }
}

static void test_condvar(void)
{
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)(long)i);
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(p[i], NULL);
        pthread_mutex_lock(&lock);
        producers_done++;
        pthread_cond_broadcast(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    long total = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        void *n;
        pthread_join(c[i], &n);
        total += (long)n;
    }
    EXPECT_EQ(total, PRODUCERS * ITEMS, "condvar queue: 2 producers, 3 consumers, 4000 items consumed");
    int missing = 0;
    for (int i = 0; i < PRODUCERS * ITEMS; i++)
        missing += consumed[i] == 0;
    EXPECT_EQ(missing, 0, "every item consumed");
    EXPECT_EQ(duplicates, 0, "none twice");

    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    long t0 = now_ms();
    pthread_mutex_lock(&lock);
    EXPECT_RET(pthread_cond_timedwait(&cv, &lock, &ts), ETIMEDOUT, "pthread_cond_timedwait with nobody signalling");
    pthread_mutex_unlock(&lock);
    CHECK(now_ms() - t0 >= 90, "times out after about 100 ms");
}

/* ---- join, thread locals, ids, barrier ---- */

static __thread int tls_var = 5;
static pthread_barrier_t barrier;
static int *tls_addr[4];
static pid_t tids[4];
static int tls_ok[4], serial[3], arrived[3], barrier_ok[4];

static void *exit_from_nested(void)
{
    pthread_exit((void *)77);
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    tls_var = id * 10;
    tls_addr[id] = &tls_var;
    tids[id] = tid();
    pthread_barrier_wait(&barrier); /* all four are alive at once */
    tls_ok[id] = tls_var == id * 10;
    barrier_ok[id] = 1;
    for (int r = 0; r < 3; r++) {
        __atomic_add_fetch(&arrived[r], 1, __ATOMIC_SEQ_CST);
        if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&serial[r], 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&arrived[r], __ATOMIC_SEQ_CST) != 4)
            barrier_ok[id] = 0;
    }
    if (id == 3)
        exit_from_nested();
    return (void *)(long)(id * 3 + 1);
}

static void test_threads(void)
{
    pthread_t t[4];
    pthread_barrier_init(&barrier, NULL, 4);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)(long)i);
    void *ret[4];
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], &ret[i]);
    CHECK(ret[0] == (void *)1 && ret[1] == (void *)4 && ret[2] == (void *)7, "pthread_join gets each return value");
    CHECK(ret[3] == (void *)77, "and pthread_exit's value");
    EXPECT_EQ(tls_var, 5, "the main thread's __thread variable keeps its own value");
    int ok = 1, distinct = 1, tid_ok = 1;
    for (int i = 0; i < 4; i++) {
        ok &= tls_ok[i];
        tid_ok &= tids[i] != getpid() && tids[i] > 0;
        for (int j = 0; j < i; j++) {
            distinct &= tls_addr[i] != tls_addr[j];
            tid_ok &= tids[i] != tids[j];
        }
    }
    CHECK(ok, "each thread sees its own __thread value");
    CHECK(distinct, "at its own address");
    CHECK(tid_ok, "gettid differs between threads and from getpid");
    EXPECT_EQ(tid(), getpid(), "the main thread's tid is the pid");
    CHECK(serial[0] == 1 && serial[1] == 1 && serial[2] == 1,
          "pthread_barrier_wait: one PTHREAD_BARRIER_SERIAL_THREAD per round");
    CHECK(barrier_ok[0] && barrier_ok[1] && barrier_ok[2] && barrier_ok[3], "nobody passes a round before all arrive");
    pthread_barrier_destroy(&barrier);
}

static void *same_pid(void *arg)
{
    (void)arg;
    return (void *)(long)(getpid() * 2 + (getppid() != 0));
}

static sem_t detached_done;
static volatile int detached_ran;

static void *detached(void *arg)
{
    (void)arg;
    sleep_ms(50);
    detached_ran = 1;
    sem_post(&detached_done);
    return NULL;
}

static void *quick(void *arg)
{
    return arg;
}

static void *big_stack(void *arg)
{
    (void)arg;
    volatile char buf[512 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)i;
    return (void *)(long)(buf[4096] == (char)4096);
}

static void test_more_threads(void)
{
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, same_pid, NULL);
    pthread_join(t, &r);
    EXPECT_EQ((long)r, getpid() * 2 + 1, "getpid in a thread is the process's pid");

    sem_init(&detached_done, 0, 0);
    pthread_create(&t, NULL, detached, NULL);
    EXPECT_RET(pthread_detach(t), 0, "pthread_detach");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    EXPECT_RET(sem_timedwait(&detached_done, &ts), 0, "the detached thread runs and posts a semaphore");
    EXPECT_EQ(detached_ran, 1, "and did its work");

    pthread_t many[64];
    int created = 0, joined = 0;
    for (int i = 0; i < 64; i++)
        created += pthread_create(&many[i], NULL, quick, (void *)(long)i) == 0;
    for (int i = 0; i < created; i++) {
        pthread_join(many[i], &r);
        joined += (long)r == i;
    }
    EXPECT_EQ(created, 64, "64 threads at once");
    EXPECT_EQ(joined, 64, "each joined with its value");

    pthread_create(&t, NULL, quick, (void *)5);
    sleep_ms(50);
    pthread_join(t, &r);
    EXPECT_EQ((long)r, 5, "joining a thread that has already exited");

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    EXPECT_RET(pthread_create(&t, &attr, big_stack, NULL), 0, "a thread with a 1 MiB stack");
    pthread_join(t, &r);
    EXPECT_EQ((long)r, 1, "uses 512 KiB of it");
    pthread_attr_destroy(&attr);
}

/* ---- signals and threads ---- */

static volatile pid_t handler_tid;
static volatile int got_signal;
static volatile pid_t target_tid;
static sem_t target_ready;

static void on_usr(int sig)
{
    (void)sig;
    handler_tid = tid();
    got_signal = 1;
}

static void *signal_target(void *arg)
{
    int unblock = (int)(long)arg;
    if (unblock) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, unblock);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    }
    target_tid = tid();
    sem_post(&target_ready);
    long t0 = now_ms();
    while (!got_signal && now_ms() - t0 < 5000)
        sleep_ms(5);
    return NULL;
}

static void test_signals(void)
{
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    sem_init(&target_ready, 0, 0);
    pthread_t t;
    got_signal = 0;
    handler_tid = 0;
    pthread_create(&t, NULL, signal_target, NULL);
    sem_wait(&target_ready);
    EXPECT_RET(pthread_kill(t, SIGUSR1), 0, "pthread_kill(thread, SIGUSR1)");
    pthread_join(t, NULL);
    EXPECT_EQ(got_signal, 1, "the handler ran");
    EXPECT_EQ(handler_tid, target_tid, "in the target thread (gettid in the handler)");

    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* the new thread inherits this and unblocks */
    got_signal = 0;
    handler_tid = 0;
    pthread_create(&t, NULL, signal_target, (void *)(long)SIGUSR2);
    sem_wait(&target_ready);
    kill(getpid(), SIGUSR2);
    pthread_join(t, NULL);
    EXPECT_EQ(got_signal, 1, "a process-directed signal blocked in the main thread");
    EXPECT_EQ(handler_tid, target_tid, "is handled by the thread that does not block it");
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    CHECK(sigismember(&now, SIGUSR2), "the thread's pthread_sigmask did not change the main thread's mask");
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- futex ---- */

static int fword;

static void *futex_waker(void *arg)
{
    (void)arg;
    sleep_ms(100);
    __atomic_store_n(&fword, 1, __ATOMIC_SEQ_CST);
    return (void *)syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void test_futex(void)
{
    fword = 0;
    EXPECT_ERR(syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), EAGAIN,
               "FUTEX_WAIT when the word differs");
    struct timespec ts = {0, 80 * 1000000};
    long t0 = now_ms();
    EXPECT_ERR(syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), ETIMEDOUT,
               "FUTEX_WAIT with a timeout and no waker");
    CHECK(now_ms() - t0 >= 70, "after about the timeout (80 ms)");
    EXPECT_RET(syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0, "FUTEX_WAKE with no waiters: 0");
    pthread_t t;
    pthread_create(&t, NULL, futex_waker, NULL);
    struct timespec five = {5, 0};
    long r = syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &five, NULL, 0);
    CHECK(r == 0 || (r == -1 && errno == EAGAIN), "FUTEX_WAIT returns when another thread wakes it");
    void *woken;
    pthread_join(t, &woken);
    EXPECT_EQ(__atomic_load_n(&fword, __ATOMIC_SEQ_CST), 1, "the waker had changed the word");
    CHECK((long)woken <= 1, "FUTEX_WAKE reports at most the one waiter");
}

/* ---- how threads end a process ---- */

static void *exit_42(void *arg)
{
    (void)arg;
    sleep_ms(50);
    exit(42);
}

static void *segv(void *arg)
{
    (void)arg;
    sleep_ms(50);
    *(volatile int *)arg = 1;
    return NULL;
}

static int late_fd;
static void *late_report(void *arg)
{
    (void)arg;
    sleep_ms(100);
    write(late_fd, "late", 4);
    return NULL;
}

static void *exec_from_thread(void *arg)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)arg);
    char *argv[] = {(char *)self, "--exec-check", pid, NULL};
    char *envp[] = {NULL};
    sleep_ms(50);
    execve(self, argv, envp);
    _exit(99);
}

/*
 * Reap pid, killing it after 10 s: a stuck thread may have every signal
 * blocked (musl's pthread_exit does that), so alarm() is no guard here.
 */
static int wait_timeout(pid_t pid)
{
    int st;
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        sleep_ms(10);
    }
    t_kill(pid, SIGKILL);
    return t_wait(pid);
}

static void test_process_end(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        pthread_t t;
        pthread_create(&t, NULL, exit_42, NULL);
        for (;;)
            pause();
    }
    EXPECT_EXIT(wait_timeout(pid), 42, "exit(42) in a thread ends the whole process with status 42");

    pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        pthread_t t;
        pthread_create(&t, NULL, segv, NULL);
        for (;;)
            pause();
    }
    EXPECT_KILLED(wait_timeout(pid), SIGSEGV, "a fault in a thread kills the whole process");

    /*
     * In a fresh image: musl's thread-list lock relies on the kernel clearing
     * it (set_tid_address) when the main thread exits, and fork leaves the
     * child's main thread without a clear_child_tid address.
     */
    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        char *argv[] = {(char *)self, "--main-exits", fd, NULL};
        char *envp[] = {NULL};
        execve(self, argv, envp);
        _exit(99);
    }
    close(p[1]);
    char buf[8] = "";
    EXPECT_RET(read(p[0], buf, sizeof buf), 4, "after the main thread's pthread_exit the other thread goes on");
    EXPECT_EXIT(wait_timeout(pid), 0, "the process ends with status 0 when its last thread returns");
    close(p[0]);

    pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        pthread_t t;
        pthread_create(&t, NULL, exec_from_thread, (void *)(long)getpid());
        for (;;)
            pause();
    }
    EXPECT_EXIT(wait_timeout(pid), 0, "execve in a second thread: the new image has the process's pid and one thread");
}

int main(int argc, char **argv)
{
    static char path[4096];
    if (argc == 3 && !strcmp(argv[1], "--exec-check")) {
        long want = atol(argv[2]);
        return getpid() == want && tid() == want ? 0 : 1;
    }
    if (argc == 3 && !strcmp(argv[1], "--main-exits")) {
        late_fd = atoi(argv[2]);
        pthread_t t;
        pthread_create(&t, NULL, late_report, NULL);
        pthread_exit(NULL);
    }
    if (argv[0][0] == '/') {
        self = argv[0];
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = 0;
        self = path;
    }
    t_begin("t_pthread");
    t_reset_signals();
    test_mutex();
    test_condvar();
    test_threads();
    test_more_threads();
    test_signals();
    test_futex();
    test_process_end();
    return t_done();
}
