//! Microbenchmarks of the kernel's paths, printed one per line as
//! `bench: NAME ops=N cycles=C ns=T cr3=R` (per operation; cycles are TSC
//! ticks, which under `-icount shift=0` are instructions). Not a test: the
//! numbers are recorded in docs/benchmarks.md by `scripts/bench-kernel`.

use crate::harness::{main_id, report, report_from, Ctx};
use crate::insn;
use abi::exception::reply;
use abi::msg::kind;
use abi::syscall::{self as sys, Msg};
use abi::sysno::create;
use abi::{Fpage, Rights, ThreadId, Timeout, Timeouts, TypedItem};
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};
use rt::ipc::{self, Message};
use rt::println;
use rt::utcb::Utcb;

struct Sample {
    cycles: u64,
    cr3: u64,
}

fn run(n: u64, mut f: impl FnMut()) -> Sample {
    let c0 = sys::counters().cr3_loads;
    let t0 = insn::rdtsc();
    for _ in 0..n {
        f();
    }
    let t1 = insn::rdtsc();
    let c1 = sys::counters().cr3_loads;
    Sample { cycles: t1 - t0, cr3: c1 - c0 }
}

/// Median of five runs, printed per operation.
fn bench(name: &str, n: u64, bytes: u64, mut f: impl FnMut()) {
    f(); // warm up (page in, fill caches)
    let mut samples: alloc::vec::Vec<Sample> = (0..5).map(|_| run(n, &mut f)).collect();
    samples.sort_by_key(|s| s.cycles);
    let s = &samples[2];
    print_totals(name, n, s.cycles, s.cr3, bytes);
}

/// Print one result line from totals over `n` operations: TSC cycles, CR3
/// loads, and the bytes each operation moved (0: not a bandwidth row).
fn print_totals(name: &str, n: u64, cycles: u64, cr3: u64, bytes: u64) {
    let hz = rt::kip::kip().tsc_hz.max(1);
    let ns = (cycles as u128 * 1_000_000_000 / hz as u128 / n as u128) as u64;
    let mbps = if bytes > 0 && ns > 0 { bytes * 1000 / ns } else { 0 };
    println!(
        "bench: {name} ops={n} cycles={} ns={ns} cr3={}.{:02} mbps={mbps}",
        cycles / n,
        cr3 / n,
        cr3 * 100 / n % 100
    );
}

/// Replies with one word; long messages get a long reply. Kept lean so the
/// figures are the kernel's, not the server's.
extern "C" fn echo(_: u64) -> ! {
    let long = Message::with(1, &[0; 10]);
    let mut r = sys::wait();
    loop {
        r = if r.msg.tag.untyped() > 6 {
            ipc::reply_and_wait(r.from, &long)
        } else {
            sys::reply_and_wait(r.from, &Msg { tag: abi::MsgTag::new(1, 1, 0), mr: r.msg.mr })
        };
    }
}

static SYSCALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn linux_loop(n: u64) -> ! {
    for _ in 0..n {
        insn::linux_syscall(39, [0; 6]);
    }
    report(main_id(), &[0]);
    rt::exit()
}

const FAULT_REGION: u64 = 0x0000_2000_0000_0000;
const MAP_REGION: u64 = 0x0000_3000_0000_0000;
/// A 2 MiB block of ours that faulting / mapping benchmarks hand out.
const BLOCK: u64 = 0x7f9c_0000_0000;

/// Touch `n` fresh pages of the fault region, then report.
extern "C" fn toucher(n: u64) -> ! {
    let c0 = sys::counters().cr3_loads;
    let t0 = insn::rdtsc();
    for i in 0..n {
        insn::touch(FAULT_REGION + i * 4096);
    }
    let t = insn::rdtsc() - t0;
    let c = sys::counters().cr3_loads - c0;
    report(main_id(), &[t, c]);
    rt::exit()
}

/// Ask the main thread `n` times for a `log2`-byte mapping.
extern "C" fn map_client(arg: u64) -> ! {
    let (n, log2) = (arg >> 8, (arg & 0xff) as u32);
    let u = Utcb::current();
    u.set_acceptor(Fpage::new(MAP_REGION, 21, Rights::RWX));
    let main = main_id();
    for _ in 0..n {
        sys::call(main, &Msg::new(2, &[log2 as u64]));
    }
    report(main, &[0]);
    rt::exit()
}

