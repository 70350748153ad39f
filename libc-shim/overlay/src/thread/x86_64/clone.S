/*
 * __clone(fn, stack, flags, arg, ptid, tls, ctid): Linux's
 * clone(flags, stack, ptid, ctid, tls) as a call to the server. The child
 * starts where the call returns, with the parent's registers, a 0 result
 * and RSP = the new stack, on which fn and arg wait for it.
 */
#include "l4shim_asm.h"

.text
.global __clone
.hidden __clone
.type __clone,@function
__clone:
	and $-16, %rsi
	sub $16, %rsi
	mov %rdi, (%rsi)		/* fn */
	mov %rcx, 8(%rsi)		/* arg */
	L4SHIM_SAVE_MRS
	mov %r9, %r14			/* MR5 = tls */
	mov %rdx, %r9			/* MR1 = flags */
	mov %rsi, %r10			/* MR2 = stack */
	mov %r8, %r12			/* MR3 = ptid */
	mov 40(%rsp), %r13		/* MR4 = ctid */
	xor %r15d, %r15d
	L4SHIM_CALL 56
	test %rax, %rax
	jnz 1f
	test %r9, %r9
	jz 2f
1:	L4SHIM_RESTORE_MRS
	L4SHIM_RESULT
	ret
2:	/* the child, on its own stack */
	xor %ebp, %ebp
	pop %rax
	pop %rdi
	call *%rax
	movslq %eax, %r9		/* exit(fn's result) */
	L4SHIM_CALL 60
	ud2
