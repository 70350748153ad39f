/*
 * t_exec - execve: a static binary (this program re-executed with a marker
 * argument checks what survives: argv and envp exactly, the pid and parent,
 * cwd, umask, rlimits, the pending alarm, close-on-exec, signal dispositions,
 * the blocked mask and pending signals; what does not: handlers, the old
 * mappings, the alternate signal stack, the task name), execveat with
 * AT_EMPTY_PATH, `#!` scripts (arguments, an interpreter argument, a nested
 * interpreter, a relative path), and the errors execve reports.
 *
 * The re-executed image reports its checks through the t_spawn pipe (its
 * descriptor number is an argument), so they print in the parent.
 */
#include "check.h"
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static const char *self;               /* absolute path of this program */
static int marker = 11;                /* a new image starts with 11 */
#define OLD_MAP ((void *)0x300000000UL) /* mapped before exec, gone after */

static void empty_handler(int sig)
{
    (void)sig;
}

/* ---- the re-executed image ---- */

static void as_args(int argc, char **argv)
{
    extern char **environ;
    EXPECT_EQ(argc, 8, "exec: argc is 8");
    EXPECT_STR(argv[0], self, "exec: argv[0] as given");
    EXPECT_STR(argv[5], "two words", "exec: an argument with a space");
    EXPECT_STR(argv[6], "", "exec: an empty argument");
    EXPECT_STR(argv[7], "last", "exec: the last argument");
    CHECK(argv[8] == NULL, "exec: argv ends with NULL");
    int n = 0;
    while (environ[n])
        n++;
    EXPECT_EQ(n, 3, "exec: exactly the three environment strings given");
    EXPECT_STR(environ[0], "A=1", "exec: envp[0]");
    EXPECT_STR(environ[1], "EMPTY=", "exec: envp[1] (empty value)");
    EXPECT_STR(getenv("SPACES"), "a b c", "exec: getenv finds a value with spaces");
    EXPECT_EQ(getpid(), atol(argv[3]), "exec: the pid is the same as before the exec");
    EXPECT_EQ(getppid(), atol(argv[4]), "exec: so is the parent");
    EXPECT_EQ(getauxval(AT_PAGESZ), 4096, "exec: auxv AT_PAGESZ is 4096");
    EXPECT_STR((const char *)getauxval(AT_EXECFN), self, "exec: auxv AT_EXECFN is the path given to execve");
    EXPECT_EQ(marker, 11, "exec: globals have the new image's initial values");
    EXPECT_ERR(msync(OLD_MAP, 4096, MS_ASYNC), ENOMEM, "exec: the old image's mappings are gone");
    char cwd[256];
    EXPECT_STR(getcwd(cwd, sizeof cwd), "/tmp/t_exec/sub", "exec: the working directory is kept");
    EXPECT_EQ(umask(022), 027, "exec: the umask is kept");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    EXPECT_EQ(rl.rlim_cur, 200, "exec: resource limits are kept");
    unsigned left = alarm(T_CHILD_SECS);
    CHECK(left > 40 && left <= 50, "exec: a pending alarm survives exec (alarm(50) before)");
    char name[32] = "";
    prctl(PR_GET_NAME, name);
    EXPECT_STR(name, "t_exec", "exec: the task name is the new file's name again");
}

static void as_cloexec(char **argv)
{
    int cloexec = atoi(argv[3]), plain = atoi(argv[4]), duped = atoi(argv[5]);
    EXPECT_ERR(fcntl(cloexec, F_GETFD), EBADF, "exec: an O_CLOEXEC descriptor is closed");
    EXPECT_ERR(fcntl(duped, F_GETFD), EBADF, "exec: a descriptor with FD_CLOEXEC set by fcntl is closed");
    EXPECT_RET(fcntl(plain, F_GETFD), 0, "exec: a plain descriptor stays open");
    EXPECT_EQ(lseek(plain, 0, SEEK_CUR), 5, "exec: with its file offset");
    char buf[16] = "";
    EXPECT_RET(read(plain, buf, sizeof buf - 1), 5, "exec: and reads on from there");
    EXPECT_STR(buf, "56789", "exec: the rest of the file");
    int fd = open("/dev/null", O_RDONLY);
    EXPECT_EQ(fd, cloexec < duped ? cloexec : duped, "exec: the lowest closed slot is free again");
}

