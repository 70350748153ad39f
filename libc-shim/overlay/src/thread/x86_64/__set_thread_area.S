/* __set_thread_area(p): arch_prctl(ARCH_SET_FS, p) as a call to the server. */
#include "l4shim_asm.h"

.text
.global __set_thread_area
.hidden __set_thread_area
.type __set_thread_area,@function
__set_thread_area:
	L4SHIM_SAVE_MRS
	mov $0x1002, %r9d		/* ARCH_SET_FS */
	mov %rdi, %r10
	L4SHIM_CALL 158
	L4SHIM_RESTORE_MRS
	L4SHIM_RESULT
	ret
