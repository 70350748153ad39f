/*
 * __syscall_cp_asm(&self->cancel, nr, u, v, w, x, y, z): a cancellation
 * point. As in musl, everything from __cp_begin up to the call instruction
 * may be abandoned for __cp_cancel by the cancellation signal's handler; the
 * server reports the interrupted call's RIP as the `syscall` instruction
 * when it restarts (SA_RESTART) and as __cp_end when it returns EINTR,
 * exactly as Linux does with a trapped syscall.
 */
#include "l4shim_asm.h"

.text
.global __cp_begin
.hidden __cp_begin
.global __cp_end
.hidden __cp_end
.global __cp_cancel
.hidden __cp_cancel
.hidden __cancel
.global __syscall_cp_asm
.hidden __syscall_cp_asm
.type __syscall_cp_asm,@function
__syscall_cp_asm:
__cp_begin:
	mov (%rdi), %eax
	test %eax, %eax
	jnz __cp_cancel
	L4SHIM_SAVE_MRS
	mov %esi, %r11d			/* nr */
	mov %r9, %r13			/* MR4 = x */
	mov %r8, %r12			/* MR3 = w */
	mov %rdx, %r9			/* MR1 = u */
	mov %rcx, %r10			/* MR2 = v */
	mov 40(%rsp), %r14		/* MR5 = y */
	mov 48(%rsp), %r15		/* MR6 = z */
	/* L4SHIM_CALL with the number in a register. */
	movabs $0x4c58 << 48 | 6, %r8
	shl $16, %r11
	or %r11, %r8
	movabs 0x7ffffffff038, %rax
	mov %rax, %rdi
	mov %rax, %rsi
	mov $-1, %rdx
	mov $0x80000000, %eax
	syscall
__cp_end:
	L4SHIM_RESTORE_MRS
	L4SHIM_RESULT
	ret
__cp_cancel:
	jmp __cancel
