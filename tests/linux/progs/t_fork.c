/*
 * t_fork - fork, vfork and clone: return values and parentage, copy-on-write
 * isolation of every kind of private memory (globals, heap, stack, anonymous
 * and file-backed MAP_PRIVATE mappings, the break), MAP_SHARED memory shared
 * across fork, descriptors sharing their open file description, many
 * children reaped in any order, vfork suspending the parent, raw
 * clone(SIGCHLD) and clone without an exit signal (__WCLONE/__WALL),
 * grandchildren, and an orphan reparented to process 1.
 *
 * Checks made in a child reach the output through t_spawn/t_collect
 * (check.h), so the order of the lines never depends on the scheduler.
 */
#include "check.h"
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

/* Read exactly one byte (a go-ahead from the other process); 1 on success. */
static int wait_byte(int fd)
{
    char c;
    ssize_t n;
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1;
}

static void test_basics(void)
{
    pid_t me = getpid();
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        CHECK(getpid() != me, "the child has a pid of its own");
        EXPECT_EQ(getppid(), me, "getppid in the child is the parent's pid");
        EXPECT_EQ(getpgrp(), getpgid(me), "the child is in its parent's process group");
        EXPECT_EQ(getsid(0), getsid(me), "and in its session");
        t_child_exit();
    }
    CHECK(pid > 0, "fork returns the child's pid (> 0) in the parent");
    CHECK(pid != me, "which is not the parent's own");
    EXPECT_EQ(getpid(), me, "the parent's pid is unchanged");
    int st = t_collect(rd, pid);
    EXPECT_EXIT(st, 0, "the child (fork returned 0 there) exited 0");

    /* fork's return value itself, in the child. */
    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        pid_t self = getpid();
        write(p[1], &self, sizeof self);
        _exit(0);
    }
    close(p[1]);
    pid_t reported = 0;
    EXPECT_RET(read(p[0], &reported, sizeof reported), sizeof reported, "the child sends its getpid");
    EXPECT_EQ(reported, pid, "the child's getpid is the pid fork returned to the parent");
    close(p[0]);
    EXPECT_EXIT(t_wait(pid), 0, "a child that calls _exit(0) exits 0");
}

/* Private memory of every kind, written on both sides of a fork. */
static int g_value = 1;

