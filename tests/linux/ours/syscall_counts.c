/*
 * syscall_counts - how this program's system calls reach the linux-server.
 *
 * Makes calls from every family the server implements (files, directories,
 * descriptors, pipes and poll, memory, time, identity, signals with a
 * handler, fork, vfork, execve, threads and futexes), then prints the
 * SyscallsTrapped / SyscallsDirect counters of /proc/self/status — in the
 * process itself, in a forked child, and in the image execve started:
 *     counts <who> trapped=N direct=M
 * Built plainly every call traps; linked with the libc shim none may
 * (tests/tests/linux_server.rs checks both). Only meaningful on our system:
 * native Linux has no such counters.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void need(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s (errno %d)\n", what, errno);
        failures++;
    }
}

static void report(const char *who)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    const char *t = strstr(buf, "SyscallsTrapped:");
    const char *d = strstr(buf, "SyscallsDirect:");
    if (!t || !d) {
        printf("counts %s missing\n", who);
        return;
    }
    printf("counts %s trapped=%ld direct=%ld\n", who, strtol(t + 16, NULL, 10), strtol(d + 15, NULL, 10));
    fflush(stdout);
}

static volatile sig_atomic_t caught;
static void on_usr1(int sig)
{
    caught = sig;
}

static void *thread_main(void *arg)
{
    int *word = arg;
    __atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
    return (void *)(long)getpid();
}

static void files(void)
{
    need(mkdir("/tmp/sc", 0755) == 0 || errno == EEXIST, "mkdir");
    int fd = open("/tmp/sc/f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    need(fd >= 0, "open");
    need(write(fd, "hello", 5) == 5, "write");
    need(lseek(fd, 0, SEEK_SET) == 0, "lseek");
    char b[8];
    need(read(fd, b, 5) == 5 && memcmp(b, "hello", 5) == 0, "read");
    need(pwrite(fd, "J", 1, 0) == 1 && pread(fd, b, 1, 0) == 1 && b[0] == 'J', "pread/pwrite");
    struct stat st;
    need(fstat(fd, &st) == 0 && st.st_size == 5, "fstat");
    need(ftruncate(fd, 2) == 0, "ftruncate");
    int fd2 = dup(fd);
    need(fd2 > fd && dup2(fd2, 20) == 20 && fcntl(20, F_GETFD) == 0, "dup/dup2/fcntl");
    close(20);
    close(fd2);
    close(fd);
    need(stat("/tmp/sc/f", &st) == 0 && st.st_size == 2, "stat");
    need(access("/tmp/sc/f", R_OK) == 0, "access");
    need(rename("/tmp/sc/f", "/tmp/sc/g") == 0, "rename");
    need(symlink("g", "/tmp/sc/l") == 0 && readlink("/tmp/sc/l", b, sizeof b) == 1, "symlink/readlink");
    DIR *d = opendir("/tmp/sc");
    int entries = 0;
    while (d && readdir(d))
        entries++;
    need(d && entries == 4, "getdents");
    if (d)
        closedir(d);
    need(unlink("/tmp/sc/l") == 0 && unlink("/tmp/sc/g") == 0 && rmdir("/tmp/sc") == 0, "unlink/rmdir");
    char cwd[64];
    need(chdir("/tmp") == 0 && getcwd(cwd, sizeof cwd) && strcmp(cwd, "/tmp") == 0 && chdir("/") == 0, "chdir/getcwd");
    struct winsize ws;
    (void)ioctl(1, TIOCGWINSZ, &ws); /* a tty or not: either way a call */
    umask(022);
}

static void pipes(void)
{
    int p[2];
    need(pipe2(p, O_CLOEXEC) == 0, "pipe2");
    struct pollfd pf = {p[0], POLLIN, 0};
    need(poll(&pf, 1, 0) == 0, "poll (empty)");
    need(write(p[1], "x", 1) == 1, "pipe write");
    need(poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN), "poll (ready)");
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {0, 0};
    need(select(p[0] + 1, &r, NULL, NULL, &tv) == 1, "select");
    char c;
    need(read(p[0], &c, 1) == 1 && c == 'x', "pipe read");
    close(p[0]);
    close(p[1]);
}

static void memory_and_time(void)
{
    char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    need(m != MAP_FAILED, "mmap");
    m[0] = 1;
    need(mprotect(m, 4096, PROT_READ) == 0 && munmap(m, 65536) == 0, "mprotect/munmap");
    void *big = malloc(1 << 20); /* mmap inside malloc */
    need(big != NULL, "malloc");
    free(big);
    need(sbrk(0) != (void *)-1 || 1, "brk");
    struct timespec ts = {0, 1000000};
    need(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime");
    struct timespec nap = {0, 1000000};
    need(nanosleep(&nap, NULL) == 0, "nanosleep");
    unsigned char rnd[8];
    need(getrandom(rnd, sizeof rnd, 0) == 8, "getrandom");
    struct utsname u;
    need(uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0, "uname");
    need(getpid() > 0 && getppid() >= 0 && getuid() == geteuid() && getgid() == getegid(), "ids");
}

static void signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    need(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    need(kill(getpid(), SIGUSR1) == 0 && caught == SIGUSR1, "kill + handler + rt_sigreturn");
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    need(sigprocmask(SIG_BLOCK, &s, &old) == 0 && sigprocmask(SIG_SETMASK, &old, NULL) == 0, "sigprocmask");
}

static void processes(const char *self)
{
    pid_t c = fork();
    if (c == 0) {
        report("child");
        _exit(3);
    }
    int st;
    need(c > 0 && waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 3, "fork/wait4");
    volatile int shared = 0;
    pid_t v = vfork();
    if (v == 0) {
        shared = 1;
        _exit(4);
    }
    need(v > 0 && waitpid(v, &st, 0) == v && WEXITSTATUS(st) == 4 && shared == 1, "vfork");
    pthread_t t;
    int word = 0;
    void *ret;
    need(pthread_create(&t, NULL, thread_main, &word) == 0 && pthread_join(t, &ret) == 0 && word == 1
             && (long)ret == getpid(),
         "pthread_create/join");
    c = fork();
    if (c == 0) {
        execl(self, self, "--after-exec", (char *)NULL);
        _exit(127);
    }
    need(c > 0 && waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0, "fork + execve");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--after-exec") == 0) {
        report("exec");
        return 0;
    }
    files();
    pipes();
    memory_and_time();
    signals();
    processes(argv[0]);
    report("main");
    return failures ? 1 : 0;
}
