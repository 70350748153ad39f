//! Kernel entry and exit: the only way between user mode and the kernel.
//!
//! On entry from user mode, the user registers are pushed straight into the
//! running thread's TCB frame (TSS.RSP0 and the per-CPU `frame_end` point at
//! its end), then the CPU switches to the one kernel stack and calls Rust.
//! Rust never returns: it decides which thread runs next and leaves through
//! `exit_iret` or `exit_sysret` with that thread's frame. Interrupts are
//! disabled throughout (SFMASK clears IF on SYSCALL; all IDT gates are
//! interrupt gates), except in the idle loop.
//!
//! Interrupt and exception gates do not clear RFLAGS.DF (SYSCALL's SFMASK
//! does): user code can set it, so the common stub clears it before any Rust
//! code runs — string instructions in `memcpy` would otherwise run backwards.
//! RFLAGS.AC is not cleared on those paths either; it only weakens SMAP, which
//! guards against kernel bugs (the kernel never touches user addresses).
//!
//! Frame layout (low to high): r15 … rax, vector, error, rip, cs, rflags,
//! rsp, ss — `microkernel::thread::Frame`.
//!
//! A SYSCALL that stays in user mode. Some hypervisors do not switch to
//! ring 0 on a guest user's SYSCALL: this host's `/dev/kvm` is `kvm_pvm`
//! (a software "Pagetable-based Virtual Machine" that runs the guest kernel
//! deprivileged and shadows its page tables). It applies SYSCALL's register
//! effects (RCX = return RIP, R11 = RFLAGS, RFLAGS masked by SFMASK,
//! RIP = LSTAR) but leaves the vCPU at CPL 3, so the fetch at LSTAR faults
//! in user mode (#PF, error 0x15, RIP = CR2 = `syscall_entry`) — and that
//! fault does reach the kernel through the IDT. The page-fault stub turns
//! such a fault into the system call it stands for: the frame it saves is the
//! one `syscall_entry` would have saved, with RIP from RCX (only a lower-half
//! address) and RFLAGS from R11 sanitised as for any user-supplied frame (a
//! user jumping to `syscall_entry` itself controls RCX and R11, and gets no
//! more than a `syscall` instruction would give it). On hardware and TCG the
//! path is only reached by such a jump.

use microkernel::thread::Frame;

// Per-CPU offsets (see gdt::PerCpu): 8 kstack_top, 16 frame_end, 24 user_rsp.
core::arch::global_asm!(
    r#"
    .macro PUSH_GPRS
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    .endm

    .macro POP_GPRS
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    .endm

    .section .text.entry, "ax"
    .global syscall_entry
syscall_entry:
    swapgs
    mov gs:[24], rsp
    mov rsp, gs:[16]
    push 0x1b                       /* ss */
    push qword ptr gs:[24]          /* rsp */
    push r11                        /* rflags */
    push 0x23                       /* cs */
    push rcx                        /* rip */
    push 0                          /* error */
    push 0x100                      /* vector: SYSCALL_VECTOR */
    PUSH_GPRS
    mov rsp, gs:[8]
    call syscall_from_user
    ud2

    .macro ISR n, has_error
    .global isr_\n
isr_\n:
    .if \has_error == 0
    push 0
    .endif
    push \n
    jmp isr_common
    .endm

    .irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    ISR \n, 0
    .endr
    .irp n, 8,10,11,12,13,17,21,29,30
    ISR \n, 1
    .endr

    /* #PF; from user mode at syscall_entry: a SYSCALL that stayed in user
       mode (see the module documentation), finished here. */
    .global isr_14
isr_14:
    test qword ptr [rsp + 16], 3    /* CS of the faulting code */
    jz 5f
    push rax                        /* now: error +8, rip +16, cs +24, rflags +32, rsp +40, ss +48 */
    lea rax, [rip + syscall_entry]
    cmp [rsp + 16], rax
    jne 4f
    mov rax, rcx
    shr rax, 47
    jnz 4f                          /* RCX is no lower-half address: an ordinary fault */
    mov rax, r11
    and rax, {rflags_user}
    or rax, {rflags_always}
    mov [rsp + 32], rax             /* rflags */
    mov [rsp + 16], rcx             /* rip */
    mov qword ptr [rsp + 24], {user_cs}
    mov qword ptr [rsp + 48], {user_ss}
    mov qword ptr [rsp + 8], 0      /* error */
    pop rax
    push {syscall_vector}           /* vector */
    cld
    swapgs
    PUSH_GPRS
    mov rsp, gs:[8]
    call syscall_from_user
    ud2
4:  pop rax
5:  push 14
    jmp isr_common
    .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,255
    ISR \n, 0
    .endr

isr_common:
    cld                             /* user code may have set DF; Rust needs it clear */
    test qword ptr [rsp + 24], 3    /* CS of the interrupted code */
    jz 1f
    swapgs
    PUSH_GPRS
    mov rsp, gs:[8]
    call trap_from_user
    ud2
1:  PUSH_GPRS
    mov rdi, rsp
    call trap_from_kernel
    ud2

    .global exit_iret
exit_iret:
    mov rsp, rdi
    POP_GPRS
    add rsp, 16                     /* vector, error */
    swapgs
    iretq

    .global exit_sysret
exit_sysret:
    mov rsp, rdi
    POP_GPRS                        /* rcx = rip and r11 = rflags (checked) */
    mov rsp, [rsp + 40]             /* user rsp */
    swapgs
    sysretq

    .global idle_loop
idle_loop:
    mov rsp, rdi
2:  sti
    hlt
    cli
    jmp 2b

    .section .rodata
    .global ISR_TABLE
    .align 8
ISR_TABLE:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_\n
    .endr
    .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad isr_\n
    .endr
    .quad isr_255
"#,
    rflags_user = const microkernel::thread::RFLAGS_USER_MASK,
    rflags_always = const microkernel::thread::RFLAGS_ALWAYS,
    user_cs = const microkernel::thread::USER_CS,
    user_ss = const microkernel::thread::USER_SS,
    syscall_vector = const microkernel::thread::SYSCALL_VECTOR,
);

