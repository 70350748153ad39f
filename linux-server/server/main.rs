//! The linux-server: runs unmodified static Linux x86-64 binaries on the
//! microkernel. It is the second initial server, paged by the root pager;
//! Linux processes are its clients — it is their exception handler (a trapped
//! `syscall` arrives as an exception message) and their pager (it maps them
//! pages of its own memory pool, which it gets from the root pager).
//!
//! Startup: map the initrd (boot module 2) and build the root file system
//! from it, take over the console, then run `/init` (or `init=PATH` from the
//! kernel command line) as process 1 — the same /init native Linux runs,
//! which runs the command of `scripts/run -- CMD...` and powers off. Should
//! process 1 itself exit, the server prints `### exit status N` and powers
//! off.

#![no_std]
#![no_main]

extern crate alloc;

mod clock;
mod console;
mod files;
mod fork;
mod kthread;
mod lifecycle;
mod loader;
mod mm;
mod pagecache;
mod pipe;
mod pool;
mod process;
mod procfs;
mod server;
mod signals;
mod syscalls;
mod trampoline;
mod tty;
mod uaccess;
mod wx;

use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::vfs::Vfs;
use rt::println;

rt::entry!(main);
// The server's own heap: page tables, VFS, file data written by processes.
// It lives in .bss, so only the pages it really uses are ever paged in.
const HEAP_SIZE: usize = 768 << 20;
rt::declare_heap!(HEAP_SIZE);

/// Where the initrd appears in the server: its physical address plus this.
const INITRD_MIRROR: u64 = abi::window::SERVER_SLOT + (16 << 30);

/// Map boot module `index` read-only into the server; its bytes.
fn map_module(pager: ThreadId, index: usize) -> Option<&'static [u8]> {
    let m = *rt::kip::kip().modules().get(index)?;
    let (start, end) = (m.start & !0xfff, (m.start + m.size + 0xfff) & !0xfff);
    let mut pa = start;
    while pa < end {
        let mut log2 = 12;
        while log2 < 30 && pa % (1 << (log2 + 1)) == 0 && pa + (1 << (log2 + 1)) <= end {
            log2 += 1;
        }
        if let Err(e) = rt::pager::frame(pager, pa, log2, INITRD_MIRROR + pa) {
            println!("linux-server: cannot map boot module {index} at {pa:#x}: {e:?}");
            return None;
        }
        pa += 1 << log2;
    }
    Some(pool::initrd_bytes(INITRD_MIRROR + m.start, m.size as usize))
}

fn main() {
    ALLOCATOR.set_backing(pool::heap_may_grow);
    let kip = rt::kip::kip();
    let me = rt::utcb::Utcb::current().my_id();
    let clock = clock::Clock::from_kip();
    let now = files::timespec(clock.realtime_ns());
    let mut vfs = match map_module(kip.root_pager, 2) {
        Some(archive) => match Vfs::from_cpio(archive, now) {
            Ok(v) => v,
            Err(e) => {
                println!("linux-server: the initrd is not a valid cpio archive: {e}");
                let _ = rt::sys::shutdown(125);
                return;
            }
        },
        None => {
            println!("linux-server: no initrd (boot module 2); starting with an empty root");
            Vfs::new(now)
        }
    };
    // Written files live in the heap, so in RAM (the pager's, shared with
    // the processes' memory), and the server's own allocations cannot fail
    // gracefully while files can. A file's vector grows by doubling, and the
    // blocks it grew out of stay touched: up to about twice its capacity,
    // four times its size, of heap and RAM. So files together get at most a
    // quarter of the pager's memory and an eighth of the heap.
    let ram = rt::pager::stats(kip.root_pager).map(|st| st.free_pages * 4096).unwrap_or(0);
    vfs.set_data_limit((ram / 4).min(HEAP_SIZE as u64 / 8));
    vfs.set_memory_check(pool::file_memory);
    let console = console::Console::init(me);
    // Above the Linux threads and their signal threads: a busy process never
    // delays the server's answers.
    let _ = rt::sys::thread_config(me, abi::sysno::config::PRIORITY, kthread::SERVER_PRIORITY);
    let mut pool = pool::Pool::new(kip.root_pager);
    let Some(signal_frame) = pool.alloc() else {
        println!("linux-server: no memory for the signal page");
        let _ = rt::sys::shutdown(125);
        return;
    };
    let (code, _) = trampoline::code();
    pool.frame_mut(signal_frame)[..code.len()].copy_from_slice(code);
    let mut s = server::Server {
        me,
        pool,
        vfs,
        clock,
        console,
        procs: Default::default(),
        tasks: Default::default(),
        mms: Default::default(),
        next_mm: 1,
        signal_threads: Default::default(),
        signal_thread_stalled: false,
        signal_frame,
        fault_context: None,
        in_server: None,
        trace: kip.cmdline_flag("trace"),
        by_kid: Default::default(),
        next_pid: 1,
        timers: Default::default(),
        outbox: Vec::new(),
        wakeups: Default::default(),
        pollers: Vec::new(),
        pipe_pages: 0,
        next_pipe_ino: 1,
        fifos: Default::default(),
        enosys_logged: Default::default(),
        hostname: b"(none)".to_vec(),
        quiet: kip.cmdline_flag("quiet"),
        proc_dir: None,
        proc_files: Default::default(),
        page_cache: Default::default(),
        cache_shared: Default::default(),
        futexes: Default::default(),
        shm_pages: Default::default(),
        next_shm: 0,
        rng: rt::port::rdtsc(),
        small_tlb: kip.tlb() == abi::kip::TlbMode::Small,
        shared_frames: Default::default(),
        wx_stats: Default::default(),
    };
    s.setup_devices();
    let (path, argv) = s.initial_command();
    let envp: Vec<Vec<u8>> =
        [b"HOME=/".to_vec(), b"PATH=/bin:/sbin:/usr/bin:/usr/sbin".to_vec(), b"TERM=linux".to_vec()].into();
    if let Err(e) = s.spawn_init(&path, argv, envp) {
        println!("linux-server: cannot run {}: {}", core::str::from_utf8(&path).unwrap_or("?"), e);
        s.console.write(b"### exit status 127\n");
        let _ = rt::sys::shutdown(127);
        return;
    }
    s.run()
}
