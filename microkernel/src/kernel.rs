//! The kernel state and the scheduler's core operations.
//!
//! One [`Kernel`] holds every kernel object. The machine layer calls one of
//! its entry points per kernel entry (`handle_syscall`, `handle_exception`,
//! `handle_irq`, `handle_tick`) with the current thread's registers already
//! saved in its TCB; afterwards `current` names the thread to run (or none:
//! idle). Kernel code runs to completion with interrupts disabled, so these
//! entry points are the only concurrency there is.

use crate::frame_alloc::FrameAllocator;
use crate::list::{Link, LinkStore};
use crate::mapdb::MappingDb;
use crate::phys::PhysMem;
use crate::sched::ReadyQueues;
use crate::space::Space;
use crate::table::Table;
use crate::thread::{SpaceRef, State, Tcb};
use crate::timeouts::TimeoutQueue;
use abi::counters::Counters;
use abi::thread_id::{FIRST_THREAD_NUMBER, IRQ_COUNT};
use abi::{ThreadId, Timeout};
use alloc::vec::Vec;

/// What the kernel logic needs from the machine besides physical memory.
pub trait Machine: PhysMem {
    /// Invalidate any cached translation of `va` in `space` (however the
    /// TLB mode tags it; it may mark the space for a flush at its next load).
    fn flush_page(&mut self, space: &mut crate::space::Space, va: u64);
    /// `space` is about to be freed: stop using its page table and its tag.
    fn space_ended(&mut self, sref: SpaceRef, space: &crate::space::Space);
    fn irq_mask(&mut self, irq: u32);
    fn irq_unmask(&mut self, irq: u32);
    fn console_write(&mut self, bytes: &[u8]);
    /// Power off with `code` (through QEMU's isa-debug-exit).
    fn shutdown(&mut self, code: u8);
    /// Save the live FPU/SSE registers into `area` (lazy FPU switching keeps
    /// the owner's state in the CPU).
    fn fpu_save(&mut self, area: &mut crate::thread::FpuArea);
    /// The kernel heap is nearly full: operations that would grow kernel
    /// data on a user's behalf (threads, spaces, mappings) must fail with
    /// `NoMemory` now, so that no allocation the kernel cannot refuse ever
    /// fails. Quotas keep one space from getting here alone; this keeps all
    /// of them together from doing it.
    fn kernel_memory_low(&self) -> bool;
    /// Bytes of kernel heap in use (reported by `COUNTERS`; 0 if unknown).
    fn heap_used(&self) -> u64 {
        0
    }
}

/// Most threads the kernel will hold at once.
pub const MAX_THREADS: u32 = 16384;
pub const MAX_SPACES: u32 = 8192;
/// Kernel memory charged for a thread control block.
pub const TCB_COST: u64 = core::mem::size_of::<Tcb>() as u64;

#[derive(Clone, Copy, Debug, Default)]
pub struct IrqLine {
    pub handler: Option<ThreadId>,
}

/// Work left for after the current operation: threads whose send phase
/// completed and who now enter their receive phase. Processing it in a loop
/// (not recursively) bounds the kernel's stack use whatever user code does.
pub(crate) struct DeferredReceive {
    pub slot: u32,
    pub from: ThreadId,
    pub kind: crate::thread::RecvKind,
    pub timeout: Timeout,
}