static void as_signals(void)
{
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL, "exec: a handled signal is reset to SIG_DFL");
    sigaction(SIGUSR2, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN, "exec: an ignored signal stays ignored");
    sigaction(SIGCHLD, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN, "exec: an ignored SIGCHLD stays ignored");
    sigset_t mask, pending;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    CHECK(sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM), "exec: the blocked mask is kept");
    CHECK(!sigismember(&mask, SIGUSR1) && !sigismember(&mask, SIGHUP), "exec: nothing else is blocked");
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGINT), "exec: a pending blocked signal is still pending");
    CHECK(!sigismember(&pending, SIGTERM), "exec: nothing else is pending");
    stack_t ss;
    sigaltstack(NULL, &ss);
    EXPECT_EQ(ss.ss_flags, SS_DISABLE, "exec: the alternate signal stack is gone");
    signal(SIGINT, SIG_IGN);
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGINT), "exec: setting SIG_IGN discards the pending signal");
}

static int child_image(int argc, char **argv)
{
    t_report_fd = atoi(argv[2]);
    t_name = "t_exec-image";
    if (!strcmp(argv[1], "--as-args"))
        as_args(argc, argv);
    else if (!strcmp(argv[1], "--as-cloexec"))
        as_cloexec(argv);
    else if (!strcmp(argv[1], "--as-signals"))
        as_signals();
    else if (!strcmp(argv[1], "--as-plain"))
        EXPECT_EQ(getpid(), atol(argv[3]), "execveat: the new image runs with the same pid");
    _exit(t_fail ? 1 : 0);
}

/* ---- the parent's side ---- */

/* In a t_spawn child: let the report pipe survive exec, and pass its number. */
static char *report_fd_arg(void)
{
    static char buf[16];
    fcntl(t_report_fd, F_SETFD, 0);
    snprintf(buf, sizeof buf, "%d", t_report_fd);
    return buf;
}

