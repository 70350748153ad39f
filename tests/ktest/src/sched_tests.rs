//! Scheduling, interrupts as IPC, and isolation of faulting tasks.

use crate::check;
use crate::harness::{self, main_id, report, report_from, Ctx};
use crate::insn;
use abi::msg::kind;
use abi::syscall::{self as sys, Msg};
use abi::sysno::config;
use abi::{ThreadId, Timeout, Timeouts};
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

static COUNTERS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static LOW_AT_HIGH_DONE: AtomicU64 = AtomicU64::new(u64::MAX);

extern "C" fn spin_counter(i: u64) -> ! {
    loop {
        COUNTERS[i as usize].fetch_add(1, Ordering::Relaxed);
    }
}

pub fn preemption(ctx: &Ctx) -> Result<(), String> {
    COUNTERS[0].store(0, Ordering::Relaxed);
    COUNTERS[1].store(0, Ordering::Relaxed);
    let a = ctx.spawn_local(spin_counter, 0, 100, ThreadId::NIL, 0);
    let b = ctx.spawn_local(spin_counter, 1, 100, ThreadId::NIL, 0);
    let before = sys::counters().timer_ticks;
    let me = rt::utcb::Utcb::current().my_id();
    let my_before = cpu_us(me);
    harness::sleep_us(200_000);
    let (ca, cb) = (COUNTERS[0].load(Ordering::Relaxed), COUNTERS[1].load(Ordering::Relaxed));
    let ticks = sys::counters().timer_ticks - before;
    let (ta, tb, mine) = (cpu_us(a.id), cpu_us(b.id), cpu_us(me) - my_before);
    a.kill();
    b.kill();
    check!(ca > 0 && cb > 0, "both busy threads must run: {ca} and {cb}");
    check!(ticks >= 150, "only {ticks} timer ticks in 200 ms");
    // Processor time (THREAD_STATE): the spinners shared the 200 ms, the
    // sleeper used (almost) none.
    check!(ta >= 50_000 && tb >= 50_000, "spinners' processor time {ta} and {tb} us in 200 ms");
    check!(mine < 20_000, "a sleeping thread was charged {mine} us");
    rt::println!("ktest: preemption: two busy threads counted to {ca} and {cb} in {ticks} ticks");
    Ok(())
}

/// The processor time `t` used so far, in microseconds.
fn cpu_us(t: ThreadId) -> u64 {
    let mut b = [0u8; 8];
    let _ = sys::thread_state(t, abi::sysno::thread_state::READ_TIMES, &mut b);
    u64::from_le_bytes(b)
}

extern "C" fn high_worker(_: u64) -> ! {
    for _ in 0..2_000_000u64 {
        COUNTERS[2].fetch_add(1, Ordering::Relaxed);
    }
    LOW_AT_HIGH_DONE.store(COUNTERS[3].load(Ordering::Relaxed), Ordering::Release);
    report(main_id(), &[0]);
    rt::exit()
}

pub fn priorities(ctx: &Ctx) -> Result<(), String> {
    COUNTERS[3].store(0, Ordering::Relaxed);
    LOW_AT_HIGH_DONE.store(u64::MAX, Ordering::Relaxed);
    // Both become ready while we (priority 200) run; then we block.
    let low = ctx.spawn_local(spin_counter, 3, 50, ThreadId::NIL, 0);
    let high = ctx.spawn_local(high_worker, 0, 150, ThreadId::NIL, 0);
    report_from(high.id, 20_000).map_err(|e| alloc::format!("high-priority thread never finished: {e:?}"))?;
    let low_progress = LOW_AT_HIGH_DONE.load(Ordering::Acquire);
    low.kill();
    check!(low_progress == 0, "the low-priority thread ran {low_progress} times before the high one finished");
    Ok(())
}

