/*
 * lat_ctx - context switch time (lmbench lat_ctx with size 0): N processes
 * in a ring of pipes pass a 1-byte token; process i reads pipe i and writes
 * pipe (i+1) mod N, and this process is number 0. One operation is one hop
 * of the token (one write, one read, one switch to the next process): rows
 * ctx_switch_2 and ctx_switch_8, microseconds per hop. Unlike lmbench, the
 * cost of the pipe read/write itself is NOT subtracted.
 *
 * n units of work are n trips round the ring (N hops each). The ring lives
 * for the whole row; closing this process's write end ends it (each child
 * sees end of file, exits and so closes its own write end).
 */
#include "bench.h"

#define MAXPROCS 8

static int ring_in, ring_out; /* process 0's ends: reads pipe 0, writes pipe 1 */

static void do_trips(long n, void *arg)
{
    (void)arg;
    char c = 't';
    for (long i = 0; i < n; i++) {
        if (write(ring_out, &c, 1) != 1)
            bench_die_errno("write token");
        if (read(ring_in, &c, 1) != 1)
            bench_die_errno("read token");
    }
}

static void ring(int nprocs, const char *row)
{
    int p[MAXPROCS][2];
    pid_t pids[MAXPROCS];
    for (int i = 0; i < nprocs; i++)
        if (pipe(p[i]) < 0)
            bench_die_errno("pipe");
    for (int i = 1; i < nprocs; i++) {
        pids[i] = bench_fork();
        if (pids[i] == 0) {
            int in = p[i][0], out = p[(i + 1) % nprocs][1];
            for (int j = 0; j < nprocs; j++) {
                if (p[j][0] != in)
                    close(p[j][0]);
                if (p[j][1] != out)
                    close(p[j][1]);
            }
            char c;
            for (;;) {
                ssize_t r = read(in, &c, 1);
                if (r == 0)
                    _exit(0);
                if (r != 1 || write(out, &c, 1) != 1)
                    _exit(1);
            }
        }
    }
    ring_in = p[0][0];
    ring_out = p[1 % nprocs][1];
    for (int j = 0; j < nprocs; j++) {
        if (p[j][0] != ring_in)
            close(p[j][0]);
        if (p[j][1] != ring_out)
            close(p[j][1]);
    }

    bench_run(&(struct bench){ .row = row, .fn = do_trips, .per_n = nprocs });

    close(ring_out);
    for (int i = 1; i < nprocs; i++)
        bench_reap(pids[i]);
    close(ring_in);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_ctx");
    ring(2, "ctx_switch_2");
    ring(8, "ctx_switch_8");
    return bench_done();
}
