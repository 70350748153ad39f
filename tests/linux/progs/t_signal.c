/*
 * t_signal - signal handlers and everything around them: delivery and
 * siginfo (SI_USER, SI_TKILL, SI_QUEUE), blocking and pending, standard
 * signals coalescing and real-time ones queueing, the order handlers run in,
 * SA_NODEFER, SA_RESETHAND, sa_mask, uc_sigmask and uc_mcontext changes taking
 * effect on return, sigaltstack and SA_ONSTACK (a stack overflow caught on
 * the alternate stack), FPU/SSE state across a handler, SA_RESTART (and what
 * it never restarts), sigsuspend, sigtimedwait, pause, the synchronous
 * faults (SIGSEGV MAPERR/ACCERR with si_addr and siglongjmp, SIGFPE,
 * SIGILL, SIGBUS) and faults while the signal is blocked or ignored,
 * interval timers and alarm, what fork inherits, killpg, bad arguments,
 * default actions, and a corrupt rt_sigreturn frame.
 *
 * Default actions that end a process are tried in children (process 1
 * would be immune on Linux, and this program is process 1 on our system).
 */
#include "check.h"
#include <poll.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void handle_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

static sigset_t set_of(int a, int b)
{
    sigset_t s;
    sigemptyset(&s);
    if (a)
        sigaddset(&s, a);
    if (b)
        sigaddset(&s, b);
    return s;
}

static int is_blocked(int sig)
{
    sigset_t s;
    sigprocmask(SIG_SETMASK, NULL, &s);
    return sigismember(&s, sig);
}

static int is_pending(int sig)
{
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, sig);
}

static volatile int count, count2;
static siginfo_t info;
static volatile int info_has_uc;

static void on_count(int sig)
{
    (void)sig;
    count++;
}

static void on_count2(int sig)
{
    (void)sig;
    count2++;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    info = *si;
    info_has_uc = uc != NULL;
    count++;
}

/* ---- delivery, siginfo, bad arguments ---- */

static void test_delivery(void)
{
    handle(SIGUSR1, on_count, 0);
    count = 0;
    EXPECT_RET(kill(getpid(), SIGUSR1), 0, "kill(getpid(), SIGUSR1)");
    EXPECT_EQ(count, 1, "the handler ran before kill returned");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_count2;
    sa.sa_mask = set_of(SIGUSR2, SIGHUP);
    sigaction(SIGUSR1, &sa, NULL);
    EXPECT_RET(sigaction(SIGUSR1, NULL, &old), 0, "query a signal's action");
    CHECK(old.sa_handler == on_count2, "the query returns the handler");
    CHECK(sigismember(&old.sa_mask, SIGUSR2) && sigismember(&old.sa_mask, SIGHUP) &&
              !sigismember(&old.sa_mask, SIGINT),
          "and its sa_mask");

    handle_info(SIGUSR1, on_info, 0);
    memset(&info, 0, sizeof info);
    kill(getpid(), SIGUSR1);
    EXPECT_EQ(info.si_signo, SIGUSR1, "SA_SIGINFO: si_signo");
    EXPECT_EQ(info.si_code, SI_USER, "kill: si_code SI_USER");
    EXPECT_EQ(info.si_pid, getpid(), "si_pid is the sender");
    EXPECT_EQ(info.si_uid, 0, "si_uid is the sender's uid");
    EXPECT_EQ(info.si_errno, 0, "si_errno is 0");
    CHECK(info_has_uc, "the handler gets a ucontext");
    raise(SIGUSR1);
    EXPECT_EQ(info.si_code, SI_TKILL, "raise (tkill): si_code SI_TKILL");
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 77});
    EXPECT_EQ(info.si_code, SI_QUEUE, "sigqueue: si_code SI_QUEUE");
    EXPECT_EQ(info.si_value.sival_int, 77, "with the queued value");

    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        unsigned long mask;
    } ka = {0};
    EXPECT_ERR(syscall(SYS_rt_sigaction, SIGKILL, &ka, NULL, 8), EINVAL, "rt_sigaction on SIGKILL");
    EXPECT_ERR(syscall(SYS_rt_sigaction, SIGSTOP, &ka, NULL, 8), EINVAL, "rt_sigaction on SIGSTOP");
    EXPECT_RET(syscall(SYS_rt_sigaction, SIGKILL, NULL, &ka, 8), 0, "querying SIGKILL's action is allowed");
    EXPECT_ERR(syscall(SYS_rt_sigaction, 0, &ka, NULL, 8), EINVAL, "rt_sigaction on signal 0");
    EXPECT_ERR(syscall(SYS_rt_sigaction, 65, &ka, NULL, 8), EINVAL, "rt_sigaction on signal 65");
    EXPECT_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &ka, 4), EINVAL, "rt_sigaction with sigsetsize 4");
    unsigned long m = 0;
    EXPECT_ERR(syscall(SYS_rt_sigprocmask, 3, &m, NULL, 8), EINVAL, "rt_sigprocmask with a bad how");
    sigset_t all, now;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK(!sigismember(&now, SIGKILL) && !sigismember(&now, SIGSTOP) && sigismember(&now, SIGTERM),
          "blocking everything leaves SIGKILL and SIGSTOP unblocked");
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    EXPECT_RET(kill(getpid(), 0), 0, "kill with signal 0 checks that we exist");
    EXPECT_ERR(kill(0x3fffffff, 0), ESRCH, "kill of a pid that does not exist");
    EXPECT_ERR(kill(-0x3fffffff, SIGUSR1), ESRCH, "kill of a process group that does not exist");
    EXPECT_ERR(kill(getpid(), 1000), EINVAL, "kill with signal 1000");
    handle(SIGUSR1, SIG_DFL, 0);
}

