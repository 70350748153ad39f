//! Recursive address spaces: user-level pagers, map, grant, unmap with
//! rights, revocation through derived mappings and space death, and running
//! out of memory.
//!
//! Child spaces get this task's image by mirroring, plus "scratch" pages at
//! `SCRATCH` that a test pager maps from pages this task got from the root
//! pager. Fault counters live in this task's data, which child spaces share.

use crate::check;
use crate::harness::{self, main_id, mirror_reply, report, report_from, Ctx, StackSlot};
use crate::insn;
use abi::msg::kind;
use abi::syscall::{self as sys, Msg};
use abi::sysno::config;
use abi::{Error, Fpage, Rights, ThreadId, Timeout, Timeouts, TypedItem};
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};
use rt::ipc::{self, Message};
use rt::utcb::Utcb;

/// Scratch pages in child spaces.
const SCRATCH: u64 = 0x0000_1000_0000_0000;
const SCRATCH_PAGES: usize = 8;
/// Where this task keeps the pages it maps as scratch pages.
const OWN_SCRATCH: u64 = 0x7f9d_0000_0000;

/// For scratch page i: this task's address of the page to map (0: none).
static SOURCE: [AtomicU64; SCRATCH_PAGES] = [const { AtomicU64::new(0) }; SCRATCH_PAGES];
/// Faults the scratch pager saw per scratch page, and write faults.
static FAULTS: [AtomicU64; SCRATCH_PAGES] = [const { AtomicU64::new(0) }; SCRATCH_PAGES];
static WRITE_FAULTS: AtomicU64 = AtomicU64::new(0);
/// Faults the pager living in child space B served for space C.
static B_SERVED: AtomicU64 = AtomicU64::new(0);
/// Physical addresses of this task's scratch pages, to give them back.
static PHYS: [AtomicU64; SCRATCH_PAGES] = [const { AtomicU64::new(0) }; SCRATCH_PAGES];

fn reset() {
    for i in 0..SCRATCH_PAGES {
        FAULTS[i].store(0, Ordering::SeqCst);
    }
    WRITE_FAULTS.store(0, Ordering::SeqCst);
    B_SERVED.store(0, Ordering::SeqCst);
}

fn scratch(i: usize) -> u64 {
    SCRATCH + i as u64 * 0x1000
}

/// Get scratch page `i` from the root pager into this task and fill it.
fn provide(i: usize, fill: u64) -> Result<u64, String> {
    let own = OWN_SCRATCH + i as u64 * 0x1000;
    if SOURCE[i].load(Ordering::SeqCst) == 0 {
        let pager = rt::kip::kip().root_pager;
        let pa = rt::pager::alloc(pager, 12, own).map_err(|e| alloc::format!("root pager alloc: {e:?}"))?;
        PHYS[i].store(pa, Ordering::SeqCst);
        SOURCE[i].store(own, Ordering::SeqCst);
    }
    insn::write_u64(own, fill);
    Ok(own)
}

/// Give every scratch page back to the root pager.
pub fn release_all() {
    let pager = rt::kip::kip().root_pager;
    for i in 0..SCRATCH_PAGES {
        if SOURCE[i].swap(0, Ordering::SeqCst) != 0 {
            let _ = rt::pager::release(pager, PHYS[i].load(Ordering::SeqCst), 12);
        }
    }
}

fn map_reply(src: u64, dst: u64, rights: Rights) -> Message {
    let mut m = Message::new(0);
    m.item(TypedItem::Map { fpage: Fpage::new(src & !0xfff, 12, rights), hotspot: dst & !0xfff });
    m
}

