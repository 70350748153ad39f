//! From the boot loader's hand-off to the first user thread: divide physical
//! memory, build the kernel's page tables, set up the CPU, fill the KIP and
//! start the two initial servers from the boot modules.
//!
//! Boot modules, in order: the root pager (loaded here, eagerly: nothing else
//! could page it), the second initial server (linux-server or a kernel test
//! task: the kernel only creates its thread; the root pager loads it on its
//! page faults), then any data modules (the initrd). Physical memory is split
//! into the kernel pool (page tables, UTCBs, the heap) and everything else,
//! which belongs to the root pager.

use crate::arch::{cpu, entry, gdt, idt, pic, pit, rtc};
use crate::layout::{self, phys_to_virt, PHYS_BASE, PHYS_MAP_MAX};
use crate::physmem::RealMachine;
use abi::kip::{Kip, MemType, API_VERSION, KIP_MAGIC};
use abi::sysno::create::{small_slot, PRIVILEGED};
use abi::ThreadId;
use elfload::{Limits, Plan};
use microkernel::frame_alloc::FrameAllocator;
use microkernel::kernel::Kernel;
use microkernel::multiboot::BootInfo;
use microkernel::paging::{self, Attrs, PageSize, LARGE_PAGE_SIZE};
use microkernel::phys::PhysMem;
use microkernel::ranges::RangeSet;
use microkernel::tlb::{self, PcidTable, TlbFeatures, TlbMode};

/// Timer frequency.
pub const HZ: u64 = 1000;
const MIB: u64 = 1 << 20;

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
    static __kernel_end_phys: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// Where the initial servers may place their images: their window slots.
const SERVER_LIMITS: Limits =
    Limits { min_addr: abi::WINDOW_BASE, max_addr: abi::KIP_ADDR, max_total: 1 << 30, pie_base: abi::WINDOW_BASE };