/* ---- blocking, pending, queueing, order ---- */

static int order[8], norder;
static void on_order(int sig)
{
    if (norder < 8)
        order[norder++] = sig;
}

static int rt_values[8], nrt;
static void on_rt(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (nrt < 8)
        rt_values[nrt++] = si->si_value.sival_int;
}

static void test_blocking(void)
{
    handle(SIGUSR1, on_count, 0);
    sigset_t usr1 = set_of(SIGUSR1, 0), old;
    sigprocmask(SIG_BLOCK, &usr1, &old);
    CHECK(!sigismember(&old, SIGUSR1), "sigprocmask returns the previous mask");
    count = 0;
    kill(getpid(), SIGUSR1);
    EXPECT_EQ(count, 0, "a blocked signal is not delivered");
    CHECK(is_pending(SIGUSR1), "sigpending shows it");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    EXPECT_EQ(count, 1, "unblocking delivers it, once");
    CHECK(!is_pending(SIGUSR1), "and it is no longer pending");
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    count = 0;
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    EXPECT_EQ(count, 1, "a standard signal sent twice while blocked is delivered once");

    int rt = SIGRTMIN;
    handle_info(rt, on_rt, 0);
    sigset_t rts = set_of(rt, 0);
    sigprocmask(SIG_BLOCK, &rts, NULL);
    nrt = 0;
    for (int v = 11; v <= 33; v += 11)
        sigqueue(getpid(), rt, (union sigval){.sival_int = v});
    sigprocmask(SIG_UNBLOCK, &rts, NULL);
    EXPECT_EQ(nrt, 3, "a real-time signal queued three times while blocked is delivered three times");
    CHECK(rt_values[0] == 11 && rt_values[1] == 22 && rt_values[2] == 33, "in order, each with its value");

    /*
     * Several different signals become deliverable at once: Linux takes the
     * lowest first and builds its handler frame, then the next on top of it,
     * so the handler of the last one taken runs first.
     */
    handle(SIGUSR1, on_order, 0);
    handle(SIGUSR2, on_order, 0);
    handle(SIGRTMIN, on_order, 0);
    sigset_t three = set_of(SIGUSR1, SIGUSR2);
    sigaddset(&three, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &three, NULL);
    kill(getpid(), SIGRTMIN);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    norder = 0;
    sigprocmask(SIG_UNBLOCK, &three, NULL);
    EXPECT_EQ(norder, 3, "three pending signals unblocked at once: three handlers run");
    CHECK(norder == 3 && order[0] == SIGRTMIN && order[1] == SIGUSR2 && order[2] == SIGUSR1,
          "in the order SIGRTMIN, SIGUSR2, SIGUSR1 (the lowest is taken first, its frame is innermost)");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_order;
    sa.sa_mask = set_of(SIGUSR2, 0);
    sigaction(SIGUSR1, &sa, NULL);
    sigprocmask(SIG_BLOCK, &three, NULL);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    norder = 0;
    sigprocmask(SIG_UNBLOCK, &three, NULL);
    CHECK(norder == 2 && order[0] == SIGUSR1 && order[1] == SIGUSR2,
          "with SIGUSR2 in SIGUSR1's sa_mask: SIGUSR1's handler runs first, then SIGUSR2's");
    handle(SIGUSR1, SIG_DFL, 0);
    handle(SIGUSR2, SIG_DFL, 0);
    handle(SIGRTMIN, SIG_DFL, 0);
}

/* ---- handler flags and the context on return ---- */

static volatile int depth, max_depth;
static void on_nest(int sig)
{
    count++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (count == 1)
        kill(getpid(), sig);
    depth--;
}

static volatile int inner_usr2_count, inner_usr2_pending, inner_mask_ok;
static void on_masked(int sig)
{
    (void)sig;
    kill(getpid(), SIGUSR2);
    inner_usr2_count = count2;
    inner_usr2_pending = is_pending(SIGUSR2);
    inner_mask_ok = is_blocked(SIGUSR1) && is_blocked(SIGUSR2);
}

static void on_block_usr2_on_return(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    sigaddset(&uc->uc_sigmask, SIGUSR2);
}

