//! Kernel fuzzing with real state (`test=fuzz_mem`): several spaces and
//! threads owned by this task, driven by one seeded random sequence of
//! operations that build and tear down the mapping database:
//!
//! - IPC between *agents* (threads in child spaces) with random typed items:
//!   map and grant items of random flexpages of memory the sender really has,
//!   random rights and hotspots, string items with random buffers, random
//!   acceptors and receive buffers, random timeouts, now and then a
//!   malformed tag or item;
//! - unmap of random flexpages (own space, or another's through the
//!   privileged `unmap_in`, random rights, with or without the space's own
//!   mappings), followed by a probe: a page whose read right was revoked
//!   from a space must fault there at a read, one whose write right was
//!   revoked at a write;
//! - mapping chains A → B → C … of a tagged page, checked at every link and
//!   revoked at a random link (the root's unmap, an unmap in the middle, the
//!   deletion of a space in the middle); everything below must fault;
//! - `EXREGS` (abort, halt, resume, flags, parking) on agents and on stale
//!   or random IDs, thread creation with random UTCBs, pagers and flags,
//!   thread and space deletion on random IDs (stale IDs must be `NotExist`).
//!
//! Agents run this task's code (mirrored by the fuzz pager, a thread of this
//! task) and carry out one command at a time from the main thread, which
//! draws every decision from the seeded generator, so a run is reproducible
//! from `kfuzz_seed` up to timing. The fuzz pager serves each agent's fuzz
//! region (`FUZZ`) from a pool of this task's pages, so every frame an agent
//! maps or grants is one it really has; it counts the faults at each agent's
//! probe page.
//!
//! Invariants: the kernel neither panics nor hangs (a heartbeat thread keeps
//! counting); revoked pages fault; stale IDs are refused; and once every
//! agent space is deleted the kernel's memory gauges (free frames, mapping
//! nodes, threads, spaces; heap within a bound) are back at their starting
//! values.
//!
//! Safety of the test task itself: agents share this task's frames (code,
//! stacks, data), so nothing ever lets the kernel write into them through an
//! agent: acceptors and string buffers lie in the fuzz region only, map and
//! grant items of pages outside it carry read rights only, and exregs moves
//! an agent only to `park`.

use crate::check;
use crate::harness::{self, main_id, mirror_reply, Ctx, StackSlot};
use crate::insn;
use abi::msg::kind;
use abi::syscall::{self as sys, Msg};
use abi::sysno::{self, exregs};
use abi::{Error, Fpage, MsgTag, Rights, ThreadId, Timeout, Timeouts, TypedItem};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use rt::ipc::{self, Message};
use rt::utcb::Utcb;

/// Each agent's fuzz region: every map, grant, acceptor and string buffer
/// of the campaign lives here; the fuzz pager backs all of it.
const FUZZ: u64 = 0x0000_2000_0000_0000;
const FUZZ_LOG2: u32 = 22;
const FUZZ_SIZE: u64 = 1 << FUZZ_LOG2;
/// UTCBs of extra threads, right above the fuzz region (acceptors of
/// 2 × FUZZ_SIZE cover them: map items must skip them).
const EXTRA_UTCB: u64 = FUZZ + FUZZ_SIZE;
/// This task's pool pages that back the fuzz regions: page j of every
/// region maps pool page j mod POOL_PAGES.
const OWN_POOL: u64 = 0x7f9c_0000_0000;
const POOL_LOG2: u32 = 17;
const POOL_PAGES: u64 = 1 << (POOL_LOG2 - 12);
const MAX_AGENTS: usize = 10;
const MAX_EXTRAS: usize = 12;
/// Commands from the main thread to an agent.
const C_RECV: u64 = 1;
const C_SEND: u64 = 2;
const C_PROBE: u64 = 3;
const C_UNMAP: u64 = 4;
const C_TOUCH: u64 = 5;
const C_POKE: u64 = 6;
const REPORT: u64 = 0x66;
/// Most payload words of a fuzz message (the rest of its MRs are whatever
/// the sender's UTCB holds).
const PAYLOAD: usize = 16;

static AGENT_IDS: [AtomicU64; MAX_AGENTS] = [const { AtomicU64::new(0) }; MAX_AGENTS];
/// The page each agent's next probe reads, and the faults the pager saw there.
static PROBE_PAGE: [AtomicU64; MAX_AGENTS] = [const { AtomicU64::new(0) }; MAX_AGENTS];
static PROBE_FAULTS: [AtomicU64; MAX_AGENTS] = [const { AtomicU64::new(0) }; MAX_AGENTS];
static FAULTS: AtomicU64 = AtomicU64::new(0);
static PAGER_KILLS: AtomicU64 = AtomicU64::new(0);
static HEARTBEAT: AtomicU64 = AtomicU64::new(0);