/// Send `n` string items of `len` bytes to the main thread.
extern "C" fn string_client(arg: u64) -> ! {
    let (n, len) = (arg >> 24, arg & 0xff_ffff);
    static BUF: [u8; 65536] = [7; 65536];
    // The kernel copies only between mapped pages (it does not fault them
    // in), so page the buffer in first.
    insn::touch_range(BUF.as_ptr() as u64, BUF.len() as u64, false);
    let main = main_id();
    for _ in 0..n {
        let mut m = Message::new(3);
        m.item(TypedItem::String { addr: BUF.as_ptr() as u64, len });
        ipc::call(main, &m);
    }
    report(main, &[0]);
    rt::exit()
}

static mut RECV_BUF: [u8; 65536] = [0; 65536];
static mut PIPE_BUF: [u8; 65536] = [0; 65536];

/// The reading end of the raw IPC pipe ("L4 pipe", Table 4 row 2) for the
/// latency test: every message from the main thread carries one byte as a
/// string item, and the answer carries one byte back the same way.
extern "C" fn pipe_echo(_: u64) -> ! {
    let buf = core::ptr::addr_of_mut!(PIPE_BUF) as u64;
    insn::touch_range(buf, 4096, true);
    Utcb::current().set_string_buffer(buf, 4096);
    let mut back = Message::new(1);
    back.item(TypedItem::String { addr: buf, len: 1 });
    let mut r = sys::wait();
    loop {
        r = ipc::reply_and_wait(r.from, &back);
    }
}

/// The reading end for the bandwidth test: receives `n` messages, each
/// carrying a string item into its 64 KiB buffer, then reports.
extern "C" fn pipe_sink(n: u64) -> ! {
    let buf = core::ptr::addr_of_mut!(PIPE_BUF) as u64;
    insn::touch_range(buf, 65536, true);
    Utcb::current().set_string_buffer(buf, 65536);
    let mut bytes = 0;
    for _ in 0..n {
        let r = sys::wait();
        bytes += r.msg.tag.untyped(); // keeps the loop honest; the copy is the kernel's
    }
    report(main_id(), &[bytes as u64]);
    rt::exit()
}