static void test_flags(void)
{
    handle(SIGUSR1, on_nest, SA_NODEFER);
    count = depth = max_depth = 0;
    kill(getpid(), SIGUSR1);
    EXPECT_EQ(count, 2, "SA_NODEFER: the handler ran twice");
    EXPECT_EQ(max_depth, 2, "SA_NODEFER: the second run nested inside the first");
    handle(SIGUSR1, on_nest, 0);
    count = depth = max_depth = 0;
    kill(getpid(), SIGUSR1);
    EXPECT_EQ(count, 2, "without SA_NODEFER: twice as well");
    EXPECT_EQ(max_depth, 1, "without SA_NODEFER: the second run waited for the first to return");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_masked;
    sa.sa_mask = set_of(SIGUSR2, 0);
    sigaction(SIGUSR1, &sa, NULL);
    handle(SIGUSR2, on_count2, 0);
    count2 = 0;
    kill(getpid(), SIGUSR1);
    EXPECT_EQ(inner_usr2_count, 0, "sa_mask: SIGUSR2 raised in SIGUSR1's handler waits");
    CHECK(inner_usr2_pending, "sa_mask: it is pending inside the handler");
    CHECK(inner_mask_ok, "inside the handler both the signal and its sa_mask are blocked");
    EXPECT_EQ(count2, 1, "sa_mask: SIGUSR2 is delivered once the handler returns");
    CHECK(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2), "the mask is restored after the handler");

    handle_info(SIGUSR1, on_block_usr2_on_return, 0);
    kill(getpid(), SIGUSR1);
    CHECK(is_blocked(SIGUSR2), "a handler's change to uc_sigmask takes effect on return");
    sigset_t usr2 = set_of(SIGUSR2, 0);
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);

    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        handle(SIGUSR1, on_count, SA_RESETHAND);
        count = 0;
        kill(getpid(), SIGUSR1);
        EXPECT_EQ(count, 1, "child: SA_RESETHAND: the handler runs the first time");
        struct sigaction now;
        sigaction(SIGUSR1, NULL, &now);
        CHECK(now.sa_handler == SIG_DFL, "child: and the action is SIG_DFL afterwards");
        kill(getpid(), SIGUSR1);
        CHECK(0, "child: survived the second SIGUSR1");
        t_child_exit();
    }
    EXPECT_KILLED(t_collect(rd, pid), SIGUSR1, "SA_RESETHAND: the second SIGUSR1 takes the default action");
    handle(SIGUSR1, SIG_DFL, 0);
    handle(SIGUSR2, SIG_DFL, 0);
}

/* ---- sigaltstack ---- */

static char *alt;
enum { ALT_SIZE = 65536 };
static volatile int on_alt, flags_inside, eperm_inside;

static void on_altcheck(int sig)
{
    (void)sig;
    char local;
    on_alt = &local >= alt && &local < alt + ALT_SIZE;
    stack_t cur, other = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    eperm_inside = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

static void on_overflow(int sig)
{
    (void)sig;
    char local;
    _exit(&local >= alt && &local < alt + ALT_SIZE ? 42 : 43);
}

static volatile int never;
static int recurse(volatile char *p)
{
    volatile char buf[1024];
    buf[0] = p ? p[0] + 1 : 0;
    if (never)
        return buf[0];
    return recurse(buf) + buf[1];
}

static void test_altstack(void)
{
    alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0}, cur;
    EXPECT_OK(sigaltstack(&ss, NULL), "sigaltstack: install a 64 KiB alternate stack");
    handle(SIGUSR1, on_altcheck, SA_ONSTACK);
    kill(getpid(), SIGUSR1);
    CHECK(on_alt, "SA_ONSTACK: the handler's locals are on the alternate stack");
    EXPECT_EQ(flags_inside, SS_ONSTACK, "sigaltstack inside the handler reports SS_ONSTACK");
    CHECK(eperm_inside, "changing the alternate stack while on it: EPERM");
    sigaltstack(NULL, &cur);
    EXPECT_EQ(cur.ss_flags, 0, "after the handler: installed, not on it");
    CHECK(cur.ss_sp == alt && cur.ss_size == ALT_SIZE, "sigaltstack reports the stack installed");
    handle(SIGUSR1, on_altcheck, 0);
    kill(getpid(), SIGUSR1);
    CHECK(!on_alt, "without SA_ONSTACK the handler runs on the normal stack");
    stack_t small = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
    EXPECT_ERR(sigaltstack(&small, NULL), ENOMEM, "an alternate stack under MINSIGSTKSZ");
    stack_t badflags = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0x1234};
    EXPECT_ERR(sigaltstack(&badflags, NULL), EINVAL, "sigaltstack with unknown flags");
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    sigaltstack(NULL, &cur);
    EXPECT_EQ(cur.ss_flags, SS_DISABLE, "SS_DISABLE removes it");
    handle(SIGUSR1, SIG_DFL, 0);

    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        t_quiet();
        sigaltstack(&ss, NULL);
        handle(SIGSEGV, on_overflow, SA_ONSTACK);
        recurse(NULL);
        _exit(1);
    }
    EXPECT_EXIT(t_collect(rd, pid), 42, "a stack overflow's SIGSEGV is handled on the alternate stack");
}