pub struct Kernel<M: Machine> {
    pub mach: M,
    pub frames: FrameAllocator,
    pub threads: Table<Tcb>,
    pub spaces: Table<Space>,
    pub ready: ReadyQueues,
    pub timeouts: TimeoutQueue,
    pub mapdb: MappingDb,
    pub irqs: [IrqLine; IRQ_COUNT as usize],
    /// Bit n: IRQ n was raised and not yet delivered (one word, so the IPC
    /// paths can check "nothing pending" at once).
    pub irq_pending: u32,
    /// The running thread (never in a ready queue); `None` = idle.
    pub current: Option<u32>,
    /// Microseconds since boot, advanced by the timer tick.
    pub now_us: u64,
    pub tick_us: u64,
    pub counters: Counters,
    /// PML4 whose upper half every space shares.
    pub kernel_root: u64,
    /// The KIP's frame, mapped read-only into every space.
    pub kip_frame: u64,
    /// How address spaces are tagged in the TLB (`crate::tlb`).
    pub tlb: crate::tlb::TlbMode,
    /// Under `tlb=small`: the window PDPT every page table shares.
    pub window: u64,
    /// Under `tlb=small`: the window slots small spaces hold (bit n = slot n).
    pub small_slots: u32,
    /// Physical ranges the root pager may map (free RAM, boot modules).
    pub sigma0_ranges: Vec<(u64, u64)>,
    /// A higher-priority thread became ready: preempt at the next chance.
    pub resched: bool,
    pub(crate) deferred: Vec<DeferredReceive>,
    /// Threads killed meanwhile, deleted at the next scheduling decision.
    pub(crate) reap: Vec<u32>,
    /// The thread whose FPU state is live in the CPU (lazy switching).
    pub fpu_owner: Option<u32>,
    /// MXCSR bits the CPU supports (FXRSTOR faults on the others).
    pub mxcsr_mask: u32,
    /// `kcheck`: run [`Kernel::check_memory`] at every `COUNTERS` call and
    /// panic if it fails (for fuzzing: the fuzzer reads the counters after
    /// each operation).
    pub self_check: bool,
}

impl LinkStore for Table<Tcb> {
    fn link(&mut self, slot: u32) -> &mut Link {
        &mut self.get_mut(slot).expect("link of a dead thread").link
    }
}

impl<M: Machine> Kernel<M> {
    pub fn new(mach: M, frames: FrameAllocator, kernel_root: u64, kip_frame: u64, tick_us: u64) -> Kernel<M> {
        Kernel {
            mach,
            frames,
            threads: Table::new(MAX_THREADS),
            spaces: Table::new(MAX_SPACES),
            ready: ReadyQueues::new(),
            timeouts: TimeoutQueue::new(),
            mapdb: MappingDb::new(),
            irqs: [IrqLine::default(); IRQ_COUNT as usize],
            irq_pending: 0,
            current: None,
            now_us: 0,
            tick_us,
            counters: Counters::default(),
            kernel_root,
            kip_frame,
            tlb: crate::tlb::TlbMode::Plain,
            window: 0,
            small_slots: 0,
            sigma0_ranges: Vec::new(),
            resched: false,
            deferred: Vec::new(),
            reap: Vec::new(),
            fpu_owner: None,
            mxcsr_mask: 0xffbf,
            self_check: false,
        }
    }

    // ---- lookups -------------------------------------------------------

    /// The slot of a live thread named by `id`.
    pub fn slot_of(&self, id: ThreadId) -> Option<u32> {
        let n = id.number();
        if n < FIRST_THREAD_NUMBER {
            return None;
        }
        let slot = n - FIRST_THREAD_NUMBER;
        self.threads.is_live(slot, id.version()).then_some(slot)
    }

    pub fn id_of(slot: u32, version: u32) -> ThreadId {
        ThreadId::new(FIRST_THREAD_NUMBER + slot, version)
    }

    pub fn tcb(&self, slot: u32) -> &Tcb {
        self.threads.get(slot).expect("tcb of a dead thread")
    }
    pub fn tcb_mut(&mut self, slot: u32) -> &mut Tcb {
        self.threads.get_mut(slot).expect("tcb of a dead thread")
    }

    pub fn space_live(&self, r: SpaceRef) -> bool {
        self.spaces.is_live(r.slot, r.version)
    }
    pub fn space(&self, r: SpaceRef) -> &Space {
        self.spaces.get(r.slot).expect("space of a live thread")
    }
    pub fn space_mut(&mut self, r: SpaceRef) -> &mut Space {
        self.spaces.get_mut(r.slot).expect("space of a live thread")
    }
    pub fn space_of(&self, slot: u32) -> &Space {
        self.space(self.tcb(slot).space)
    }

    /// The current thread's slot (kernel entries from user mode always have one).
    pub fn cur(&self) -> u32 {
        self.current.expect("kernel entry without a current thread")
    }

    // ---- scheduling ----------------------------------------------------

    /// Make a thread whose IPC or wait ended runnable (or inactive, if it was
    /// halted meanwhile). Cancels its timeout.
    pub fn wake(&mut self, slot: u32) {
        self.cancel_timeout(slot);
        let t = self.tcb_mut(slot);
        if t.halted {
            t.state = State::Inactive;
            return;
        }
        t.state = State::Ready;
        let prio = t.priority;
        if self.current != Some(slot) {
            self.ready.enqueue(&mut self.threads, slot, prio);
            if self.current.is_none_or(|c| self.tcb(c).priority < prio) {
                self.resched = true;
            }
        }
    }

