#![no_std]
#![no_main]

mod arch;

#[no_mangle]
extern "C" fn kernel_entry(magic: u32, mbi: u32) -> ! {
    arch::serial::init();
    arch::serial::write_str("hello from the microkernel\n");
    let _ = (magic, mbi);
    arch::qemu_exit(0x10)
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    arch::serial::write_str("panic\n");
    arch::qemu_exit(0x7f)
}