/* ---- the machine context ---- */

static volatile long ill_code, ill_rip;
static void *volatile ill_addr;

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    ucontext_t *uc = ucv;
    ill_code = si->si_code;
    ill_addr = si->si_addr;
    ill_rip = uc->uc_mcontext.gregs[REG_RIP];
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip the ud2 */
    uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

static volatile unsigned handler_mxcsr;
static volatile unsigned short handler_fcw;
static volatile double fpu_junk;

static void on_fpu(int sig)
{
    (void)sig;
    unsigned m;
    unsigned short cw;
    asm volatile("stmxcsr %0" : "=m"(m));
    asm volatile("fnstcw %0" : "=m"(cw));
    handler_mxcsr = m;
    handler_fcw = cw;
    volatile double x = 1.0;
    for (int i = 0; i < 2000; i++)
        x = x * 1.0001 + 0.25 / (x + 1.0);
    fpu_junk = x;
    unsigned other = 0x1f80 | 0x2000; /* round down */
    asm volatile("ldmxcsr %0" ::"m"(other));
    asm volatile("xorps %%xmm0, %%xmm0\n\txorps %%xmm1, %%xmm1\n\txorps %%xmm7, %%xmm7\n\t"
                 "xorps %%xmm8, %%xmm8\n\txorps %%xmm15, %%xmm15" ::
                     : "xmm0", "xmm1", "xmm7", "xmm8", "xmm15");
}

static void test_mcontext(void)
{
    handle_info(SIGILL, on_ill, 0);
    unsigned long out, where;
    asm volatile("lea 1f(%%rip), %1\n\t"
                 "mov $1, %%eax\n"
                 "1:\tud2\n\t"
                 "mov %%rax, %0"
                 : "=r"(out), "=&r"(where)
                 :
                 : "rax", "memory");
    EXPECT_EQ(ill_code, ILL_ILLOPN, "ud2: SIGILL with si_code ILL_ILLOPN");
    CHECK(ill_addr == (void *)where, "si_addr is the ud2 instruction");
    CHECK(ill_rip == (long)where, "uc_mcontext RIP is the ud2 instruction");
    EXPECT_EQ(out, 4242, "RIP += 2 and RAX = 4242 set in the handler take effect on return");
    handle(SIGILL, SIG_DFL, 0);

    /* SSE and x87 state survive a handler that uses and changes them. */
    handle(SIGUSR1, on_fpu, 0);
    static double in[32], res[32];
    for (int i = 0; i < 32; i++)
        in[i] = i * 1.25 + 0.5;
    unsigned newcsr = 0x1f80 | 0x6000, oldcsr = 0x1f80, outcsr = 0;
    unsigned short newcw = 0x0f7f, oldcw = 0x037f, outcw = 0; /* round toward zero */
    asm volatile("fldcw %[newcw]\n\t"
                 "ldmxcsr %[newcsr]\n\t"
                 "movdqu 0(%[in]), %%xmm0\n\tmovdqu 16(%[in]), %%xmm1\n\tmovdqu 32(%[in]), %%xmm2\n\t"
                 "movdqu 48(%[in]), %%xmm3\n\tmovdqu 64(%[in]), %%xmm4\n\tmovdqu 80(%[in]), %%xmm5\n\t"
                 "movdqu 96(%[in]), %%xmm6\n\tmovdqu 112(%[in]), %%xmm7\n\tmovdqu 128(%[in]), %%xmm8\n\t"
                 "movdqu 144(%[in]), %%xmm9\n\tmovdqu 160(%[in]), %%xmm10\n\tmovdqu 176(%[in]), %%xmm11\n\t"
                 "movdqu 192(%[in]), %%xmm12\n\tmovdqu 208(%[in]), %%xmm13\n\tmovdqu 224(%[in]), %%xmm14\n\t"
                 "movdqu 240(%[in]), %%xmm15\n\t"
                 "mov $39, %%eax\n\tsyscall\n\t" /* getpid */
                 "mov %%rax, %%rdi\n\tmov $10, %%esi\n\tmov $62, %%eax\n\tsyscall\n\t" /* kill(pid, SIGUSR1) */
                 "stmxcsr %[outcsr]\n\t"
                 "fnstcw %[outcw]\n\t"
                 "movdqu %%xmm0, 0(%[res])\n\tmovdqu %%xmm1, 16(%[res])\n\tmovdqu %%xmm2, 32(%[res])\n\t"
                 "movdqu %%xmm3, 48(%[res])\n\tmovdqu %%xmm4, 64(%[res])\n\tmovdqu %%xmm5, 80(%[res])\n\t"
                 "movdqu %%xmm6, 96(%[res])\n\tmovdqu %%xmm7, 112(%[res])\n\tmovdqu %%xmm8, 128(%[res])\n\t"
                 "movdqu %%xmm9, 144(%[res])\n\tmovdqu %%xmm10, 160(%[res])\n\tmovdqu %%xmm11, 176(%[res])\n\t"
                 "movdqu %%xmm12, 192(%[res])\n\tmovdqu %%xmm13, 208(%[res])\n\tmovdqu %%xmm14, 224(%[res])\n\t"
                 "movdqu %%xmm15, 240(%[res])\n\t"
                 "ldmxcsr %[oldcsr]\n\t"
                 "fldcw %[oldcw]"
                 : [outcsr] "=m"(outcsr), [outcw] "=m"(outcw)
                 : [in] "r"(in), [res] "r"(res), [newcsr] "m"(newcsr), [oldcsr] "m"(oldcsr), [newcw] "m"(newcw),
                   [oldcw] "m"(oldcw)
                 : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    CHECK(memcmp(in, res, sizeof in) == 0, "xmm0-xmm15 are the same after a handler that changed them");
    EXPECT_EQ(outcsr, newcsr, "MXCSR is restored after the handler");
    EXPECT_EQ(outcw, newcw, "the x87 control word is restored after the handler");
    EXPECT_EQ(handler_mxcsr, 0x1f80, "the handler starts with the default MXCSR");
    EXPECT_EQ(handler_fcw, 0x037f, "and the default x87 control word");
    CHECK(fpu_junk > 1.0, "the handler computed with doubles");
    handle(SIGUSR1, SIG_DFL, 0);
}

/* ---- interrupted system calls ---- */

static pid_t late_writer(int fd, long ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        sleep_ms(ms);
        write(fd, "data", 4);
        _exit(0);
    }
    return pid;
}