/// The scratch pager (a thread of this task): mirrors the image and maps
/// scratch pages from `SOURCE`; faults on other scratch pages are counted and
/// left unanswered (the faulting thread waits until a test ends it).
extern "C" fn scratch_pager(_: u64) -> ! {
    let mut r = sys::wait();
    loop {
        let mut reply = None;
        if r.ok().is_ok() && r.msg.tag.kind() == kind::PAGE_FAULT {
            let addr = r.msg.mr[0];
            if let Some(m) = mirror_reply(addr) {
                reply = Some(m);
            } else if (SCRATCH..SCRATCH + (SCRATCH_PAGES as u64) * 0x1000).contains(&addr) {
                let i = ((addr - SCRATCH) / 0x1000) as usize;
                FAULTS[i].fetch_add(1, Ordering::SeqCst);
                if r.msg.tag.detail() & Rights::W.bits() as u32 != 0 {
                    WRITE_FAULTS.fetch_add(1, Ordering::SeqCst);
                }
                let src = SOURCE[i].load(Ordering::SeqCst);
                if src != 0 {
                    reply = Some(map_reply(src, addr, Rights::RW));
                }
            }
        }
        r = match reply {
            Some(m) => ipc::reply_and_wait(r.from, &m),
            None => sys::wait(),
        };
    }
}

/// A pager living in child space B, serving space C: it maps B's own
/// scratch page 0 (which B gets from the scratch pager) to C.
extern "C" fn b_pager(_: u64) -> ! {
    let mut r = sys::wait();
    loop {
        let mut reply = None;
        if r.ok().is_ok() && r.msg.tag.kind() == kind::PAGE_FAULT {
            let addr = r.msg.mr[0];
            if let Some(m) = mirror_reply(addr) {
                reply = Some(m);
            } else if addr & !0xfff == scratch(0) {
                insn::touch(scratch(0)); // fault it into B first
                B_SERVED.fetch_add(1, Ordering::SeqCst);
                reply = Some(map_reply(scratch(0), addr, Rights::RW));
            }
        }
        r = match reply {
            Some(m) => ipc::reply_and_wait(r.from, &m),
            None => sys::wait(),
        };
    }
}

/// Commands a child runs, one per message from the main thread; each result
/// goes back as a report.
const CMD_READ: u64 = 1;
const CMD_WRITE: u64 = 2;
const CMD_GRANT_TO: u64 = 3;
const CMD_RECEIVE_MAP: u64 = 4;
const CMD_MAP_TO: u64 = 5;

extern "C" fn worker(_: u64) -> ! {
    let main = main_id();
    let mut r = sys::ipc(ThreadId::NIL, main, Timeouts::NEVER, &Msg::default());
    loop {
        let w = r.msg.mr;
        let result: u64 = match r.msg.tag.label() {
            CMD_READ => insn::read_u64(w[0]),
            CMD_WRITE => {
                insn::write_u64(w[0], w[1]);
                0
            }
            CMD_GRANT_TO | CMD_MAP_TO => {
                // Send scratch page w[1] (or any fpage in w[2] if non-zero) to thread w[0].
                let fpage = if w[2] != 0 { Fpage(w[2]) } else { Fpage::new(w[1], 12, Rights::RW) };
                let item = if r.msg.tag.label() == CMD_GRANT_TO {
                    TypedItem::Grant { fpage, hotspot: w[3] }
                } else {
                    TypedItem::Map { fpage, hotspot: w[3] }
                };
                let mut m = Message::new(9);
                m.item(item);
                ipc::send(ThreadId(w[0]), &m, Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never)).rax
            }
            CMD_RECEIVE_MAP => {
                // Accept mappings anywhere in the scratch area; wait for one from w[0].
                let u = Utcb::current();
                u.set_acceptor(Fpage::new(SCRATCH, 24, Rights::RWX));
                let m = sys::ipc(
                    ThreadId::NIL,
                    ThreadId(w[0]),
                    Timeouts::new(Timeout::Never, Timeout::Micros(2_000_000)),
                    &Msg::default(),
                );
                u.set_acceptor(Fpage::NIL);
                m.rax
            }
            _ => u64::MAX,
        };
        report(main, &[result]);
        r = sys::ipc(ThreadId::NIL, main, Timeouts::NEVER, &Msg::default());
    }
}

fn command(child: ThreadId, cmd: u64, args: &[u64]) -> Result<u64, String> {
    let s = sys::send(child, &Msg::new(cmd, args), Timeouts::new(Timeout::Micros(2_000_000), Timeout::Never));
    check!(s.ok().is_ok(), "command {cmd} to {child}: {:?}", s.ok());
    let r = report_from(child, 5000).map_err(|e| alloc::format!("no answer to command {cmd} from {child}: {e:?}"))?;
    Ok(r.msg.mr[0])
}

