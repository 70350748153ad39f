pub mod boot;
pub mod serial;

pub fn qemu_exit(code: u8) -> ! {
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit device; writing it ends the VM.
    unsafe { x86::io::outb(0xf4, code) };
    loop {
        // SAFETY: halting with interrupts disabled just stops the CPU.
        unsafe { x86::halt() };
    }
}
