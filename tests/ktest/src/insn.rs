//! Single machine instructions the tests need on purpose: faults, port I/O,
//! a raw Linux-style `syscall`, the time stamp counter.

use core::arch::asm;

/// Execute `ud2`; if a handler resumes the thread past it (RIP + 2), return
/// what it left in RAX.
pub fn ud2() -> u64 {
    let rax: u64;
    // SAFETY: raises #UD on purpose; the test's exception handler decides what
    // happens next (resume past the instruction, or end the thread).
    unsafe { asm!("ud2", out("rax") rax, options(nostack)) };
    rax
}

/// Read from address 0.
pub fn null_read() -> u64 {
    let v: u64;
    // SAFETY: faults on purpose (page 0 is never mapped); the test arranges
    // for the thread to end there.
    unsafe { asm!("mov {}, qword ptr [0]", out(reg) v, options(nostack, readonly)) };
    v
}

/// A `syscall` with a Linux syscall number and arguments, as an unmodified
/// Linux binary makes it. Returns RAX.
pub fn linux_syscall(nr: u64, a: [u64; 6]) -> u64 {
    let rax: u64;
    // SAFETY: for a Linux-personality thread this becomes an exception message
    // to its handler, which sets RAX; registers are as the Linux ABI says.
    unsafe {
        asm!("syscall",
            inlateout("rax") nr => rax,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    rax
}

pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: port I/O the kernel permitted for this space (else #GP).
    unsafe { asm!("in al, dx", out("al") v, in("dx") port, options(nostack, nomem)) };
    v
}

pub fn outb(port: u16, v: u8) {
    // SAFETY: as for `inb`.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nostack, nomem)) };
}

pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC is allowed in user mode (CR4.TSD clear) and has no side effects.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nostack, nomem)) };
    ((hi as u64) << 32) | lo as u64
}

/// Read one byte at `addr` (touching the page: a fault goes to our pager).
pub fn touch(addr: u64) -> u8 {
    // SAFETY: callers pass addresses of their own image or of pages their
    // pager provides; a fault is the point of some tests.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

pub fn write_u64(addr: u64, v: u64) {
    // SAFETY: as for `touch`, for a write.
    unsafe { core::ptr::write_volatile(addr as *mut u64, v) }
}

pub fn read_u64(addr: u64) -> u64 {
    // SAFETY: as for `touch`.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Touch every page of `[addr, addr + len)` (reading, or writing a zero byte
/// where `write`), so all of it is mapped.
pub fn touch_range(addr: u64, len: u64, write: bool) {
    let mut page = addr & !0xfff;
    while page < addr + len {
        let a = page.max(addr);
        if write {
            // SAFETY: as for `touch`, for a write of a byte the caller owns.
            unsafe { core::ptr::write_volatile(a as *mut u8, 0) }
        } else {
            touch(a);
        }
        page += 4096;
    }
}
