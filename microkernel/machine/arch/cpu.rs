//! Control registers, model-specific registers, CPU features and the FPU.

use x86::controlregs::{self, Cr0, Cr4};
use x86::msr;

pub const IA32_FS_BASE: u32 = msr::IA32_FS_BASE;
pub const IA32_GS_BASE: u32 = msr::IA32_GS_BASE;
pub const IA32_KERNEL_GS_BASE: u32 = msr::IA32_KERNEL_GSBASE;

pub fn wrmsr(reg: u32, v: u64) {
    // SAFETY: only called with architectural MSRs and values the kernel validated
    // (segment bases are checked canonical before they reach here).
    unsafe { msr::wrmsr(reg, v) }
}

pub fn rdmsr(reg: u32) -> u64 {
    // SAFETY: reading architectural MSRs has no side effects.
    unsafe { msr::rdmsr(reg) }
}

pub fn cr2() -> u64 {
    // SAFETY: reading CR2 has no side effects.
    unsafe { controlregs::cr2() as u64 }
}

/// Load CR3: a PML4 the kernel built, with a PCID in bits 0..11 and bit 63
/// (keep that PCID's TLB entries) under `tlb=pcid`.
pub fn set_cr3(value: u64) {
    // SAFETY: the PML4 in `value` is one the kernel built; its upper half maps
    // the kernel, so execution continues. PCID bits are only set when
    // CR4.PCIDE is on.
    unsafe { controlregs::cr3_write(value) }
}

pub fn invlpg(va: u64) {
    // SAFETY: invalidating a TLB entry is always safe.
    unsafe { x86::tlb::flush(va as usize) }
}

/// Invalidate the entry for `va` tagged `pcid` (INVPCID type 0).
pub fn invpcid_address(pcid: u16, va: u64) {
    let descriptor: [u64; 2] = [pcid as u64, va];
    // SAFETY: INVPCID only drops TLB entries; the descriptor is a valid
    // 16-byte memory operand (PCID < 4096, `va` canonical: it came from a
    // mapping), and it is only used when CPUID reports INVPCID.
    unsafe {
        core::arch::asm!("invpcid {t}, [{d}]", t = in(reg) 0u64, d = in(reg) descriptor.as_ptr(), options(nostack))
    }
}

/// Write PKRU (protection-key rights of user pages).
pub fn wrpkru(value: u32) {
    // SAFETY: WRPKRU only changes which user pages user code may access; it
    // is only used with CR4.PKE on (tlb=small) and ECX = EDX = 0 as required.
    unsafe { core::arch::asm!("wrpkru", in("eax") value, in("ecx") 0, in("edx") 0, options(nostack)) }
}

pub struct Features {
    pub smep: bool,
    pub smap: bool,
    pub pge: bool,
    pub fxsr: bool,
    pub pcid: bool,
    pub invpcid: bool,
    pub pku: bool,
    pub model: [u8; 48],
}

pub fn features() -> Features {
    let c = x86::cpuid::CpuId::new();
    let fi = c.get_feature_info();
    let ef = c.get_extended_feature_info();
    let mut model = [0u8; 48];
    if let Some(b) = c.get_processor_brand_string() {
        let s = b.as_str().trim().as_bytes();
        let n = s.len().min(48);
        model[..n].copy_from_slice(&s[..n]);
    }
    Features {
        smep: ef.as_ref().is_some_and(|e| e.has_smep()),
        smap: ef.as_ref().is_some_and(|e| e.has_smap()),
        pge: fi.as_ref().is_some_and(|f| f.has_pge()),
        fxsr: fi.as_ref().is_some_and(|f| f.has_fxsave_fxstor()),
        pcid: fi.as_ref().is_some_and(|f| f.has_pcid()),
        invpcid: ef.as_ref().is_some_and(|e| e.has_invpcid()),
        pku: ef.as_ref().is_some_and(|e| e.has_pku()),
        model,
    }
}

/// Enable what the kernel relies on: SSE for user code (without XSAVE, so
/// user code sees no AVX state and XRSTOR does not exist — which also means
/// no XRSTOR can load PKRU), global pages for the kernel half, and SMEP/SMAP
/// so that the kernel can never execute or touch user memory by accident —
/// it reaches user memory only through the direct map. `tlb` turns on PCIDs
/// or protection keys (the CR3 loaded now must carry PCID 0).
pub fn init(f: &Features, tlb: microkernel::tlb::TlbMode) {
    assert!(f.fxsr, "this kernel needs FXSAVE/FXRSTOR");
    // SAFETY: setting standard control-register bits on a CPU that reports them.
    unsafe {
        let mut cr0 = controlregs::cr0();
        cr0.remove(Cr0::CR0_EMULATE_COPROCESSOR);
        cr0.insert(Cr0::CR0_MONITOR_COPROCESSOR | Cr0::CR0_NUMERIC_ERROR | Cr0::CR0_WRITE_PROTECT);
        cr0.insert(Cr0::CR0_TASK_SWITCHED); // no thread owns the FPU yet
        controlregs::cr0_write(cr0);
        let mut cr4 = controlregs::cr4();
        cr4.insert(Cr4::CR4_ENABLE_SSE | Cr4::CR4_UNMASKED_SSE);
        if f.pge {
            cr4.insert(Cr4::CR4_ENABLE_GLOBAL_PAGES);
        }
        if f.smep {
            cr4.insert(Cr4::CR4_ENABLE_SMEP);
        }
        if f.smap {
            cr4.insert(Cr4::CR4_ENABLE_SMAP);
        }
        match tlb {
            microkernel::tlb::TlbMode::Plain => {}
            microkernel::tlb::TlbMode::Pcid => cr4.insert(Cr4::CR4_ENABLE_PCID),
            microkernel::tlb::TlbMode::Small => cr4.insert(Cr4::CR4_ENABLE_PROTECTION_KEY),
        }
        controlregs::cr4_write(cr4);
    }
}

/// Set or clear CR0.TS (FPU access traps with #NM when set).
pub fn set_task_switched(on: bool) {
    // SAFETY: toggling CR0.TS only changes when #NM is raised.
    unsafe {
        let mut cr0 = controlregs::cr0();
        cr0.set(Cr0::CR0_TASK_SWITCHED, on);
        controlregs::cr0_write(cr0);
    }
}

pub fn fxsave(area: &mut microkernel::thread::FpuArea) {
    // SAFETY: `area` is 512 bytes, 16-byte aligned (FpuArea's repr); TS is
    // cleared by the caller so FXSAVE does not trap.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack)) }
}

pub fn fxrstor(area: &microkernel::thread::FpuArea) {
    // SAFETY: as for `fxsave`; MXCSR's reserved bits were cleared when the
    // area was last written from user data, so FXRSTOR cannot fault.
    unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) area.0.as_ptr(), options(nostack)) }
}

/// The MXCSR bits this CPU supports, from a fresh FXSAVE image.
pub fn mxcsr_mask() -> u32 {
    let mut a = microkernel::thread::FpuArea([0; 512]);
    set_task_switched(false);
    fxsave(&mut a);
    set_task_switched(true);
    let m = u32::from_le_bytes(a.0[28..32].try_into().unwrap());
    if m == 0 {
        0xffbf
    } else {
        m
    }
}

pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { x86::time::rdtsc() }
}
