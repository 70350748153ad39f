/*
 * t_pipe - pipes, poll and select, within one process: byte order, end of
 * file, EPIPE with SIGPIPE ignored, O_NONBLOCK and EAGAIN, PIPE_BUF
 * atomicity, capacity (F_GETPIPE_SZ/F_SETPIPE_SZ), FIONREAD, fstat,
 * close-on-exec, bad arguments, and the readiness and timeouts poll,
 * ppoll, select and pselect report. (Blocking between processes comes with
 * fork: see the process tests.)
 */
#include "check.h"
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <time.h>

static void test_basics(void)
{
    int p[2];
    char buf[64];
    EXPECT_OK(pipe(p), "pipe");
    CHECK(p[0] >= 3 && p[1] == p[0] + 1, "pipe gives the two lowest free descriptors");
    EXPECT_RET(write(p[1], "hello ", 6), 6, "write 6 bytes");
    EXPECT_RET(write(p[1], "world", 5), 5, "write 5 more");
    int n = 0;
    EXPECT_OK(ioctl(p[0], FIONREAD, &n), "FIONREAD");
    EXPECT_EQ(n, 11, "FIONREAD counts the bytes in the pipe");
    EXPECT_RET(read(p[0], buf, 3), 3, "a short read takes 3");
    EXPECT_RET(read(p[0], buf + 3, sizeof buf), 8, "the next read takes the rest");
    buf[11] = 0;
    EXPECT_STR(buf, "hello world", "bytes come out in order");
    EXPECT_ERR(read(p[1], buf, 1), EBADF, "reading the write end");
    EXPECT_ERR(write(p[0], "x", 1), EBADF, "writing the read end");
    EXPECT_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    EXPECT_ERR(pread(p[0], buf, 1, 0), ESPIPE, "pread on a pipe");

    struct stat st;
    EXPECT_OK(fstat(p[0], &st), "fstat on a pipe");
    CHECK(S_ISFIFO(st.st_mode), "a pipe is a FIFO");
    EXPECT_EQ(st.st_mode & 0777, 0600, "pipe permissions are 0600");
    struct stat st2;
    fstat(p[1], &st2);
    CHECK(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "both ends are the same inode");

    EXPECT_RET(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "the read end is O_RDONLY");
    EXPECT_RET(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY, "the write end is O_WRONLY");
    EXPECT_RET(fcntl(p[0], F_GETFD), 0, "pipe() sets no close-on-exec");

    write(p[1], "tail", 4);
    close(p[1]);
    EXPECT_RET(read(p[0], buf, sizeof buf), 4, "data written before the close is still read");
    EXPECT_RET(read(p[0], buf, sizeof buf), 0, "then end of file");
    EXPECT_RET(read(p[0], buf, sizeof buf), 0, "and end of file again");
    close(p[0]);
}

static void test_pipe2_flags(void)
{
    int p[2];
    char c;
    EXPECT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK), "pipe2 O_CLOEXEC|O_NONBLOCK");
    EXPECT_RET(fcntl(p[0], F_GETFD), FD_CLOEXEC, "O_CLOEXEC on the read end");
    EXPECT_RET(fcntl(p[1], F_GETFD), FD_CLOEXEC, "O_CLOEXEC on the write end");
    CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK, "O_NONBLOCK on the read end");
    EXPECT_ERR(read(p[0], &c, 1), EAGAIN, "reading an empty nonblocking pipe");
    EXPECT_RET(read(p[0], &c, 0), 0, "a read of 0 bytes does not wait");
    close(p[0]);
    close(p[1]);
    EXPECT_ERR(syscall(SYS_pipe2, p, 0x4000000 /* not a pipe2 flag */), EINVAL, "pipe2 with an unknown flag");
    EXPECT_ERR(syscall(SYS_pipe2, (void *)1, 0), EFAULT, "pipe2 into a bad address");
    EXPECT_ERR(syscall(SYS_pipe, NULL), EFAULT, "pipe into NULL");
    int before = dup(0);
    close(before);
    int after = dup(0);
    close(after);
    EXPECT_EQ(after, before, "a failed pipe2 leaves no descriptors behind");
}

