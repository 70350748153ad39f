/*
 * t_exhaust - running out of descriptors, pipe room and threads gives the
 * errors Linux gives, and the system is whole afterwards: RLIMIT_NOFILE
 * ends opens with EMFILE (and dup, pipe, socket-less calls alike); many
 * writers filling one pipe get every byte through, PIPE_BUF pieces never
 * torn; three thousand threads come and go, a thousand of them alive at once;
 * then fork, exec and a fresh pipe still work.
 */
#include "check.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void test_descriptors(void)
{
    struct rlimit old, rl = {32, 32};
    getrlimit(RLIMIT_NOFILE, &old);
    EXPECT_OK(setrlimit(RLIMIT_NOFILE, &rl), "RLIMIT_NOFILE 32");
    int fds[64], n = 0, fd;
    while (n < 64 && (fd = open("/dev/null", O_RDONLY)) >= 0)
        fds[n++] = fd;
    EXPECT_EQ(errno, EMFILE, "open until it fails: EMFILE");
    EXPECT_EQ(n, 29, "29 opens besides stdin, stdout, stderr");
    EXPECT_ERR(dup(0), EMFILE, "dup at the limit");
    int p[2];
    EXPECT_ERR(pipe(p), EMFILE, "pipe at the limit");
    close(fds[--n]);
    EXPECT_ERR(pipe(p), EMFILE, "pipe with one slot free (it needs two)");
    EXPECT_OK(fd = dup(0), "dup with one slot free");
    close(fd);
    while (n > 0)
        close(fds[--n]);
    EXPECT_OK(pipe(p), "pipe after closing them");
    close(p[0]);
    close(p[1]);
    setrlimit(RLIMIT_NOFILE, &old);
}

#define WRITERS 12
#define PIECES 200
#define PIECE 512 /* < PIPE_BUF: written whole */

static void test_pipe_writers(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "a pipe for %d writers", WRITERS);
    for (int w = 0; w < WRITERS; w++) {
        if (fork() == 0) {
            close(p[0]);
            char piece[PIECE];
            for (int i = 0; i < PIECES; i++) {
                memset(piece, 'a' + w, sizeof piece);
                memcpy(piece, &i, sizeof i);
                if (write(p[1], piece, sizeof piece) != (ssize_t)sizeof piece)
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(p[1]);
    int next[WRITERS] = {0}, torn = 0, order = 0;
    long total = 0;
    char piece[PIECE];
    for (;;) {
        ssize_t got = 0, r;
        while (got < PIECE && (r = read(p[0], piece + got, PIECE - got)) > 0)
            got += r;
        if (got == 0)
            break;
        total += got;
        int w = piece[PIECE - 1] - 'a', i;
        memcpy(&i, piece, sizeof i);
        if (got != PIECE || w < 0 || w >= WRITERS) {
            torn++;
            continue;
        }
        for (int k = sizeof i; k < PIECE; k++)
            torn += piece[k] != 'a' + w;
        order += i != next[w];
        next[w] = i + 1;
    }
    close(p[0]);
    int ok = 0, st;
    for (int w = 0; w < WRITERS; w++)
        ok += wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    EXPECT_EQ(total, (long)WRITERS * PIECES * PIECE, "every byte of every writer arrived");
    EXPECT_EQ(torn, 0, "no piece torn or mixed");
    EXPECT_EQ(order, 0, "each writer's pieces in order");
    EXPECT_EQ(ok, WRITERS, "every writer exited 0");
}

static volatile int started, go;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *waiter(void *arg)
{
    pthread_mutex_lock(&lock);
    started++;
    pthread_cond_broadcast(&cond);
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

static void *quick(void *arg) { return arg; }

static void test_threads(void)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 32768);
    enum { ALIVE = 1000, TOTAL = 2000 };
    static pthread_t t[ALIVE];
    int made = 0;
    for (int i = 0; i < ALIVE; i++)
        made += pthread_create(&t[i], &a, waiter, (void *)(long)i) == 0;
    pthread_mutex_lock(&lock);
    while (started < made)
        pthread_cond_wait(&cond, &lock);
    go = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < made; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    EXPECT_EQ(made, ALIVE, "%d threads alive at once", ALIVE);
    EXPECT_EQ(sum, ALIVE * (ALIVE - 1) / 2, "each joined with its own result");
    int joined = 0;
    for (int i = 0; i < TOTAL; i++) {
        pthread_t q;
        void *r;
        if (pthread_create(&q, &a, quick, (void *)(long)i) == 0 && pthread_join(q, &r) == 0 && (long)r == i)
            joined++;
    }
    EXPECT_EQ(joined, TOTAL, "%d more threads created and joined one by one", TOTAL);
}

int main(void)
{
    t_begin("t_exhaust");
    test_descriptors();
    test_pipe_writers();
    test_threads();
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/true", "true", (char *)0);
        _exit(127);
    }
    int st;
    EXPECT_EQ(waitpid(c, &st, 0) == c && WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, "fork and exec still work");
    return t_done();
}
