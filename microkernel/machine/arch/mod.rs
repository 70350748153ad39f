//! x86-64 specifics. All of the kernel's `unsafe` code is in this module,
//! `physmem.rs` (the direct map) and `heap.rs`.

pub mod boot;
pub mod cpu;
pub mod entry;
pub mod gdt;
pub mod idt;
pub mod pic;
pub mod pit;
pub mod rtc;
pub mod serial;

/// Write `code` to QEMU's isa-debug-exit port (0xf4); QEMU exits.
pub fn qemu_exit(code: u8) -> ! {
    // SAFETY: port 0xf4 is the isa-debug-exit device the run scripts attach.
    unsafe { x86::io::outb(0xf4, code) };
    loop {
        // SAFETY: without the device, stop here with interrupts disabled.
        unsafe {
            core::arch::asm!("cli");
            x86::halt();
        }
    }
}
