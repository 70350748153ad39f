//! Random syscalls against the kernel: a thread in an unprivileged space
//! issues seeded random kernel calls (random numbers, IDs, flexpages, typed
//! items, timeouts, UTCB contents, wild pointers) while a heartbeat thread
//! keeps counting. The kernel must neither panic nor hang; the fuzzer itself
//! may well end (it can delete or derail itself) and is then restarted with
//! the next seed.

use crate::check;
use crate::harness::{self, Ctx};
use abi::syscall as sys;
use abi::sysno::{self, exregs};
use abi::{Fpage, ThreadId, Timeout, Timeouts};
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};
use rt::utcb::Utcb;

static CALLS: AtomicU64 = AtomicU64::new(0);
static HEARTBEAT: AtomicU64 = AtomicU64::new(0);
/// Thread IDs the fuzzer picks from (main, mirror, heartbeat, itself).
static TARGETS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn id(r: &mut Rng) -> u64 {
    match r.below(10) {
        0 => 0,
        1 => u64::MAX,
        2 => ThreadId::irq(r.below(20) as u32).0,
        3..=6 => TARGETS[r.below(4) as usize].load(Ordering::Relaxed),
        7 => TARGETS[r.below(4) as usize].load(Ordering::Relaxed).wrapping_add(1), // stale version
        _ => r.next(),
    }
}

fn addr(r: &mut Rng) -> u64 {
    match r.below(8) {
        0 => 0,
        1 => 0xffff_ffff_8000_0000 + r.below(1 << 20),
        2 => 0x9999_9999_9999_9999,
        3 => abi::KIP_ADDR + r.below(8192),
        4 => harness::CHILD_UTCB + r.below(4096),
        5 => harness::image().0 + r.below(harness::image().1 - harness::image().0),
        _ => r.next(),
    }
}

fn fpage(r: &mut Rng) -> u64 {
    match r.below(4) {
        0 => Fpage::new(addr(r), 12 + r.below(40) as u32, abi::Rights(r.below(8) as u8)).0,
        1 => Fpage::complete(abi::Rights(r.below(8) as u8)).0,
        2 => Fpage::new(harness::image().0, 12, abi::Rights::RWX).0,
        _ => r.next(),
    }
}

fn timeouts(r: &mut Rng) -> u64 {
    let t = |r: &mut Rng| match r.below(3) {
        0 => Timeout::Zero,
        1 => Timeout::Micros(r.below(3000) as u32 + 1),
        _ => Timeout::Micros(r.below(100) as u32 + 1),
    };
    Timeouts::new(t(r), t(r)).encode()
}

extern "C" fn fuzzer(seed: u64) -> ! {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let u = Utcb::current();
    TARGETS[3].store(u.my_id().0, Ordering::Relaxed);
    loop {
        // Random UTCB contents: message words, acceptor, string buffer.
        for i in 7..16 {
            u.set_mr(i, if r.below(2) == 0 { fpage(&mut r) } else { r.next() });
        }
        u.set_acceptor(Fpage(if r.below(2) == 0 { fpage(&mut r) } else { 0 }));
        u.set_string_buffer(addr(&mut r), r.below(1 << 16));
        let nr = match r.below(16) {
            0 => r.next(),
            1 => sysno::BASE + r.below(256),
            n => sysno::BASE + (n % 14),
        };
        let (a0, a1) = (id(&mut r), id(&mut r));
        let (mut a2, mut a3, mut a4) = (r.next(), r.next(), r.next());
        let mut a1 = a1;
        match nr {
            sysno::IPC => {
                a2 = timeouts(&mut r);
                a3 = abi::MsgTag::new(r.below(1 << 20), r.below(64) as usize, r.below(64) as usize).0;
                a4 = fpage(&mut r);
            }
            sysno::UNMAP => {
                let f = fpage(&mut r);
                a1 = r.below(16);
                return_if_none(sys::raw(nr, f, a1, 0, 0, 0, 0));
                CALLS.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            sysno::KDEBUG_PRINT => {
                // Only unusable buffers: printing random memory would flood the log.
                a1 = r.next();
                return_if_none(sys::raw(nr, addr(&mut r) | 0x8000_0000_0000_0000, a1, 0, 0, 0, 0));
                CALLS.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            sysno::EXREGS => {
                // Rarely derail a thread (its IP, SP, or the trap flag, which
                // single-steps it into a debug exception); mostly abort, halt,
                // resume.
                if r.below(20) != 0 {
                    a1 = r.next() & !(exregs::SET_IP | exregs::SET_SP);
                    a4 &= !0x100;
                }
            }
            _ => {}
        }
        let _ = sys::raw(nr, a0, a1, a2, a3, a4, r.next());
        CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

fn return_if_none(_: [u64; 6]) {}

extern "C" fn heartbeat(_: u64) -> ! {
    loop {
        HEARTBEAT.fetch_add(1, Ordering::Relaxed);
        harness::sleep_us(1000);
    }
}

/// The campaign: `target` random syscalls, restarting the fuzzer whenever
/// it ends itself and unblocking it when it waits forever.
pub fn random_syscalls(ctx: &Ctx, target: u64, seed: u64) -> Result<(), String> {
    CALLS.store(0, Ordering::Relaxed);
    let hb = ctx.spawn_local(heartbeat, 0, 100, ThreadId::NIL, 0);
    TARGETS[0].store(ctx.me.0, Ordering::Relaxed);
    TARGETS[1].store(ctx.mirror.0, Ordering::Relaxed);
    TARGETS[2].store(hb.id.0, Ordering::Relaxed);
    let start = rt::kip::clock_us();
    let mut restarts = 0;
    let mut fz = ctx.spawn_space(fuzzer, seed, 90, ctx.mirror, ThreadId::NIL);
    let mut last = 0;
    let mut stuck = 0;
    while CALLS.load(Ordering::Relaxed) < target {
        harness::sleep_us(5_000);
        let calls = CALLS.load(Ordering::Relaxed);
        if sys::exregs(fz.id, 0, 0, 0, 0).is_err() {
            restarts += 1;
            drop(fz);
            fz = ctx.spawn_space(fuzzer, seed + restarts, 90, ctx.mirror, ThreadId::NIL);
        } else if calls == last {
            // Blocked or halted: get it going again.
            let _ = sys::exregs(fz.id, exregs::ABORT_IPC | exregs::RESUME, 0, 0, 0);
            stuck += 1;
            if stuck > 200 {
                let _ = sys::space_delete(fz.id);
                stuck = 0;
            }
        } else {
            stuck = 0;
        }
        last = calls;
        check!(rt::kip::clock_us() - start < 240_000_000, "only {calls} calls in 240 s");
    }
    let _ = sys::space_delete(fz.id);
    let beats = HEARTBEAT.load(Ordering::Relaxed);
    hb.kill();
    let secs = (rt::kip::clock_us() - start) / 1000;
    check!(beats > 10, "the heartbeat thread starved: {beats} beats");
    rt::println!(
        "ktest: random_syscalls: {} calls (seed {seed}) in {} ms, fuzzer restarted {restarts} times, heartbeat {beats}",
        CALLS.load(Ordering::Relaxed),
        secs
    );
    let _ = sysno::LAST;
    Ok(())
}
