/*
 * lat_syscall - the cost of simple system calls (lmbench lat_syscall).
 *
 *   null_syscall    syscall(SYS_getppid) (raw: no libc caching)
 *   read_dev_zero   read 1 byte from /dev/zero
 *   write_dev_null  write 1 byte to /dev/null
 *   stat            stat(2) of /bin/busybox
 *   open_close      open(O_RDONLY) + close of /bin/busybox
 *
 * All in microseconds per call. /bin/busybox is in the rootfs of both
 * systems; elsewhere (a development host) this program's own file is used.
 */
#include "bench.h"

static int fd_zero, fd_null;
static const char *file = "/bin/busybox";

static void do_null(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
}

static void do_read(long n, void *arg)
{
    (void)arg;
    char c;
    for (long i = 0; i < n; i++)
        if (read(fd_zero, &c, 1) != 1)
            bench_die_errno("read /dev/zero");
}

static void do_write(long n, void *arg)
{
    (void)arg;
    char c = 0;
    for (long i = 0; i < n; i++)
        if (write(fd_null, &c, 1) != 1)
            bench_die_errno("write /dev/null");
}

static void do_stat(long n, void *arg)
{
    (void)arg;
    struct stat st;
    for (long i = 0; i < n; i++)
        if (stat(file, &st) != 0)
            bench_die_errno("stat");
}

static void do_open_close(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        int fd = open(file, O_RDONLY);
        if (fd < 0)
            bench_die_errno("open");
        if (close(fd) != 0)
            bench_die_errno("close");
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "lat_syscall");
    struct stat st;
    if (stat(file, &st) != 0) {
        file = argv[0];
        if (stat(file, &st) != 0)
            bench_die_errno("stat /bin/busybox and argv[0]");
    }
    if ((fd_zero = open("/dev/zero", O_RDONLY)) < 0)
        bench_die_errno("open /dev/zero");
    if ((fd_null = open("/dev/null", O_WRONLY)) < 0)
        bench_die_errno("open /dev/null");

    bench_run(&(struct bench){ .row = "null_syscall", .fn = do_null });
    bench_run(&(struct bench){ .row = "read_dev_zero", .fn = do_read });
    bench_run(&(struct bench){ .row = "write_dev_null", .fn = do_write });
    bench_run(&(struct bench){ .row = "stat", .fn = do_stat });
    bench_run(&(struct bench){ .row = "open_close", .fn = do_open_close });
    return bench_done();
}