pub fn boot(magic: u32, mbi: u32) -> Kernel<RealMachine> {
    // The boot page tables map the first GiB at PHYS_BASE: enough to read the
    // boot information and to build the real tables from low memory.
    let boot_mem = RealMachine { phys_end: 1 << 30, ..RealMachine::default() };
    let info = BootInfo::parse(&boot_mem, magic, mbi as u64).unwrap_or_else(|e| panic!("bad boot information: {e:?}"));
    let cmdline = info.cmdline();
    // `quiet`: warnings only (command runs want just the command's output);
    // `log=LEVEL` overrides.
    if cmdline.split_ascii_whitespace().any(|w| w == "quiet") {
        log::set_max_level(log::LevelFilter::Warn);
    }
    if let Some(level) = abi::kip::cmdline_arg(cmdline, "log").and_then(|l| l.parse().ok()) {
        log::set_max_level(level);
    }
    log::info!("microkernel {} booting; command line: '{}'", env!("CARGO_PKG_VERSION"), cmdline);
    let ram_end = info.ram_end().min(PHYS_MAP_MAX);

    // ---- physical memory ----
    let mut free = RangeSet::new();
    for r in info.ranges().iter().filter(|r| r.available) {
        free.add(r.start, r.end.min(ram_end));
    }
    free.remove(0, MIB); // firmware, BIOS data, VGA
                         // SAFETY (for the `sym` reads here and below): linker-script symbols; only their addresses are used.
    let kernel_end = sym(unsafe { &__kernel_end_phys });
    free.remove(MIB, kernel_end);
    let mut modules = RangeSet::new();
    for m in info.modules() {
        let (s, e) = (m.start & !0xfff, (m.end + 0xfff) & !0xfff);
        free.remove(s, e);
        modules.add(s, e);
    }
    free.align_inwards(4096);
    let total_ram = free.total();
    let pool_size = abi::kip::cmdline_arg(cmdline, "kmem")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|m| m * MIB)
        .unwrap_or(total_ram / 4)
        .clamp(16 * MIB, 512 * MIB);
    let heap_size = (pool_size / 3).max(8 * MIB);
    let (heap_start, heap_end) = free.take_contiguous(heap_size, 4096).expect("no room for the kernel heap");
    let frame_pool = free.take_lowest(pool_size - heap_size);
    log::info!(
        "memory: {} MiB RAM, kernel pool {} MiB (heap {} MiB), {} MiB for the root pager",
        total_ram / MIB,
        (frame_pool.total() + heap_size) / MIB,
        heap_size / MIB,
        free.total() / MIB
    );
    assert!(frame_pool.ranges().iter().all(|&(_, e)| e <= 1 << 30), "kernel pool must lie in the first GiB");

    let mut mach = RealMachine { phys_end: 1 << 30, ..RealMachine::default() };
    let mut frames = FrameAllocator::new();
    for &(s, e) in frame_pool.ranges() {
        frames.add_range(s, e);
    }

    // ---- the kernel's page tables ----
    let root = frames.alloc(&mut mach).expect("out of frames");
    let kernel_rw = Attrs { user: false, writable: true, executable: false, global: true, pkey: 0 };
    let mut alloc = |m: &mut RealMachine| frames.alloc(m);
    let mut pa = 0;
    while pa < ram_end.next_multiple_of(LARGE_PAGE_SIZE) {
        paging::map(&mut mach, root, PHYS_BASE + pa, pa, PageSize::Size2M, kernel_rw, &mut alloc).expect("direct map");
        pa += LARGE_PAGE_SIZE;
    }
    // SAFETY: linker-script symbols; only their addresses are used.
    let sections = unsafe {
        [
            (sym(&__text_start), sym(&__text_end), Attrs { executable: true, writable: false, ..kernel_rw }),
            (sym(&__rodata_start), sym(&__rodata_end), Attrs { writable: false, ..kernel_rw }),
            (sym(&__data_start), sym(&__data_end), kernel_rw),
        ]
    };
    for (start, end, attrs) in sections {
        let mut va = start;
        while va < end {
            paging::map(&mut mach, root, va, va - layout::KERNEL_VMA, PageSize::Size4K, attrs, &mut alloc)
                .expect("kernel image");
            va += 4096;
        }
    }
    cpu::set_cr3(root);
    mach.phys_end = ram_end;
    crate::heap::init(phys_to_virt(heap_start), (heap_end - heap_start) as usize);

    // ---- the CPU ----
    let features = cpu::features();
    let offered = TlbFeatures { pcid: features.pcid, invpcid: features.invpcid, pku: features.pku };
    let (tlb_mode, refused) = tlb::choose(abi::kip::cmdline_arg(cmdline, "tlb"), offered);
    if let Some(why) = refused {
        log::warn!("tlb={}: {why}; using tlb={}", abi::kip::cmdline_arg(cmdline, "tlb").unwrap_or(""), tlb_mode.name());
    }
    cpu::init(&features, tlb_mode);
    mach.tlb = tlb_mode;
    mach.invpcid = features.invpcid;
    mach.kernel_root = root;
    mach.loaded_root = root;
    if tlb_mode == TlbMode::Pcid {
        mach.pcids = Some(PcidTable::new());
    }
    gdt::init();
    idt::init();
    entry::init_syscall();
    pic::init();
    let tsc_hz = pit::calibrate_tsc();
    crate::set_clock(cpu::rdtsc(), tsc_hz);
    let tick_us = pit::start_tick(HZ);
    let model = core::str::from_utf8(&features.model).unwrap_or("?").trim_end_matches('\0');
    log::info!(
        "cpu: {model}; tsc {} MHz; smep {} smap {} pcid {} invpcid {} pku {}; timer {} Hz; tlb={}",
        tsc_hz / 1_000_000,
        features.smep,
        features.smap,
        features.pcid,
        features.invpcid,
        features.pku,
        HZ,
        tlb_mode.name()
    );

    // ---- the kernel interface page ----
    let kip_frame = frames.alloc(&mut mach).expect("out of frames");
    // SAFETY: a fresh, zeroed, page-aligned frame owned by the kernel; `Kip` is
    // plain data for which all-zero is a valid value and fits in one page.
    let kip = unsafe { &mut *(phys_to_virt(kip_frame) as *mut Kip) };
    kip.magic = KIP_MAGIC;
    kip.api_version = API_VERSION;
    kip.tsc_hz = tsc_hz;
    kip.boot_tsc = crate::boot_tsc();
    kip.boot_epoch_secs = rtc::epoch_seconds();
    kip.tick_us = tick_us;
    kip.phys_end = ram_end;
    let n = cmdline.len().min(kip.cmdline.len() - 1);
    kip.cmdline[..n].copy_from_slice(&cmdline.as_bytes()[..n]);
    let mut descs = 0;
    let mut desc = |s: u64, e: u64, t: MemType| {
        if descs < kip.mem_descs.len() {
            kip.mem_descs[descs] = abi::kip::MemDesc { start: s, end: e, kind: t as u32, _pad: 0 };
            descs += 1;
        }
    };
    for &(s, e) in free.ranges() {
        desc(s, e, MemType::Conventional);
    }
    for &(s, e) in modules.ranges() {
        desc(s, e, MemType::BootModule);
    }
    desc(MIB, kernel_end, MemType::Kernel);
    desc(heap_start, heap_end, MemType::Kernel);
    for &(s, e) in frame_pool.ranges() {
        desc(s, e, MemType::Kernel);
    }
    kip.mem_desc_count = descs as u32;
    for (i, m) in info.modules().iter().enumerate().take(kip.modules.len()) {
        kip.modules[i] =
            abi::kip::ModuleDesc { start: m.start, size: m.end - m.start, name: [0; abi::kip::MODULE_NAME_LEN] };
        let name = m.name().as_bytes();
        let n = name.len().min(abi::kip::MODULE_NAME_LEN - 1);
        kip.modules[i].name[..n].copy_from_slice(&name[..n]);
        kip.module_count += 1;
    }

    let mut k = Kernel::new(mach, frames, root, kip_frame, tick_us);
    k.set_tlb_mode(tlb_mode).expect("no memory for the small-space window");
    k.mxcsr_mask = cpu::mxcsr_mask();
    // `kcheck`: cross-check the mapping database and the page tables at
    // every COUNTERS call (slow; for fuzzing).
    k.self_check = cmdline.split_ascii_whitespace().any(|w| w == "kcheck");
    if k.self_check {
        log::info!("kcheck: checking the mapping database and page tables at every COUNTERS call");
    }
    for &(s, e) in free.ranges().iter().chain(modules.ranges()) {
        k.sigma0_ranges.push((s, e));
    }

    // ---- the initial servers ----
    let module_bytes = |i: usize| -> Option<&'static [u8]> {
        let m = info.modules().get(i)?;
        // SAFETY: boot modules lie in RAM outside every allocator (removed from
        // the free ranges above) and inside the direct map; nothing writes
        // them while the kernel boots, and the slice is not kept past boot.
        Some(unsafe { core::slice::from_raw_parts(phys_to_virt(m.start) as *const u8, (m.end - m.start) as usize) })
    };
    for (i, m) in info.modules().iter().enumerate() {
        let bytes = module_bytes(i).unwrap_or(&[]);
        match Plan::parse(bytes, &SERVER_LIMITS) {
            Ok(p) => log::info!(
                "module {i} '{}': {} KiB ELF, entry {:#x}, {} segments{}",
                m.name(),
                bytes.len() / 1024,
                p.entry,
                p.segments.len(),
                p.segments.iter().fold(alloc::string::String::new(), |acc, s| alloc::format!(
                    "{acc} [{:#x}..{:#x} {}{}{}]",
                    s.vaddr,
                    s.end(),
                    if s.rights.read { 'r' } else { '-' },
                    if s.rights.write { 'w' } else { '-' },
                    if s.rights.exec { 'x' } else { '-' }
                ))
            ),
            Err(e) => log::info!("module {i} '{}': {} KiB data ({e})", m.name(), bytes.len() / 1024),
        }
    }
    let pager_image = module_bytes(0).expect("no boot modules: the root pager must be the first");
    let pager = start_root_pager(&mut k, pager_image);
    let server = module_bytes(1).map(|image| start_root_server(&mut k, image, pager));
    let kip = k.kip_frame;
    k.mach.write_u64(kip + core::mem::offset_of!(Kip, root_pager) as u64, pager.0);
    k.mach.write_u64(kip + core::mem::offset_of!(Kip, root_server) as u64, server.unwrap_or(ThreadId::NIL).0);
    k
}