static void test_cow(void)
{
    char *heap = malloc(1 << 20);
    memset(heap, 'p', 1 << 20);
    volatile int stack_value = 3;
    char *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(anon, "anon-parent");
    EXPECT_OK(put_file("mapped", "file-original", 13, 0644), "create a file to map");
    int fd = open("mapped", O_RDWR);
    char *fmap = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(anon != MAP_FAILED && fmap != MAP_FAILED, "MAP_PRIVATE anonymous and file mappings");
    fmap[0] = 'F'; /* the parent's own private copy of the file page, before the fork */
    long brk0 = syscall(SYS_brk, 0);

    int c2p[2], p2c[2];
    pipe(c2p);
    pipe(p2c);
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        close(c2p[0]);
        close(p2c[1]);
        EXPECT_EQ(g_value, 1, "child: sees the global as it was at fork");
        CHECK(heap[0] == 'p' && heap[(1 << 20) - 1] == 'p', "child: sees the heap as it was at fork");
        EXPECT_STR(fmap, "File-original", "child: sees the parent's private file page as it was at fork");
        g_value = 100;
        memset(heap, 'c', 1 << 20);
        stack_value = 300;
        strcpy(anon, "anon-child");
        memcpy(fmap, "file-child!!!", 13);
        long b = syscall(SYS_brk, brk0 + (1 << 20));
        if (CHECK(b == brk0 + (1 << 20), "child: grows its break by 1 MiB"))
            memset((char *)brk0, 'b', 1 << 20);
        write(c2p[1], "w", 1); /* written: the parent checks its copies */
        wait_byte(p2c[0]);     /* the parent has written its own values */
        EXPECT_EQ(g_value, 100, "child: its global keeps the child's value after the parent writes");
        CHECK(heap[0] == 'c' && heap[(1 << 20) - 1] == 'c', "child: its heap keeps the child's bytes");
        EXPECT_EQ(stack_value, 300, "child: its stack variable keeps the child's value");
        EXPECT_STR(anon, "anon-child", "child: its anonymous MAP_PRIVATE page keeps the child's text");
        EXPECT_STR(fmap, "file-child!!!", "child: its MAP_PRIVATE file page keeps the child's text");
        t_child_exit();
    }
    close(c2p[1]);
    close(p2c[0]);
    CHECK(wait_byte(c2p[0]), "the child wrote everything");
    EXPECT_EQ(g_value, 1, "the parent's global is unchanged by the child's write");
    CHECK(heap[0] == 'p' && heap[(1 << 20) - 1] == 'p', "the parent's heap is unchanged (1 MiB)");
    EXPECT_EQ(stack_value, 3, "the parent's stack variable is unchanged");
    EXPECT_STR(anon, "anon-parent", "the parent's anonymous MAP_PRIVATE page is unchanged");
    EXPECT_STR(fmap, "File-original", "the parent's MAP_PRIVATE file page is unchanged");
    EXPECT_EQ(syscall(SYS_brk, 0), brk0, "the child's brk does not move the parent's break");
    g_value = 2;
    memset(heap, 'q', 1 << 20);
    stack_value = 4;
    strcpy(anon, "anon-parent-2");
    memcpy(fmap, "file-parent-2", 13);
    write(p2c[1], "w", 1);
    int st = t_collect(rd, pid);
    EXPECT_EXIT(st, 0, "the copy-on-write child exited 0");
    EXPECT_EQ(g_value, 2, "the parent sees its own new global");
    EXPECT_STR(anon, "anon-parent-2", "and its own new anonymous page");
    char buf[64];
    EXPECT_RET(pread(fd, buf, 13, 0), 13, "read the mapped file");
    buf[13] = 0;
    EXPECT_STR(buf, "file-original", "MAP_PRIVATE writes on either side never reach the file");
    close(c2p[0]);
    close(p2c[1]);
    munmap(anon, 8192);
    munmap(fmap, 4096);
    close(fd);
    free(heap);

    /* A child's munmap and mprotect change only its own address space. */
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page, "still here");
    pid = fork();
    if (pid == 0) {
        munmap(page, 4096);
        _exit(0);
    }
    t_wait(pid);
    pid = fork();
    if (pid == 0) {
        mprotect(page, 4096, PROT_NONE);
        _exit(0);
    }
    t_wait(pid);
    EXPECT_STR(page, "still here", "a child's munmap and mprotect leave the parent's page alone");
    munmap(page, 4096);
}

static void test_shared_memory(void)
{
    volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!CHECK(shared != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS"))
        return;
    shared[0] = 1;
    put_file("sharedfile", "0000", 4, 0644);
    int fd = open("sharedfile", O_RDWR);
    char *fshared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int c2p[2], p2c[2];
    pipe(c2p);
    pipe(p2c);
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        EXPECT_EQ(shared[0], 1, "child: the shared page holds the parent's value");
        shared[0] = 2;
        memcpy(fshared, "1111", 4);
        write(c2p[1], "x", 1);
        wait_byte(p2c[0]);
        EXPECT_EQ(shared[1], 42, "child: sees the parent's later write to the shared page");
        t_child_exit();
    }
    close(c2p[1]);
    close(p2c[0]);
    CHECK(wait_byte(c2p[0]), "the child wrote the shared pages");
    EXPECT_EQ(shared[0], 2, "the parent sees the child's write to MAP_SHARED anonymous memory");
    char buf[8] = "";
    pread(fd, buf, 4, 0);
    EXPECT_STR(buf, "1111", "and the child's write to a MAP_SHARED file mapping reaches the file");
    shared[1] = 42;
    write(p2c[1], "x", 1);
    EXPECT_EXIT(t_collect(rd, pid), 0, "the shared-memory child exited 0");
    munmap((void *)shared, 4096);
    munmap(fshared, 4096);
    close(fd);
    close(c2p[0]);
    close(p2c[1]);
}

