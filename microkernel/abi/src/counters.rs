//! Kernel event counters, per CPU, read with the `COUNTERS` syscall. They are
//! what explains benchmark figures under QEMU, where every CR3 load flushes
//! the emulator's software TLB.

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Counters {
    /// All kernel entries (syscalls, exceptions, interrupts).
    pub kernel_entries: u64,
    pub syscalls: u64,
    pub exceptions: u64,
    pub interrupts: u64,
    pub page_faults: u64,
    /// IPCs completed by the fastpath / by the general path.
    pub ipc_fast: u64,
    pub ipc_slow: u64,
    /// Exception messages (including trapped Linux syscalls) sent.
    pub exception_ipcs: u64,
    pub linux_syscalls: u64,
    /// Thread switches / address-space switches (CR3 loads).
    pub thread_switches: u64,
    pub cr3_loads: u64,
    /// TLB invalidations: single pages and full flushes.
    pub tlb_page_flushes: u64,
    pub tlb_full_flushes: u64,
    /// Protection-key register writes (small address spaces).
    pub pkru_writes: u64,
    /// CR3 loads caused while handling each kind of kernel entry.
    pub cr3_on_syscall: u64,
    pub cr3_on_exception: u64,
    pub cr3_on_interrupt: u64,
    pub timer_ticks: u64,
    /// Gauges of kernel memory, sampled when the counters are read (not
    /// events): free frames of the kernel pool (page tables, UTCBs, page
    /// directories), bytes of kernel heap in use (TCBs, spaces, queues),
    /// live mapping-database nodes, live threads and live spaces. A leak
    /// check compares them before and after.
    pub kmem_free_frames: u64,
    pub kmem_heap_used: u64,
    pub mapping_nodes: u64,
    pub live_threads: u64,
    pub live_spaces: u64,
}

pub const COUNTER_WORDS: usize = core::mem::size_of::<Counters>() / 8;

/// The counters' names, in the order of [`Counters::as_words`] (for
/// reports such as the linux-server's /proc/l4/counters).
pub const COUNTER_NAMES: [&str; COUNTER_WORDS] = [
    "kernel_entries",
    "syscalls",
    "exceptions",
    "interrupts",
    "page_faults",
    "ipc_fast",
    "ipc_slow",
    "exception_ipcs",
    "linux_syscalls",
    "thread_switches",
    "cr3_loads",
    "tlb_page_flushes",
    "tlb_full_flushes",
    "pkru_writes",
    "cr3_on_syscall",
    "cr3_on_exception",
    "cr3_on_interrupt",
    "timer_ticks",
    "kmem_free_frames",
    "kmem_heap_used",
    "mapping_nodes",
    "live_threads",
    "live_spaces",
];

impl Counters {
    pub fn as_words(&self) -> [u64; COUNTER_WORDS] {
        let c = self;
        [
            c.kernel_entries,
            c.syscalls,
            c.exceptions,
            c.interrupts,
            c.page_faults,
            c.ipc_fast,
            c.ipc_slow,
            c.exception_ipcs,
            c.linux_syscalls,
            c.thread_switches,
            c.cr3_loads,
            c.tlb_page_flushes,
            c.tlb_full_flushes,
            c.pkru_writes,
            c.cr3_on_syscall,
            c.cr3_on_exception,
            c.cr3_on_interrupt,
            c.timer_ticks,
            c.kmem_free_frames,
            c.kmem_heap_used,
            c.mapping_nodes,
            c.live_threads,
            c.live_spaces,
        ]
    }
    pub fn from_words(w: &[u64; COUNTER_WORDS]) -> Counters {
        Counters {
            kernel_entries: w[0],
            syscalls: w[1],
            exceptions: w[2],
            interrupts: w[3],
            page_faults: w[4],
            ipc_fast: w[5],
            ipc_slow: w[6],
            exception_ipcs: w[7],
            linux_syscalls: w[8],
            thread_switches: w[9],
            cr3_loads: w[10],
            tlb_page_flushes: w[11],
            tlb_full_flushes: w[12],
            pkru_writes: w[13],
            cr3_on_syscall: w[14],
            cr3_on_exception: w[15],
            cr3_on_interrupt: w[16],
            timer_ticks: w[17],
            kmem_free_frames: w[18],
            kmem_heap_used: w[19],
            mapping_nodes: w[20],
            live_threads: w[21],
            live_spaces: w[22],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn words_round_trip() {
        let w: [u64; COUNTER_WORDS] = core::array::from_fn(|i| i as u64 * 3 + 1);
        assert_eq!(Counters::from_words(&w).as_words(), w);
    }
}
