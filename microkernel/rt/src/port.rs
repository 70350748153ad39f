//! Port I/O and the time-stamp counter for native tasks (drivers in user
//! space). Using a port the kernel did not grant raises #GP in the task: a
//! fault, never memory unsafety — so these are safe functions.

use core::arch::asm;

pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: `in` touches no memory; without permission the CPU raises #GP.
    unsafe { asm!("in al, dx", out("al") v, in("dx") port, options(nostack, nomem, preserves_flags)) };
    v
}

pub fn outb(port: u16, v: u8) {
    // SAFETY: as for `inb`.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nostack, nomem, preserves_flags)) };
}

pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC is allowed in user mode and has no side effects.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nostack, nomem, preserves_flags)) };
    ((hi as u64) << 32) | lo as u64
}

/// CPUID leaf `leaf`, subleaf `sub`: (eax, ebx, ecx, edx).
pub fn cpuid(leaf: u32, sub: u32) -> (u32, u32, u32, u32) {
    // SAFETY: CPUID exists on every x86-64 CPU and only reads.
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, sub) };
    (r.eax, r.ebx, r.ecx, r.edx)
}
