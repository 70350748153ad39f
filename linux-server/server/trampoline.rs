//! The signal page: code the server maps read-only into every Linux process
//! (at [`SIGNAL_PAGE`], like a vDSO), run by the process's signal thread.
//!
//! L4Linux's way to interrupt a thread that is running user code: the
//! kernel lets a thread change another's instruction pointer only within its
//! own address space (`EXREGS`), so every process has an extra native thread
//! there. It waits for a request from the server naming a thread, diverts
//! that thread to the `ud2` at [`STUB`] (aborting any IPC it is in), reports
//! the thread's old instruction pointer to the server, and waits again. The
//! diverted thread's `ud2` raises an exception IPC that carries its full
//! register state into the server, which puts the old instruction pointer
//! back and delivers the signal (signals.rs).
//!
//! The code uses registers only (no stack, no UTCB): the IPC ABI passes the
//! tag and six message registers in registers (microkernel/doc/syscalls.md).

use linux_server::exec::layout::MMAP_BASE;

/// Where the page is in every process: just above the mmap area.
pub const SIGNAL_PAGE: u64 = MMAP_BASE;

/// Request label (server → signal thread): MR1 = the thread to divert.
pub const DIVERT: u64 = 0x5d01;
/// Report label (signal thread → server): MR1 the thread, MR2 its old RIP,
/// MR3 EXREGS's result, MR4 its state bits, MR5 old RSP, MR6 old RFLAGS.
pub const REPORT: u64 = 0x5d02;

core::arch::global_asm!(
    ".pushsection .rodata.signal_page, \"a\"",
    ".balign 4096",
    ".global linux_signal_page_start",
    "linux_signal_page_start:",
    // Wait for the first request, from anyone (only the server can send:
    // the process's own threads may send only to the server's space).
    "2:",
    "xor edi, edi",
    "mov rsi, -1",
    "mov rdx, -1",
    "xor r8d, r8d",
    "mov eax, 0x80000000",
    "syscall",
    "test rax, rax",
    "jnz 2b",
    // A request: rsi = the server, r9 = the thread to divert.
    "3:",
    "mov rbx, rsi",
    "mov rbp, r9",
    "mov rdi, r9",
    "mov esi, 9", // set IP | abort IPC
    "lea rdx, [rip + linux_signal_stub]",
    "mov eax, 0x80000006",
    "syscall",
    // Report (rax result, rsi state, rdx old RIP, r8 old RSP, r9 old RFLAGS)
    // and wait for the server's next request in the same call.
    "mov r15, r9",
    "mov r14, r8",
    "mov r13, rsi",
    "mov r12, rax",
    "mov r10, rdx",
    "mov r9, rbp",
    "mov r8, {report_tag}",
    "mov rdi, rbx",
    "mov rsi, rbx",
    "mov rdx, -1",
    "mov eax, 0x80000000",
    "syscall",
    "test rax, rax",
    "jz 3b",
    "jmp 2b",
    ".balign 64",
    ".global linux_signal_stub",
    "linux_signal_stub:",
    "ud2",
    ".global linux_signal_page_end",
    "linux_signal_page_end:",
    ".popsection",
    report_tag = const (REPORT << 16) | 6,
);

extern "C" {
    static linux_signal_page_start: u8;
    static linux_signal_stub: u8;
    static linux_signal_page_end: u8;
}

/// The page's code, and the offset of the diversion stub in it.
pub fn code() -> (&'static [u8], u64) {
    let start = core::ptr::addr_of!(linux_signal_page_start) as usize;
    let stub = core::ptr::addr_of!(linux_signal_stub) as usize;
    let end = core::ptr::addr_of!(linux_signal_page_end) as usize;
    // SAFETY: the three symbols delimit bytes the assembly above placed in
    // this binary's read-only data; they are never written and live as long
    // as the program.
    let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
    (bytes, (stub - start) as u64)
}

/// The diverted thread's trap: the stub's address in a process.
pub fn stub_address() -> u64 {
    SIGNAL_PAGE + code().1
}

/// The signal thread's first instruction.
pub const ENTRY: u64 = SIGNAL_PAGE;
