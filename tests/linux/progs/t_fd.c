/*
 * t_fd - file descriptor table: lowest-available numbering, dup/dup2/dup3,
 * fcntl F_GETFD/F_SETFD/F_GETFL/F_SETFL/F_DUPFD/F_DUPFD_CLOEXEC, close,
 * shared offsets, ftruncate/truncate, umask, RLIMIT_NOFILE limits.
 */
#include "check.h"
#include <sys/resource.h>

static void test_numbering(void)
{
    int a = EXPECT_OK(open("f", O_RDWR | O_CREAT, 0644), "open a");
    int b = EXPECT_OK(open("f", O_RDONLY), "open b");
    int c = EXPECT_OK(open("f", O_RDONLY), "open c");
    CHECK(b == a + 1 && c == b + 1, "fresh fds are consecutive");
    close(b);
    EXPECT_EQ(open("f", O_RDONLY), b, "open reuses the lowest free fd");
    close(a);
    close(b);
    EXPECT_EQ(dup(c), a, "dup returns the lowest free fd");
    EXPECT_EQ(open("f", O_RDONLY), b, "next open takes the next free fd");
    close(a);
    close(b);
    EXPECT_OK(close(c), "close");
    EXPECT_ERR(close(c), EBADF, "close twice");
    EXPECT_ERR(close(-1), EBADF, "close(-1)");
    EXPECT_ERR(close(100000), EBADF, "close(100000)");
}

static void test_dup(void)
{
    char buf[8];
    int fd = open("f", O_RDWR | O_TRUNC);
    write(fd, "abcdef", 6);
    lseek(fd, 0, SEEK_SET);
    int d = EXPECT_OK(dup(fd), "dup");
    EXPECT_RET(read(d, buf, 2), 2, "read 2 bytes through the dup");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 2, "dup shares the file offset");
    EXPECT_OK(fcntl(fd, F_SETFL, O_APPEND), "F_SETFL O_APPEND on the original");
    CHECK(fcntl(d, F_GETFL) & O_APPEND, "dup shares the status flags (O_APPEND)");
    fcntl(fd, F_SETFL, 0);
    EXPECT_OK(fcntl(fd, F_SETFD, FD_CLOEXEC), "F_SETFD FD_CLOEXEC on the original");
    EXPECT_EQ(fcntl(d, F_GETFD), 0, "dup does not share FD_CLOEXEC");
    fcntl(fd, F_SETFD, 0);
    close(d);

    EXPECT_RET(dup2(fd, 50), 50, "dup2 to 50");
    EXPECT_RET(lseek(50, 0, SEEK_CUR), 2, "dup2 target shares the offset");
    int other = open("f", O_RDONLY);
    EXPECT_RET(dup2(fd, other), other, "dup2 onto an open fd closes it silently");
    EXPECT_RET(lseek(other, 0, SEEK_CUR), 2, "replaced fd now refers to the original file");
    close(other);
    EXPECT_RET(dup2(fd, fd), fd, "dup2(fd, fd) returns fd");
    EXPECT_ERR(dup2(1000, 51), EBADF, "dup2 from a closed fd");
    EXPECT_ERR(dup2(1000, 1000), EBADF, "dup2(bad, bad)");
    EXPECT_ERR(dup2(fd, -1), EBADF, "dup2 to -1");
    EXPECT_ERR(dup(1000), EBADF, "dup a closed fd");

    EXPECT_ERR(syscall(SYS_dup3, fd, fd, 0), EINVAL, "dup3 with oldfd == newfd");
    EXPECT_ERR(syscall(SYS_dup3, fd, 52, 0x1), EINVAL, "dup3 with an unknown flag");
    EXPECT_RET(syscall(SYS_dup3, fd, 52, O_CLOEXEC), 52, "dup3 O_CLOEXEC to 52");
    EXPECT_EQ(fcntl(52, F_GETFD), FD_CLOEXEC, "dup3 O_CLOEXEC sets FD_CLOEXEC");
    EXPECT_RET(syscall(SYS_dup3, fd, 52, 0), 52, "dup3 without flags onto 52");
    EXPECT_EQ(fcntl(52, F_GETFD), 0, "dup3 without O_CLOEXEC clears FD_CLOEXEC");
    EXPECT_ERR(syscall(SYS_dup3, 1000, 53, 0), EBADF, "dup3 from a closed fd");
    close(50);
    close(52);
    close(fd);
}

