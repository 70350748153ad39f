//! The microkernel on the machine: boot, the CPU's entry and exit paths,
//! interrupts, the direct map of physical memory and the serial console. What
//! the kernel *does* lives in the `microkernel` library; this binary only runs
//! it on an x86-64 PC (QEMU), and holds all of the kernel's `unsafe` code.

#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod boot;
mod heap;
mod layout;
mod logger;
mod physmem;
mod trap;

use core::sync::atomic::{AtomicU64, Ordering};

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);

pub fn set_clock(boot_tsc: u64, tsc_hz: u64) {
    BOOT_TSC.store(boot_tsc, Ordering::Relaxed);
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
}

pub fn boot_tsc() -> u64 {
    BOOT_TSC.load(Ordering::Relaxed)
}

/// Microseconds since the TSC was calibrated (0 before).
pub fn uptime_us() -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    let ticks = arch::cpu::rdtsc().saturating_sub(boot_tsc());
    (ticks as u128 * 1_000_000 / hz as u128) as u64
}

/// Power off through QEMU's isa-debug-exit device (QEMU exits with status
/// `code * 2 + 1`).
pub fn shutdown(code: u8) -> ! {
    arch::qemu_exit(code)
}

#[no_mangle]
extern "C" fn kernel_entry(magic: u32, mbi: u32) -> ! {
    arch::serial::init();
    logger::init(log::LevelFilter::Info);
    let k = boot::boot(magic, mbi);
    trap::install(k);
    log::info!("boot done after {} us; starting the initial servers", uptime_us());
    trap::start()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write;
    let _ = writeln!(arch::serial::Console, "\nKERNEL PANIC: {info}");
    arch::qemu_exit(0x7e)
}
