/*
 * t_isolation - a Linux process reaches nothing but its linux-server, even
 * through the microkernel's own calls (the libc shim's direct IPC shows
 * that a Linux process may make them: `syscall` with rax = 0x8000_0000+n).
 *
 * Probes, each in a forked child so a probe that hurts only its caller is
 * an observation, not a crash of the test:
 *   - IPC to the root pager, to the server's space with a map item of the
 *     process's own memory, to interrupt IDs, to made-up thread IDs;
 *   - the privileged calls (THREAD_CREATE, THREAD_CONFIG, IRQ_CONTROL,
 *     IO_PORTS, SHUTDOWN) and the calls on other spaces' threads
 *     (EXREGS, THREAD_STATE, THREAD_DELETE, SPACE_DELETE of the server or
 *     the pager, UNMAP in the server's space);
 *   - any call but IPC and YIELD on its own things: UNMAP of its pages,
 *     deleting its own thread or space (behind the server's back: its
 *     parent would wait forever), halting or diverting its signal thread.
 * Afterwards the server still answers. Only meaningful on our system.
 */
#include "../progs/check.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define KIP 0x7ffffffff000ul
#define KIP_PAGER (KIP + 48)  /* abi::kip::Kip::root_pager */
#define KIP_SERVER (KIP + 56) /* abi::kip::Kip::root_server */

enum { IPC, YIELD, THREAD_CREATE, THREAD_DELETE, SPACE_DELETE, THREAD_CONFIG, EXREGS, UNMAP,
       IRQ_CONTROL, KDEBUG_PRINT, COUNTERS, THREAD_STATE, IO_PORTS, SHUTDOWN };
enum { OK = 0, NOT_EXIST = 2, NO_PERMISSION = 6, INVALID_ARGUMENT = 7 };

struct regs { unsigned long rdi, rsi, rdx, r8, r9, r10, r12; };

/* A kernel call: rax = 0x8000_0000 + n; returns rax (the error code). */
static unsigned long l4(int n, struct regs *r)
{
    register unsigned long r8 __asm__("r8") = r->r8;
    register unsigned long r9 __asm__("r9") = r->r9;
    register unsigned long r10 __asm__("r10") = r->r10;
    register unsigned long r12 __asm__("r12") = r->r12;
    unsigned long rax = 0x80000000ul + n;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+D"(r->rdi), "+S"(r->rsi), "+d"(r->rdx), "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r12)
                     :
                     : "rcx", "r11", "r13", "r14", "r15", "memory");
    r->r8 = r8;
    r->r9 = r9;
    r->r10 = r10;
    r->r12 = r12;
    return rax;
}

static unsigned long call(int n, unsigned long rdi, unsigned long rsi, unsigned long rdx, unsigned long r8,
                          unsigned long r9)
{
    struct regs r = {rdi, rsi, rdx, r8, r9, 0, 0};
    return l4(n, &r);
}

static unsigned long kip_word(unsigned long at) { return *(volatile unsigned long *)at; }

/* IPC send with a zero timeout: tag = untyped words | typed words << 6. */
static unsigned long send(unsigned long to, unsigned long tag, unsigned long mr1, unsigned long mr2)
{
    struct regs r = {to, 0, 0, tag, mr1, mr2, 0};
    return l4(IPC, &r);
}

/* A child's end: exit status, or 128 + signal; -1 if it did not end in 5 s. */
static int in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    for (int i = 0; i < 500; i++) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, 0, 0);
    return -1;
}

/* Every thread number near the server's (its own threads, this process's,
 * the others'): deleting, halting or diverting any of them is refused, so
 * the child running this survives to exit 0. */
static void sweep(void)
{
    unsigned long num = kip_word(KIP_SERVER) >> 32;
    for (unsigned long n = num - 2; n < num + 1024; n++)
        for (unsigned long v = 1; v < 3; v++) {
            unsigned long id = n << 32 | v;
            if (call(THREAD_DELETE, id, 0, 0, 0, 0) != NO_PERMISSION || call(SPACE_DELETE, id, 0, 0, 0, 0) != NO_PERMISSION ||
                call(EXREGS, id, 16, 0, 0, 0) != NO_PERMISSION)
                _exit(2);
        }
}