static void arm_ms(long ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static volatile int inner_usr2_blocked;
static void on_suspend(int sig)
{
    (void)sig;
    count++;
    inner_usr2_blocked = is_blocked(SIGUSR2);
}

static void test_restart(void)
{
    int p[2];
    char buf[16];
    pipe(p);
    handle(SIGALRM, on_count, SA_RESTART);
    count = 0;
    pid_t pid = late_writer(p[1], 400);
    long t0 = now_ms();
    arm_ms(100);
    EXPECT_RET(pid > 0 ? read(p[0], buf, sizeof buf) : -1, 4, "SA_RESTART: a pipe read goes on after the handler");
    EXPECT_EQ(count, 1, "SA_RESTART: the SIGALRM handler ran during the read");
    CHECK(now_ms() - t0 >= 300, "SA_RESTART: the read returned the data written at 400 ms");
    t_wait(pid);

    handle(SIGALRM, on_count, 0);
    count = 0;
    pid = late_writer(p[1], 1000);
    arm_ms(100);
    EXPECT_ERR(pid > 0 ? read(p[0], buf, sizeof buf) : 0, EINTR, "without SA_RESTART the read fails");
    EXPECT_EQ(count, 1, "after the handler ran");
    EXPECT_RET(pid > 0 ? read(p[0], buf, sizeof buf) : -1, 4, "the data arrives for the next read");
    t_wait(pid);

    handle(SIGALRM, on_count, SA_RESTART);
    count = 0;
    pid = fork();
    if (pid == 0) {
        t_quiet();
        sleep_ms(400);
        _exit(3);
    }
    arm_ms(100);
    int st = -1;
    EXPECT_RET(waitpid(pid, &st, 0), pid, "SA_RESTART: waitpid goes on after the handler");
    EXPECT_EQ(count, 1, "(the handler ran)");
    arm_ms(100);
    struct timespec req = {2, 0}, rem = {0, 0};
    EXPECT_ERR(nanosleep(&req, &rem), EINTR, "nanosleep is interrupted even with SA_RESTART");
    CHECK(rem.tv_sec >= 1 && rem.tv_sec <= 2, "and reports the time left");
    struct pollfd pf = {p[0], POLLIN, 0};
    arm_ms(100);
    EXPECT_ERR(poll(&pf, 1, 2000), EINTR, "poll is interrupted even with SA_RESTART");
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {2, 0};
    arm_ms(100);
    EXPECT_ERR(select(p[0] + 1, &r, NULL, NULL, &tv), EINTR, "select is interrupted even with SA_RESTART");
    count = 0;
    arm_ms(100);
    EXPECT_ERR(pause(), EINTR, "pause returns after a handler ran");
    EXPECT_EQ(count, 1, "(once)");
    close(p[0]);
    close(p[1]);

    handle(SIGUSR1, on_suspend, 0);
    sigset_t usr1 = set_of(SIGUSR1, 0), temp = set_of(SIGUSR2, 0);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    kill(getpid(), SIGUSR1);
    count = 0;
    EXPECT_ERR(sigsuspend(&temp), EINTR, "sigsuspend returns EINTR after the handler");
    EXPECT_EQ(count, 1, "the pending signal's handler ran");
    CHECK(inner_usr2_blocked, "with sigsuspend's temporary mask in force");
    CHECK(is_blocked(SIGUSR1) && !is_blocked(SIGUSR2), "afterwards the old mask is back");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    handle(SIGUSR2, on_count, 0);
    sigset_t usr2 = set_of(SIGUSR2, 0);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    siginfo_t si;
    struct timespec ts = {0, 100 * 1000000};
    t0 = now_ms();
    EXPECT_ERR(sigtimedwait(&usr2, &si, &ts), EAGAIN, "sigtimedwait with nothing pending times out");
    CHECK(now_ms() - t0 >= 90, "after about the timeout (100 ms)");
    struct timespec zero = {0, 0};
    EXPECT_ERR(sigtimedwait(&usr2, &si, &zero), EAGAIN, "sigtimedwait with a zero timeout polls");
    struct timespec bad = {0, 1000000000};
    EXPECT_ERR(sigtimedwait(&usr2, &si, &bad), EINVAL, "sigtimedwait with tv_nsec out of range");
    kill(getpid(), SIGUSR2);
    count = 0;
    memset(&si, 0, sizeof si);
    EXPECT_RET(sigtimedwait(&usr2, &si, &ts), SIGUSR2, "sigtimedwait takes a pending blocked signal");
    CHECK(si.si_signo == SIGUSR2 && si.si_code == SI_USER && si.si_pid == getpid(), "and fills its siginfo");
    EXPECT_EQ(count, 0, "the handler does not run");
    CHECK(!is_pending(SIGUSR2), "the signal is no longer pending");
    sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = 99});
    EXPECT_RET(sigwaitinfo(&usr2, &si), SIGUSR2, "sigwaitinfo takes a queued signal");
    CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 99, "with SI_QUEUE and its value");
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);
    handle(SIGUSR1, SIG_DFL, 0);
    handle(SIGUSR2, SIG_DFL, 0);
    handle(SIGALRM, SIG_DFL, 0);
}

