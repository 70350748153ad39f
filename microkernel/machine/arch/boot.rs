//! Multiboot entry: from QEMU's 32-bit protected mode into 64-bit long mode.
//!
//! QEMU's `-kernel` loader refuses 64-bit ELF files unless the multiboot header
//! carries the load addresses itself (flag bit 16), so the header names the
//! physical load range and the 32-bit entry point. The boot code builds a
//! minimal page table that maps the first GiB three times — identity (so the
//! next instruction after enabling paging still exists), at the physical-memory
//! window (so Rust code can read the boot information before it has its own
//! tables) and at -2 GiB (where the kernel is linked) — enables long mode and
//! jumps to `kernel_entry` in the higher half. Rust code then builds the real
//! page tables and drops these.

core::arch::global_asm!(
    r#"
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00010003          /* page-aligned modules, memory info, address fields */

    .section .multiboot, "a"
    .align 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header             /* header_addr */
    .long __load_start                 /* load_addr */
    .long __load_end                   /* load_end_addr */
    .long __kernel_end_phys            /* bss_end_addr */
    .long _start32                     /* entry_addr */

    .section .boot.text, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    mov %eax, %edi                     /* multiboot magic -> first argument */
    mov %ebx, %esi                     /* multiboot info (physical) -> second */

    /* Long mode present? (CPUID 0x80000001, EDX bit 29) */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode

    /* PD: 512 x 2 MiB pages covering the first GiB */
    mov $boot_pd, %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                     /* present | writable | huge */
    mov %eax, (%ebx,%ecx,8)
    movl $0, 4(%ebx,%ecx,8)
    inc %ecx
    cmp $512, %ecx
    jne 1b

    /* PDPT[0] and PDPT[510] -> PD (identity/physmap and -2 GiB) */
    mov $boot_pd, %eax
    or $0x3, %eax
    mov %eax, boot_pdpt
    mov %eax, boot_pdpt + 510*8
    /* PML4[0], PML4[256] (physical window), PML4[511] -> PDPT */
    mov $boot_pdpt, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256*8
    mov %eax, boot_pml4 + 511*8

    mov %cr4, %eax
    or $(1 << 5), %eax                 /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx              /* EFER */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax   /* LME | NXE */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax   /* PG | WP | PE */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_start

no_long_mode:
    /* Print "no long mode" on COM1 and stop: this kernel needs x86-64. */
    mov $no_lm_msg, %esi
2:  lodsb
    test %al, %al
    jz 3f
    mov $0x3F8, %dx
    out %al, %dx
    jmp 2b
3:  hlt
    jmp 3b

    .code64
long_mode_start:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $BOOT_STACK_TOP, %rsp
    movabs $kernel_entry, %rax
    call *%rax
4:  hlt
    jmp 4b

    .section .boot.data, "aw"
    .align 4096
boot_pml4:  .fill 512, 8, 0
boot_pdpt:  .fill 512, 8, 0
boot_pd:    .fill 512, 8, 0
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff           /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff           /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt
no_lm_msg:
    .asciz "panic: this CPU has no long mode\n"
    "#,
    options(att_syntax)
);

// The boot stack doubles as the kernel stack for the whole run: the kernel
// keeps no per-thread kernel stacks (every kernel entry starts on an empty
// stack; a blocked thread's state lives in its TCB).
core::arch::global_asm!(
    r#"
    .section .bss.kernel_stack, "aw", @nobits
    .align 4096
    .global BOOT_STACK_BOTTOM
BOOT_STACK_BOTTOM:
    .skip 65536
    .global BOOT_STACK_TOP
BOOT_STACK_TOP:
    "#,
    options(att_syntax)
);