int main(void)
{
    t_begin("t_isolation");
    unsigned long pager = kip_word(KIP_PAGER), server = kip_word(KIP_SERVER), r;
    CHECK(pager != 0 && server != 0 && pager != server, "the KIP names the pager and the server");

    /* IPC anywhere but the server's space is refused. */
    EXPECT_EQ(send(pager, 1, 0, 0), NO_PERMISSION, "IPC to the root pager: NoPermission");
    r = send((1ul + 4) << 32 | 1, 0, 0, 0);
    CHECK(r == NO_PERMISSION || r == NOT_EXIST, "IPC to the console's interrupt ID: refused");
    /* The privileged calls. */
    EXPECT_EQ(call(THREAD_CREATE, (999ul << 32) | 1, server, 0, 0x7f8000000000ul, 100), NO_PERMISSION,
              "THREAD_CREATE: NoPermission");
    EXPECT_EQ(call(THREAD_CONFIG, server, 3, 255, 0, 0), NO_PERMISSION, "THREAD_CONFIG of the server: NoPermission");
    EXPECT_EQ(call(IRQ_CONTROL, 4, 2, 0, 0, 0), NO_PERMISSION, "IRQ_CONTROL detach of the console: NoPermission");
    EXPECT_EQ(call(IO_PORTS, 0x3f8, 8, 0, 0, 0), NO_PERMISSION, "IO_PORTS of the UART: NoPermission");
    EXPECT_EQ(call(SHUTDOWN, 0, 0, 0, 0, 0), NO_PERMISSION, "SHUTDOWN: NoPermission");
    /* Other spaces' threads. */
    EXPECT_EQ(call(EXREGS, server, 16, 0, 0, 0), NO_PERMISSION, "EXREGS halt of the server: NoPermission");
    EXPECT_EQ(call(EXREGS, pager, 1, 0, 0, 0), NO_PERMISSION, "EXREGS of the pager: NoPermission");
    EXPECT_EQ(call(THREAD_DELETE, server, 0, 0, 0, 0), NO_PERMISSION, "THREAD_DELETE of the server: NoPermission");
    EXPECT_EQ(call(SPACE_DELETE, pager, 0, 0, 0, 0), NO_PERMISSION, "SPACE_DELETE of the pager: NoPermission");
    EXPECT_EQ(call(THREAD_STATE, server, 0, 0, 0, 0), NO_PERMISSION, "THREAD_STATE of the server: NoPermission");
    /* UNMAP in the server's space (the whole address space, all rights). */
    EXPECT_EQ(call(UNMAP, 0x7f0, 7 | 8, server, 0, 0), NO_PERMISSION, "UNMAP in the server's space: NoPermission");

    /* A map item of its own memory to the server, which accepts none (its
     * receive window is empty): it logs the message and goes on. */
    static char page[4096] __attribute__((aligned(4096))) = "mine";
    send(server, 0 | 2 << 6, ((unsigned long)page & ~0xffful) | 8, (unsigned long)page | 12 << 4 | 6);

    /* Its own memory and threads are the server's business too. */
    static char data[4096] __attribute__((aligned(4096)));
    memset(data, 0x5a, sizeof data);
    EXPECT_EQ(call(UNMAP, (unsigned long)data | 12 << 4, 7 | 8, 0, 0, 0), NO_PERMISSION, "UNMAP of an own page: NoPermission");
    EXPECT_EQ(call(COUNTERS, 0, 0, 0, 0, 0), NO_PERMISSION, "COUNTERS: NoPermission (/proc/l4/counters has them)");
    EXPECT_EQ(call(KDEBUG_PRINT, (unsigned long)"x", 1, 0, 0, 0), NO_PERMISSION, "KDEBUG_PRINT: NoPermission");
    EXPECT_EQ(call(YIELD, 0, 0, 0, 0, 0), OK, "YIELD is allowed");

    /* Deleting its own thread or space behind the server's back (its parent
     * would wait forever), or any other thread; halting or diverting one. */
    EXPECT_EQ(in_child(sweep), 0, "deleting or halting any thread, the own included: NoPermission");
    CHECK(getppid() == 1 && getpid() > 1, "the server still answers");
    return t_done();
}