static void test_capacity_and_nonblocking(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    EXPECT_RET(fcntl(p[0], F_GETPIPE_SZ), 65536, "default capacity is 64 KiB");
    static char big[70000], back[70000];
    for (unsigned i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    EXPECT_RET(write(p[1], big, sizeof big), 65536, "a large nonblocking write fills the pipe and stops");
    EXPECT_ERR(write(p[1], big, 1), EAGAIN, "a full nonblocking pipe: EAGAIN");
    EXPECT_RET(read(p[0], back, 100), 100, "read 100 bytes");
    EXPECT_ERR(write(p[1], big, 100), EAGAIN, "reading part of a page frees no room (capacity is in pages)");
    EXPECT_RET(read(p[0], back + 100, 3996), 3996, "read the rest of the first page");
    EXPECT_RET(write(p[1], big + 65536, 200), 200, "now a page is free");
    EXPECT_ERR(write(p[1], big, 4096), EAGAIN, "a second page is not");
    EXPECT_RET(read(p[0], back + 4096, sizeof back), 65536 - 4096 + 200, "read everything back");
    CHECK(memcmp(back, big, 65536 + 200) == 0, "the bytes are those written, in order");
    EXPECT_RET(fcntl(p[1], F_SETPIPE_SZ, 5000), 8192, "F_SETPIPE_SZ rounds up to a power of two pages");
    EXPECT_RET(fcntl(p[0], F_GETPIPE_SZ), 8192, "both ends see the new size");
    EXPECT_RET(write(p[1], big, 9000), 8192, "the new capacity limits a write");
    EXPECT_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY, "cannot shrink below the data held");
    EXPECT_ERR(fcntl(0 + 100, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a closed descriptor");
    int fd = open("/dev/null", O_RDONLY);
    EXPECT_ERR(fcntl(fd, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a file that is not a pipe");
    close(fd);
    close(p[0]);
    close(p[1]);
}

static void test_broken_pipe(void)
{
    int p[2];
    signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    EXPECT_ERR(write(p[1], "x", 1), EPIPE, "writing with no reader: EPIPE (SIGPIPE ignored)");
    EXPECT_RET(write(p[1], "x", 0), 0, "a write of 0 bytes with no reader returns 0");
    struct pollfd pf = {p[1], POLLOUT, 0};
    EXPECT_RET(poll(&pf, 1, 0), 1, "poll on a broken pipe's write end");
    EXPECT_EQ(pf.revents, POLLOUT | POLLERR, "it reports POLLOUT|POLLERR");
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
}

static void test_poll(void)
{
    int p[2];
    pipe(p);
    struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    EXPECT_RET(poll(pf, 3, 0), 1, "empty pipe: only the write end is ready");
    EXPECT_EQ(pf[0].revents, 0, "read end: no events");
    EXPECT_EQ(pf[1].revents, POLLOUT, "write end: POLLOUT");
    EXPECT_EQ(pf[2].revents, 0, "a negative fd is skipped");
    write(p[1], "z", 1);
    EXPECT_RET(poll(pf, 2, 0), 2, "after a write both ends are ready");
    EXPECT_EQ(pf[0].revents, POLLIN, "read end: POLLIN");

    long t0 = now_ms();
    pf[0].events = POLLPRI;
    EXPECT_RET(poll(pf, 1, 120), 0, "poll for an event that does not come times out");
    long dt = now_ms() - t0;
    CHECK(dt >= 110 && dt < 5000, "after about the timeout (120 ms)");

    struct timespec ts = {0, 50 * 1000000};
    t0 = now_ms();
    EXPECT_RET(ppoll(pf, 1, &ts, NULL), 0, "ppoll times out too");
    dt = now_ms() - t0;
    CHECK(dt >= 45 && dt < 5000, "after about 50 ms");

    close(p[1]);
    pf[0].events = POLLIN;
    EXPECT_RET(poll(pf, 1, 0), 1, "read end with data and no writer");
    EXPECT_EQ(pf[0].revents, POLLIN | POLLHUP, "POLLIN|POLLHUP");
    char c;
    read(p[0], &c, 1);
    EXPECT_RET(poll(pf, 1, 1000), 1, "no data, no writer: ready at once");
    EXPECT_EQ(pf[0].revents, POLLHUP, "POLLHUP alone");

    int closed = p[1];
    struct pollfd bad = {closed, POLLIN, 0};
    EXPECT_RET(poll(&bad, 1, 0), 1, "poll on a closed descriptor");
    EXPECT_EQ(bad.revents, POLLNVAL, "reports POLLNVAL");
    EXPECT_ERR(poll((void *)1, 1, 0), EFAULT, "poll with a bad array");
    EXPECT_RET(poll(NULL, 0, 0), 0, "poll on nothing returns 0");
    struct timespec badts = {0, 1000000000};
    EXPECT_ERR(ppoll(pf, 1, &badts, NULL), EINVAL, "ppoll with tv_nsec out of range");

    int fd = open("/dev/null", O_RDWR);
    struct pollfd f = {fd, POLLIN | POLLOUT, 0};
    EXPECT_RET(poll(&f, 1, -1), 1, "a device file is always ready");
    EXPECT_EQ(f.revents, POLLIN | POLLOUT, "for reading and writing");
    close(fd);
    close(p[0]);
}

static void test_select(void)
{
    int p[2];
    pipe(p);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    EXPECT_RET(select(p[1] + 1, &r, &w, NULL, &tv), 1, "select: the write end is ready");
    CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "only the write end is in the result");
    write(p[1], "a", 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    EXPECT_RET(select(p[0] + 1, &r, NULL, NULL, NULL), 1, "select: data makes the read end ready");
    CHECK(FD_ISSET(p[0], &r), "the read end is in the result");
    char c;
    read(p[0], &c, 1);

    FD_ZERO(&r);
    FD_SET(p[0], &r);
    long t0 = now_ms();
    struct timespec ts = {0, 80 * 1000000};
    EXPECT_RET(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 0, "pselect times out");
    long dt = now_ms() - t0;
    CHECK(dt >= 75 && dt < 5000, "after about 80 ms");
    CHECK(!FD_ISSET(p[0], &r), "and clears the set");

    FD_ZERO(&r);
    FD_SET(p[1] + 10, &r);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    EXPECT_ERR(select(p[1] + 11, &r, NULL, NULL, &tv), EBADF, "select on a closed descriptor");
    EXPECT_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL, "select with nfds < 0");
    tv.tv_usec = -1;
    EXPECT_ERR(syscall(SYS_select, 0, NULL, NULL, NULL, &tv), EINVAL, "select with a negative tv_usec");
    tv.tv_usec = 1100000;
    t0 = now_ms();
    EXPECT_RET(syscall(SYS_select, 0, NULL, NULL, NULL, &tv), 0, "select with tv_usec over a second sleeps");
    dt = now_ms() - t0;
    CHECK(dt >= 1000 && dt < 6000, "for tv_usec microseconds (1.1 s)");
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    t_begin("t_pipe");
    test_basics();
    test_pipe2_flags();
    test_capacity_and_nonblocking();
    test_broken_pipe();
    test_poll();
    test_select();
    return t_done();
}