extern "C" {
    fn syscall_entry();
    fn exit_iret(frame: *const Frame) -> !;
    fn exit_sysret(frame: *const Frame) -> !;
    fn idle_loop(stack_top: u64) -> !;
    /// Stubs for vectors 0..=47, then the one for every other vector.
    pub static ISR_TABLE: [u64; 49];
}

/// Program the SYSCALL/SYSRET MSRs.
pub fn init_syscall() {
    use super::cpu::{rdmsr, wrmsr};
    const EFER: u32 = 0xc000_0080;
    const STAR: u32 = 0xc000_0081;
    const LSTAR: u32 = 0xc000_0082;
    const SFMASK: u32 = 0xc000_0084;
    wrmsr(EFER, rdmsr(EFER) | 1); // SCE
                                  // Kernel CS 0x08 (SS 0x10); SYSRET: CS = 0x10 + 16 = 0x20|3, SS = 0x10 + 8 = 0x18|3.
    wrmsr(STAR, (0x10u64 << 48) | (0x08u64 << 32));
    wrmsr(LSTAR, syscall_entry as usize as u64);
    // Clear IF, TF, DF, AC, NT on entry.
    wrmsr(SFMASK, 0x200 | 0x100 | 0x400 | 0x4_0000 | 0x4000);
}

/// Leave the kernel into user mode with `frame`. SYSRET is used when it
/// restores the frame exactly (RCX and R11 already hold RIP and RFLAGS, as
/// after a syscall) and RIP is a lower-half address; otherwise IRETQ.
pub fn exit_to_user(frame: &Frame) -> ! {
    let sysret_ok = frame.rcx == frame.rip
        && frame.r11 == frame.rflags
        && frame.rip < abi::USER_END
        && frame.cs == microkernel::thread::USER_CS
        && frame.ss == microkernel::thread::USER_SS;
    // SAFETY: `frame` is a sanitised user frame in a live TCB (user selectors,
    // canonical RIP, IF set, IOPL 0), so neither IRETQ nor SYSRETQ can fault in
    // the kernel; the kernel stack is abandoned.
    unsafe {
        if sysret_ok {
            exit_sysret(frame)
        } else {
            exit_iret(frame)
        }
    }
}

/// Wait for an interrupt with nothing to run.
pub fn idle() -> ! {
    // SAFETY: runs on an empty kernel stack; interrupts taken here enter the
    // kernel through `trap_from_kernel`, which never returns to this loop.
    unsafe { idle_loop(super::gdt::kstack_top()) }
}
