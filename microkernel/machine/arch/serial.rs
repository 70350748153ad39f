//! The kernel's COM1 console: polled output for the boot log, kernel
//! diagnostics and `KDEBUG_PRINT`. Input and interrupts belong to the
//! user-level console driver (the linux-server), which the kernel only routes
//! IRQ 4 to.

use x86::io::{inb, outb};

const COM1: u16 = 0x3f8;

pub fn init() {
    // SAFETY: programming the 16550 UART at its standard ports; no memory is involved.
    unsafe {
        outb(COM1 + 1, 0x00); // no interrupts (the user-level driver enables them)
        outb(COM1 + 3, 0x80); // DLAB
        outb(COM1, 0x01); // 115200 baud
        outb(COM1 + 1, 0x00);
        outb(COM1 + 3, 0x03); // 8N1
        outb(COM1 + 2, 0xc7); // FIFO on, cleared, 14-byte threshold
        outb(COM1 + 4, 0x0b); // DTR, RTS, OUT2 (OUT2 gates the IRQ line)
    }
}

pub fn write_byte(b: u8) {
    // SAFETY: polling the line-status register and writing the data register of COM1.
    unsafe {
        while inb(COM1 + 5) & 0x20 == 0 {}
        outb(COM1, b);
    }
}

pub fn write_bytes(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            write_byte(b'\r');
        }
        write_byte(b);
    }
}

/// A `core::fmt::Write` sink for the console.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}