static void test_descriptors(void)
{
    int fd = open("offsets", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int cloexec = open("offsets", O_RDONLY | O_CLOEXEC);
    EXPECT_RET(write(fd, "parent1-", 8), 8, "the parent writes 8 bytes");
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 8, "child: the inherited descriptor is at the parent's offset");
        EXPECT_RET(write(fd, "child-", 6), 6, "child: writes 6 bytes");
        EXPECT_RET(fcntl(fd, F_SETFL, O_APPEND), 0, "child: sets O_APPEND on the shared description");
        EXPECT_RET(fcntl(cloexec, F_GETFD), FD_CLOEXEC, "child: FD_CLOEXEC is inherited by fork");
        close(fd);
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the descriptor child exited 0");
    EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 14, "the parent's offset moved with the child's write (shared description)");
    CHECK(fcntl(fd, F_GETFL) & O_APPEND, "the child's F_SETFL O_APPEND shows in the parent");
    EXPECT_RET(fcntl(fd, F_GETFD), 0, "the child's close left the parent's descriptor open");
    lseek(fd, 0, SEEK_SET);
    write(fd, "end", 3); /* O_APPEND: goes to the end */
    char buf[64];
    EXPECT_RET(pread(fd, buf, sizeof buf, 0), 17, "the file has both writes and the appended one");
    buf[17] = 0;
    EXPECT_STR(buf, "parent1-child-end", "in order");
    close(fd);
    close(cloexec);
}

static void test_many_children(void)
{
    enum { N = 20 };
    pid_t pids[N];
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            sleep_ms((i * 7) % 5 * 10); /* exit in a scrambled order */
            _exit(100 + i);
        }
    }
    int bad = 0, reaped = 0;
    for (int i = 0; i < N; i++) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        int k;
        for (k = 0; k < N && pids[k] != p; k++) {
        }
        if (p < 0 || k == N || seen[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 100 + k)
            bad++;
        else {
            seen[k] = 1;
            reaped++;
        }
    }
    EXPECT_EQ(reaped, N, "waitpid(-1) reaps 20 children, each once, with its own exit code");
    EXPECT_EQ(bad, 0, "no unexpected pid or status");
    EXPECT_ERR(waitpid(-1, NULL, 0), ECHILD, "then there are no children left");
}

static volatile int vfork_var;
static volatile pid_t vfork_child_pid;

static void test_vfork(void)
{
    vfork_var = 0;
    long t0 = now_ms();
    pid_t pid = vfork();
    if (pid == 0) {
        vfork_child_pid = getpid();
        struct timespec ts = {0, 200 * 1000000};
        syscall(SYS_nanosleep, &ts, NULL);
        vfork_var = 42;
        _exit(7);
    }
    long dt = now_ms() - t0;
    EXPECT_EQ(vfork_var, 42, "vfork: the parent sees the child's write (shared memory)");
    CHECK(dt >= 150, "vfork: the parent was suspended until the child's _exit (200 ms)");
    EXPECT_EQ(vfork_child_pid, pid, "vfork: the child had its own pid, the one vfork returned");
    EXPECT_EXIT(t_wait(pid), 7, "vfork: the child's exit status");

    vfork_var = 0;
    static char *const argv[] = {"/bin/true", NULL};
    static char *const envp[] = {NULL};
    t0 = now_ms();
    pid = vfork();
    if (pid == 0) {
        struct timespec ts = {0, 200 * 1000000};
        syscall(SYS_nanosleep, &ts, NULL);
        vfork_var = 43;
        execve(argv[0], argv, envp);
        _exit(127);
    }
    dt = now_ms() - t0;
    EXPECT_EQ(vfork_var, 43, "vfork+exec: the parent sees the write made before the exec");
    CHECK(dt >= 150, "vfork+exec: the parent was suspended until the exec");
    EXPECT_EXIT(t_wait(pid), 0, "vfork+exec: /bin/true exited 0");
}