/// Expect `child` to block in a page fault (no answer within `ms`).
fn command_blocks(child: ThreadId, cmd: u64, args: &[u64], ms: u32) -> Result<(), String> {
    let s = sys::send(child, &Msg::new(cmd, args), Timeouts::new(Timeout::Micros(2_000_000), Timeout::Never));
    check!(s.ok().is_ok(), "command {cmd} to {child}: {:?}", s.ok());
    check!(report_from(child, ms).is_err(), "command {cmd} completed but should have faulted");
    Ok(())
}

struct Pagers {
    scratch: harness::Child,
}

fn start_scratch_pager(ctx: &Ctx) -> Pagers {
    Pagers { scratch: ctx.spawn_local(scratch_pager, 0, 210, ThreadId::NIL, 0) }
}

pub fn user_pager(ctx: &Ctx) -> Result<(), String> {
    reset();
    let p = start_scratch_pager(ctx);
    for i in 0..4 {
        provide(i, 0x1111 * (i as u64 + 1))?;
    }
    let c = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    let mut sum = 0;
    for i in 0..4 {
        sum += command(c.id, CMD_READ, &[scratch(i)])?;
    }
    check!(sum == 0x1111 * 10, "child read sum {sum:#x}");
    command(c.id, CMD_WRITE, &[scratch(2), 0xabcd])?;
    check!(insn::read_u64(OWN_SCRATCH + 0x2000) == 0xabcd, "the child's write is not in the shared frame");
    check!((0..4).all(|i| FAULTS[i].load(Ordering::SeqCst) == 1), "each page should fault exactly once");
    c.kill();
    p.scratch.kill();
    Ok(())
}

/// A → B → C: this task maps a page to B, B (its own pager thread) maps it
/// on to C. Unmapping in this task takes it from both.
pub fn recursive_unmap(ctx: &Ctx) -> Result<(), String> {
    reset();
    let p = start_scratch_pager(ctx);
    let own = provide(0, 77)?;
    let b = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    // B's pager thread, in B's space.
    let bp_stack = StackSlot::take();
    let bp = rt::thread::spawn(
        b.id,
        p.scratch.id,
        ThreadId::NIL,
        harness::CHILD_UTCB + 0x1000,
        205,
        bp_stack.top(),
        b_pager,
        0,
    )
    .map_err(|e| alloc::format!("B's pager: {e:?}"))?;
    let c = ctx.spawn_space(worker, 0, 100, bp, ThreadId::NIL);
    check!(command(c.id, CMD_READ, &[scratch(0)])? == 77, "C did not see the page");
    check!(B_SERVED.load(Ordering::SeqCst) == 1 && FAULTS[0].load(Ordering::SeqCst) == 1, "first use: one fault each");
    // Take write and read away from everyone we gave the page to.
    sys::unmap(Fpage::new(own, 12, Rights::NONE), Rights::RWX, false).map_err(|e| alloc::format!("unmap: {e:?}"))?;
    check!(insn::read_u64(own) == 77, "our own mapping must stay");
    check!(command(c.id, CMD_READ, &[scratch(0)])? == 77, "C could not get the page back");
    check!(B_SERVED.load(Ordering::SeqCst) == 2, "C did not fault again after the unmap in A");
    check!(FAULTS[0].load(Ordering::SeqCst) == 2, "B did not fault again after the unmap in A");
    // Space death: B goes, and with it everything B mapped to C — C's
    // scratch page and its image pages alike. C faults at its next step,
    // finds its pager gone, and is ended by the kernel.
    sys::space_delete(b.id).map_err(|e| alloc::format!("delete B: {e:?}"))?;
    harness::sleep_us(5_000);
    if sys::exregs(c.id, 0, 0, 0, 0).is_ok() {
        // C had already been waiting for a command: give it one.
        let s = sys::send(
            c.id,
            &Msg::new(CMD_READ, &[scratch(0)]),
            Timeouts::new(Timeout::Micros(100_000), Timeout::Never),
        );
        check!(s.ok().is_ok(), "C is alive but did not take a command: {:?}", s.ok());
        check!(report_from(c.id, 200).is_err(), "C read the page after B's space died");
    }
    harness::sleep_us(5_000);
    check!(sys::exregs(c.id, 0, 0, 0, 0).is_err(), "C faulted with its pager gone: it must have been ended");
    p.scratch.kill();
    drop(bp_stack);
    Ok(())
}