pub fn ipc(ctx: &Ctx) -> Result<(), String> {
    let remote = ctx.spawn_space(echo, 0, 150, ctx.mirror, ThreadId::NIL);
    let local = ctx.spawn_local(echo, 0, 150, ThreadId::NIL, 0);
    // The cost of entering and leaving the kernel: an unknown kernel call.
    bench("null_kernel_call", 10_000, 0, || {
        sys::raw(abi::sysno::BASE + 0xff, 0, 0, 0, 0, 0, 0);
    });
    let short = Msg::new(1, &[42]);
    bench("ipc_fastpath_inter_space", 10_000, 0, || {
        sys::call(remote.id, &short);
    });
    bench("ipc_fastpath_intra_space", 10_000, 0, || {
        sys::call(local.id, &short);
    });
    let long = Message::with(1, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    bench("ipc_general_inter_space", 5_000, 0, || {
        ipc::call(remote.id, &long);
    });
    remote.kill();
    local.kill();

    // Exception IPC: a trapped Linux syscall and its SET_RAX reply.
    let n = 5_000u64;
    let mut runs = alloc::vec::Vec::new();
    for _ in 0..3 {
        let k = ctx.spawn_local(linux_loop, n, 100, ctx.me, create::LINUX);
        let c0 = sys::counters().cr3_loads;
        let t0 = insn::rdtsc();
        let mut r = sys::ipc(ThreadId::NIL, k.id, Timeouts::NEVER, &Msg::default());
        for _ in 1..n {
            r = sys::ipc(k.id, k.id, Timeouts::new(Timeout::Zero, Timeout::Never), &Msg::new(reply::SET_RAX, &[0]));
        }
        let t = insn::rdtsc() - t0;
        let c = sys::counters().cr3_loads - c0;
        sys::send(k.id, &Msg::new(reply::SET_RAX, &[0]), Timeouts::new(Timeout::Zero, Timeout::Never));
        report_from(k.id, 5000).map_err(|e| alloc::format!("{e:?}"))?;
        let _ = r.msg.tag.kind() == kind::LINUX_SYSCALL;
        runs.push((t, c));
    }
    runs.sort();
    let (t, c) = runs[1];
    let hz = rt::kip::kip().tsc_hz.max(1);
    println!(
        "bench: exception_ipc_round_trip ops={n} cycles={} ns={} cr3={}.{:02} mbps=0",
        t / n,
        (t as u128 * 1_000_000_000 / hz as u128 / n as u128) as u64,
        c / n,
        c * 100 / n % 100
    );
    SYSCALLS.store(0, Ordering::Relaxed);
    Ok(())
}

/// A few fastpath round trips, for looking at the kernel's path with QEMU's
/// execution trace (`-d exec`).
pub fn trace(ctx: &Ctx) -> Result<(), String> {
    let remote = ctx.spawn_space(echo, 0, 150, ctx.mirror, ThreadId::NIL);
    let short = Msg::new(1, &[42]);
    for _ in 0..100 {
        sys::call(remote.id, &short);
    }
    sys::raw(abi::sysno::BASE + 0xfe, 0, 0, 0, 0, 0, 0); // marker: trace starts
    for _ in 0..10 {
        sys::call(remote.id, &short);
    }
    sys::raw(abi::sysno::BASE + 0xfe, 0, 0, 0, 0, 0, 0); // marker: trace ends
    Ok(())
}

/// Page faults resolved by a user-level pager, and mapping versus copying RPC.
pub fn memory(ctx: &Ctx) -> Result<(), String> {
    let pager = rt::kip::kip().root_pager;
    rt::pager::alloc(pager, 21, BLOCK).map_err(|e| alloc::format!("{e:?}"))?;
    // Page faults: our main thread is the child's pager.
    let pages = 256u64;
    let mut per_fault = alloc::vec::Vec::new();
    for _ in 0..3 {
        let k = ctx.spawn_space(toucher, pages, 100, ctx.me, ThreadId::NIL);
        let mut r = sys::wait();
        let (total, cr3);
        loop {
            if r.from == k.id && r.msg.tag.label() == crate::harness::REPORT {
                (total, cr3) = (r.msg.mr[0], r.msg.mr[1]);
                break;
            }
            let addr = r.msg.mr[0];
            let mut m = Message::new(0);
            if (FAULT_REGION..FAULT_REGION + (2 << 20)).contains(&addr) {
                let src = BLOCK + (addr - FAULT_REGION);
                m.item(TypedItem::Map { fpage: Fpage::new(src & !0xfff, 12, Rights::RW), hotspot: addr });
            } else if let Some(mm) = crate::harness::mirror_reply(addr) {
                m = mm;
            }
            r = ipc::reply_and_wait(r.from, &m);
        }
        per_fault.push((total / pages, cr3 * 100 / pages));
        k.kill();
        // Take the pages back for the next run.
        sys::unmap(Fpage::new(BLOCK, 21, Rights::NONE), Rights::RWX, false).map_err(|e| alloc::format!("{e:?}"))?;
    }
    per_fault.sort();
    let hz = rt::kip::kip().tsc_hz.max(1);
    let (c, cr3) = per_fault[1];
    println!(
        "bench: page_fault_round_trip ops={pages} cycles={c} ns={} cr3={}.{:02} mbps=0",
        c as u128 * 1_000_000_000 / hz as u128,
        cr3 / 100,
        cr3 % 100
    );

    // Mapping RPC: each request gets `size` bytes mapped; the previous
    // mapping is revoked first, so every operation really maps.
    for log2 in [12u32, 16, 21] {
        let n = 500u64;
        let k = ctx.spawn_space(map_client, (n << 8) | log2 as u64, 100, ctx.mirror, ThreadId::NIL);
        let c0 = sys::counters().cr3_loads;
        let t0 = insn::rdtsc();
        let mut r = sys::ipc(ThreadId::NIL, k.id, Timeouts::NEVER, &Msg::default());
        let mut served = 0;
        while served < n {
            sys::unmap(Fpage::new(BLOCK, log2, Rights::NONE), Rights::RWX, false).ok();
            let mut m = Message::new(0);
            m.item(TypedItem::Map { fpage: Fpage::new(BLOCK, log2, Rights::RW), hotspot: MAP_REGION });
            served += 1;
            if served == n {
                ipc::send(k.id, &m, Timeouts::new(Timeout::Zero, Timeout::Never));
            } else {
                r = ipc::ipc(k.id, k.id, Timeouts::new(Timeout::Zero, Timeout::Never), &m);
            }
        }
        let t = insn::rdtsc() - t0;
        let cr3 = sys::counters().cr3_loads - c0;
        let _ = r;
        report_from(k.id, 10_000).map_err(|e| alloc::format!("{e:?}"))?;
        let ns = (t as u128 * 1_000_000_000 / hz as u128 / n as u128) as u64;
        let bytes = 1u64 << log2;
        println!(
            "bench: map_rpc_{}k ops={n} cycles={} ns={ns} cr3={}.{:02} mbps={}",
            bytes / 1024,
            t / n,
            cr3 / n,
            cr3 * 100 / n % 100,
            bytes * 1000 / ns.max(1)
        );
        k.kill();
    }
    sys::unmap(Fpage::new(BLOCK, 21, Rights::NONE), Rights::RWX, false).ok();

    // The raw IPC pipe between two native tasks ("L4 pipe", Table 4 row 2):
    // data moves as string items the kernel copies, one byte each way for
    // the latency (a ping-pong round trip, as lmbench's lat_pipe), 64 KiB
    // one-way sends for the bandwidth.
    let u = Utcb::current();
    let buf = core::ptr::addr_of_mut!(RECV_BUF) as u64;
    insn::touch_range(buf, 65536, true);
    u.set_string_buffer(buf, 65536);
    let echo_task = ctx.spawn_space(pipe_echo, 0, 150, ctx.mirror, ThreadId::NIL);
    let mut ping = Message::new(1);
    ping.item(TypedItem::String { addr: buf, len: 1 });
    let ping = ping;
    bench("l4_pipe_latency", 2_000, 0, || {
        ipc::call(echo_task.id, &ping);
    });
    echo_task.kill();
    {
        let n = 300u64;
        let sink = ctx.spawn_space(pipe_sink, n, 150, ctx.mirror, ThreadId::NIL);
        let mut chunk = Message::new(2);
        chunk.item(TypedItem::String { addr: buf, len: 65536 });
        let c0 = sys::counters().cr3_loads;
        let t0 = insn::rdtsc();
        for _ in 0..n {
            let r = ipc::send(sink.id, &chunk, Timeouts::NEVER);
            if r.ok().is_err() {
                return Err(alloc::format!("pipe send failed: {:?}", r.ok()));
            }
        }
        let t = insn::rdtsc() - t0;
        let cr3 = sys::counters().cr3_loads - c0;
        report_from(sink.id, 10_000).map_err(|e| alloc::format!("{e:?}"))?;
        print_totals("l4_pipe_bandwidth_64k", n, t, cr3, 65536);
        sink.kill();
    }

    // Copying RPC with string items, for comparison (the receive buffer as
    // above: mapped writable before the kernel copies into it).
    for len in [4096u64, 65536] {
        let n = 300u64;
        let k = ctx.spawn_space(string_client, (n << 24) | len, 100, ctx.mirror, ThreadId::NIL);
        let c0 = sys::counters().cr3_loads;
        let t0 = insn::rdtsc();
        let mut r = sys::ipc(ThreadId::NIL, k.id, Timeouts::NEVER, &Msg::default());
        for i in 1..=n {
            if r.ok().is_err() {
                return Err(alloc::format!("string item failed: {:?}", r.ok()));
            }
            if i == n {
                sys::send(k.id, &Msg::new(0, &[]), Timeouts::new(Timeout::Zero, Timeout::Never));
            } else {
                r = sys::ipc(k.id, k.id, Timeouts::new(Timeout::Zero, Timeout::Never), &Msg::new(0, &[]));
            }
        }
        let t = insn::rdtsc() - t0;
        let cr3 = sys::counters().cr3_loads - c0;
        report_from(k.id, 10_000).map_err(|e| alloc::format!("{e:?}"))?;
        print_totals(&alloc::format!("string_rpc_{}k", len / 1024), n, t, cr3, len);
        k.kill();
    }
    u.set_string_buffer(0, 0);
    let _ = main_id();
    Ok(())
}
