/*
 * lat_sig - signal costs (lmbench lat_sig), microseconds per operation:
 *
 *   sig_install  sigaction(SIGUSR1, handler) (the old action is asked for
 *                too, as lmbench does)
 *   sig_catch    kill(pid, SIGUSR1) to this process with a handler
 *                installed: the kill, the delivery, the handler and its
 *                return (rt_sigreturn). The pid is taken once, before the
 *                loop, so each operation makes one system call of its own.
 */
#include "bench.h"

static volatile sig_atomic_t caught;
static pid_t self;

static void handler(int sig)
{
    (void)sig;
    caught++;
}

static void do_install(long n, void *arg)
{
    (void)arg;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (long i = 0; i < n; i++)
        if (sigaction(SIGUSR1, &sa, &old) != 0)
            bench_die_errno("sigaction SIGUSR1");
}

static void do_catch(long n, void *arg)
{
    (void)arg;
    caught = 0;
    for (long i = 0; i < n; i++)
        if (kill(self, SIGUSR1) != 0)
            bench_die_errno("kill SIGUSR1");
    if (caught != n)
        bench_die("sig_catch: %ld signals sent, %ld caught", n, (long)caught);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_sig");
    self = getpid();
    bench_run(&(struct bench){ .row = "sig_install", .fn = do_install });
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        bench_die_errno("sigaction SIGUSR1");
    bench_run(&(struct bench){ .row = "sig_catch", .fn = do_catch });
    return bench_done();
}