/// Grant moves the page: the granter faults on it afterwards.
pub fn grant(ctx: &Ctx) -> Result<(), String> {
    reset();
    let p = start_scratch_pager(ctx);
    provide(1, 0x5151)?;
    let b = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    let c = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    check!(command(b.id, CMD_READ, &[scratch(1)])? == 0x5151, "B did not get the page");
    check!(FAULTS[1].load(Ordering::SeqCst) == 1, "one fault for B");
    // C waits for a mapping from B; B grants its page to C's scratch page 4.
    let s = sys::send(
        c.id,
        &Msg::new(CMD_RECEIVE_MAP, &[b.id.0]),
        Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never),
    );
    check!(s.ok().is_ok(), "could not start C's receive");
    let g = command(b.id, CMD_GRANT_TO, &[c.id.0, scratch(1), 0, scratch(4)])?;
    check!(g == 0, "grant IPC failed: {g:#x}");
    let rcv = report_from(c.id, 2000).map_err(|e| alloc::format!("C got nothing: {e:?}"))?;
    check!(rcv.msg.mr[0] == 0, "C's receive failed: {:#x}", rcv.msg.mr[0]);
    check!(command(c.id, CMD_READ, &[scratch(4)])? == 0x5151, "C does not see the granted page");
    check!(FAULTS[4].load(Ordering::SeqCst) == 0, "C should not have faulted on the granted page");
    // B lost it: touching it faults to the scratch pager again.
    check!(command(b.id, CMD_READ, &[scratch(1)])? == 0x5151, "B re-faulted the page");
    check!(FAULTS[1].load(Ordering::SeqCst) == 2, "B did not fault after granting its page away");
    b.kill();
    c.kill();
    p.scratch.kill();
    Ok(())
}

/// Revoking only write access leaves reads working; writes fault.
pub fn rights(ctx: &Ctx) -> Result<(), String> {
    reset();
    let p = start_scratch_pager(ctx);
    let own = provide(2, 0x2222)?;
    let b = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    command(b.id, CMD_WRITE, &[scratch(2), 0x3333])?;
    check!(insn::read_u64(own) == 0x3333, "write did not reach the frame");
    let faults = FAULTS[2].load(Ordering::SeqCst);
    sys::unmap(Fpage::new(own, 12, Rights::NONE), Rights::W, false).map_err(|e| alloc::format!("unmap: {e:?}"))?;
    check!(command(b.id, CMD_READ, &[scratch(2)])? == 0x3333, "read after write revocation");
    check!(FAULTS[2].load(Ordering::SeqCst) == faults, "a read must not fault after revoking only write");
    let wf = WRITE_FAULTS.load(Ordering::SeqCst);
    command(b.id, CMD_WRITE, &[scratch(2), 0x4444])?; // faults, pager maps RW again
    check!(WRITE_FAULTS.load(Ordering::SeqCst) == wf + 1, "the write did not fault");
    check!(insn::read_u64(own) == 0x4444, "the write after re-mapping did not land");
    b.kill();
    p.scratch.kill();
    Ok(())
}

