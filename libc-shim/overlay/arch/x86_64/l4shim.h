/*
 * Constants of the shim's IPC protocol, shared by syscall_arch.h (C) and
 * written out by hand in the shim's assembly stubs (which cite this file).
 * Their source of truth is the kernel ABI: microkernel/abi (kip.rs, msg.rs,
 * syscall numbers) and microkernel/doc/syscalls.md.
 */
#ifndef L4SHIM_H
#define L4SHIM_H

/* Send and receive timeouts both "never". */
#define L4SHIM_NEVER 0xffffffffffffffffUL
/* The KIP's `root_server` word: the linux-server's thread ID. */
#define L4SHIM_KIP_SERVER 0x7ffffffff038UL
#define L4SHIM_SERVER() (*(volatile unsigned long *)L4SHIM_KIP_SERVER)
/* Label kind of a direct Linux syscall ("LX"); the label's low 32 bits
 * are the syscall number; six untyped words. */
#define L4SHIM_KIND 0x4c58UL
#define L4SHIM_TAG(n) ((L4SHIM_KIND << 48) | ((unsigned long)(unsigned)(n) << 16) | 6)
/* What a call returns when the IPC itself failed (the server is gone). */
#define L4SHIM_LOST (-38L) /* -ENOSYS */

#endif
