/*
 * vfork(): the child shares the parent's memory and runs first, on the same
 * stack, so nothing the parent needs afterwards may stay on the stack — as
 * musl's own vfork keeps its return address in a register. A call to the
 * server leaves no spare register (the IPC uses them all), so the return
 * address and r12..r15 wait in thread-local storage, which parent and child
 * share as well but which the child (bound for execve or _exit) does not
 * touch.
 */
#include "l4shim_asm.h"

.section .tbss,"awT",@nobits
.align 8
l4shim_vfork_save:
	.zero 40

.text
.global vfork
.type vfork,@function
vfork:
	pop %rax
	mov %rax, %fs:l4shim_vfork_save@tpoff
	mov %r12, %fs:l4shim_vfork_save@tpoff+8
	mov %r13, %fs:l4shim_vfork_save@tpoff+16
	mov %r14, %fs:l4shim_vfork_save@tpoff+24
	mov %r15, %fs:l4shim_vfork_save@tpoff+32
	L4SHIM_CALL 58
	mov %fs:l4shim_vfork_save@tpoff+8, %r12
	mov %fs:l4shim_vfork_save@tpoff+16, %r13
	mov %fs:l4shim_vfork_save@tpoff+24, %r14
	mov %fs:l4shim_vfork_save@tpoff+32, %r15
	pushq %fs:l4shim_vfork_save@tpoff
	L4SHIM_RESULT
	mov %rax, %rdi
	.hidden __syscall_ret
	jmp __syscall_ret