/// A space cannot hand out what it does not have, nor kernel memory.
pub fn no_theft(ctx: &Ctx) -> Result<(), String> {
    reset();
    let p = start_scratch_pager(ctx);
    let b = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    let c = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    // B never touched scratch page 5: mapping it to C maps nothing.
    let s = sys::send(
        c.id,
        &Msg::new(CMD_RECEIVE_MAP, &[b.id.0]),
        Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never),
    );
    check!(s.ok().is_ok(), "could not start C's receive");
    let g = command(b.id, CMD_MAP_TO, &[c.id.0, scratch(5), 0, scratch(6)])?;
    check!(g == 0, "the IPC itself succeeds: {g:#x}");
    report_from(c.id, 2000).map_err(|e| alloc::format!("C got nothing: {e:?}"))?;
    command_blocks(c.id, CMD_READ, &[scratch(6)], 200)?;
    check!(FAULTS[6].load(Ordering::SeqCst) == 1, "C must fault: it got nothing");
    c.kill();
    // A flexpage naming kernel memory is refused as malformed.
    let c2 = ctx.spawn_space(worker, 0, 100, p.scratch.id, ThreadId::NIL);
    let s = sys::send(
        c2.id,
        &Msg::new(CMD_RECEIVE_MAP, &[b.id.0]),
        Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never),
    );
    check!(s.ok().is_ok(), "could not start C2's receive");
    let kernel = Fpage(0xffff_ffff_8000_0000 | (12 << 4) | 7);
    let g = command(b.id, CMD_MAP_TO, &[c2.id.0, 0, kernel.0, scratch(0)])?;
    check!(g == Error::MsgOverflow.code(), "a kernel fpage gave {g:#x}");
    b.kill();
    c2.kill();
    p.scratch.kill();
    Ok(())
}

/// Running out of memory is an error, not a crash: the root pager's pool, a
/// space's kernel-memory quota.
pub fn out_of_memory(ctx: &Ctx) -> Result<(), String> {
    let pager = rt::kip::kip().root_pager;
    let s0 = rt::pager::stats(pager).map_err(|e| alloc::format!("{e:?}"))?;
    // Take 2 MiB blocks until the pool is dry (mapped at a far-away window).
    let mut blocks = alloc::vec::Vec::new();
    let base = 0x0000_4000_0000_0000u64;
    loop {
        match rt::pager::alloc(pager, 21, base + blocks.len() as u64 * (2 << 20)) {
            Ok(pa) => blocks.push(pa),
            Err(rt::pager::PagerError::OutOfMemory) => break,
            Err(e) => return Err(alloc::format!("alloc failed oddly: {e:?}")),
        }
    }
    check!(!blocks.is_empty(), "no memory at all");
    for pa in &blocks {
        rt::pager::release(pager, *pa, 21).map_err(|e| alloc::format!("release: {e:?}"))?;
    }
    let s1 = rt::pager::stats(pager).map_err(|e| alloc::format!("{e:?}"))?;
    // Pages of our own image loaded meanwhile (stack, heap) are not a leak.
    check!(
        s1.free_pages + s1.image_pages == s0.free_pages + s0.image_pages,
        "pool leaked: {s0:?} before, {s1:?} after"
    );
    rt::println!(
        "ktest: out_of_memory: root pager ran dry after {} MiB of {} MiB; all returned",
        blocks.len() * 2,
        s0.total_pages * 4 / 1024
    );
    // A space over its kernel-memory quota: mapping 2 MiB into it fails, and
    // so does creating a thread there. Warm the child up first so it needs
    // no new pages of its own afterwards.
    let c = ctx.spawn_space(worker, 0, 100, ctx.mirror, ThreadId::NIL);
    let own = 0x0000_5000_0000_0000u64;
    rt::pager::alloc(pager, 21, own).map_err(|e| alloc::format!("{e:?}"))?;
    for round in 0..2 {
        if round == 1 {
            // Let the child get back to waiting (through code it has run before).
            harness::sleep_us(10_000);
            sys::thread_config(c.id, config::SPACE_KMEM_QUOTA, 1).map_err(|e| alloc::format!("{e:?}"))?;
        }
        let s = sys::send(
            c.id,
            &Msg::new(CMD_RECEIVE_MAP, &[ctx.me.0]),
            Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never),
        );
        check!(s.ok().is_ok(), "could not start the child's receive (round {round})");
        let mut m = Message::new(9);
        if round == 1 {
            m.item(TypedItem::Map { fpage: Fpage::new(own, 21, Rights::RW), hotspot: SCRATCH });
        }
        let r = ipc::send(c.id, &m, Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never));
        let want = if round == 1 { Error::NoMemory.code() } else { 0 };
        check!(r.rax == want, "round {round}: mapping gave {:#x}", r.rax);
        let _ = report_from(c.id, 2000);
    }
    let t = sys::thread_create(c.id, ThreadId::NIL, ThreadId::NIL, 0x1000, 100);
    check!(t == Err(Error::NoMemory), "creating a thread past the quota gave {t:?}");
    c.kill();
    Ok(())
}