/* ---- synchronous faults ---- */

static sigjmp_buf jb;
static volatile int fault_sig, fault_code;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}

/* Run fn(arg); return 1 if it faulted (fault_* hold what the handler saw). */
static int faults(void (*fn)(volatile char *), volatile char *arg)
{
    fault_sig = fault_code = 0;
    fault_addr = NULL;
    if (sigsetjmp(jb, 1) == 0) {
        fn(arg);
        return 0;
    }
    return 1;
}

static void do_write(volatile char *p)
{
    *p = 1;
}
static void do_read(volatile char *p)
{
    (void)*p;
}
static volatile char *volatile bad_ptr = (char *)8;
static volatile int zero = 0, minus_one = -1, int_min = -2147483647 - 1;
static void do_div0(volatile char *p)
{
    (void)p;
    zero = 100 / zero; /* not 1 / x: compilers turn that into a comparison */
}
static void do_divovf(volatile char *p)
{
    (void)p;
    zero = int_min / minus_one;
}

static void test_faults(void)
{
    handle_info(SIGSEGV, on_fault, 0);
    handle_info(SIGBUS, on_fault, 0);
    handle_info(SIGFPE, on_fault, 0);
    char *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    mprotect(pages + 8192, 4096, PROT_READ);
    int ok = 0;
    for (int i = 0; i < 5; i++)
        ok += faults(do_write, pages + 4096 + 100 * i) && fault_sig == SIGSEGV &&
              fault_addr == pages + 4096 + 100 * i && !is_blocked(SIGSEGV);
    EXPECT_EQ(ok, 5, "five faults in a row, each left with siglongjmp (the mask restored each time)");
    CHECK(faults(do_write, pages + 4096 + 123), "a write to an unmapped page faults");
    EXPECT_EQ(fault_sig, SIGSEGV, "with SIGSEGV");
    EXPECT_EQ(fault_code, SEGV_MAPERR, "si_code SEGV_MAPERR");
    CHECK(fault_addr == pages + 4096 + 123, "si_addr is the faulting address");
    CHECK(faults(do_write, pages + 8192 + 5), "a write to a read-only page faults");
    EXPECT_EQ(fault_code, SEGV_ACCERR, "si_code SEGV_ACCERR");
    CHECK(fault_addr == pages + 8192 + 5, "si_addr is the faulting address");
    CHECK(!faults(do_read, pages + 8192 + 5), "reading the read-only page is fine");
    mprotect(pages + 8192, 4096, PROT_NONE);
    CHECK(faults(do_read, pages + 8192 + 7), "a read of a PROT_NONE page faults");
    CHECK(fault_code == SEGV_ACCERR && fault_addr == pages + 8192 + 7, "SEGV_ACCERR at that address");
    CHECK(faults(do_read, NULL), "a NULL read faults");
    CHECK(fault_code == SEGV_MAPERR && fault_addr == NULL, "SEGV_MAPERR at address 0");

    CHECK(faults(do_div0, NULL), "integer division by zero traps");
    CHECK(fault_sig == SIGFPE && fault_code == FPE_INTDIV, "SIGFPE with FPE_INTDIV");
    CHECK(faults(do_divovf, NULL), "INT_MIN / -1 traps");
    CHECK(fault_sig == SIGFPE && fault_code == FPE_INTDIV, "SIGFPE with FPE_INTDIV too");

    put_file("short", "0123456789", 10, 0644);
    int fd = open("short", O_RDWR);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(!faults(do_write, m + 4000), "a shared file mapping: the page holding the end of file is fine");
    CHECK(faults(do_read, m + 4096 + 7), "the next page, wholly beyond end of file, faults");
    CHECK(fault_sig == SIGBUS && fault_code == BUS_ADRERR, "with SIGBUS, BUS_ADRERR");
    CHECK(fault_addr == m + 4096 + 7, "si_addr is the faulting address");
    munmap(m, 8192);
    munmap(pages, 3 * 4096);
    handle(SIGSEGV, SIG_DFL, 0);
    handle(SIGBUS, SIG_DFL, 0);
    handle(SIGFPE, SIG_DFL, 0);

    /* A fault while its signal is blocked or ignored still kills. */
    pid_t pid = fork();
    if (pid == 0) {
        t_quiet();
        handle_info(SIGSEGV, on_fault, 0);
        sigset_t s = set_of(SIGSEGV, 0);
        sigprocmask(SIG_BLOCK, &s, NULL);
        do_write(bad_ptr);
        _exit(0);
    }
    EXPECT_KILLED(t_wait(pid), SIGSEGV, "a fault with SIGSEGV blocked kills the process (handler or not)");
    pid = fork();
    if (pid == 0) {
        t_quiet();
        signal(SIGSEGV, SIG_IGN);
        do_write(bad_ptr);
        _exit(0);
    }
    EXPECT_KILLED(t_wait(pid), SIGSEGV, "so does a fault with SIGSEGV ignored");
}