    /// Take a ready, non-current thread out of its ready queue.
    pub fn unready(&mut self, slot: u32) {
        if self.current != Some(slot) && self.tcb(slot).state == State::Ready && self.tcb(slot).link.linked {
            let prio = self.tcb(slot).priority;
            self.ready.remove(&mut self.threads, slot, prio);
        }
    }

    /// Run `slot` now (an IPC handed the CPU to its partner). The current
    /// thread, if still runnable, goes back to the front of its queue.
    pub fn switch_to(&mut self, slot: u32) {
        if self.current == Some(slot) {
            return;
        }
        self.unready(slot);
        if let Some(c) = self.current {
            if self.tcb(c).state == State::Ready {
                let prio = self.tcb(c).priority;
                self.ready.enqueue_front(&mut self.threads, c, prio);
            }
        }
        self.current = Some(slot);
        self.counters.thread_switches += 1;
    }

    /// Decide who runs next: the current thread if it can and nobody more
    /// important waits, else the first thread of the highest ready queue.
    pub fn schedule(&mut self) {
        self.run_deferred();
        self.reap_killed();
        if let Some(c) = self.current {
            let t = self.tcb(c);
            if t.state == State::Ready {
                let higher = self.ready.highest_priority().is_some_and(|p| p > t.priority);
                if !higher {
                    self.resched = false;
                    return;
                }
                let prio = t.priority;
                self.ready.enqueue_front(&mut self.threads, c, prio);
            }
        }
        self.resched = false;
        let next = self.ready.dequeue_highest(&mut self.threads);
        if next != self.current {
            self.counters.thread_switches += 1;
        }
        self.current = next;
    }

    /// Give up the processor: the current thread goes to the back of its queue.
    pub fn yield_current(&mut self) {
        let c = self.cur();
        if self.tcb(c).state == State::Ready {
            let prio = self.tcb(c).priority;
            self.ready.enqueue(&mut self.threads, c, prio);
            self.current = None;
        }
    }

    // ---- timeouts ------------------------------------------------------

    /// Arm the timeout of the IPC phase `slot` just blocked in.
    pub fn set_timeout(&mut self, slot: u32, t: Timeout) {
        if let Timeout::Micros(us) = t {
            // Round up to the next tick: never wake early.
            let deadline = (self.now_us + us as u64).div_ceil(self.tick_us) * self.tick_us;
            self.tcb_mut(slot).deadline = Some(deadline);
            self.timeouts.insert(deadline, slot);
        }
    }

    pub fn cancel_timeout(&mut self, slot: u32) {
        if let Some(d) = self.tcb_mut(slot).deadline.take() {
            self.timeouts.remove(d, slot);
        }
    }

    /// The timer interrupt: advance the clock, fire due timeouts, account the
    /// timeslice.
    pub fn handle_tick(&mut self) {
        self.counters.kernel_entries += 1;
        self.counters.timer_ticks += 1;
        self.now_us += self.tick_us;
        self.mach.write_u64(self.kip_frame + core::mem::offset_of!(abi::kip::Kip, clock_us) as u64, self.now_us);
        while let Some(slot) = self.timeouts.pop_due(self.now_us) {
            self.tcb_mut(slot).deadline = None;
            self.ipc_timeout(slot);
        }
        if let Some(c) = self.current {
            let tick = self.tick_us;
            let t = self.tcb_mut(c);
            t.cpu_us += tick;
            if t.state == State::Ready {
                t.remaining_us = t.remaining_us.saturating_sub(tick);
                if t.remaining_us == 0 {
                    t.remaining_us = t.timeslice_us;
                    let prio = t.priority;
                    // Round robin: the next thread of the same priority runs.
                    if self.ready.highest_priority().is_some_and(|p| p >= prio) {
                        self.ready.enqueue(&mut self.threads, c, prio);
                        self.current = None;
                    }
                }
            }
        }
        self.schedule();
    }

    /// Write a diagnostic line on the kernel console.
    pub fn diag(&mut self, args: core::fmt::Arguments) {
        log::warn!("{}", args);
    }
}