extern "C" fn faulting_child(how: u64) -> ! {
    // Page in what we run after losing our pager, tell the main thread we
    // are ready, and wait until it took our pager away.
    insn::touch(insn::null_read as usize as u64);
    insn::touch(insn::ud2 as usize as u64);
    let main = main_id();
    let _ = sys::call(main, &Msg::new(harness::REPORT, &[]));
    match how {
        0 => {
            insn::null_read();
        }
        _ => {
            insn::ud2();
        }
    }
    report(main, &[0xdead]);
    rt::exit()
}

extern "C" fn finishing_child(_: u64) -> ! {
    let mut x = 0u64;
    for i in 0..200_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    report(main_id(), &[x]);
    rt::exit()
}

/// A task dereferencing a null pointer and a task executing `ud2`, with
/// nobody to handle either, are reported by the kernel and ended; another
/// task runs to completion.
pub fn fault_isolation(ctx: &Ctx) -> Result<(), String> {
    let mut kids = alloc::vec::Vec::new();
    for how in 0..2 {
        let k = ctx.spawn_space(faulting_child, how, 100, ctx.mirror, ThreadId::NIL);
        let r = report_from(k.id, 5000).map_err(|e| alloc::format!("child {how} never got ready: {e:?}"))?;
        let _ = r;
        // From now on nobody handles its faults.
        sys::thread_config(k.id, config::PAGER, 0).map_err(|e| alloc::format!("{e:?}"))?;
        let s = sys::send(k.id, &Msg::new(0, &[]), Timeouts::new(Timeout::Zero, Timeout::Never));
        check!(s.ok().is_ok(), "could not release child {how}");
        kids.push(k);
    }
    let fine = ctx.spawn_space(finishing_child, 0, 100, ctx.mirror, ThreadId::NIL);
    let r = report_from(fine.id, 10_000).map_err(|e| alloc::format!("the healthy task did not finish: {e:?}"))?;
    check!(r.msg.mr[0] != 0, "the healthy task computed nothing");
    harness::sleep_us(20_000);
    for k in kids {
        check!(sys::exregs(k.id, 0, 0, 0, 0).is_err(), "faulting thread {} still exists", k.id);
    }
    rt::println!("ktest: fault_isolation: faulting tasks ended, the healthy one finished");
    Ok(())
}

/// COM1's receive interrupt arrives as IPC from IRQ 4's sender ID.
pub fn serial_irq(ctx: &Ctx) -> Result<(), String> {
    const COM1: u16 = 0x3f8;
    sys::io_ports(ctx.me, COM1, 8).map_err(|e| alloc::format!("io_ports: {e:?}"))?;
    sys::irq_attach(4, ctx.me).map_err(|e| alloc::format!("irq_attach: {e:?}"))?;
    while insn::inb(COM1 + 5) & 1 != 0 {
        insn::inb(COM1);
    }
    insn::outb(COM1 + 1, 0x01); // receive-data interrupt
    rt::println!("ktest: serial_irq: ready for input");
    let mut line = String::new();
    let mut irqs = 0;
    while !line.ends_with('\n') {
        let r = sys::ipc(
            ThreadId::NIL,
            ThreadId::irq(4),
            Timeouts::new(Timeout::Never, Timeout::Micros(30_000_000)),
            &Msg::default(),
        );
        check!(r.ok().is_ok(), "no interrupt within 30 s (got {:?}, line so far {line:?})", r.ok());
        check!(r.from == ThreadId::irq(4) && r.msg.tag.kind() == kind::IRQ, "message from {} {:?}", r.from, r.msg.tag);
        irqs += 1;
        while insn::inb(COM1 + 5) & 1 != 0 {
            line.push(insn::inb(COM1) as char);
        }
        // Acknowledge: the kernel unmasks the line.
        let a = sys::send(ThreadId::irq(4), &Msg::default(), Timeouts::new(Timeout::Zero, Timeout::Never));
        check!(a.ok().is_ok(), "acknowledging the IRQ failed");
    }
    insn::outb(COM1 + 1, 0);
    let _ = sys::irq_detach(4);
    rt::println!("ktest: serial_irq: {irqs} interrupts, read {:?}", line.trim_end());
    Ok(())
}
