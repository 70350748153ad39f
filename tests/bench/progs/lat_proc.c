/*
 * lat_proc - process creation (lmbench lat_proc), microseconds per operation:
 *
 *   fork_exit  fork; the child _exit(0)s; the parent waitpid()s
 *   fork_exec  fork; the child execve()s hello (a tiny static program that
 *              exits 0) from this program's directory; waitpid
 *   fork_sh    fork; the child execve()s /bin/sh -c <that hello>; waitpid
 *
 * These children are not registered with bench_fork() (it would add system
 * calls to what is measured); each ends by itself at once. A child whose
 * execve fails exits 127, which the parent reports as an error.
 */
#include "bench.h"

extern char **environ;
static char hello[PATH_MAX];

static void wait_ok(pid_t pid, const char *what)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        bench_die_errno("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        bench_die("%s: child ended with wait status 0x%x", what, st);
}

static void do_fork_exit(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            bench_die_errno("fork");
        if (pid == 0)
            _exit(0);
        wait_ok(pid, "fork_exit");
    }
}

struct exec_job {
    const char *row;
    const char *path;
    char *const *argv;
};

static void do_fork_exec(long n, void *arg)
{
    const struct exec_job *job = arg;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            bench_die_errno("fork");
        if (pid == 0) {
            execve(job->path, job->argv, environ);
            int e = errno;
            char msg[PATH_MAX + 100];
            int len = snprintf(msg, sizeof msg, "lat_proc: execve %s failed: %s (errno %d)\n", job->path,
                               strerror(e), e);
            write(2, msg, (size_t)len);
            _exit(127);
        }
        wait_ok(pid, job->row);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_proc");
    snprintf(hello, sizeof hello, "%s", bench_sibling("hello"));
    if (access(hello, X_OK) != 0)
        bench_die("access %s failed: %s (errno %d)", hello, strerror(errno), errno);

    char *exec_argv[] = { hello, NULL };
    char *sh_argv[] = { "sh", "-c", hello, NULL };
    struct exec_job exec_job = { "fork_exec", hello, exec_argv };
    struct exec_job sh_job = { "fork_sh", "/bin/sh", sh_argv };
    bench_run(&(struct bench){ .row = "fork_exit", .fn = do_fork_exit });
    bench_run(&(struct bench){ .row = "fork_exec", .fn = do_fork_exec, .arg = &exec_job });
    bench_run(&(struct bench){ .row = "fork_sh", .fn = do_fork_exec, .arg = &sh_job });
    return bench_done();
}
