//! The two 8259 interrupt controllers, remapped to vectors 32..47. Lines stay
//! masked unless the timer (the kernel's) or a user-level handler needs them.

use x86::io::{inb, outb};

pub const IRQ_BASE: u8 = 32;
const PIC1: u16 = 0x20;
const PIC2: u16 = 0xa0;

pub fn init() {
    // SAFETY: the standard ICW1..ICW4 sequence on the PIC ports.
    unsafe {
        outb(PIC1, 0x11);
        outb(PIC2, 0x11);
        outb(PIC1 + 1, IRQ_BASE);
        outb(PIC2 + 1, IRQ_BASE + 8);
        outb(PIC1 + 1, 4); // slave on IRQ 2
        outb(PIC2 + 1, 2);
        outb(PIC1 + 1, 0x01); // 8086 mode
        outb(PIC2 + 1, 0x01);
        outb(PIC1 + 1, 0xff & !(1 << 0) & !(1 << 2)); // timer and cascade only
        outb(PIC2 + 1, 0xff);
    }
}

fn port_bit(irq: u32) -> (u16, u8) {
    if irq < 8 {
        (PIC1 + 1, 1 << irq)
    } else {
        (PIC2 + 1, 1 << (irq - 8))
    }
}

pub fn mask(irq: u32) {
    let (port, bit) = port_bit(irq);
    // SAFETY: read-modify-write of a PIC interrupt mask register.
    unsafe { outb(port, inb(port) | bit) };
}

pub fn unmask(irq: u32) {
    let (port, bit) = port_bit(irq);
    // SAFETY: read-modify-write of a PIC interrupt mask register.
    unsafe { outb(port, inb(port) & !bit) };
}

pub fn eoi(irq: u32) {
    // SAFETY: non-specific end-of-interrupt commands.
    unsafe {
        if irq >= 8 {
            outb(PIC2, 0x20);
        }
        outb(PIC1, 0x20);
    }
}

/// Is `irq` (7 or 15) a spurious interrupt? Reads the in-service register.
pub fn is_spurious(irq: u32) -> bool {
    if irq != 7 && irq != 15 {
        return false;
    }
    let port = if irq == 7 { PIC1 } else { PIC2 };
    // SAFETY: OCW3 "read ISR", then read it.
    let isr = unsafe {
        outb(port, 0x0b);
        inb(port)
    };
    if isr & 0x80 == 0 {
        if irq == 15 {
            eoi(0); // the master saw a real cascade interrupt
        }
        return true;
    }
    false
}