/* ---- timers ---- */

static void test_timers(void)
{
    handle(SIGALRM, on_count, 0);
    count = 0;
    arm_ms(100);
    long t0 = now_ms();
    while (now_ms() - t0 < 400)
        sleep_ms(20);
    EXPECT_EQ(count, 1, "a one-shot ITIMER_REAL fires once");
    struct itimerval it;
    getitimer(ITIMER_REAL, &it);
    CHECK(it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0, "and is disarmed afterwards");

    struct itimerval periodic = {{0, 50000}, {0, 50000}}, old;
    count = 0;
    setitimer(ITIMER_REAL, &periodic, NULL);
    t0 = now_ms();
    while (now_ms() - t0 < 300)
        sleep_ms(10);
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, &old);
    int n = count;
    CHECK(n >= 3 && n <= 8, "a 50 ms periodic timer fires about 6 times in 300 ms");
    CHECK(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 50000, "setitimer returns the old interval");

    struct itimerval ten = {{0, 0}, {10, 0}};
    setitimer(ITIMER_REAL, &ten, NULL);
    getitimer(ITIMER_REAL, &it);
    long us = it.it_value.tv_sec * 1000000L + it.it_value.tv_usec;
    CHECK(us > 9000000 && us <= 10000000, "getitimer shows the time left");
    CHECK(it.it_interval.tv_sec == 0 && it.it_interval.tv_usec == 0, "and no interval");
    setitimer(ITIMER_REAL, &stop, NULL);
    struct itimerval badit = {{0, 0}, {0, 1000000}};
    EXPECT_ERR(setitimer(ITIMER_REAL, &badit, NULL), EINVAL, "setitimer with tv_usec out of range");

    EXPECT_RET(alarm(10), 0, "alarm with none pending returns 0");
    EXPECT_RET(alarm(5), 10, "alarm returns the seconds left of the previous one");
    EXPECT_RET(alarm(0), 5, "alarm(0) cancels and returns the seconds left");
    EXPECT_RET(alarm(0), 0, "then nothing is left");

    handle(SIGVTALRM, on_count, 0);
    count = 0;
    struct itimerval virt = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_VIRTUAL, &virt, NULL);
    t0 = now_ms();
    volatile unsigned long x = 0;
    while (count == 0 && now_ms() - t0 < 5000)
        for (int i = 0; i < 10000; i++)
            x += i;
    EXPECT_EQ(count, 1, "ITIMER_VIRTUAL fires SIGVTALRM after 50 ms of CPU time");
    handle(SIGALRM, SIG_DFL, 0);
    handle(SIGVTALRM, SIG_DFL, 0);
}

/* ---- processes ---- */

