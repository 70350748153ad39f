//! The 8254 timer: channel 0 drives the kernel's periodic tick (IRQ 0);
//! channel 2, gated through port 0x61, measures the TSC frequency at boot.

use x86::io::{inb, outb};

const PIT_HZ: u64 = 1_193_182;

/// Start the periodic tick at `hz`; returns the real period in microseconds.
pub fn start_tick(hz: u64) -> u64 {
    let divisor = (PIT_HZ / hz).clamp(1, 0xffff) as u16;
    // SAFETY: channel 0, lobyte/hibyte, mode 2 (rate generator).
    unsafe {
        outb(0x43, 0x34);
        outb(0x40, divisor as u8);
        outb(0x40, (divisor >> 8) as u8);
    }
    (divisor as u64 * 1_000_000).div_ceil(PIT_HZ)
}

/// TSC ticks per second, measured over 10 ms with channel 2.
pub fn calibrate_tsc() -> u64 {
    let count: u16 = (PIT_HZ / 100) as u16;
    // SAFETY: port 0x61 gates channel 2; mode 0 counts down once and raises OUT2.
    unsafe {
        let gate = inb(0x61);
        outb(0x61, (gate & !0x02) | 0x01); // speaker off, gate on
        outb(0x43, 0xb0); // channel 2, lobyte/hibyte, mode 0
        outb(0x42, count as u8);
        outb(0x42, (count >> 8) as u8);
        let start = x86::time::rdtsc();
        while inb(0x61) & 0x20 == 0 {}
        let end = x86::time::rdtsc();
        outb(0x61, gate);
        (end - start) * 100
    }
}
