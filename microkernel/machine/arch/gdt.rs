//! Segmentation leftovers x86-64 still needs: the GDT (code and data
//! selectors in the order SYSCALL/SYSRET dictate), the TSS (the stack the CPU
//! switches to on entry from user mode, interrupt stacks for faults that must
//! not use the kernel stack, and the I/O permission bitmap), and the per-CPU
//! block the entry code finds through GS.

use core::ptr::addr_of_mut;
use microkernel::space::IO_BITMAP_BYTES;

pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_DS: u16 = 0x10;
// 0x18 | 3: user data, 0x20 | 3: user code (SYSRET: STAR[63:48] + 8 / + 16).
const TSS_SEL: u16 = 0x28;

#[repr(C, packed)]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
    /// One bit per port 0..1023 (set = denied), then the required 0xff byte.
    iopb: [u8; IO_BITMAP_BYTES + 1],
}

const TSS_SIZE: usize = core::mem::size_of::<Tss>();

static mut TSS: Tss = Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: 104,
    iopb: [0xff; IO_BITMAP_BYTES + 1],
};

static mut GDT: [u64; 7] = [
    0,
    0x00af_9a00_0000_ffff, // 0x08 kernel code, 64-bit
    0x00cf_9200_0000_ffff, // 0x10 kernel data
    0x00cf_f200_0000_ffff, // 0x18 user data (DPL 3)
    0x00af_fa00_0000_ffff, // 0x20 user code, 64-bit (DPL 3)
    0,                     // 0x28 TSS, low
    0,                     // 0x30 TSS, high
];

/// Stacks for the double fault, NMI and machine check (IST 1..3).
const IST_SIZE: usize = 16 * 1024;
#[repr(C, align(16))]
struct IstStacks([[u8; IST_SIZE]; 3]);
static mut IST_STACKS: IstStacks = IstStacks([[0; IST_SIZE]; 3]);

/// What the entry code reads through GS (offsets fixed by `entry.rs`).
#[repr(C)]
pub struct PerCpu {
    pub self_ptr: u64,
    /// Top of the kernel stack: every kernel entry starts here.
    pub kstack_top: u64,
    /// End of the running thread's saved-register frame (entry pushes below it).
    pub frame_end: u64,
    /// Scratch: the user RSP during syscall entry.
    pub user_rsp: u64,
}

static mut PER_CPU: PerCpu = PerCpu { self_ptr: 0, kstack_top: 0, frame_end: 0, user_rsp: 0 };

extern "C" {
    static BOOT_STACK_TOP: u8;
}

pub fn init() {
    // SAFETY: boot runs on one CPU with interrupts disabled; these statics are
    // only ever touched from kernel code with interrupts disabled.
    unsafe {
        let tss = addr_of_mut!(TSS);
        let ist = addr_of_mut!(IST_STACKS) as *mut [u8; IST_SIZE];
        for i in 0..3 {
            (*tss).ist[i] = ist.add(i) as u64 + IST_SIZE as u64;
        }
        let base = tss as u64;
        let limit = (TSS_SIZE - 1) as u64;
        let low = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89u64 << 40) // present, 64-bit TSS (available)
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        let gdt = addr_of_mut!(GDT);
        (*gdt)[5] = low;
        (*gdt)[6] = base >> 32;

        let ptr = x86::dtables::DescriptorTablePointer::new(&*gdt);
        x86::dtables::lgdt(&ptr);
        x86::bits64::segmentation::load_cs(x86::segmentation::SegmentSelector::from_raw(KERNEL_CS));
        let ds = x86::segmentation::SegmentSelector::from_raw(KERNEL_DS);
        x86::segmentation::load_ds(ds);
        x86::segmentation::load_es(ds);
        x86::segmentation::load_ss(ds);
        x86::task::load_tr(x86::segmentation::SegmentSelector::from_raw(TSS_SEL));

        let pc = addr_of_mut!(PER_CPU);
        (*pc).self_ptr = pc as u64;
        (*pc).kstack_top = core::ptr::addr_of!(BOOT_STACK_TOP) as u64;
        super::cpu::wrmsr(super::cpu::IA32_GS_BASE, pc as u64);
        super::cpu::wrmsr(super::cpu::IA32_KERNEL_GS_BASE, 0);
    }
}

/// Where the running thread's registers are saved on the next entry from user
/// mode (the end of its frame): used by both interrupts (TSS.RSP0) and
/// syscalls (the per-CPU block).
pub fn set_frame_end(end: u64) {
    // SAFETY: single CPU, interrupts disabled in the kernel; plain stores.
    unsafe {
        (*addr_of_mut!(TSS)).rsp[0] = end;
        (*addr_of_mut!(PER_CPU)).frame_end = end;
    }
}

pub fn kstack_top() -> u64 {
    // SAFETY: read of a field written once at boot.
    unsafe { (*addr_of_mut!(PER_CPU)).kstack_top }
}

/// Load a space's I/O permission bitmap (`None`: every port denied).
pub fn set_io_bitmap(bitmap: Option<&[u8; IO_BITMAP_BYTES]>) {
    // SAFETY: single CPU, interrupts disabled; the bitmap is plain bytes.
    unsafe {
        let iopb = &mut (*addr_of_mut!(TSS)).iopb;
        match bitmap {
            Some(b) => iopb[..IO_BITMAP_BYTES].copy_from_slice(b),
            None => iopb[..IO_BITMAP_BYTES].fill(0xff),
        }
    }
}
