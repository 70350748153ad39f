/*
 * __unmapself(base, size): a detached thread frees its own stack and exits,
 * using no stack memory after the munmap.
 */
#include "l4shim_asm.h"

.text
.global __unmapself
.type __unmapself,@function
__unmapself:
	mov %rdi, %r9
	mov %rsi, %r10
	L4SHIM_CALL 11			/* munmap(base, size) */
	xor %r9d, %r9d
	L4SHIM_CALL 60			/* exit(0) */
	ud2
