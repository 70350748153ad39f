/*
 * t_fifo - named pipes (mkfifo): what stat says, opens that wait for the
 * other end (a reader for a writer and the other way round) and those that
 * do not (O_NONBLOCK, O_RDWR), ENXIO for a non-blocking writer without
 * readers, EOF and EPIPE as with pipes, an open interrupted by a signal
 * (EINTR, and it counts as an end no more), data thrown away when the last
 * end closes, a FIFO unlinked while open, and poll.
 */
#include "check.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

static void on_alarm(int sig)
{
    (void)sig;
}

/* A child that sleeps `ms`, opens the FIFO with `flags`, writes `msg` (if
 * any) and exits, or reads until EOF and exits with the byte count. */
static pid_t partner(long ms, int flags, const char *msg)
{
    pid_t p = fork();
    if (p == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        sleep_ms(ms);
        int fd = open("f", flags);
        if (fd < 0)
            _exit(100);
        if (msg) {
            _exit(write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg) ? 0 : 101);
        }
        char buf[256];
        long total = 0, n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            total += n;
        _exit((int)total);
    }
    return p;
}

int main(void)
{
    t_begin("t_fifo");
    EXPECT_OK(mkfifo("f", 0644), "mkfifo");
    EXPECT_ERR(mkfifo("f", 0644), EEXIST, "mkfifo over an existing name");
    struct stat st;
    EXPECT_OK(stat("f", &st), "stat the FIFO");
    CHECK(S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644, "it is a FIFO with mode 0644");
    EXPECT_EQ((long)st.st_size, 0L, "of size 0");

    /* Opens that do not wait. */
    EXPECT_ERR(open("f", O_WRONLY | O_NONBLOCK), ENXIO, "O_WRONLY|O_NONBLOCK without a reader");
    int r = EXPECT_OK(open("f", O_RDONLY | O_NONBLOCK), "O_RDONLY|O_NONBLOCK without a writer does not wait");
    char buf[64];
    EXPECT_RET(read(r, buf, sizeof buf), 0, "and reads end of file (no writer)");
    int w = EXPECT_OK(open("f", O_WRONLY | O_NONBLOCK), "O_WRONLY|O_NONBLOCK with a reader");
    EXPECT_RET(write(w, "hello", 5), 5, "write 5 bytes");
    int n = -1;
    EXPECT_OK(ioctl(r, FIONREAD, &n), "FIONREAD");
    EXPECT_EQ(n, 5, "5 bytes are waiting");
    EXPECT_RET(read(r, buf, sizeof buf), 5, "the reader gets them");
    CHECK(memcmp(buf, "hello", 5) == 0, "in order");
    EXPECT_ERR(read(r, buf, sizeof buf), EAGAIN, "empty with a writer: EAGAIN");
    struct stat fst;
    EXPECT_OK(fstat(r, &fst), "fstat the read end");
    CHECK(S_ISFIFO(fst.st_mode) && fst.st_ino == st.st_ino, "fstat shows the FIFO's own inode");
    EXPECT_ERR(lseek(r, 0, SEEK_SET), ESPIPE, "lseek: ESPIPE");
    close(w);
    EXPECT_RET(read(r, buf, sizeof buf), 0, "end of file once the writer closed");
    close(r);

    int rw = EXPECT_OK(open("f", O_RDWR), "O_RDWR never waits");
    EXPECT_RET(write(rw, "abc", 3), 3, "and reads what it writes");
    EXPECT_RET(read(rw, buf, sizeof buf), 3, "3 bytes back");
    EXPECT_RET(write(rw, "left over", 9), 9, "bytes left in the FIFO");
    close(rw);
    rw = EXPECT_OK(open("f", O_RDWR | O_NONBLOCK), "open it again");
    n = -1;
    ioctl(rw, FIONREAD, &n);
    EXPECT_EQ(n, 0, "what was left is gone once every end closed");
    close(rw);

    /* A reader waits for a writer. */
    pid_t c = partner(150, O_WRONLY, "from the writer");
    long t0 = now_ms();
    r = EXPECT_OK(open("f", O_RDONLY), "a blocking reader's open");
    long waited = now_ms() - t0;
    CHECK(waited >= 100, "waited for the writer to open");
    long got = 0, k;
    while ((k = read(r, buf + got, sizeof buf - 1 - got)) > 0)
        got += k;
    buf[got] = 0;
    EXPECT_STR(buf, "from the writer", "read what the writer wrote, then EOF");
    EXPECT_EXIT(t_wait(c), 0, "the writer exited 0");
    close(r);

    /* A writer waits for a reader. */
    c = partner(150, O_RDONLY, NULL);
    t0 = now_ms();
    w = EXPECT_OK(open("f", O_WRONLY), "a blocking writer's open");
    waited = now_ms() - t0;
    CHECK(waited >= 100, "waited for the reader to open");
    EXPECT_RET(write(w, "twelve bytes", 12), 12, "write to the reader");
    close(w);
    EXPECT_EXIT(t_wait(c), 12, "the reader got 12 bytes and EOF");

    /* A partner that opens and closes again still releases the waiter. */
    c = partner(100, O_WRONLY, "");
    r = EXPECT_OK(open("f", O_RDONLY), "a reader whose writer comes and goes");
    EXPECT_RET(read(r, buf, sizeof buf), 0, "sees end of file");
    EXPECT_EXIT(t_wait(c), 0, "the writer exited 0");
    close(r);

    /* A signal interrupts a waiting open. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR(open("f", O_RDONLY), EINTR, "a waiting open interrupted by a handled signal");
    EXPECT_ERR(open("f", O_WRONLY | O_NONBLOCK), ENXIO, "and the interrupted reader counts no more");
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR(open("f", O_WRONLY), EINTR, "a waiting writer's open interrupted too");
    r = EXPECT_OK(open("f", O_RDONLY | O_NONBLOCK), "a reader now");
    EXPECT_RET(read(r, buf, sizeof buf), 0, "sees no writer (the interrupted one is gone)");

    /* poll, and EPIPE once the readers are gone. */
    w = EXPECT_OK(open("f", O_WRONLY), "a writer (a reader is there: no wait)");
    struct pollfd p[2] = {{r, POLLIN, 0}, {w, POLLOUT, 0}};
    EXPECT_RET(poll(p, 2, 0), 1, "poll: only the writer is ready");
    CHECK(p[1].revents == POLLOUT, "POLLOUT on the write end");
    write(w, "x", 1);
    EXPECT_RET(poll(p, 1, 0), 1, "poll: readable after a write");
    CHECK(p[0].revents == POLLIN, "POLLIN on the read end");
    close(r);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERR(write(w, "x", 1), EPIPE, "writing with no reader left: EPIPE");
    close(w);

    /* Unlinked while open. */
    r = EXPECT_OK(open("f", O_RDWR), "open");
    EXPECT_OK(unlink("f"), "unlink the FIFO while it is open");
    EXPECT_RET(write(r, "still", 5), 5, "the open FIFO still works");
    EXPECT_RET(read(r, buf, sizeof buf), 5, "both ways");
    close(r);
    EXPECT_ERR(open("f", O_RDONLY | O_NONBLOCK), ENOENT, "the name is gone");

    /* mknod makes one too. */
    EXPECT_OK(mknod("g", S_IFIFO | 0600, 0), "mknod S_IFIFO");
    EXPECT_OK(stat("g", &st), "stat it");
    CHECK(S_ISFIFO(st.st_mode), "a FIFO");
    return t_done();
}
