/*
 * bw_pipe - pipe bandwidth (lmbench bw_pipe): a child writes 64 KiB chunks
 * into a pipe, this process reads them with 64 KiB reads. Row
 * pipe_bandwidth in MB/s (10^6 bytes per second); one operation is one
 * 64 KiB chunk, and a repetition moves at least 16 MiB (2 MiB with -q).
 *
 * The child lives for the whole row: for each run the parent sends the
 * number of chunks over a control pipe, the child writes them, and the
 * clock runs from that request to the last byte read.
 */
#include "bench.h"

#define CHUNK (64 * 1024)

static char buf[CHUNK] __attribute__((aligned(4096)));
static int ctl_w, data_r;

static void do_transfer(long n, void *arg)
{
    (void)arg;
    bench_write_full(ctl_w, &n, sizeof n, "write request to child");
    long long left = (long long)n * CHUNK;
    while (left > 0) {
        ssize_t r = read(data_r, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            bench_die_errno("read pipe");
        if (r == 0)
            bench_die("read pipe: unexpected end of file");
        left -= r;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bw_pipe");
    memset(buf, 'b', sizeof buf);
    int ctl[2], data[2];
    if (pipe(ctl) < 0 || pipe(data) < 0)
        bench_die_errno("pipe");
    pid_t pid = bench_fork();
    if (pid == 0) {
        close(ctl[1]);
        close(data[0]);
        long n;
        for (;;) {
            ssize_t r = read(ctl[0], &n, sizeof n);
            if (r == 0)
                _exit(0);
            if (r != sizeof n)
                _exit(1);
            for (long i = 0; i < n; i++) {
                size_t off = 0;
                while (off < CHUNK) {
                    ssize_t w = write(data[1], buf + off, CHUNK - off);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w <= 0)
                        _exit(1);
                    off += (size_t)w;
                }
            }
        }
    }
    close(ctl[0]);
    close(data[1]);
    ctl_w = ctl[1];
    data_r = data[0];

    bench_run(&(struct bench){ .row = "pipe_bandwidth", .unit = "MB/s", .fn = do_transfer,
                               .bytes_per_op = CHUNK, .min_n = 256, .max_n = 4096, .qmin_n = 32, .qmax_n = 256 });

    close(ctl_w);
    bench_reap(pid);
    close(data_r);
    return bench_done();
}
