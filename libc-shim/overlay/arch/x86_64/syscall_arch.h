/*
 * The libc shim's system-call layer: it replaces musl's
 * arch/x86_64/syscall_arch.h, so every system call musl makes — from its
 * wrappers and from inside the library (stdio, malloc, pthreads, exit) —
 * is a direct IPC call to the linux-server instead of a trapped `syscall`.
 *
 * The protocol (libc-shim/README.md has the whole of it):
 *   - destination: the linux-server's thread, read from the KIP's
 *     `root_server` word (the KIP is mapped read-only at the same address in
 *     every space, so no variable and no set-up is needed);
 *   - tag: label kind 0x4c58 ("LX") in bits 48..63, the Linux syscall
 *     number in bits 16..47, six untyped words;
 *   - MR1..MR6: the six Linux arguments, in Linux's order;
 *   - the reply's MR1 is the Linux return value (-errno on failure), as a
 *     trapped syscall's RAX would be.
 * The call is register-only, so it takes the kernel's IPC fastpath both
 * ways. Kernel call ABI: microkernel/doc/syscalls.md ("IPC").
 */
#include "l4shim.h"

#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

static __inline long __syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register unsigned long tag __asm__("r8") = L4SHIM_TAG(n);
	register long mr1 __asm__("r9") = a1;
	register long mr2 __asm__("r10") = a2;
	register long mr3 __asm__("r12") = a3;
	register long mr4 __asm__("r13") = a4;
	register long mr5 __asm__("r14") = a5;
	register long mr6 __asm__("r15") = a6;
	unsigned long server = L4SHIM_SERVER();
	unsigned long from = server;
	unsigned long err;
	/* RAX is set in the template, right before `syscall`, so that
	 * build.sh can tell every IPC in the library from a trapped call. */
	__asm__ __volatile__ ("mov $0x80000000, %%eax\n\tsyscall"
		: "=&a"(err), "+S"(from), "+r"(tag), "+r"(mr1), "+r"(mr2),
		  "+r"(mr3), "+r"(mr4), "+r"(mr5), "+r"(mr6)
		: "D"(server), "d"(L4SHIM_NEVER)
		: "rcx", "r11", "memory");
	return err ? L4SHIM_LOST : mr1;
}

static __inline long __syscall0(long n)
{
	return __syscall6(n, 0, 0, 0, 0, 0, 0);
}

static __inline long __syscall1(long n, long a1)
{
	return __syscall6(n, a1, 0, 0, 0, 0, 0);
}

static __inline long __syscall2(long n, long a1, long a2)
{
	return __syscall6(n, a1, a2, 0, 0, 0, 0);
}

static __inline long __syscall3(long n, long a1, long a2, long a3)
{
	return __syscall6(n, a1, a2, a3, 0, 0, 0);
}

static __inline long __syscall4(long n, long a1, long a2, long a3, long a4)
{
	return __syscall6(n, a1, a2, a3, a4, 0, 0);
}

static __inline long __syscall5(long n, long a1, long a2, long a3, long a4, long a5)
{
	return __syscall6(n, a1, a2, a3, a4, a5, 0);
}

/* No vDSO on this system: clock_gettime and friends are IPC calls too. */

#define IPC_64 0
