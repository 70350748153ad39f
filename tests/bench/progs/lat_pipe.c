/*
 * lat_pipe - pipe latency (lmbench lat_pipe): a 1-byte ping-pong between
 * this process and a child over two pipes. One operation is a ROUND TRIP
 * (parent writes, child reads and writes back, parent reads): row
 * pipe_latency, microseconds per round trip. The child lives for the whole
 * row and echoes until its input pipe reaches end of file.
 */
#include "bench.h"

static int to_child, from_child;

static void do_pingpong(long n, void *arg)
{
    (void)arg;
    char c = 'x';
    for (long i = 0; i < n; i++) {
        if (write(to_child, &c, 1) != 1)
            bench_die_errno("write to child");
        if (read(from_child, &c, 1) != 1)
            bench_die_errno("read from child");
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_pipe");
    int down[2], up[2];
    if (pipe(down) < 0 || pipe(up) < 0)
        bench_die_errno("pipe");
    pid_t pid = bench_fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        char c;
        for (;;) {
            ssize_t r = read(down[0], &c, 1);
            if (r == 0)
                _exit(0);
            if (r != 1 || write(up[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(down[0]);
    close(up[1]);
    to_child = down[1];
    from_child = up[0];

    bench_run(&(struct bench){ .row = "pipe_latency", .fn = do_pingpong });

    close(to_child);
    bench_reap(pid);
    close(from_child);
    return bench_done();
}
