//! The Rust side of kernel entry and exit.
//!
//! Every entry takes the kernel lock (uncontended: one CPU, interrupts off),
//! lets the kernel logic handle the event, then prepares the CPU for the
//! thread that runs next — address space, TSS stack pointer, segment bases,
//! I/O bitmap, FPU trap — and leaves through `entry::exit_to_user`, or idles.

use crate::arch::{cpu, entry, gdt, pic};
use crate::physmem::RealMachine;
use microkernel::kernel::Kernel;
use microkernel::thread::Frame;
use microkernel::tlb::{self, TlbMode};

static KERNEL: spin::Mutex<Option<Kernel<RealMachine>>> = spin::Mutex::new(None);

pub fn install(k: Kernel<RealMachine>) {
    *KERNEL.lock() = Some(k);
}

/// What kind of entry led to an exit (for the per-entry CR3 counters).
#[derive(Clone, Copy)]
enum Entry {
    Syscall,
    Exception,
    Interrupt,
}

/// Handle one kernel entry with `f`, then leave the kernel.
fn run(kind: Entry, f: impl FnOnce(&mut Kernel<RealMachine>)) -> ! {
    let frame: *const Frame = {
        let mut guard = KERNEL.lock();
        let k = guard.as_mut().expect("kernel entry before boot finished");
        f(k);
        match prepare_exit(k, kind) {
            Some(frame) => frame,
            None => {
                drop(guard);
                entry::idle()
            }
        }
    };
    // SAFETY: the frame is the first field of a boxed TCB of the thread that
    // runs next; nothing can free or move it before the CPU has loaded it
    // (one CPU, interrupts disabled until the exit instruction).
    entry::exit_to_user(unsafe { &*frame })
}

/// Load the next thread's context; `None` if there is nothing to run.
fn prepare_exit(k: &mut Kernel<RealMachine>, kind: Entry) -> Option<*const Frame> {
    let Some(slot) = k.current else {
        if k.threads.live() == 0 {
            all_threads_ended(k);
        }
        return None;
    };
    let t = k.threads.get(slot).expect("current thread is live");
    let sref = t.space;
    let space = k.spaces.get_mut(sref.slot).expect("space of a live thread");
    let m = &mut k.mach;
    k.counters.cr3_loads += core::mem::take(&mut m.other_cr3_loads);
    // A small space is in every page table: it runs in whichever is loaded.
    let small = m.tlb == TlbMode::Small && space.small_slot.is_some();
    if !small && m.loaded_root != space.root {
        let (cr3, pcid, flushes) = match m.tlb {
            TlbMode::Pcid => {
                let pcids = m.pcids.as_mut().expect("PCID table in tlb=pcid");
                let (pcid, fresh) = pcids.tag(sref, space.pcid, m.loaded_pcid);
                let keep = !fresh && !space.tlb_stale;
                space.pcid = pcid;
                space.tlb_stale = false;
                (space.root | pcid as u64 | (keep as u64) << 63, pcid, !keep)
            }
            TlbMode::Plain | TlbMode::Small => (space.root, 0, true),
        };
        cpu::set_cr3(cr3);
        m.loaded_root = space.root;
        m.loaded_pcid = pcid;
        let c = &mut k.counters;
        c.cr3_loads += 1;
        c.tlb_full_flushes += flushes as u64;
        match kind {
            Entry::Syscall => c.cr3_on_syscall += 1,
            Entry::Exception => c.cr3_on_exception += 1,
            Entry::Interrupt => c.cr3_on_interrupt += 1,
        }
    }
    if m.tlb == TlbMode::Small {
        let pkru = tlb::pkru_for(space.pkey);
        if m.pkru != pkru {
            cpu::wrpkru(pkru);
            m.pkru = pkru;
            k.counters.pkru_writes += 1;
        }
    }
    let space = &*space;
    // Most spaces have no I/O ports: then the all-denied bitmap stays loaded.
    let io = space.io_bitmap.as_ref().map(|_| (sref, space.io_version));
    if k.mach.io_space != io {
        gdt::set_io_bitmap(space.io_bitmap.as_deref());
        k.mach.io_space = io;
    }
    let frame = &t.frame as *const Frame;
    gdt::set_frame_end(frame as u64 + core::mem::size_of::<Frame>() as u64);
    if k.mach.fs_base != t.fs_base {
        cpu::wrmsr(cpu::IA32_FS_BASE, t.fs_base);
        k.mach.fs_base = t.fs_base;
    }
    if k.mach.user_gs_base != t.gs_base {
        // Swapped into GS_BASE by the SWAPGS on the way out.
        cpu::wrmsr(cpu::IA32_KERNEL_GS_BASE, t.gs_base);
        k.mach.user_gs_base = t.gs_base;
    }
    let owns_fpu = k.fpu_owner == Some(slot);
    if owns_fpu != k.mach.fpu_enabled {
        cpu::set_task_switched(!owns_fpu);
        k.mach.fpu_enabled = owns_fpu;
    }
    Some(frame)
}

