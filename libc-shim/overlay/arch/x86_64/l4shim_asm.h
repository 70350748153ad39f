/*
 * The shim's IPC call for the assembly stubs (.S files, run through the C
 * preprocessor): the same protocol as syscall_arch.h, with the constants of
 * l4shim.h written as assembler numbers.
 *
 * L4SHIM_CALL nr: a call to the linux-server with Linux syscall `nr`, the
 * arguments already in r9, r10, r12..r15 (MR1..MR6). Afterwards RAX is the
 * IPC status (0: the server answered) and r9 the Linux return value.
 * Clobbers rax, rcx, rdx, rsi, rdi, r8..r15 (r12..r15 carry the reply's
 * message registers): callers save what the C ABI needs kept.
 */
.macro L4SHIM_CALL nr
	movabs $(0x4c58 << 48) | (\nr << 16) | 6, %r8
	movabs 0x7ffffffff038, %rax	/* the KIP's root_server word */
	mov %rax, %rdi			/* destination: the server */
	mov %rax, %rsi			/* call: receive from it */
	mov $-1, %rdx			/* timeouts: never, never */
	mov $0x80000000, %eax		/* kernel call IPC */
	syscall
.endm

/* r12..r15 are callee-saved in the C ABI but carry MR3..MR6. */
.macro L4SHIM_SAVE_MRS
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro L4SHIM_RESTORE_MRS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
.endm

/* RAX = the Linux result of the call just made (-ENOSYS if the IPC failed). */
.macro L4SHIM_RESULT
	test %rax, %rax
	mov $-38, %rax
	cmovz %r9, %rax
.endm
