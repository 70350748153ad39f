/* __set_thread_area(p): arch_prctl(ARCH_SET_FS, p) as a call to the server. */
#include "l4shim_asm.h"

.text
.global __set_thread_area
.hidden __set_thread_area
.type __set_thread_area,@function
__set_thread_area:
	push %r12
	push %r13
	push %r14
	push %r15
	mov $0x1002, %r9d		/* ARCH_SET_FS */
	mov %rdi, %r10
	L4SHIM_CALL 158
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	L4SHIM_RESULT
	ret