fn all_threads_ended(k: &mut Kernel<RealMachine>) -> ! {
    let c = k.counters;
    let (heap_used, _) = crate::heap::usage();
    log::info!(
        "all threads have ended; {} timer ticks, {} kernel entries, {} IPCs ({} fast), {} CR3 loads; \
         {} free frames of {}, {} KiB of heap in use",
        c.timer_ticks,
        c.kernel_entries,
        c.ipc_fast + c.ipc_slow,
        c.ipc_fast,
        c.cr3_loads,
        k.frames.free_frames(),
        k.frames.total_frames(),
        heap_used / 1024
    );
    crate::shutdown(0)
}

/// Lazy FPU switching: the first FPU/SSE instruction of a thread that does
/// not own the FPU traps here (#NM); the owner's state is saved and the
/// thread's loaded.
fn fpu_trap(k: &mut Kernel<RealMachine>) {
    let cur = k.cur();
    cpu::set_task_switched(false);
    k.mach.fpu_enabled = true;
    if k.fpu_owner != Some(cur) {
        if let Some(owner) = k.fpu_owner {
            cpu::fxsave(&mut k.tcb_mut(owner).fpu);
        }
        cpu::fxrstor(&k.tcb(cur).fpu);
        k.fpu_owner = Some(cur);
    }
}

/// A hardware interrupt on vector `vector` (32..47).
fn interrupt(k: &mut Kernel<RealMachine>, vector: u64) {
    let irq = (vector - pic::IRQ_BASE as u64) as u32;
    if irq == 0 {
        pic::eoi(0);
        k.handle_tick();
    } else if pic::is_spurious(irq) {
        k.schedule();
    } else {
        // Masked until the handler replies (interrupts as IPC).
        pic::mask(irq);
        pic::eoi(irq);
        k.handle_irq(irq);
    }
}

#[no_mangle]
extern "C" fn syscall_from_user() -> ! {
    run(Entry::Syscall, |k| k.handle_syscall())
}

#[no_mangle]
extern "C" fn trap_from_user() -> ! {
    let vector = {
        let guard = KERNEL.lock();
        let k = guard.as_ref().expect("trap before boot finished");
        k.tcb(k.cur()).frame.vector
    };
    match vector {
        7 => run(Entry::Exception, fpu_trap),
        32..=47 => run(Entry::Interrupt, |k| interrupt(k, vector)),
        _ => {
            let cr2 = cpu::cr2();
            run(Entry::Exception, |k| k.handle_exception(cr2))
        }
    }
}

#[no_mangle]
extern "C" fn trap_from_kernel(frame: &Frame) -> ! {
    match frame.vector {
        // The idle loop is the only kernel code that takes interrupts.
        32..=47 => run(Entry::Interrupt, |k| interrupt(k, frame.vector)),
        v => panic!(
            "exception {v} in the kernel: rip {:#x} error {:#x} cr2 {:#x} rsp {:#x}",
            frame.rip,
            frame.error,
            cpu::cr2(),
            frame.rsp
        ),
    }
}

/// Leave boot: run the first thread.
pub fn start() -> ! {
    run(Entry::Interrupt, |k| k.schedule())
}
