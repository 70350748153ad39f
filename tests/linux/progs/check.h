/*
 * check.h - the small harness every tests/linux program shares.
 *
 * Each check prints exactly one line to stdout and flushes it:
 *     ok - <what was checked>[: ERRNO]
 *     FAIL - <what was checked> (got ..., expected ...)
 * t_done() prints "<name>: N passed, M failed" and returns the exit status
 * (0 when every check passed, 1 otherwise).
 *
 * Output must be identical on native Linux and on our system, so an "ok"
 * line never contains a PID, inode number, address, time or size that
 * depends on the system: only the FAIL detail may show such values.
 *
 * Programs call the raw system call (syscall(SYS_x, ...)) wherever musl's
 * wrapper would check the arguments itself or pick another system call
 * (mprotect rounds addresses, mmap rejects unaligned offsets, dup3 rejects
 * old == new, brk/sbrk always fail, ...): the point is to test the kernel.
 */
#ifndef CHECK_H
#define CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Not every program uses every helper. */
#define T_FN static __attribute__((unused))

static int t_pass, t_fail;
static const char *t_name = "test";

T_FN const char *errname(int e)
{
    static char buf[24];
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
    E(EOVERFLOW) E(EOPNOTSUPP) E(ETXTBSY) E(ENODATA)
#undef E
    case 0: return "0";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

T_FN void t_line(int ok, const char *detail, const char *fmt, va_list ap)
{
    fputs(ok ? "ok - " : "FAIL - ", stdout);
    vprintf(fmt, ap);
    if (detail && *detail)
        printf("%s%s", ok ? ": " : " ", detail);
    putchar('\n');
    fflush(stdout); /* a line per write: nothing is lost if we crash later */
    if (ok)
        t_pass++;
    else
        t_fail++;
}

__attribute__((format(printf, 3, 4))) T_FN int t_check(int ok, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t_line(ok, detail, fmt, ap);
    va_end(ap);
    return ok;
}

/* CHECK(cond, "what", ...): passes when cond is true. */
#define CHECK(cond, ...)                                                                                              \
    ({                                                                                                                 \
        int c_ = !!(cond);                                                                                             \
        t_check(c_, c_ ? "" : "(failed: " #cond ")", __VA_ARGS__);                                                     \
    })

/* EXPECT_EQ(got, expected, "what", ...): integer comparison. */
#define EXPECT_EQ(got, exp, ...)                                                                                      \
    ({                                                                                                                 \
        long long g_ = (long long)(got), x_ = (long long)(exp);                                                        \
        char d_[96] = "";                                                                                              \
        if (g_ != x_)                                                                                                  \
            snprintf(d_, sizeof d_, "(got %lld, expected %lld)", g_, x_);                                              \
        t_check(g_ == x_, d_, __VA_ARGS__);                                                                            \
    })

/* EXPECT_STR(got, expected, "what", ...) */
#define EXPECT_STR(got, exp, ...)                                                                                     \
    ({                                                                                                                 \
        const char *g_ = (got), *x_ = (exp);                                                                           \
        char d_[600] = "";                                                                                             \
        int ok_ = g_ && strcmp(g_, x_) == 0;                                                                           \
        if (!ok_)                                                                                                      \
            snprintf(d_, sizeof d_, "(got \"%.250s\", expected \"%.250s\")", g_ ? g_ : "(null)", x_);                  \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/*
 * EXPECT_ERR(expr, ERRNO, "what", ...): expr must return -1 with errno ERRNO.
 * The ok line ends in ": ERRNO". Evaluates to 1 when the check passed.
 */
#define EXPECT_ERR(expr, err, ...)                                                                                    \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr);                                                                                        \
        int e_ = errno, ok_ = (r_ == -1 && e_ == (err));                                                               \
        char d_[96];                                                                                                   \
        if (ok_)                                                                                                       \
            snprintf(d_, sizeof d_, "%s", errname(err));                                                               \
        else                                                                                                           \
            snprintf(d_, sizeof d_, "(got %ld, errno %s; expected -1, %s)", r_, r_ == -1 ? errname(e_) : "-",         \
                     errname(err));                                                                                    \
        t_check(ok_, d_, __VA_ARGS__);                                                                                 \
    })

/*
 * EXPECT_OK(expr, "what", ...): expr must not return -1. Evaluates to the
 * value of expr, so `int fd = EXPECT_OK(open(...), "open");` works.
 */
#define EXPECT_OK(expr, ...)                                                                                          \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr);                                                                                        \
        int e_ = errno;                                                                                                \
        char d_[96] = "";                                                                                              \
        if (r_ == -1)                                                                                                  \
            snprintf(d_, sizeof d_, "(failed with %s)", errname(e_));                                                  \
        t_check(r_ != -1, d_, __VA_ARGS__);                                                                            \
        r_;                                                                                                            \
    })

/* EXPECT_RET(expr, value, "what", ...): expr must return exactly value. */
#define EXPECT_RET(expr, val, ...)                                                                                    \
    ({                                                                                                                 \
        errno = 0;                                                                                                     \
        long r_ = (long)(expr), v_ = (long)(val);                                                                      \
        int e_ = errno;                                                                                                \
        char d_[96] = "";                                                                                              \
        if (r_ != v_)                                                                                                  \
            snprintf(d_, sizeof d_, "(got %ld%s%s, expected %ld)", r_, r_ == -1 ? " errno " : "",                     \
                     r_ == -1 ? errname(e_) : "", v_);                                                                 \
        t_check(r_ == v_, d_, __VA_ARGS__);                                                                            \
    })

/* Remove a path recursively (like rm -rf); errors are ignored. */
T_FN void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            char sub[4096];
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/*
 * Start a test program: remember its name, create a fresh scratch
 * directory /tmp/<name> and make it the working directory.
 */
T_FN void t_begin(const char *name)
{
    char dir[256];
    t_name = name;
    snprintf(dir, sizeof dir, "/tmp/%s", name);
    rm_rf(dir);
    if (mkdir(dir, 0755) != 0 || chdir(dir) != 0) {
        printf("FAIL - %s: cannot set up scratch directory %s (%s)\n", name, dir, errname(errno));
        fflush(stdout);
        exit(1);
    }
}

/* Finish: print the summary line, remove the scratch directory, give the exit status. */
T_FN int t_done(void)
{
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/%s", t_name);
    if (chdir("/") == 0)
        rm_rf(dir);
    printf("%s: %d passed, %d failed\n", t_name, t_pass, t_fail);
    fflush(stdout);
    return t_fail ? 1 : 0;
}

/* Create (or replace) a file holding len bytes of data; returns 0 or -1. */
T_FN int put_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    ssize_t n = len ? write(fd, data, len) : 0;
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* Read up to cap-1 bytes of a file into buf, NUL-terminated; returns the length or -1. */
T_FN long get_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

/* Is every byte of buf zero? */
T_FN int all_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

#endif