static void test_exec_self(void)
{
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        char pidbuf[32], ppidbuf[32];
        snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
        snprintf(ppidbuf, sizeof ppidbuf, "%d", getppid());
        char *argv[] = {(char *)self, "--as-args", report_fd_arg(), pidbuf, ppidbuf, "two words", "", "last", NULL};
        char *envp[] = {"A=1", "EMPTY=", "SPACES=a b c", NULL};
        marker = 12;
        mmap(OLD_MAP, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        mkdir("sub", 0755);
        chdir("sub");
        umask(027);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = 200;
        setrlimit(RLIMIT_NOFILE, &rl);
        alarm(50);
        prctl(PR_SET_NAME, "renamed");
        execve(self, argv, envp);
        CHECK(0, "execve of this program failed (%s)", errname(errno));
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the re-executed image exited 0 (waitpid on the pid fork returned)");
    rmdir("sub");

    put_file("data", "0123456789", 10, 0644);
    pid = t_spawn(&rd);
    if (pid == 0) {
        int cloexec = open("data", O_RDONLY | O_CLOEXEC);
        int plain = open("data", O_RDONLY);
        int duped = dup(plain);
        fcntl(duped, F_SETFD, FD_CLOEXEC);
        lseek(plain, 5, SEEK_SET);
        char a[3][16];
        snprintf(a[0], 16, "%d", cloexec);
        snprintf(a[1], 16, "%d", plain);
        snprintf(a[2], 16, "%d", duped);
        char *argv[] = {(char *)self, "--as-cloexec", report_fd_arg(), a[0], a[1], a[2], NULL};
        char *envp[] = {NULL};
        execve(self, argv, envp);
        CHECK(0, "execve of this program failed (%s)", errname(errno));
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the close-on-exec image exited 0");

    pid = t_spawn(&rd);
    if (pid == 0) {
        signal(SIGUSR1, empty_handler);
        signal(SIGUSR2, SIG_IGN);
        signal(SIGCHLD, SIG_IGN);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_SETMASK, &set, NULL);
        kill(getpid(), SIGINT);
        static char altstack[16384];
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        char *argv[] = {(char *)self, "--as-signals", report_fd_arg(), NULL};
        char *envp[] = {NULL};
        execve(self, argv, envp);
        CHECK(0, "execve of this program failed (%s)", errname(errno));
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the signal-disposition image exited 0");

    pid = t_spawn(&rd);
    if (pid == 0) {
        char pidbuf[32];
        snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
        char *argv[] = {"anything", "--as-plain", report_fd_arg(), pidbuf, NULL};
        char *envp[] = {NULL};
        int fd = open(self, O_RDONLY);
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        CHECK(0, "execveat(fd, \"\", AT_EMPTY_PATH) failed (%s)", errname(errno));
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the execveat image exited 0");
}

/* Run path with argv/envp, stdout into a pipe: the output and the wait status. */
static int run_capture(const char *path, char *const argv[], char *out, size_t cap)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(T_CHILD_SECS);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        char *envp[] = {"PATH=/bin", NULL};
        execve(path, argv, envp);
        printf("execve: %s\n", errname(errno));
        fflush(stdout);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += n;
    out[len] = 0;
    close(p[0]);
    return t_wait(pid);
}

static void test_scripts(void)
{
    char out[512];
    const char *script = "#!/bin/sh\necho \"script: $0 [$1] [$2] $#\"\nexit 5\n";
    EXPECT_OK(put_file("script.sh", script, strlen(script), 0755), "create a #!/bin/sh script");
    char *argv1[] = {"ignored-argv0", "a b", "c", NULL};
    EXPECT_EXIT(run_capture("/tmp/t_exec/script.sh", argv1, out, sizeof out), 5, "the script ran (exit 5)");
    EXPECT_STR(out, "script: /tmp/t_exec/script.sh [a b] [c] 2\n", "$0 is the path given to execve, then the arguments");
    EXPECT_EXIT(run_capture("./script.sh", argv1, out, sizeof out), 5, "a script by relative path");
    EXPECT_STR(out, "script: ./script.sh [a b] [c] 2\n", "$0 is the relative path as given");

    const char *echo = "#!/bin/echo   first  second  \nnot read\n";
    put_file("echoarg", echo, strlen(echo), 0755);
    char *argv2[] = {"ignored", "x", NULL};
    EXPECT_EXIT(run_capture("/tmp/t_exec/echoarg", argv2, out, sizeof out), 0, "#! with an argument ran");
    EXPECT_STR(out, "first  second /tmp/t_exec/echoarg x\n",
               "the interpreter gets one argument: the rest of the line, trimmed at both ends");
    const char *nested = "#!/tmp/t_exec/echoarg\n";
    put_file("nested", nested, strlen(nested), 0755);
    EXPECT_EXIT(run_capture("/tmp/t_exec/nested", argv2, out, sizeof out), 0, "a script whose interpreter is a script");
    EXPECT_STR(out, "first  second /tmp/t_exec/echoarg /tmp/t_exec/nested x\n", "nested interpreters stack their arguments");
    const char *noargs = "#!/bin/echo\n";
    put_file("noargs", noargs, strlen(noargs), 0755);
    char *argv3[] = {"ignored", NULL};
    run_capture("/tmp/t_exec/noargs", argv3, out, sizeof out);
    EXPECT_STR(out, "/tmp/t_exec/noargs\n", "#! without an argument: the script path alone");
}

static void test_errors(void)
{
    put_file("noexec", "#!/bin/sh\nexit 0\n", 17, 0644);
    put_file("garbage", "this is not a program\n", 22, 0755);
    put_file("empty", "", 0, 0755);
    put_file("badinterp", "#!/nonexistent/interp\n", 22, 0755);
    put_file("nointerp", "#!\n", 3, 0755);
    put_file("busy", "#!/bin/sh\nexit 0\n", 17, 0755);
    mkdir("dir", 0755);
    symlink("loop1", "loop2");
    symlink("loop2", "loop1");
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        char *argv[] = {"x", NULL}, *envp[] = {NULL};
        EXPECT_ERR(execve("/tmp/t_exec/nonexistent", argv, envp), ENOENT, "execve of a missing file");
        EXPECT_ERR(execve("/tmp/t_exec/nodir/x", argv, envp), ENOENT, "execve through a missing directory");
        EXPECT_ERR(execve("/tmp/t_exec/garbage/x", argv, envp), ENOTDIR, "execve through a file");
        EXPECT_ERR(execve("/tmp/t_exec/noexec", argv, envp), EACCES, "execve of a file without x bits (even as root)");
        EXPECT_ERR(execve("/tmp/t_exec/dir", argv, envp), EACCES, "execve of a directory");
        EXPECT_ERR(execve("/tmp/t_exec/garbage", argv, envp), ENOEXEC, "execve of a text file without #!");
        EXPECT_ERR(execve("/tmp/t_exec/empty", argv, envp), ENOEXEC, "execve of an empty file");
        EXPECT_ERR(execve("/tmp/t_exec/badinterp", argv, envp), ENOENT, "execve of a script with a missing interpreter");
        EXPECT_ERR(execve("/tmp/t_exec/nointerp", argv, envp), ENOEXEC, "execve of a script with an empty #! line");
        EXPECT_ERR(execve("/tmp/t_exec/loop1", argv, envp), ELOOP, "execve of a symlink loop");
        static char longpath[5000];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[0] = '/';
        EXPECT_ERR(execve(longpath, argv, envp), ENAMETOOLONG, "execve of a path over PATH_MAX");
        EXPECT_ERR(syscall(SYS_execve, (char *)1, argv, envp), EFAULT, "execve with a bad path pointer");
        /* /bin/true: should one of these succeed, the child just exits 0. */
        EXPECT_ERR(syscall(SYS_execve, "/bin/true", (char **)1, envp), EFAULT, "execve with a bad argv pointer");
        EXPECT_ERR(syscall(SYS_execve, "/bin/true", argv, (char **)1), EFAULT, "execve with a bad envp pointer");
        char *badarg[] = {"x", (char *)1, NULL};
        EXPECT_ERR(syscall(SYS_execve, "/bin/true", badarg, envp), EFAULT, "execve with a bad argument string");
        static char huge[200 * 1024];
        memset(huge, 'h', sizeof huge - 1);
        char *bigargv[] = {"x", huge, NULL};
        EXPECT_ERR(execve("/bin/true", bigargv, envp), E2BIG, "execve with one argument over 128 KiB");
        int w = open("/tmp/t_exec/busy", O_WRONLY);
        EXPECT_ERR(execve("/tmp/t_exec/busy", argv, envp), ETXTBSY, "execve of a file open for writing");
        close(w);
        EXPECT_EQ(getpid(), getpid(), "the process survives the failed execs");
        char *sh[] = {"sh", "-c", "exit 3", NULL};
        execve("/bin/sh", sh, envp);
        CHECK(0, "execve /bin/sh failed (%s)", errname(errno));
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 3, "after the failed execs a real one works (sh -c 'exit 3')");
}

int main(int argc, char **argv)
{
    static char path[4096];
    if (argv[0][0] == '/') {
        self = argv[0];
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = 0;
        self = path;
    }
    if (argc >= 3 && !strncmp(argv[1], "--as-", 5))
        return child_image(argc, argv);
    t_begin("t_exec");
    t_reset_signals();
    test_exec_self();
    test_scripts();
    test_errors();
    return t_done();
}