static void test_fcntl(void)
{
    int fd = open("f", O_RDWR);
    EXPECT_EQ(fcntl(fd, F_GETFD), 0, "F_GETFD of a new fd is 0");
    EXPECT_OK(fcntl(fd, F_SETFD, FD_CLOEXEC), "F_SETFD FD_CLOEXEC");
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "F_GETFD is FD_CLOEXEC");
    fcntl(fd, F_SETFD, 0);
    EXPECT_EQ(fcntl(fd, F_GETFD), 0, "F_SETFD 0 clears it");
    int ce = open("f", O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(fcntl(ce, F_GETFD), FD_CLOEXEC, "open O_CLOEXEC sets FD_CLOEXEC");
    close(ce);

    int fl = fcntl(fd, F_GETFL);
    EXPECT_EQ(fl & O_ACCMODE, O_RDWR, "F_GETFL access mode O_RDWR");
    EXPECT_EQ(fl & ~O_ACCMODE, O_LARGEFILE, "F_GETFL other flags: only O_LARGEFILE (x86-64 forces it)");
    int ro = open("f", O_RDONLY);
    EXPECT_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY, "F_GETFL access mode O_RDONLY");
    int wo = open("f", O_WRONLY | O_APPEND);
    EXPECT_EQ(fcntl(wo, F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND, "F_GETFL O_WRONLY|O_APPEND");
    close(wo);
    EXPECT_OK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK), "F_SETFL O_APPEND|O_NONBLOCK");
    fl = fcntl(fd, F_GETFL);
    CHECK((fl & O_APPEND) && (fl & O_NONBLOCK), "F_GETFL shows O_APPEND|O_NONBLOCK");
    fcntl(fd, F_SETFL, O_RDONLY);
    fl = fcntl(fd, F_GETFL);
    EXPECT_EQ(fl & O_ACCMODE, O_RDWR, "F_SETFL cannot change the access mode");
    CHECK(!(fl & (O_APPEND | O_NONBLOCK)), "F_SETFL 0 clears O_APPEND|O_NONBLOCK");
    fcntl(ro, F_SETFL, O_WRONLY | O_APPEND);
    EXPECT_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY, "F_SETFL O_WRONLY leaves O_RDONLY");
    close(ro);

    EXPECT_RET(fcntl(fd, F_DUPFD, 60), 60, "F_DUPFD with minimum 60 gives 60");
    EXPECT_RET(fcntl(fd, F_DUPFD, 60), 61, "F_DUPFD with minimum 60 again gives 61");
    EXPECT_EQ(fcntl(60, F_GETFD), 0, "F_DUPFD result has no FD_CLOEXEC");
    EXPECT_RET(fcntl(fd, F_DUPFD_CLOEXEC, 60), 62, "F_DUPFD_CLOEXEC with minimum 60 gives 62");
    EXPECT_EQ(fcntl(62, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
    close(61);
    EXPECT_RET(fcntl(fd, F_DUPFD, 55), 55, "F_DUPFD with minimum 55 gives 55");
    EXPECT_RET(fcntl(fd, F_DUPFD, 56), 56, "F_DUPFD fills gaps above the minimum");
    EXPECT_RET(fcntl(fd, F_DUPFD, 60), 61, "F_DUPFD reuses the closed 61");
    for (int i = 55; i <= 62; i++)
        close(i);
    int low = fcntl(fd, F_DUPFD, 0);
    CHECK(low >= 0 && low < fd + 2, "F_DUPFD with minimum 0 gives a low fd");
    close(low);
    EXPECT_ERR(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD with a negative minimum");
    EXPECT_ERR(fcntl(1000, F_GETFD), EBADF, "F_GETFD on a closed fd");
    EXPECT_ERR(fcntl(1000, F_GETFL), EBADF, "F_GETFL on a closed fd");
    EXPECT_ERR(fcntl(fd, 9999), EINVAL, "fcntl with an unknown command");
    close(fd);
}

static void test_truncate(void)
{
    char buf[64];
    struct stat st;
    int fd = open("tr", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    EXPECT_OK(ftruncate(fd, 4), "ftruncate shrink to 4");
    fstat(fd, &st);
    EXPECT_EQ(st.st_size, 4, "size after shrink is 4");
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 10, "ftruncate does not move the offset");
    EXPECT_RET(pread(fd, buf, sizeof buf, 0), 4, "read after shrink gives 4 bytes");
    EXPECT_OK(ftruncate(fd, 20), "ftruncate grow to 20");
    memset(buf, 'x', sizeof buf);
    EXPECT_RET(pread(fd, buf, sizeof buf, 0), 20, "read after grow gives 20 bytes");
    CHECK(memcmp(buf, "0123", 4) == 0 && all_zero(buf + 4, 16), "grown part reads as zeros (old bytes gone)");
    EXPECT_RET(write(fd, "Z", 1), 1, "write at the old offset 10");
    pread(fd, buf, sizeof buf, 0);
    CHECK(buf[10] == 'Z' && all_zero(buf + 4, 6), "write lands at offset 10 inside the grown part");
    EXPECT_ERR(ftruncate(fd, -1), EINVAL, "ftruncate to a negative length");
    close(fd);
    fd = open("tr", O_RDONLY);
    EXPECT_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on an O_RDONLY fd");
    close(fd);
    EXPECT_ERR(ftruncate(1000, 0), EBADF, "ftruncate on a closed fd");
    EXPECT_OK(truncate("tr", 3), "truncate by path to 3");
    stat("tr", &st);
    EXPECT_EQ(st.st_size, 3, "size after truncate is 3");
    EXPECT_OK(truncate("tr", 8192), "truncate by path to 8192");
    stat("tr", &st);
    EXPECT_EQ(st.st_size, 8192, "size after truncate is 8192");
    mkdir("trd", 0755);
    EXPECT_ERR(truncate("trd", 0), EISDIR, "truncate a directory");
    EXPECT_ERR(truncate("missing", 0), ENOENT, "truncate a missing file");
    EXPECT_ERR(truncate("tr", -1), EINVAL, "truncate to a negative length");
}

static void test_umask(void)
{
    umask(022);
    EXPECT_EQ(umask(077), 022, "umask returns the previous mask (022)");
    EXPECT_EQ(umask(0), 077, "umask returns the previous mask (077)");
    EXPECT_EQ(umask(0777777), 0, "umask returns the previous mask (0)");
    EXPECT_EQ(umask(022), 0777, "umask keeps only the 0777 bits");
}

static void test_nofile(void)
{
    struct rlimit old, rl;
    EXPECT_OK(getrlimit(RLIMIT_NOFILE, &old), "getrlimit RLIMIT_NOFILE");
    rl.rlim_cur = 10;
    rl.rlim_max = old.rlim_max;
    EXPECT_OK(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl), "lower the RLIMIT_NOFILE soft limit to 10");
    int fd = open("f", O_RDONLY);
    EXPECT_ERR(fcntl(fd, F_DUPFD, 10), EINVAL, "F_DUPFD with minimum >= RLIMIT_NOFILE");
    EXPECT_ERR(dup2(fd, 10), EBADF, "dup2 to an fd >= RLIMIT_NOFILE");
    int fds[10], n = 0, last;
    for (;;) {
        errno = 0;
        last = open("f", O_RDONLY);
        if (last < 0 || n == 10)
            break;
        fds[n++] = last;
    }
    CHECK(last == -1 && errno == EMFILE, "opening until the limit ends in EMFILE");
    CHECK(n > 0 && fds[n - 1] == 9, "the last fd opened is 9");
    while (n > 0)
        close(fds[--n]);
    EXPECT_OK(syscall(SYS_setrlimit, RLIMIT_NOFILE, &old), "raise the soft limit back");
    EXPECT_RET(dup2(fd, 10), 10, "dup2 to fd 10 works again after raising the limit");
    close(10);
    close(fd);
}

int main(void)
{
    t_begin("t_fd");
    umask(022);
    test_numbering();
    test_dup();
    test_fcntl();
    test_truncate();
    test_umask();
    test_nofile();
    return t_done();
}
