/*
 * __restore_rt: where a signal handler returns (sa_restorer). RSP points at
 * the rt_sigframe's ucontext; rt_sigreturn goes to the server, which replaces
 * every register from it (see libc-shim/README.md), so this call never
 * returns. MR1 carries the frame address for the server's log.
 */
#include "l4shim_asm.h"

	nop
.global __restore_rt
.hidden __restore_rt
.type __restore_rt,@function
__restore_rt:
	mov %rsp, %r9
	L4SHIM_CALL 15
	ud2
.size __restore_rt,.-__restore_rt