/// Load the root pager eagerly into a new privileged space and start it.
fn start_root_pager(k: &mut Kernel<RealMachine>, image: &[u8]) -> ThreadId {
    let plan = Plan::parse(image, &SERVER_LIMITS).unwrap_or_else(|e| panic!("root pager: {e}"));
    let id = k
        .create_thread(None, ThreadId::NIL, ThreadId::NIL, layout::PAGER_UTCB, PRIVILEGED | small_slot(0) | 250)
        .expect("root pager thread");
    let slot = k.slot_of(id).expect("just created");
    let space = k.tcb(slot).space;
    k.space_mut(space).sigma0 = true;
    let (lo, hi) = plan.extent();
    let mut page = [0u8; 4096];
    let mut va = lo;
    while va < hi {
        if let Some(r) = plan.fill_page(image, va, &mut page) {
            let frame = k.frames.alloc(&mut k.mach).expect("out of frames loading the root pager");
            k.mach.write_bytes(frame, &page);
            let rights = abi::Rights(((r.read as u8) << 2) | ((r.write as u8) << 1) | r.exec as u8);
            let (db, mut mmu) = k.mmu();
            db.insert_root(&mut mmu, space.slot, va, frame, rights).expect("mapping the root pager");
        }
        va += 4096;
    }
    start(k, slot, plan.entry);
    log::info!("root pager {:?} started at {:#x}", id, plan.entry);
    id
}

/// Create the second initial server's thread; the root pager loads it.
fn start_root_server(k: &mut Kernel<RealMachine>, image: &[u8], pager: ThreadId) -> ThreadId {
    let plan = Plan::parse(image, &SERVER_LIMITS).unwrap_or_else(|e| panic!("root server: {e}"));
    let id = k
        .create_thread(None, pager, ThreadId::NIL, layout::SERVER_UTCB, PRIVILEGED | small_slot(1) | 200)
        .expect("root server thread");
    let slot = k.slot_of(id).expect("just created");
    start(k, slot, plan.entry);
    log::info!("root server {:?} created; entry {:#x}, paged by {:?}", id, plan.entry, pager);
    id
}

fn start(k: &mut Kernel<RealMachine>, slot: u32, entry: u64) {
    let t = k.tcb_mut(slot);
    t.frame.rip = entry;
    t.frame.rsp = 0;
    k.wake(slot);
}
