//! The interrupt descriptor table. Every gate is an interrupt gate (IF
//! cleared on entry): the kernel never runs with interrupts enabled. Only the
//! breakpoint and overflow vectors may be raised from user mode with `int3` /
//! `into`; any other `int n` from user mode is a general-protection fault.
//! The double fault, NMI and machine check run on their own stacks.

use core::ptr::addr_of_mut;

#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attrs: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

const EMPTY: Gate = Gate { offset_low: 0, selector: 0, ist: 0, attrs: 0, offset_mid: 0, offset_high: 0, reserved: 0 };
static mut IDT: [Gate; 256] = [EMPTY; 256];

fn gate(handler: u64, ist: u8, dpl: u8) -> Gate {
    Gate {
        offset_low: handler as u16,
        selector: super::gdt::KERNEL_CS,
        ist,
        attrs: 0x8e | (dpl << 5),
        offset_mid: (handler >> 16) as u16,
        offset_high: (handler >> 32) as u32,
        reserved: 0,
    }
}

pub fn init() {
    // SAFETY: boot, one CPU, interrupts disabled; ISR_TABLE is the stub table
    // assembled in entry.rs.
    unsafe {
        let table = &super::entry::ISR_TABLE;
        let idt = &mut *addr_of_mut!(IDT);
        for (v, g) in idt.iter_mut().enumerate() {
            let handler = if v < 48 { table[v] } else { table[48] };
            let ist = match v {
                8 => 1,
                2 => 2,
                18 => 3,
                _ => 0,
            };
            let dpl = if v == 3 || v == 4 { 3 } else { 0 };
            *g = gate(handler, ist, dpl);
        }
        let ptr = x86::dtables::DescriptorTablePointer::new(&*idt);
        x86::dtables::lidt(&ptr);
    }
}