static int clone_var = 5;

static void test_clone(void)
{
    long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        clone_var = 6;
        _exit(clone_var == 6 && getppid() > 0 ? 33 : 1);
    }
    CHECK(pid > 0, "raw clone(SIGCHLD) returns a pid in the parent");
    EXPECT_EXIT(t_wait(pid), 33, "raw clone(SIGCHLD): the child ran and waitpid reaps it");
    EXPECT_EQ(clone_var, 5, "raw clone(SIGCHLD) copies memory like fork");

    int p[2];
    pipe(p);
    pid = syscall(SYS_clone, 0 /* no exit signal */, 0, 0, 0, 0);
    if (pid == 0) {
        close(p[0]);
        _exit(34); /* closing p[1] tells the parent we are done */
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1); /* EOF once the child has exited */
    close(p[0]);
    sleep_ms(50);
    EXPECT_ERR(waitpid(pid, NULL, WNOHANG), ECHILD, "a clone child with no exit signal is invisible to waitpid");
    int st = -1;
    EXPECT_RET(waitpid(pid, &st, __WCLONE), pid, "waitpid with __WCLONE reaps it");
    EXPECT_EXIT(st, 34, "with its exit status");
    pid = syscall(SYS_clone, SIGURG, 0, 0, 0, 0); /* an exit signal that is ignored by default */
    if (pid == 0)
        _exit(35);
    st = -1;
    EXPECT_RET(waitpid(pid, &st, __WALL), pid, "waitpid with __WALL reaps a child whose exit signal is not SIGCHLD");
    EXPECT_EXIT(st, 35, "with its exit status");
}

static void test_grandchildren(void)
{
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        pid_t me = getpid();
        int p[2];
        pipe(p);
        pid_t g = fork();
        if (g == 0) {
            pid_t pp = getppid();
            write(p[1], &pp, sizeof pp);
            _exit(9);
        }
        CHECK(g > 0, "child: fork in a child works");
        pid_t pp = 0;
        read(p[0], &pp, sizeof pp);
        EXPECT_EQ(pp, me, "child: the grandchild's parent is the child");
        EXPECT_EXIT(t_wait(g), 9, "child: reaps the grandchild's exit status");
        EXPECT_ERR(waitpid(-1, NULL, WNOHANG), ECHILD, "child: has no other children (not its siblings)");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the child with a grandchild exited 0");
}

/*
 * An orphan is reparented to process 1. Last: on a system where this program
 * itself is process 1 the orphan becomes our child (and stays a zombie).
 */
static void test_orphan(void)
{
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        pid_t me = getpid();
        int p[2];
        pipe(p);
        pid_t g = fork();
        if (g == 0) {
            close(p[1]);
            wait_byte(p[0]); /* EOF: the parent has exited (or is exiting) */
            int i;
            for (i = 0; i < 500 && getppid() == me; i++)
                sleep_ms(10);
            EXPECT_EQ(getppid(), 1, "orphan: after its parent exited, the grandchild's parent is 1");
            t_child_exit(); /* its copy of the report pipe closes here */
        }
        CHECK(g > 0, "child: forks the grandchild and exits");
        _exit(0);
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the orphan's parent exited 0");
}

int main(void)
{
    t_begin("t_fork");
    t_reset_signals();
    test_basics();
    test_cow();
    test_shared_memory();
    test_descriptors();
    test_many_children();
    test_vfork();
    test_clone();
    test_grandchildren();
    test_orphan();
    return t_done();
}