/// xorshift64*: small, seedable, good enough to pick operations.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// A number of random magnitude: below 2^k for a random k < `log2`.
    fn sized(&mut self, log2: u64) -> u64 {
        let k = self.below(log2);
        self.below(1 << k)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn agent_index(id: ThreadId) -> Option<usize> {
    AGENT_IDS.iter().position(|a| a.load(Ordering::Acquire) == id.0)
}

/// The fuzz pager: the image by mirroring, the fuzz region from the pool;
/// a thread faulting anywhere else, or on the same address over and over,
/// is ended.
extern "C" fn fuzz_pager(_: u64) -> ! {
    let mut last = (ThreadId::NIL, 0u64, 0u32);
    let mut r = sys::wait();
    loop {
        let mut reply = None;
        if r.ok().is_ok() && r.msg.tag.kind() == kind::PAGE_FAULT {
            let addr = r.msg.mr[0];
            let page = addr & !0xfff;
            FAULTS.fetch_add(1, Ordering::Relaxed);
            if let Some(i) = agent_index(r.from) {
                if PROBE_PAGE[i].load(Ordering::Acquire) == page {
                    PROBE_FAULTS[i].fetch_add(1, Ordering::AcqRel);
                }
            }
            last = if (last.0, last.1) == (r.from, page) { (r.from, page, last.2 + 1) } else { (r.from, page, 1) };
            if last.2 > 16 {
                rt::println!("ktest: fuzz pager: {} keeps faulting at {addr:#x}; ending it", r.from);
                let _ = sys::thread_delete(r.from);
                PAGER_KILLS.fetch_add(1, Ordering::Relaxed);
            } else if let Some(m) = mirror_reply(addr) {
                reply = Some(m);
            } else if (FUZZ..FUZZ + FUZZ_SIZE).contains(&addr) {
                let j = ((addr - FUZZ) >> 12) % POOL_PAGES;
                let mut m = Message::new(0);
                m.item(TypedItem::Map { fpage: Fpage::new(OWN_POOL + j * 4096, 12, Rights::RW), hotspot: page });
                reply = Some(m);
            } else {
                let _ = sys::thread_delete(r.from);
                PAGER_KILLS.fetch_add(1, Ordering::Relaxed);
            }
        }
        r = match reply {
            Some(m) => ipc::reply_and_wait(r.from, &m),
            None => sys::wait(),
        };
    }
}

extern "C" fn heartbeat(_: u64) -> ! {
    loop {
        HEARTBEAT.fetch_add(1, Ordering::Relaxed);
        harness::sleep_us(1000);
    }
}

/// Where exregs parks an agent: it waits forever.
extern "C" fn park() -> ! {
    loop {
        harness::sleep_us(1_000_000);
    }
}

fn timeout(us: u64) -> Timeout {
    match us {
        0 => Timeout::Zero,
        0xffff_ffff => Timeout::Never,
        n => Timeout::Micros(n as u32),
    }
}

/// An agent: carries out commands from the main thread, reporting each.
extern "C" fn agent(me: u64) -> ! {
    let main = main_id();
    let u = Utcb::current();
    loop {
        let r = sys::ipc(ThreadId::NIL, main, Timeouts::NEVER, &Msg::default());
        if r.ok().is_err() {
            continue;
        }
        let mut w = [0u64; 4 + PAYLOAD];
        for (i, v) in w.iter_mut().enumerate().take(r.msg.tag.untyped()) {
            *v = ipc::word(&r, i + 1);
        }
        let out: [u64; 4] = match r.msg.tag.label() {
            C_RECV => {
                // seq, from, acceptor, buffer, buffer length, timeout
                u.set_acceptor(Fpage(w[2]));
                u.set_string_buffer(w[3], w[4]);
                let got = sys::ipc(
                    ThreadId::NIL,
                    ThreadId(w[1]),
                    Timeouts::new(Timeout::Never, timeout(w[5])),
                    &Msg::default(),
                );
                let received = u.string_received();
                u.set_acceptor(Fpage::NIL);
                u.set_string_buffer(0, 0);
                [got.rax, got.from.0, got.msg.tag.0, received]
            }
            C_SEND => {
                // seq, to, timeout, tag, payload words
                let tag = MsgTag(w[3]);
                let payload = &w[4..];
                for (i, &v) in payload.iter().enumerate().skip(abi::msg::REG_MRS) {
                    u.set_mr(i + 1, v);
                }
                let mut mr = [0u64; abi::msg::REG_MRS];
                mr.copy_from_slice(&payload[..abi::msg::REG_MRS]);
                let s = sys::ipc(
                    ThreadId(w[1]),
                    ThreadId::NIL,
                    Timeouts::new(timeout(w[2]), Timeout::Never),
                    &Msg { tag, mr },
                );
                [s.rax, 0, 0, 0]
            }
            C_PROBE => [insn::read_u64(w[1]), 0, 0, 0],
            C_POKE => {
                insn::write_u64(w[1], 0x90c3_u64 << 16);
                [0; 4]
            }
            C_UNMAP => {
                // seq, fpage, control, probe address (0: none), write to it,
                // touch it first (so that it is mapped when the unmap comes)
                if w[3] != 0 && w[5] != 0 {
                    if w[4] != 0 {
                        insn::write_u64(w[3], 0x90c3_u64 << 16);
                    } else {
                        insn::read_u64(w[3]);
                    }
                }
                let faults = PROBE_FAULTS[me as usize % MAX_AGENTS].load(Ordering::Acquire);
                let rax = sys::raw(sysno::UNMAP, w[1], w[2], 0, 0, 0, 0)[0];
                let v = match (w[3], w[4]) {
                    (0, _) => 0,
                    (a, 0) => insn::read_u64(a),
                    (a, _) => {
                        insn::write_u64(a, 0x90c3_u64 << 16);
                        0
                    }
                };
                [rax, v, faults, 0]
            }
            C_TOUCH => {
                insn::touch_range(w[1], w[2], w[3] != 0);
                [0; 4]
            }
            _ => [u64::MAX; 4],
        };
        let m = Message::with(REPORT, &[w[0], out[0], out[1], out[2], out[3]]);
        let _ = ipc::send(main, &m, Timeouts::new(Timeout::Micros(1_000_000), Timeout::Never));
    }
}

struct Agent {
    id: ThreadId,
    /// Agents with the same group share a space.
    group: u64,
    stack: StackSlot,
    seq: u64,
    /// Halted by exregs (resumed before its next command).
    halted: bool,
}

#[derive(Default, Debug)]
struct Stats {
    ops: u64,
    ipc_ok: u64,
    ipc_err: u64,
    /// Send-phase results by error code.
    ipc_errors: [u64; 16],
    items: u64,
    unmaps: u64,
    probes_checked: u64,
    chains: u64,
    chain_links: u64,
    exregs: u64,
    created: u64,
    create_refused: u64,
    deleted: u64,
    stale_refused: u64,
    respawns: u64,
    send_retries: u64,
    unresponsive: u64,
}

struct Fuzz {
    rng: Rng,
    agents: [Option<Agent>; MAX_AGENTS],
    next_group: u64,
    /// Threads created halted by the campaign (deleted at the end).
    extras: Vec<ThreadId>,
    /// IDs of threads that are gone: they must stay gone.
    dead: Vec<ThreadId>,
    infra: [ThreadId; 4],
    pager: ThreadId,
    stats: Stats,
    op: u64,
    seed: u64,
    /// Timeouts are multiplied by this: 20 under `kcheck` (its checks,
    /// after every operation, slow everything down).
    slow: u64,
}

/// A 4 KiB-aligned random flexpage inside the fuzz region (2^12..2^22).
fn fuzz_fpage(r: &mut Rng) -> Fpage {
    let log2 = 12 + r.below(FUZZ_LOG2 as u64 - 11) as u32;
    let base = FUZZ + (r.below(FUZZ_SIZE >> log2) << log2);
    Fpage::new(base, log2, Rights(r.below(8) as u8))
}

/// A random page of `f` inside the fuzz region, or 0.
fn page_in(r: &mut Rng, f: Fpage) -> u64 {
    if !f.is_valid() {
        return 0;
    }
    let lo = f.base().max(FUZZ);
    let hi = f.end().min(FUZZ + FUZZ_SIZE);
    if lo >= hi {
        return 0;
    }
    lo + (r.below((hi - lo) >> 12) << 12)
}

/// Anywhere: a valid flexpage of random size, the whole space, or garbage.
fn wild_fpage(r: &mut Rng) -> Fpage {
    match r.below(4) {
        0 => Fpage::complete(Rights(r.below(8) as u8)),
        1 => Fpage(r.next()),
        _ => {
            let log2 = 12 + r.below(36) as u32;
            let base = (r.next() & (abi::USER_END - 1)) >> log2 << log2;
            Fpage::new(base, log2, Rights(r.below(8) as u8))
        }
    }
}

impl Fuzz {
    fn fail(&self, what: String) -> String {
        format!("op {} (seed {}): {what}", self.op, self.seed)
    }

    fn live(&self) -> Vec<usize> {
        (0..MAX_AGENTS).filter(|&i| self.agents[i].is_some()).collect()
    }

    fn pick(&mut self) -> Option<usize> {
        let l = self.live();
        if l.is_empty() {
            None
        } else {
            Some(l[self.rng.below(l.len() as u64) as usize])
        }
    }

    /// Start an agent in slot `i`: in a new space, or next to agent `host`.
    fn spawn(&mut self, i: usize, host: Option<usize>) -> bool {
        let stack = StackSlot::take();
        let (space, utcb, group) = match host.and_then(|h| self.agents[h].as_ref()) {
            Some(h) => (h.id, EXTRA_UTCB + self.rng.below(16) * 0x1000, h.group),
            None => {
                self.next_group += 1;
                (ThreadId::NIL, harness::CHILD_UTCB, self.next_group)
            }
        };
        match rt::thread::spawn(space, self.pager, ThreadId::NIL, utcb, 100, stack.top(), agent, i as u64) {
            Ok(id) => {
                AGENT_IDS[i].store(id.0, Ordering::Release);
                self.agents[i] = Some(Agent { id, group, stack, seq: 0, halted: false });
                self.stats.created += 1;
                true
            }
            Err(_) => {
                self.stats.create_refused += 1;
                false
            }
        }
    }

    /// Forget agent `i` (already deleted, or delete it now).
    fn drop_agent(&mut self, i: usize, delete: bool) {
        if let Some(a) = self.agents[i].take() {
            if delete {
                let _ = sys::thread_delete(a.id);
            }
            AGENT_IDS[i].store(0, Ordering::Release);
            self.remember_dead(a.id);
            drop(a.stack);
        }
    }

    fn remember_dead(&mut self, id: ThreadId) {
        if self.dead.len() >= 64 {
            self.dead.remove(0);
        }
        self.dead.push(id);
    }

    /// Agents whose thread no longer exists are forgotten (a deleted space
    /// takes all of its agents with it).
    fn reap(&mut self) {
        for i in 0..MAX_AGENTS {
            if let Some(a) = &self.agents[i] {
                if sys::exregs(a.id, 0, 0, 0, 0).err() == Some(Error::NotExist) {
                    self.drop_agent(i, false);
                }
            }
        }
    }

    /// A random agent slot, respawned if it is empty.
    fn agent(&mut self) -> Option<usize> {
        let i = self.rng.below(MAX_AGENTS as u64) as usize;
        if self.agents[i].is_none() {
            let host = if self.rng.chance(30) { self.pick() } else { None };
            self.stats.respawns += 1;
            if !self.spawn(i, host) {
                return self.pick();
            }
        }
        Some(i)
    }

    /// Send command `cmd` to agent `i`; false if it could not be delivered
    /// (the agent is then unblocked, or ended if it is gone or hopeless).
    fn command(&mut self, i: usize, cmd: u64, words: &[u64]) -> Option<u64> {
        let a = self.agents[i].as_mut()?;
        a.seq += 1;
        let seq = a.seq;
        let id = a.id;
        if core::mem::take(&mut a.halted) {
            let _ = sys::exregs(id, exregs::RESUME, 0, 0, 0);
        }
        let mut m = Message::new(cmd);
        m.push(seq);
        for &w in words {
            m.push(w);
        }
        for attempt in 0..2 {
            let s = ipc::send(id, &m, Timeouts::new(Timeout::Micros(5_000 * self.slow as u32), Timeout::Never));
            match s.ok() {
                Ok(()) => return Some(seq),
                Err(e) if e.error == Error::NotExist => {
                    self.drop_agent(i, false);
                    return None;
                }
                Err(_) if attempt == 0 => {
                    // Halted, blocked in a stale IPC or a page fault whose
                    // reply got lost: abort and resume, then try again.
                    self.stats.send_retries += 1;
                    let _ = sys::exregs(id, exregs::ABORT_IPC | exregs::RESUME, 0, 0, 0);
                }
                Err(_) => {}
            }
        }
        self.drop_agent(i, true);
        None
    }

    /// The report of command `seq` from agent `i`, within `ms`.
    fn report(&mut self, i: usize, seq: u64, ms: u64) -> Option<[u64; 4]> {
        let id = self.agents[i].as_ref()?.id;
        let deadline = rt::kip::clock_us() + ms * 1000 * self.slow;
        loop {
            let now = rt::kip::clock_us();
            if now >= deadline {
                self.stats.unresponsive += 1;
                let _ = sys::exregs(id, exregs::ABORT_IPC | exregs::RESUME, 0, 0, 0);
                return None;
            }
            let r = sys::ipc(
                ThreadId::NIL,
                id,
                Timeouts::new(Timeout::Never, Timeout::Micros((deadline - now) as u32)),
                &Msg::default(),
            );
            if r.ok().is_ok() && r.msg.tag.label() == REPORT && r.msg.mr[0] == seq {
                return Some([r.msg.mr[1], r.msg.mr[2], r.msg.mr[3], r.msg.mr[4]]);
            }
            if let Err(e) = r.ok() {
                if e.error == Error::NotExist {
                    self.drop_agent(i, false);
                    return None;
                }
            }
        }
    }

    fn run(&mut self, i: usize, cmd: u64, words: &[u64], ms: u64) -> Option<[u64; 4]> {
        let seq = self.command(i, cmd, words)?;
        self.report(i, seq, ms)
    }

    /// Arm agent `i`'s probe counter for `page`; returns the count so far.
    fn arm_probe(&self, i: usize, page: u64) -> u64 {
        PROBE_PAGE[i].store(page & !0xfff, Ordering::Release);
        PROBE_FAULTS[i].load(Ordering::Acquire)
    }

    fn probe_faulted(&self, i: usize, before: u64) -> bool {
        PROBE_FAULTS[i].load(Ordering::Acquire) > before
    }

    fn id_of(&self, i: usize) -> ThreadId {
        self.agents[i].as_ref().map_or(ThreadId::NIL, |a| a.id)
    }

    /// A thread ID for a random target: an agent, an infrastructure thread,
    /// a stale ID, nil/any, garbage.
    fn target(&mut self, partner: usize) -> ThreadId {
        match self.rng.below(20) {
            0..=15 => self.id_of(partner),
            16 => self.infra[self.rng.below(4) as usize],
            17 => self.bogus(),
            18 => ThreadId::ANY,
            _ => {
                let j = self.rng.below(MAX_AGENTS as u64) as usize;
                self.id_of(j)
            }
        }
    }

    /// An ID that must not name a live thread: a dead agent's, a live one's
    /// with another version, or a random number past every slot in use.
    fn bogus(&mut self) -> ThreadId {
        match self.rng.below(3) {
            0 if !self.dead.is_empty() => self.dead[self.rng.below(self.dead.len() as u64) as usize],
            1 => {
                let j = self.rng.below(MAX_AGENTS as u64) as usize;
                match &self.agents[j] {
                    Some(a) => ThreadId(a.id.0.wrapping_add(1 + self.rng.below(1000))),
                    None => ThreadId((5000 + self.rng.below(10000)) << 32 | (1 + self.rng.below(100))),
                }
            }
            _ => ThreadId((5000 + self.rng.below(10000)) << 32 | self.rng.below(1 << 32)),
        }
    }

    // ---- operations ----

    /// IPC from one agent to another with random items.
    fn op_ipc(&mut self) -> Result<(), String> {
        let (Some(s), Some(r)) = (self.agent(), self.agent()) else { return Ok(()) };
        if s == r {
            return Ok(());
        }
        let rng = &mut self.rng;
        let from = match rng.below(20) {
            0..=14 => self.agents[s].as_ref().map_or(ThreadId::ANY, |a| a.id),
            15..=17 => ThreadId::ANY,
            18 => ThreadId::NIL,
            _ => ThreadId(rng.next()),
        };
        let acceptor = match rng.below(20) {
            0..=12 => fuzz_fpage(rng),
            13..=14 => Fpage::NIL,
            15..=16 => Fpage::new(FUZZ, FUZZ_LOG2, Rights::RWX),
            // Twice the region: covers the extra threads' UTCBs.
            17 => Fpage::new(FUZZ, FUZZ_LOG2 + 1, Rights::RWX),
            // Misaligned: base inside the region, size larger than its alignment.
            _ => Fpage::new(FUZZ + rng.below(FUZZ_SIZE >> 12) * 4096, 13 + rng.below(10) as u32, Rights::RWX),
        };
        // Buffers end inside the region (above it are the extra threads' UTCBs).
        let (buf, buf_len) = match rng.below(10) {
            0 => (0, 0),
            1 => (FUZZ + rng.below(FUZZ_SIZE), rng.below(1 << 23)),
            _ => (FUZZ + rng.below(FUZZ_SIZE), rng.sized(4 + 13)),
        };
        let buf_len = if buf == 0 { 0 } else { buf_len.min(FUZZ + FUZZ_SIZE - buf) };
        let recv_timeout = match rng.below(50) {
            0 => 0,
            1 => 0xffff_ffff,
            _ => (2_000 + rng.below(4_000)) * self.slow,
        };
        let send_timeout = match rng.below(20) {
            0 => 0,
            _ => (1_000 + rng.below(4_000)) * self.slow,
        };
        // The message: untyped words, then items.
        let untyped = rng.below(7) as usize;
        let nitems = rng.below(5) as usize;
        let mut payload = [0u64; PAYLOAD];
        for w in payload.iter_mut().take(untyped) {
            *w = rng.next();
        }
        for k in 0..nitems {
            let item = match rng.below(20) {
                0..=7 => {
                    let f = fuzz_fpage(rng);
                    TypedItem::Map {
                        fpage: f,
                        hotspot: if rng.chance(80) { FUZZ + rng.below(FUZZ_SIZE) } else { rng.next() },
                    }
                }
                8..=12 => {
                    let f = fuzz_fpage(rng);
                    TypedItem::Grant { fpage: f, hotspot: FUZZ + rng.below(FUZZ_SIZE) }
                }
                13..=16 => {
                    let addr = if rng.chance(90) { FUZZ + rng.below(FUZZ_SIZE) } else { rng.next() };
                    let len = match rng.below(10) {
                        0 => rng.next() >> 4,
                        1 => (4 << 20) + rng.below(2),
                        2..=5 => rng.below(buf_len + 1),
                        _ => rng.sized(4 + 13),
                    };
                    TypedItem::String { addr, len }
                }
                // Memory outside the fuzz region (this task's frames, in the
                // agent's image): read rights only.
                17 => TypedItem::Map { fpage: wild_fpage(rng).with_rights(Rights::R), hotspot: rng.next() },
                18 => TypedItem::Grant { fpage: wild_fpage(rng).with_rights(Rights::R), hotspot: rng.next() },
                _ => {
                    // Garbage item words (type bits random, fpage in range but
                    // read-only, so nothing writable leaves the region).
                    let a = rng.next() & !0x7;
                    payload[untyped + 2 * k] = a | [0x0, 0x2, 0x6, 0xc, 0xe][rng.below(5) as usize];
                    payload[untyped + 2 * k + 1] = fuzz_fpage(rng).with_rights(Rights::R).0;
                    continue;
                }
            };
            let [a, b] = item.encode();
            payload[untyped + 2 * k] = a;
            payload[untyped + 2 * k + 1] = b;
            self.stats.items += 1;
        }
        let rng = &mut self.rng;
        let tag = if rng.chance(95) {
            MsgTag::new(rng.below(1 << 20), untyped, 2 * nitems)
        } else {
            MsgTag(rng.next() & 0x0000_ffff_ffff_ffff)
        };
        let to = self.target(r);
        let Some(rseq) = self.command(r, C_RECV, &[from.0, acceptor.0, buf, buf_len, recv_timeout]) else {
            return Ok(());
        };
        let mut words = Vec::with_capacity(3 + PAYLOAD);
        words.extend_from_slice(&[to.0, send_timeout, tag.0]);
        words.extend_from_slice(&payload);
        let sent = self.run(s, C_SEND, &words, 200);
        match sent {
            Some([0, ..]) => self.stats.ipc_ok += 1,
            Some([e, ..]) => {
                self.stats.ipc_err += 1;
                self.stats.ipc_errors[(e as usize & 0xf).min(15)] += 1;
            }
            None => self.stats.ipc_err += 1,
        }
        let wait = if recv_timeout == 0xffff_ffff { 2 } else { 100 };
        let _ = self.report(r, rseq, wait);
        Ok(())
    }

    /// An agent unmaps in its own space, then probes a page of the flexpage.
    fn op_unmap_own(&mut self) -> Result<(), String> {
        let Some(i) = self.agent() else { return Ok(()) };
        let f = match self.rng.below(40) {
            0 => Fpage::complete(Rights(self.rng.below(8) as u8)),
            1 | 2 => wild_fpage(&mut self.rng),
            _ => fuzz_fpage(&mut self.rng),
        };
        let rights = Rights(self.rng.below(8) as u8);
        let own = self.rng.chance(50);
        let ctl = rights.bits() as u64 | if own { sysno::unmap::OWN } else { 0 };
        let probe = page_in(&mut self.rng, f);
        // Probe by writing when write was revoked (half of the time).
        let write = rights.writable() && self.rng.chance(50);
        let prefault = self.rng.chance(70) as u64;
        let before = self.arm_probe(i, probe);
        let Some([rax, _, after_prefault, _]) = self.run(i, C_UNMAP, &[f.0, ctl, probe, write as u64, prefault], 200)
        else {
            return Ok(());
        };
        // Faults of the prefault do not count: the agent read the counter after it.
        let before = if prefault != 0 { after_prefault } else { before };
        self.stats.unmaps += 1;
        if rax == 0 && probe != 0 && own && (rights.readable() || write) {
            self.stats.probes_checked += 1;
            let how = if write { "wrote" } else { "read" };
            check!(
                self.probe_faulted(i, before),
                "{}",
                self.fail(format!(
                    "agent {i} {how} {probe:#x} after unmapping {:#x} (rights {:#x}, own) without a fault",
                    f.0, rights.0
                ))
            );
        }
        Ok(())
    }

    /// The main thread unmaps in an agent's space (`unmap_in`), then the agent probes.
    fn op_unmap_other(&mut self) -> Result<(), String> {
        let Some(i) = self.agent() else { return Ok(()) };
        let id = self.id_of(i);
        let f = if self.rng.chance(95) { fuzz_fpage(&mut self.rng) } else { wild_fpage(&mut self.rng) };
        let rights = Rights(self.rng.below(8) as u8);
        let own = self.rng.chance(60);
        let probe = page_in(&mut self.rng, f);
        if probe == 0 {
            let _ = sys::unmap_in(id, f, rights, own);
            self.stats.unmaps += 1;
            return Ok(());
        }
        let write = rights.writable() && self.rng.chance(50);
        let cmd = if write { C_POKE } else { C_PROBE };
        if self.rng.chance(70) {
            // Map it first, so that the unmap has something to take.
            if self.run(i, cmd, &[probe], 200).is_none() {
                return Ok(());
            }
        }
        let before = self.arm_probe(i, probe);
        let r = sys::unmap_in(id, f, rights, own);
        self.stats.unmaps += 1;
        if self.run(i, cmd, &[probe], 200).is_some() && r.is_ok() && own && (rights.readable() || write) {
            self.stats.probes_checked += 1;
            let how = if write { "wrote" } else { "read" };
            check!(
                self.probe_faulted(i, before),
                "{}",
                self.fail(format!(
                    "agent {i} {how} {probe:#x} after unmap_in {:#x} (rights {:#x}, own) without a fault",
                    f.0, rights.0
                ))
            );
        }
        Ok(())
    }

    /// The main thread revokes rights of its own pool pages from everyone.
    fn op_unmap_pool(&mut self) -> Result<(), String> {
        let log2 = 12 + self.rng.below(POOL_LOG2 as u64 - 11) as u32;
        let base = OWN_POOL + (self.rng.below(1 << (POOL_LOG2 - log2)) << log2);
        let r = sys::unmap(Fpage::new(base, log2, Rights::NONE), Rights(self.rng.below(8) as u8), false);
        check!(r.is_ok(), "{}", self.fail(format!("unmap of own pool pages failed: {r:?}")));
        self.stats.unmaps += 1;
        // Our own mappings stay.
        insn::read_u64(base);
        Ok(())
    }

    fn op_touch(&mut self) -> Result<(), String> {
        let Some(i) = self.agent() else { return Ok(()) };
        let addr = FUZZ + self.rng.below(FUZZ_SIZE);
        let len = self.rng.below(64 << 10).min(FUZZ + FUZZ_SIZE - addr);
        let write = self.rng.chance(50) as u64;
        let _ = self.run(i, C_TOUCH, &[addr, len, write], 500);
        Ok(())
    }

    fn op_probe(&mut self) -> Result<(), String> {
        let Some(i) = self.agent() else { return Ok(()) };
        let addr = (FUZZ + self.rng.below(FUZZ_SIZE)) & !7;
        let _ = self.run(i, C_PROBE, &[addr], 200);
        Ok(())
    }

    /// A chain root → A → B → … of one tagged pool page, each link checked,
    /// then revoked at a random link; everything below must fault.
    fn op_chain(&mut self) -> Result<(), String> {
        let len = 2 + self.rng.below(3) as usize;
        let mut chain: Vec<usize> = Vec::new();
        for _ in 0..len * 3 {
            if chain.len() == len {
                break;
            }
            if let Some(i) = self.agent() {
                let g = self.agents[i].as_ref().map(|a| a.group);
                if !chain.iter().any(|&c| self.agents[c].as_ref().map(|a| a.group) == g) {
                    chain.push(i);
                }
            }
        }
        if chain.len() < 2 {
            return Ok(());
        }
        let j = self.rng.below(POOL_PAGES);
        let tag = 0x7a9_0000_0000_0000 | (self.op << 8) | j;
        insn::write_u64(OWN_POOL + j * 4096, tag);
        // Where each link holds the page: the first from the pager (a fuzz
        // page backed by pool page j), the others anywhere.
        let mut at: Vec<u64> = Vec::new();
        for k in 0..chain.len() {
            let a = if k == 0 {
                FUZZ + ((self.rng.below(FUZZ_SIZE >> 12) / POOL_PAGES * POOL_PAGES + j) << 12)
            } else {
                FUZZ + (self.rng.below(FUZZ_SIZE >> 12) << 12)
            };
            at.push(a.min(FUZZ + FUZZ_SIZE - 4096));
        }
        if at[0] % (POOL_PAGES << 12) != (j << 12) % (POOL_PAGES << 12) {
            return Ok(()); // clamped at the top: not pool page j
        }
        // Clear each link's address, then build the chain.
        for k in 0..chain.len() {
            let r = sys::unmap_in(self.id_of(chain[k]), Fpage::new(at[k], 12, Rights::NONE), Rights::RWX, true);
            if r.is_err() {
                return Ok(()); // the agent is gone
            }
        }
        let first = chain[0];
        match self.run(first, C_PROBE, &[at[0]], 200) {
            Some([v, ..]) => check!(v == tag, "{}", self.fail(format!("chain root read {v:#x}, want {tag:#x}"))),
            None => return Ok(()),
        }
        let mut grants = Vec::new();
        for k in 1..chain.len() {
            let (s, r) = (chain[k - 1], chain[k]);
            let grant = self.rng.chance(20);
            let rights = if self.rng.chance(50) { Rights::RW } else { Rights::R };
            let item = if grant {
                TypedItem::Grant { fpage: Fpage::new(at[k - 1], 12, rights), hotspot: at[k] }
            } else {
                TypedItem::Map { fpage: Fpage::new(at[k - 1], 12, rights), hotspot: at[k] }
            };
            let [w0, w1] = item.encode();
            let rid = self.id_of(r);
            let sid = self.id_of(s);
            let Some(rseq) = self.command(r, C_RECV, &[sid.0, Fpage::new(at[k], 12, Rights::RWX).0, 0, 0, 200_000])
            else {
                return Ok(());
            };
            let mut words = [0u64; 3 + PAYLOAD];
            words[..5].copy_from_slice(&[rid.0, 200_000, MsgTag::new(7, 0, 2).0, w0, w1]);
            let sent = self.run(s, C_SEND, &words, 500);
            let got = self.report(r, rseq, 500);
            let (Some([0, ..]), Some([0, ..])) = (sent, got) else {
                return Ok(()); // disturbed (an agent gone): no chain to check
            };
            let before = self.arm_probe(r, at[k]);
            match self.run(r, C_PROBE, &[at[k]], 200) {
                Some([v, ..]) => {
                    check!(
                        v == tag && !self.probe_faulted(r, before),
                        "{}",
                        self.fail(format!("chain link {k} read {v:#x} at {:#x}, want {tag:#x} without a fault", at[k]))
                    )
                }
                None => return Ok(()),
            }
            grants.push(grant);
            self.stats.chain_links += 1;
        }
        // A granted link is gone from the granter (it moved on).
        for k in 0..grants.len() {
            if grants[k] {
                let g = chain[k];
                let before = self.arm_probe(g, at[k]);
                if self.run(g, C_PROBE, &[at[k]], 200).is_some() {
                    check!(
                        self.probe_faulted(g, before),
                        "{}",
                        self.fail(format!("link {k} still had {:#x} after granting it", at[k]))
                    );
                }
            }
        }
        // Holders: the last link, and every link that mapped (not granted)
        // onwards; a grant moved the granter's mapping to the next link.
        let n = chain.len();
        let holders: Vec<usize> = (0..n).filter(|&k| k == n - 1 || !grants[k]).collect();
        // Revoke: at the root (this task's pool page: every holder loses
        // it), or at a random holder c: its space dies, or an unmap in its
        // space with or without its own mapping. Holders after c lose the
        // page; c keeps it only for an unmap without `own`.
        let (first_lost, how) = if self.rng.chance(25) {
            let r = sys::unmap(Fpage::new(OWN_POOL + j * 4096, 12, Rights::NONE), Rights::RWX, false);
            check!(r.is_ok(), "{}", self.fail(format!("pool unmap: {r:?}")));
            (0, "root unmap")
        } else {
            let c = holders[self.rng.below(holders.len() as u64) as usize];
            let id = self.id_of(chain[c]);
            match self.rng.below(3) {
                0 => {
                    let r = sys::space_delete(id);
                    check!(r.is_ok(), "{}", self.fail(format!("space delete in a chain: {r:?}")));
                    self.reap();
                    (c + 1, "space delete")
                }
                k => {
                    let own = k == 2;
                    let r = sys::unmap_in(id, Fpage::new(at[c], 12, Rights::NONE), Rights::R, own);
                    if r.is_err() {
                        return Ok(());
                    }
                    if own {
                        (c, "unmap own")
                    } else {
                        (c + 1, "unmap")
                    }
                }
            }
        };
        for &k in &holders {
            let c = chain[k];
            if self.agents[c].is_none() {
                continue;
            }
            let before = self.arm_probe(c, at[k]);
            let Some([v, ..]) = self.run(c, C_PROBE, &[at[k]], 200) else { continue };
            let faulted = self.probe_faulted(c, before);
            if k >= first_lost {
                check!(
                    faulted,
                    "{}",
                    self.fail(format!(
                        "chain of {n}, {how} before link {first_lost}: link {k} still reads {v:#x} at {:#x}",
                        at[k]
                    ))
                );
            } else {
                check!(
                    !faulted && v == tag,
                    "{}",
                    self.fail(format!(
                        "chain of {n}, {how} before link {first_lost}: link {k} lost its page (read {v:#x})"
                    ))
                );
            }
        }
        self.stats.chains += 1;
        Ok(())
    }

    fn op_exregs(&mut self) -> Result<(), String> {
        self.stats.exregs += 1;
        match self.rng.below(20) {
            0..=14 => {
                let Some(i) = self.pick() else { return Ok(()) };
                let a = self.agents[i].as_ref().expect("picked");
                let (id, top) = (a.id, a.stack.top());
                if self.rng.chance(5) {
                    // Derail it to `park` on its own stack; it is of no use after.
                    // (Deleted at once: its stack slot is reused.)
                    let _ = sys::exregs(id, exregs::SET_IP | exregs::SET_SP, park as usize as u64, top - 264, 0);
                    self.drop_agent(i, true);
                    return Ok(());
                }
                let mut ctl = 0;
                for bit in [exregs::ABORT_IPC, exregs::HALT, exregs::RESUME, exregs::SET_FLAGS] {
                    if self.rng.chance(35) {
                        ctl |= bit;
                    }
                }
                if self.rng.chance(5) {
                    ctl |= self.rng.next() & !0x3f;
                }
                // Arithmetic flags only (no trap flag: it would single-step the agent to its end).
                let flags = self.rng.next() & 0x8d5;
                let r = sys::exregs(id, ctl, 0, 0, flags);
                if r.err() == Some(Error::NotExist) {
                    self.drop_agent(i, false);
                } else if ctl & (exregs::HALT | exregs::RESUME) == exregs::HALT {
                    if let Some(a) = self.agents[i].as_mut() {
                        a.halted = true;
                    }
                }
            }
            15 | 16 => {
                // Query only; the pager may also lose its IPC (its client faults again).
                let t = self.infra[self.rng.below(4) as usize];
                let ctl = if t == self.pager && self.rng.chance(20) { exregs::ABORT_IPC } else { 0 };
                let r = sys::exregs(t, ctl, 0, 0, 0);
                check!(r.is_ok(), "{}", self.fail(format!("exregs on infrastructure thread {t}: {r:?}")));
            }
            _ => {
                let b = self.bogus();
                let r = sys::exregs(b, exregs::HALT | exregs::ABORT_IPC, 0, 0, 0);
                check!(r.err() == Some(Error::NotExist), "{}", self.fail(format!("exregs on bogus {b} gave {r:?}")));
                self.stats.stale_refused += 1;
            }
        }
        Ok(())
    }

    fn op_create(&mut self) -> Result<(), String> {
        if self.rng.chance(40) {
            // A second agent in an existing agent's space.
            let slot = (0..MAX_AGENTS).find(|&i| self.agents[i].is_none());
            if let (Some(slot), Some(host)) = (slot, self.pick()) {
                self.spawn(slot, Some(host));
            }
            return Ok(());
        }
        // A halted thread with random parameters.
        let space = match self.rng.below(4) {
            0 => ThreadId::NIL,
            1 => self.bogus(),
            _ => self.pick().map_or(ThreadId::NIL, |i| self.id_of(i)),
        };
        let pager = match self.rng.below(4) {
            0 => self.pager,
            1 => ThreadId::NIL,
            2 => self.bogus(),
            _ => self.pick().map_or(ThreadId::NIL, |i| self.id_of(i)),
        };
        let utcb = match self.rng.below(8) {
            0 => 0,
            1 => harness::CHILD_UTCB,
            2 => abi::KIP_ADDR,
            3 => 0xffff_ffff_8000_0000,
            4 => EXTRA_UTCB + self.rng.below(16) * 0x1000 + self.rng.below(2) * 8,
            5 => self.rng.next(),
            _ => EXTRA_UTCB + (16 + self.rng.below(240)) * 0x1000,
        };
        let flags = self.rng.below(256) | if self.rng.chance(10) { self.rng.next() & 0x1f00 & !(1 << 9) } else { 0 };
        match sys::thread_create(space, pager, ThreadId::NIL, utcb, flags) {
            Ok(t) => {
                self.stats.created += 1;
                if self.rng.chance(4) {
                    // Start it at address 0: it faults and is ended.
                    let _ = sys::exregs(t, exregs::RESUME, 0, 0, 0);
                }
                self.extras.push(t);
                if self.extras.len() > MAX_EXTRAS {
                    let old = self.extras.remove(0);
                    let _ = sys::space_delete(old);
                    self.remember_dead(old);
                }
            }
            Err(_) => self.stats.create_refused += 1,
        }
        self.reap();
        Ok(())
    }

    fn op_delete(&mut self) -> Result<(), String> {
        self.stats.deleted += 1;
        match self.rng.below(10) {
            0..=3 => {
                if let Some(i) = self.pick() {
                    let id = self.id_of(i);
                    let r = sys::thread_delete(id);
                    check!(r.is_ok(), "{}", self.fail(format!("deleting live agent {id}: {r:?}")));
                    self.drop_agent(i, false);
                }
            }
            4..=6 => {
                if let Some(i) = self.pick() {
                    let id = self.id_of(i);
                    let r = sys::space_delete(id);
                    check!(r.is_ok(), "{}", self.fail(format!("deleting the space of agent {id}: {r:?}")));
                    self.reap();
                }
            }
            7 if !self.extras.is_empty() => {
                let k = self.rng.below(self.extras.len() as u64) as usize;
                let t = self.extras.remove(k);
                let _ = if self.rng.chance(50) { sys::thread_delete(t) } else { sys::space_delete(t) };
                self.remember_dead(t);
                self.reap();
            }
            _ => {
                let b = self.bogus();
                let r = if self.rng.chance(50) { sys::thread_delete(b) } else { sys::space_delete(b) };
                check!(r == Err(Error::NotExist), "{}", self.fail(format!("deleting bogus {b} gave {r:?}")));
                self.stats.stale_refused += 1;
            }
        }
        Ok(())
    }

    fn step(&mut self) -> Result<(), String> {
        self.op += 1;
        self.stats.ops += 1;
        match self.rng.below(100) {
            0..=34 => self.op_ipc(),
            35..=46 => self.op_unmap_own(),
            47..=55 => self.op_unmap_other(),
            56..=58 => self.op_unmap_pool(),
            59..=66 => self.op_touch(),
            67..=71 => self.op_probe(),
            72..=79 => self.op_chain(),
            80..=87 => self.op_exregs(),
            88..=93 => self.op_create(),
            _ => self.op_delete(),
        }
    }

    /// Delete every agent and every thread the campaign created.
    fn teardown(&mut self) {
        for i in 0..MAX_AGENTS {
            if let Some(a) = &self.agents[i] {
                let _ = sys::space_delete(a.id);
            }
            self.drop_agent(i, false);
        }
        for t in core::mem::take(&mut self.extras) {
            let _ = sys::space_delete(t);
        }
    }
}

fn gauges() -> [u64; 5] {
    let c = sys::counters();
    [c.kmem_free_frames, c.mapping_nodes, c.live_threads, c.live_spaces, c.kmem_heap_used]
}

/// Heap growth the leak check tolerates: tables and the mapping database's
/// node chunks keep the capacity they grew to.
const HEAP_SLACK: u64 = 512 << 10;

/// The campaign: `ops` operations from `seed`.
pub fn fuzz_mem(ctx: &Ctx, ops: u64, seed: u64) -> Result<(), String> {
    // Everything this task itself will touch, touched now, so that its own
    // page tables and mappings do not grow during the campaign.
    let (lo, hi) = harness::image();
    insn::touch_range(lo, hi - lo, false);
    let root = rt::kip::kip().root_pager;
    let pool_pa = rt::pager::alloc(root, POOL_LOG2, OWN_POOL).map_err(|e| format!("pool: {e:?}"))?;
    insn::touch_range(OWN_POOL, POOL_PAGES * 4096, true);
    for v in [&FAULTS, &PAGER_KILLS, &HEARTBEAT] {
        v.store(0, Ordering::Relaxed);
    }
    let pager = ctx.spawn_local(fuzz_pager, 0, 210, ThreadId::NIL, 0);
    let hb = ctx.spawn_local(heartbeat, 0, 150, ThreadId::NIL, 0);
    harness::sleep_us(5_000);
    let start_gauges = gauges();
    let start = rt::kip::clock_us();
    let mut f = Fuzz {
        rng: Rng::new(seed),
        agents: Default::default(),
        next_group: 0,
        extras: Vec::new(),
        dead: Vec::new(),
        infra: [ctx.me, ctx.mirror, pager.id, hb.id],
        pager: pager.id,
        stats: Stats::default(),
        op: 0,
        seed,
        slow: if rt::kip::kip().cmdline_flag("kcheck") { 20 } else { 1 },
    };
    for i in 0..4 {
        f.spawn(i, None);
    }
    let mut last_beat = (start, 0u64);
    let mut result = Ok(());
    while f.op < ops {
        if let Err(e) = f.step() {
            result = Err(e);
            break;
        }
        if f.slow > 1 {
            // Under kcheck the kernel checks its mapping database and page
            // tables now (and panics if they disagree).
            sys::counters();
        }
        if f.op % 512 == 0 {
            let now = rt::kip::clock_us();
            let beats = HEARTBEAT.load(Ordering::Relaxed);
            if now - last_beat.0 > 50_000 {
                if beats == last_beat.1 {
                    result = Err(f.fail(format!(
                        "the heartbeat stopped at {beats} ({} ms without a beat)",
                        (now - last_beat.0) / 1000
                    )));
                    break;
                }
                last_beat = (now, beats);
            }
        }
        if f.op % 100_000 == 0 {
            let ms = (rt::kip::clock_us() - start) / 1000;
            rt::println!("ktest: fuzz_mem: {} ops in {ms} ms; {:?}", f.op, gauges());
        }
    }
    f.teardown();
    harness::sleep_us(20_000);
    let end_gauges = gauges();
    let ms = (rt::kip::clock_us() - start) / 1000;
    let beats = HEARTBEAT.load(Ordering::Relaxed);
    pager.kill();
    hb.kill();
    let _ = rt::pager::release(root, pool_pa, POOL_LOG2);
    let s = &f.stats;
    rt::println!(
        "ktest: fuzz_mem: {} ops (seed {seed}) in {ms} ms ({} ops/s); ipc {} ok {} failed, {} items; {} unmaps, \
         {} probes checked; {} chains ({} links); {} exregs; {} threads created, {} refused; {} deletes, {} stale \
         IDs refused; {} respawns, {} command retries, {} reports missed; {} faults served, {} threads ended by the pager; heartbeat {beats}",
        s.ops,
        s.ops * 1000 / ms.max(1),
        s.ipc_ok,
        s.ipc_err,
        s.items,
        s.unmaps,
        s.probes_checked,
        s.chains,
        s.chain_links,
        s.exregs,
        s.created,
        s.create_refused,
        s.deleted,
        s.stale_refused,
        s.respawns,
        s.send_retries,
        s.unresponsive,
        FAULTS.load(Ordering::Relaxed),
        PAGER_KILLS.load(Ordering::Relaxed),
    );
    rt::println!("ktest: fuzz_mem: send errors by code: {:?}", &s.ipc_errors[..10]);
    let names = ["free frames", "mapping nodes", "threads", "spaces", "heap bytes"];
    rt::println!(
        "ktest: fuzz_mem: leak check (before -> after): {}",
        names
            .iter()
            .zip(start_gauges.iter().zip(end_gauges.iter()))
            .map(|(n, (a, b))| format!("{n} {a} -> {b}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    result?;
    for k in 0..4 {
        check!(
            start_gauges[k] == end_gauges[k],
            "kernel memory leaked: {} {} before, {} after {} ops (seed {seed})",
            names[k],
            start_gauges[k],
            end_gauges[k],
            s.ops
        );
    }
    check!(
        end_gauges[4] <= start_gauges[4] + HEAP_SLACK,
        "kernel heap grew by {} bytes over {} ops (seed {seed})",
        end_gauges[4] - start_gauges[4],
        s.ops
    );
    check!(beats > 0, "the heartbeat never ran");
    check!(s.probes_checked > 0 || ops < 100, "no probe was checked");
    Ok(())
}