static void test_fork_inheritance(void)
{
    handle(SIGUSR1, on_count, 0);
    sigset_t usr1 = set_of(SIGUSR1, 0);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    kill(getpid(), SIGUSR1);
    struct itimerval ten = {{0, 0}, {10, 0}};
    setitimer(ITIMER_REAL, &ten, NULL);
    int rd;
    pid_t pid = t_spawn(&rd);
    if (pid == 0) {
        CHECK(!is_pending(SIGUSR1), "fork: the child does not inherit pending signals");
        CHECK(is_blocked(SIGUSR1), "fork: it inherits the blocked mask");
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        CHECK(sa.sa_handler == on_count, "fork: and the handlers");
        t_child_exit();
    }
    EXPECT_EXIT(t_collect(rd, pid), 0, "the fork-inheritance child exited 0");
    struct itimerval prof = {{0, 0}, {10, 0}};
    setitimer(ITIMER_PROF, &prof, NULL);
    pid = fork();
    if (pid == 0) { /* not t_spawn: its alarm() would arm ITIMER_REAL */
        struct itimerval real, cpu;
        getitimer(ITIMER_REAL, &real);
        getitimer(ITIMER_PROF, &cpu);
        _exit(real.it_value.tv_sec || real.it_value.tv_usec || cpu.it_value.tv_sec || cpu.it_value.tv_usec);
    }
    EXPECT_EXIT(t_wait(pid), 0, "fork: the child inherits no interval timers (ITIMER_REAL, ITIMER_PROF)");
    setitimer(ITIMER_PROF, &(struct itimerval){{0, 0}, {0, 0}}, NULL);
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    count = 0;
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    EXPECT_EQ(count, 1, "the parent's pending signal is still its own");
    handle(SIGUSR1, SIG_DFL, 0);

    /* killpg reaches every process of a group. */
    int ready[2], got[2];
    pipe(ready);
    pipe(got);
    pid_t kids[3], pgid = 0;
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            t_quiet();
            alarm(T_CHILD_SECS);
            handle(SIGUSR1, on_count, 0);
            sigset_t s = set_of(SIGUSR1, 0), none;
            sigprocmask(SIG_BLOCK, &s, NULL);
            write(ready[1], "r", 1);
            sigemptyset(&none);
            count = 0;
            while (count == 0)
                sigsuspend(&none);
            write(got[1], "k", 1);
            _exit(0);
        }
        if (i == 0)
            pgid = kids[0];
        setpgid(kids[i], pgid);
    }
    char c;
    for (int i = 0; i < 3; i++)
        if (kids[i] > 0)
            read(ready[0], &c, 1);
    for (int i = 1; i < 3; i++)
        setpgid(kids[i], pgid); /* the child may not have been ready for the first try */
    EXPECT_RET(t_killpg(pgid, SIGUSR1), 0, "killpg to a group of three children");
    int n = 0;
    for (int i = 0; i < 3; i++)
        n += WIFEXITED(t_wait(kids[i]));
    EXPECT_EQ(n, 3, "each of them handled it and exited");
    close(got[1]);
    char buf[8];
    EXPECT_RET(read(got[0], buf, sizeof buf), 3, "three handler reports");
    close(got[0]);
    close(ready[0]);
    close(ready[1]);

    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        t_quiet();
        alarm(T_CHILD_SECS);
        close(p[1]);
        read(p[0], &c, 1);
        _exit(0);
    }
    sleep_ms(50);
    t_kill(pid, SIGTERM);
    EXPECT_KILLED(t_wait(pid), SIGTERM, "SIGTERM ends a child blocked in a pipe read");
    close(p[0]);
    close(p[1]);

    pid = fork();
    if (pid == 0) {
        t_quiet();
        int sigs[] = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
        for (int i = 0; i < 4; i++)
            kill(getpid(), sigs[i]);
        _exit(0);
    }
    EXPECT_EXIT(t_wait(pid), 0, "the default action of SIGCHLD, SIGURG, SIGWINCH and SIGCONT is to go on");
    int deadly[] = {SIGALRM, SIGUSR2, SIGPROF, SIGXCPU, SIGSYS, SIGTRAP};
    for (int i = 0; i < 6; i++) {
        pid = fork();
        if (pid == 0) {
            t_quiet();
            kill(getpid(), deadly[i]);
            _exit(0);
        }
        EXPECT_KILLED(t_wait(pid), deadly[i], "the default action of signal %d ends the process", deadly[i]);
    }
}

static void test_bad_sigreturn(void)
{
    char *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 8192);
    static char zeros[8192] __attribute__((aligned(64)));
    for (int k = 0; k < 2; k++) {
        char *sp = k == 0 ? hole + 4096 : zeros + 4096;
        pid_t pid = fork();
        if (pid == 0) {
            t_quiet();
            alarm(T_CHILD_SECS);
            asm volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall\n\tud2" ::"r"(sp) : "memory");
            _exit(0);
        }
        EXPECT_KILLED(t_wait(pid), SIGSEGV, k == 0 ? "rt_sigreturn with the stack pointer in unmapped memory: SIGSEGV"
                                                   : "rt_sigreturn from a frame of zeros: SIGSEGV");
    }
    EXPECT_RET(kill(getpid(), 0), 0, "only the children died");
}

int main(void)
{
    t_begin("t_signal");
    t_reset_signals();
    test_delivery();
    test_blocking();
    test_flags();
    test_altstack();
    test_mcontext();
    test_restart();
    test_faults();
    test_timers();
    test_fork_inheritance();
    test_bad_sigreturn();
    return t_done();
}
