//! Host tests of the kernel as a state machine: threads issue syscalls by
//! setting registers in their frames, exactly as the entry code leaves them,
//! and the tests check states, registers and memory afterwards.

use crate::frame_alloc::FrameAllocator;
use crate::kernel::{Kernel, Machine};
use crate::phys::emulated::EmulatedMem;
use crate::phys::PhysMem;
use crate::thread::{FpuArea, MsgKind, RecvKind, State, SYSCALL_VECTOR};
use abi::error::{Error, RECEIVE_PHASE};
use abi::exception::{mr, reply};
use abi::msg::kind;
use abi::sysno::{self, create, exregs, thread_state};
use abi::utcb::offset;
use abi::{Fpage, MsgTag, Rights, ThreadId, Timeout, Timeouts, TypedItem};

#[derive(Default)]
pub struct FakeMachine {
    pub mem: EmulatedMem,
    pub console: Vec<u8>,
    pub masked: Vec<u32>,
    pub unmasked: Vec<u32>,
    pub shutdown: Option<u8>,
    pub low_memory: bool,
}

impl PhysMem for FakeMachine {
    fn read_u64(&self, pa: u64) -> u64 {
        self.mem.read_u64(pa)
    }
    fn write_u64(&mut self, pa: u64, v: u64) {
        self.mem.write_u64(pa, v)
    }
    fn read_bytes(&self, pa: u64, b: &mut [u8]) {
        self.mem.read_bytes(pa, b)
    }
    fn write_bytes(&mut self, pa: u64, d: &[u8]) {
        self.mem.write_bytes(pa, d)
    }
    fn copy(&mut self, d: u64, s: u64, n: usize) {
        self.mem.copy(d, s, n)
    }
    fn zero(&mut self, pa: u64, n: usize) {
        self.mem.zero(pa, n)
    }
}

impl Machine for FakeMachine {
    fn flush_page(&mut self, _space: &mut crate::space::Space, _va: u64) {}
    fn space_ended(&mut self, _sref: crate::thread::SpaceRef, _space: &crate::space::Space) {}
    fn irq_mask(&mut self, irq: u32) {
        self.masked.push(irq);
    }
    fn irq_unmask(&mut self, irq: u32) {
        self.unmasked.push(irq);
    }
    fn console_write(&mut self, b: &[u8]) {
        self.console.extend_from_slice(b);
    }
    fn shutdown(&mut self, code: u8) {
        self.shutdown = Some(code);
    }
    fn fpu_save(&mut self, _area: &mut FpuArea) {}
    fn kernel_memory_low(&self) -> bool {
        self.low_memory
    }
}

pub type K = Kernel<FakeMachine>;

pub fn kernel() -> K {
    let mut mach = FakeMachine::default();
    mach.mem.add_range(0x100000, 0x1000000);
    let mut frames = FrameAllocator::new();
    frames.add_range(0x100000, 0x1000000);
    let kroot = frames.alloc(&mut mach).unwrap();
    let kip = frames.alloc(&mut mach).unwrap();
    Kernel::new(mach, frames, kroot, kip, 1000)
}

const UTCB: u64 = 0x6000_0010_0000;

/// A started, privileged thread in a new space, with a UTCB.
pub fn spawn(k: &mut K, prio: u8) -> (u32, ThreadId) {
    let id = k.create_thread(None, ThreadId::NIL, ThreadId::NIL, UTCB, create::PRIVILEGED | prio as u64).unwrap();
    let slot = k.slot_of(id).unwrap();
    k.tcb_mut(slot).halted = false;
    k.wake(slot);
    (slot, id)
}

/// Another started thread in the space of `other`, with its own UTCB.
fn spawn_in(k: &mut K, other: u32, utcb: u64, prio: u8) -> (u32, ThreadId) {
    let space = k.tcb(other).space;
    let id = k.create_thread(Some(space), ThreadId::NIL, ThreadId::NIL, utcb, prio as u64).unwrap();
    let slot = k.slot_of(id).unwrap();
    k.wake(slot);
    (slot, id)
}

/// Make `slot` the running thread, as a scheduling decision would.
pub fn enter(k: &mut K, slot: u32) {
    assert_eq!(k.tcb(slot).state, State::Ready, "only a ready thread can run");
    k.switch_to(slot);
}

fn ipc(k: &mut K, slot: u32, to: ThreadId, from: ThreadId, ts: Timeouts, tag: MsgTag, mrs: [u64; 6]) {
    enter(k, slot);
    let f = &mut k.tcb_mut(slot).frame;
    f.rax = sysno::IPC;
    f.rdi = to.0;
    f.rsi = from.0;
    f.rdx = ts.encode();
    f.r8 = tag.0;
    f.set_reg_mrs(&mrs);
    k.handle_syscall();
}

pub(crate) fn raw_syscall(k: &mut K, slot: u32, nr: u64, args: [u64; 5]) -> u64 {
    enter(k, slot);
    let f = &mut k.tcb_mut(slot).frame;
    f.rax = nr;
    f.rdi = args[0];
    f.rsi = args[1];
    f.rdx = args[2];
    f.r8 = args[3];
    f.r9 = args[4];
    k.handle_syscall();
    k.tcb(slot).frame.rax
}

fn wait(k: &mut K, slot: u32, ts: Timeouts) {
    ipc(k, slot, ThreadId::NIL, ThreadId::ANY, ts, MsgTag(0), [0; 6]);
}

fn never() -> Timeouts {
    Timeouts::NEVER
}

#[test]
fn call_and_reply_between_spaces() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 100);
    wait(&mut k, server, never());
    assert!(matches!(k.tcb(server).state, State::Receiving { .. }));
    let tag = MsgTag::new(42, 3, 0);
    ipc(&mut k, client, sid, sid, never(), tag, [1, 2, 3, 0, 0, 0]);
    // The server got the message and runs; the client waits for the reply.
    assert_eq!(k.current, Some(server));
    let f = k.tcb(server).frame;
    assert_eq!((f.rax, f.rsi, f.r8, f.r9, f.r10, f.r12), (0, cid.0, tag.0, 1, 2, 3));
    assert_eq!(k.tcb(client).state, State::Receiving { from: sid, kind: RecvKind::Normal });
    assert_eq!(k.counters.ipc_fast, 1, "register-only call to a waiting server takes the fastpath");
    // Reply and wait again.
    let rtag = MsgTag::new(7, 1, 0);
    ipc(&mut k, server, cid, ThreadId::ANY, Timeouts::new(Timeout::Zero, Timeout::Never), rtag, [99, 0, 0, 0, 0, 0]);
    assert_eq!(k.current, Some(client));
    let f = k.tcb(client).frame;
    assert_eq!((f.rax, f.rsi, f.r8, f.r9), (0, sid.0, rtag.0, 99));
    assert_eq!(k.counters.ipc_fast, 2);
}

#[test]
fn long_messages_use_the_utcb_and_the_general_path() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (client, _) = spawn(&mut k, 100);
    wait(&mut k, server, never());
    let cu = k.tcb(client).utcb.unwrap();
    for i in 7..=20u64 {
        k.mach.write_u64(cu.frame + offset::MRS as u64 + 8 * i, 1000 + i);
    }
    ipc(&mut k, client, sid, sid, never(), MsgTag::new(1, 20, 0), [1, 2, 3, 4, 5, 6]);
    let su = k.tcb(server).utcb.unwrap();
    for i in 7..=20u64 {
        assert_eq!(k.mach.read_u64(su.frame + offset::MRS as u64 + 8 * i), 1000 + i);
    }
    assert_eq!(k.tcb(server).frame.r15, 6);
    assert_eq!(k.counters.ipc_fast, 0);
    assert_eq!(k.counters.ipc_slow, 2, "the server's receive and the long call");
}

#[test]
fn ipc_within_one_space() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let (b, _) = spawn_in(&mut k, a, UTCB + 0x1000, 100);
    wait(&mut k, a, never());
    ipc(&mut k, b, aid, aid, never(), MsgTag::new(5, 1, 0), [77, 0, 0, 0, 0, 0]);
    assert_eq!(k.current, Some(a));
    assert_eq!(k.tcb(a).frame.r9, 77);
}

#[test]
fn sender_queues_until_receiver_arrives() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (c1, c1id) = spawn(&mut k, 100);
    let (c2, _) = spawn(&mut k, 100);
    ipc(&mut k, c1, sid, ThreadId::NIL, never(), MsgTag::new(1, 1, 0), [11, 0, 0, 0, 0, 0]);
    ipc(&mut k, c2, sid, ThreadId::NIL, never(), MsgTag::new(1, 1, 0), [22, 0, 0, 0, 0, 0]);
    assert!(matches!(k.tcb(c1).state, State::Sending { .. }));
    assert_eq!(k.tcb(server).sendq.len, 2);
    wait(&mut k, server, never());
    assert_eq!(k.tcb(server).frame.r9, 11, "FIFO order");
    assert_eq!(k.tcb(server).frame.rsi, c1id.0);
    assert_eq!(k.tcb(c1).state, State::Ready);
    assert_eq!(k.tcb(c1).frame.rax, 0);
    wait(&mut k, server, never());
    assert_eq!(k.tcb(server).frame.r9, 22);
}

#[test]
fn closed_receive_takes_only_the_named_sender() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (c1, _) = spawn(&mut k, 100);
    let (c2, c2id) = spawn(&mut k, 100);
    ipc(&mut k, c1, sid, ThreadId::NIL, never(), MsgTag::new(1, 1, 0), [11, 0, 0, 0, 0, 0]);
    ipc(&mut k, c2, sid, ThreadId::NIL, never(), MsgTag::new(1, 1, 0), [22, 0, 0, 0, 0, 0]);
    ipc(&mut k, server, ThreadId::NIL, c2id, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(server).frame.r9, 22);
    assert!(matches!(k.tcb(c1).state, State::Sending { .. }), "c1 still queued");
}

#[test]
fn zero_and_relative_timeouts() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    let (_b, bid) = spawn(&mut k, 100);
    // Send with zero timeout to a thread that is not receiving.
    ipc(&mut k, a, bid, ThreadId::NIL, Timeouts::new(Timeout::Zero, Timeout::Never), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(a).frame.rax, Error::Timeout.code());
    assert_eq!(k.tcb(a).state, State::Ready);
    // Receive with zero timeout and nothing queued.
    ipc(&mut k, a, ThreadId::NIL, ThreadId::ANY, Timeouts::new(Timeout::Never, Timeout::Zero), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(a).frame.rax, Error::Timeout.code() | RECEIVE_PHASE);
    // Receive with a 2.5 ms timeout: still blocked after 2 ticks, woken by the 3rd.
    ipc(
        &mut k,
        a,
        ThreadId::NIL,
        ThreadId::ANY,
        Timeouts::new(Timeout::Never, Timeout::Micros(2500)),
        MsgTag(0),
        [0; 6],
    );
    k.handle_tick();
    k.handle_tick();
    assert!(matches!(k.tcb(a).state, State::Receiving { .. }));
    k.handle_tick();
    assert_eq!(k.tcb(a).state, State::Ready);
    assert_eq!(k.tcb(a).frame.rax, Error::Timeout.code() | RECEIVE_PHASE);
    // Send timeout: queued, then removed from the queue when it fires.
    ipc(&mut k, a, bid, ThreadId::NIL, Timeouts::new(Timeout::Micros(1000), Timeout::Never), MsgTag(0), [0; 6]);
    let b = k.slot_of(bid).unwrap();
    assert_eq!(k.tcb(b).sendq.len, 1);
    k.handle_tick();
    assert_eq!(k.tcb(a).frame.rax, Error::Timeout.code());
    assert_eq!(k.tcb(b).sendq.len, 0);
    assert!(k.timeouts.is_empty());
}

#[test]
fn exregs_cancels_a_blocked_ipc() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let (b, _) = spawn(&mut k, 100);
    wait(&mut k, a, never());
    let r = raw_syscall(&mut k, b, sysno::EXREGS, [aid.0, exregs::ABORT_IPC, 0, 0, 0]);
    assert_eq!(r, 0);
    assert_ne!(k.tcb(b).frame.rsi & exregs::OUT_IN_IPC, 0);
    assert_eq!(k.tcb(a).state, State::Ready);
    assert_eq!(k.tcb(a).frame.rax, Error::Canceled.code() | RECEIVE_PHASE);
}

#[test]
fn exregs_sets_ip_sp_and_halts_resumes() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let (b, _) = spawn(&mut k, 100);
    k.tcb_mut(a).frame.rip = 0x1000;
    let r = raw_syscall(
        &mut k,
        b,
        sysno::EXREGS,
        [aid.0, exregs::SET_IP | exregs::SET_SP | exregs::HALT, 0x4000, 0x8000, 0],
    );
    assert_eq!(r, 0);
    assert_eq!(k.tcb(b).frame.rdx, 0x1000, "old IP returned");
    assert_eq!((k.tcb(a).frame.rip, k.tcb(a).frame.rsp), (0x4000, 0x8000));
    assert_eq!(k.tcb(a).state, State::Inactive);
    assert!(!k.tcb(a).link.linked, "halted thread left the ready queue");
    raw_syscall(&mut k, b, sysno::EXREGS, [aid.0, exregs::RESUME, 0, 0, 0]);
    assert_eq!(k.tcb(a).state, State::Ready);
    // A non-canonical IP is refused.
    let r = raw_syscall(&mut k, b, sysno::EXREGS, [aid.0, exregs::SET_IP, 0x8000_0000_0000_0000, 0, 0]);
    assert_eq!(r, Error::InvalidArgument.code());
}

#[test]
fn exception_ipc_round_trip_rewrites_registers() {
    let mut k = kernel();
    let (handler, hid) = spawn(&mut k, 100);
    let (victim, vid) = spawn(&mut k, 100);
    k.tcb_mut(victim).exception_handler = hid;
    wait(&mut k, handler, never());
    enter(&mut k, victim);
    {
        let f = &mut k.tcb_mut(victim).frame;
        f.vector = 6; // #UD
        f.rip = 0x40_1000;
        f.rbx = 0x1234;
    }
    k.handle_exception(0);
    assert_eq!(k.current, Some(handler));
    let h = k.tcb(handler).frame;
    let tag = MsgTag(h.r8);
    assert_eq!((tag.kind(), tag.detail(), tag.untyped()), (kind::EXCEPTION, 6, abi::exception::EXCEPTION_WORDS));
    assert_eq!(h.rsi, vid.0);
    let hu = k.tcb(handler).utcb.unwrap();
    let mrv = |k: &K, i: usize| k.mach.read_u64(hu.frame + (offset::MRS + 8 * i) as u64);
    assert_eq!(mrv(&k, mr::RIP), 0x40_1000);
    assert_eq!(mrv(&k, mr::RBX), 0x1234);
    assert_eq!(mrv(&k, mr::VECTOR), 6);
    // Reply with a whole new frame: skip the faulting instruction, set RBX.
    for i in 1..=20 {
        let v = mrv(&k, i);
        k.mach.write_u64(hu.frame + (offset::MRS + 8 * i) as u64, v);
    }
    k.mach.write_u64(hu.frame + (offset::MRS + 8 * mr::RIP) as u64, 0x40_1002);
    k.mach.write_u64(hu.frame + (offset::MRS + 8 * mr::RBX) as u64, 0x5678);
    let rdi = h.r9; // MR1..MR6 are in registers: send them back unchanged
    let regs = [rdi, h.r10, h.r12, h.r13, h.r14, h.r15];
    ipc(
        &mut k,
        handler,
        vid,
        ThreadId::ANY,
        Timeouts::new(Timeout::Zero, Timeout::Never),
        MsgTag::new(reply::SET_FRAME, 20, 0),
        regs,
    );
    assert_eq!(k.current, Some(victim));
    assert_eq!(k.tcb(victim).frame.rip, 0x40_1002);
    assert_eq!(k.tcb(victim).frame.rbx, 0x5678);
}

#[test]
fn linux_threads_may_only_call_ipc_and_yield() {
    let mut k = kernel();
    let (_server, sid) = spawn(&mut k, 100);
    let (proc_, pid) = spawn(&mut k, 100);
    k.tcb_mut(proc_).linux = true;
    k.tcb_mut(proc_).exception_handler = sid;
    for (nr, args) in [
        (sysno::THREAD_DELETE, [pid.0, 0, 0, 0, 0]),
        (sysno::SPACE_DELETE, [pid.0, 0, 0, 0, 0]),
        (sysno::EXREGS, [pid.0, exregs::HALT, 0, 0, 0]),
        (sysno::UNMAP, [Fpage::complete(Rights::RWX).0, 7 | 8, 0, 0, 0]),
        (sysno::THREAD_STATE, [pid.0, 0, 0, 0, 0]),
        (sysno::KDEBUG_PRINT, [0, 0, 0, 0, 0]),
    ] {
        assert_eq!(raw_syscall(&mut k, proc_, nr, args), Error::NoPermission.code(), "call {nr:#x}");
        assert_eq!(k.slot_of(pid), Some(proc_), "still alive after {nr:#x}");
    }
    assert_eq!(raw_syscall(&mut k, proc_, sysno::YIELD, [0; 5]), 0);
    // IPC to its server still works (a send with a zero timeout to a
    // thread not waiting: Timeout, not NoPermission).
    assert_eq!(raw_syscall(&mut k, proc_, sysno::IPC, [sid.0, 0, 0, 0, 0]), Error::Timeout.code());
}

#[test]
fn linux_syscall_becomes_exception_message_and_reply_sets_rax() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (proc_, pid) = spawn(&mut k, 100);
    k.tcb_mut(proc_).linux = true;
    k.tcb_mut(proc_).exception_handler = sid;
    wait(&mut k, server, never());
    enter(&mut k, proc_);
    {
        let f = &mut k.tcb_mut(proc_).frame;
        f.rax = 39; // getpid
        f.rdi = 1;
        f.rsi = 2;
        f.rdx = 3;
        f.r10 = 4;
        f.r8 = 5;
        f.r9 = 6;
        f.rip = 0x40_2002;
    }
    k.handle_syscall();
    assert_eq!(k.current, Some(server));
    let s = k.tcb(server).frame;
    let tag = MsgTag(s.r8);
    assert_eq!((tag.kind(), tag.detail()), (kind::LINUX_SYSCALL, 39));
    assert_eq!([s.r9, s.r10, s.r12, s.r13, s.r14, s.r15], [1, 2, 3, 4, 5, 6], "args in MR1..MR6");
    assert_eq!(s.rsi, pid.0);
    assert_eq!(k.counters.linux_syscalls, 1);
    assert_eq!(k.tcb(proc_).frame.vector, SYSCALL_VECTOR);
    let fast = k.counters.ipc_fast;
    ipc(
        &mut k,
        server,
        pid,
        ThreadId::ANY,
        Timeouts::new(Timeout::Zero, Timeout::Never),
        MsgTag::new(reply::SET_RAX, 1, 0),
        [1234, 0, 0, 0, 0, 0],
    );
    assert_eq!(k.current, Some(proc_));
    assert_eq!(k.tcb(proc_).frame.rax, 1234);
    assert_eq!(k.tcb(proc_).frame.rip, 0x40_2002);
    assert_eq!(k.counters.ipc_fast, fast + 1, "a SET_RAX reply-and-wait takes the fastpath");
    assert_eq!(k.tcb(server).state, State::Receiving { from: ThreadId::ANY, kind: RecvKind::Normal });
    // Again, with a finite receive timeout (the server has timers armed):
    // still the fastpath, and the server's deadline is armed.
    enter(&mut k, proc_);
    k.tcb_mut(proc_).frame.rax = 110; // getppid
    k.handle_syscall();
    assert_eq!(k.current, Some(server));
    ipc(
        &mut k,
        server,
        pid,
        ThreadId::ANY,
        Timeouts::new(Timeout::Zero, Timeout::Micros(5_000)),
        MsgTag::new(reply::SET_RAX, 1, 0),
        [77, 0, 0, 0, 0, 0],
    );
    assert_eq!(k.current, Some(proc_));
    assert_eq!(k.tcb(proc_).frame.rax, 77);
    assert_eq!(k.counters.ipc_fast, fast + 2);
    assert!(k.tcb(server).deadline.is_some(), "the receive timeout is armed");
    // A kernel syscall number from a Linux thread is still the kernel's
    // (not a Linux syscall), and refused unless it is IPC or YIELD.
    let r = raw_syscall(&mut k, proc_, sysno::COUNTERS, [0, 0, 0, 0, 0]);
    assert_eq!(r, Error::NoPermission.code());
    assert_eq!(k.counters.linux_syscalls, 2, "getpid and getppid only");
}

#[test]
fn a_reply_waits_for_higher_priority_ready_work() {
    // The server answers a trapped syscall while a thread of higher
    // priority than the caller (a signal thread, say) is ready: the fastpath
    // must not run the caller first.
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 200);
    let (proc_, pid) = spawn(&mut k, 100);
    k.tcb_mut(proc_).linux = true;
    k.tcb_mut(proc_).exception_handler = sid;
    wait(&mut k, server, never());
    enter(&mut k, proc_);
    k.tcb_mut(proc_).frame.rax = 39;
    k.handle_syscall();
    assert_eq!(k.current, Some(server));
    let (other, _) = spawn(&mut k, 150);
    let fast = k.counters.ipc_fast;
    ipc(&mut k, server, pid, ThreadId::ANY, Timeouts::NEVER, MsgTag::new(reply::SET_RAX, 1, 0), [9, 0, 0, 0, 0, 0]);
    assert_eq!(k.counters.ipc_fast, fast, "the general path schedules");
    assert_eq!(k.current, Some(other), "the priority-150 thread runs before the caller");
    assert_eq!(k.tcb(proc_).frame.rax, 9);
    assert_eq!(k.tcb(proc_).state, State::Ready);
}

#[test]
fn native_thread_unknown_syscall_is_an_error() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    assert_eq!(raw_syscall(&mut k, a, 39, [0; 5]), Error::NoSyscall.code());
    assert_eq!(raw_syscall(&mut k, a, sysno::BASE + 0xfe, [0; 5]), Error::NoSyscall.code());
}

#[test]
fn aborting_a_trapped_syscall_restarts_it() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (p, pid) = spawn(&mut k, 100);
    k.tcb_mut(p).linux = true;
    k.tcb_mut(p).exception_handler = sid;
    enter(&mut k, p);
    k.tcb_mut(p).frame.rax = 0;
    k.tcb_mut(p).frame.rip = 0x1002;
    k.handle_syscall();
    assert!(matches!(k.tcb(p).state, State::Sending { kind: MsgKind::Exception, .. }));
    raw_syscall(&mut k, server, sysno::EXREGS, [pid.0, exregs::ABORT_IPC, 0, 0, 0]);
    assert_eq!(k.tcb(p).state, State::Ready);
    assert_eq!(k.tcb(p).frame.rip, 0x1000, "back at the syscall instruction");
    assert_eq!(k.tcb(p).frame.rax, 0, "syscall number untouched");
    assert_eq!(k.tcb(server).frame.rdx, 0x1000, "the reported RIP is the one after the abort");
}

/// What a signal thread does to a thread parked in a trapped syscall:
/// abort its IPC and divert it. The reported old RIP is where the aborted
/// call would go on — its `syscall` instruction — not the RIP after the
/// instruction the thread had in the IPC (the linux-server resumed such a
/// thread two bytes too far, in the middle of whatever followed).
#[test]
fn diverting_a_trapped_syscall_reports_its_syscall_instruction() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (p, pid) = spawn(&mut k, 100);
    k.tcb_mut(p).linux = true;
    k.tcb_mut(p).exception_handler = sid;
    // The server waits; the thread's syscall reaches it (receive phase).
    wait(&mut k, server, never());
    enter(&mut k, p);
    k.tcb_mut(p).frame.rax = 61;
    k.tcb_mut(p).frame.rip = 0x2002;
    k.handle_syscall();
    assert!(matches!(k.tcb(p).state, State::Receiving { .. }), "{:?}", k.tcb(p).state);
    let ctl = exregs::ABORT_IPC | exregs::SET_IP;
    raw_syscall(&mut k, server, sysno::EXREGS, [pid.0, ctl, 0x5000, 0, 0]);
    let f = k.tcb(server).frame;
    assert_eq!(f.rax, 0);
    assert_ne!(f.rsi & exregs::OUT_IN_IPC, 0, "it was in its IPC");
    assert_eq!(f.rdx, 0x2000, "old RIP: the syscall instruction, where the aborted call restarts");
    assert_eq!(k.tcb(p).frame.rip, 0x5000, "diverted");
    assert_eq!(k.tcb(p).frame.rax, 61, "syscall number untouched");
}

#[test]
fn unhandled_exception_ends_only_that_thread() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let (b, _) = spawn(&mut k, 100);
    enter(&mut k, a);
    k.tcb_mut(a).frame.vector = 13;
    k.handle_exception(0);
    assert!(k.slot_of(aid).is_none(), "killed thread is deleted");
    assert_eq!(k.current, Some(b), "the other thread runs on");
    assert_eq!(k.spaces.live(), 1, "its space went with it");
}

#[test]
fn stale_ids_are_rejected() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    let (b, bid) = spawn_in(&mut k, a, UTCB + 0x1000, 100);
    k.delete_thread(b);
    let (_c, cid) = spawn_in(&mut k, a, UTCB + 0x1000, 100);
    assert_eq!(cid.number(), bid.number(), "slot reused");
    ipc(&mut k, a, bid, ThreadId::NIL, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(a).frame.rax, Error::NotExist.code());
    let forged = ThreadId::new(bid.number() + 100, 1);
    ipc(&mut k, a, forged, ThreadId::NIL, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(a).frame.rax, Error::NotExist.code());
}

#[test]
fn deleting_a_partner_mid_ipc_reports_not_exist() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (c1, _) = spawn(&mut k, 100);
    let (c2, _) = spawn(&mut k, 100);
    // c2 called the waiting server and waits for the reply; c1 is queued.
    wait(&mut k, server, never());
    ipc(&mut k, c2, sid, sid, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(c2).state, State::Receiving { from: sid, kind: RecvKind::Normal });
    ipc(&mut k, c1, sid, ThreadId::NIL, never(), MsgTag(0), [0; 6]);
    assert!(matches!(k.tcb(c1).state, State::Sending { .. }));
    k.delete_thread(server);
    assert_eq!(k.tcb(c1).frame.rax, Error::NotExist.code());
    assert_eq!(k.tcb(c2).frame.rax, Error::NotExist.code() | RECEIVE_PHASE);
    assert_eq!(k.tcb(c1).state, State::Ready);
    assert_eq!(k.tcb(c2).state, State::Ready);
}

#[test]
fn map_item_through_ipc_and_recursive_unmap() {
    let mut k = kernel();
    let (pager, pid) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 100);
    // Give the pager a page as a master-space root.
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    k.mach.write_u64(frame, 0xfeed);
    let pspace = k.tcb(pager).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, pspace, 0x10_0000, frame, Rights::RWX).unwrap();
    }
    // The client accepts mappings in 0x40_0000.. (4 MiB window) and waits.
    let cu = k.tcb(client).utcb.unwrap();
    k.mach.write_u64(cu.frame + offset::ACCEPTOR as u64, Fpage::new(0x40_0000, 22, Rights::RWX).0);
    ipc(&mut k, client, ThreadId::NIL, pid, never(), MsgTag(0), [0; 6]);
    let item = TypedItem::Map { fpage: Fpage::new(0x10_0000, 12, Rights::RW), hotspot: 0x3000 }.encode();
    ipc(&mut k, pager, cid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [item[0], item[1], 0, 0, 0, 0]);
    assert_eq!(k.tcb(client).frame.rax, 0);
    let cspace = k.tcb(client).space;
    let pa = k.user_pa(cspace, 0x40_3008, true).expect("mapped at window base + hotspot");
    assert_eq!(pa, frame + 8);
    let mut b = [0u8; 8];
    k.copy_from_user(cspace, 0x40_3000, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b), 0xfeed);
    // Unmap write in the pager: the client keeps read access only.
    let r = raw_syscall(&mut k, pager, sysno::UNMAP, [Fpage::new(0x10_0000, 12, Rights::NONE).0, 2, 0, 0, 0]);
    assert_eq!(r, 0);
    assert!(k.user_pa(cspace, 0x40_3000, true).is_none());
    assert!(k.user_pa(cspace, 0x40_3000, false).is_some());
    // Full unmap.
    raw_syscall(&mut k, pager, sysno::UNMAP, [Fpage::new(0x10_0000, 12, Rights::NONE).0, 7, 0, 0, 0]);
    assert!(k.user_pa(cspace, 0x40_3000, false).is_none());
    assert!(k.user_pa(k.tcb(pager).space, 0x10_0000, false).is_some(), "own mapping kept");
}

#[test]
fn privileged_unmap_in_another_space_takes_only_its_mapping() {
    let mut k = kernel();
    let (server, _) = spawn(&mut k, 100);
    let (a, aid) = spawn(&mut k, 100);
    let (b, _) = spawn(&mut k, 100);
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let (ss, sa, sb) = (k.tcb(server).space.slot, k.tcb(a).space.slot, k.tcb(b).space.slot);
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, ss, 0x10_0000, frame, Rights::RW).unwrap();
        db.map(&mut mmu, (ss, 0x10_0000), (sa, 0x40_0000), Rights::RW, false).unwrap();
        db.map(&mut mmu, (ss, 0x10_0000), (sb, 0x40_0000), Rights::RW, false).unwrap();
    }
    // Take write access from A's mapping only.
    let fp = Fpage::new(0x40_0000, 12, Rights::NONE).0;
    assert_eq!(raw_syscall(&mut k, server, sysno::UNMAP, [fp, 2 | sysno::unmap::OWN, aid.0, 0, 0]), 0);
    assert!(k.user_pa(k.tcb(a).space, 0x40_0000, true).is_none());
    assert!(k.user_pa(k.tcb(a).space, 0x40_0000, false).is_some());
    assert!(k.user_pa(k.tcb(b).space, 0x40_0000, true).is_some(), "B keeps its mapping");
    // Unprivileged threads may not name another space.
    let u = k.create_thread(None, ThreadId::NIL, ThreadId::NIL, UTCB, 100).unwrap();
    let us = k.slot_of(u).unwrap();
    k.wake(us);
    assert_eq!(
        raw_syscall(&mut k, us, sysno::UNMAP, [fp, 7 | sysno::unmap::OWN, aid.0, 0, 0]),
        Error::NoPermission.code()
    );
}

#[test]
fn map_item_without_window_maps_nothing() {
    let mut k = kernel();
    let (pager, pid) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 100);
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let pspace = k.tcb(pager).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, pspace, 0x10_0000, frame, Rights::RWX).unwrap();
    }
    ipc(&mut k, client, ThreadId::NIL, pid, never(), MsgTag(0), [0; 6]);
    let item = TypedItem::Map { fpage: Fpage::new(0x10_0000, 12, Rights::RW), hotspot: 0x10_0000 }.encode();
    ipc(&mut k, pager, cid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [item[0], item[1], 0, 0, 0, 0]);
    assert!(k.user_pa(k.tcb(client).space, 0x10_0000, false).is_none());
}

#[test]
fn string_item_copies_and_bad_buffers_fail() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let (b, bid) = spawn(&mut k, 100);
    // Give both a data page (as roots: this test only needs the page tables).
    for (s, va) in [(a, 0x20_0000u64), (b, 0x30_0000u64)] {
        let f = k.frames.alloc(&mut k.mach).unwrap();
        let sp = k.tcb(s).space.slot;
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, sp, va, f, Rights::RW).unwrap();
    }
    let aspace = k.tcb(a).space;
    k.copy_to_user(aspace, 0x20_0000, b"hello, string item").unwrap();
    let bu = k.tcb(b).utcb.unwrap();
    k.mach.write_u64(bu.frame + offset::STRING_BUF_ADDR as u64, 0x30_0100);
    k.mach.write_u64(bu.frame + offset::STRING_BUF_LEN as u64, 64);
    ipc(&mut k, b, ThreadId::NIL, aid, never(), MsgTag(0), [0; 6]);
    let item = TypedItem::String { addr: 0x20_0000, len: 18 }.encode();
    ipc(&mut k, a, bid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [item[0], item[1], 0, 0, 0, 0]);
    assert_eq!(k.tcb(a).frame.rax, 0);
    let mut got = [0u8; 18];
    k.copy_from_user(k.tcb(b).space, 0x30_0100, &mut got).unwrap();
    assert_eq!(&got, b"hello, string item");
    assert_eq!(k.mach.read_u64(bu.frame + offset::STRING_RECEIVED as u64), 18);
    // A wild source pointer: both sides see the error, nobody faults.
    ipc(&mut k, b, ThreadId::NIL, aid, never(), MsgTag(0), [0; 6]);
    let bad = TypedItem::String { addr: 0xffff_ffff_8000_0000, len: 8 }.encode();
    ipc(&mut k, a, bid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [bad[0], bad[1], 0, 0, 0, 0]);
    assert_eq!(k.tcb(a).frame.rax, Error::XferFault.code());
    assert_eq!(k.tcb(b).frame.rax, Error::XferFault.code() | RECEIVE_PHASE);
    // Too long for the buffer.
    ipc(&mut k, b, ThreadId::NIL, aid, never(), MsgTag(0), [0; 6]);
    let long = TypedItem::String { addr: 0x20_0000, len: 65 }.encode();
    ipc(&mut k, a, bid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [long[0], long[1], 0, 0, 0, 0]);
    assert_eq!(k.tcb(a).frame.rax, Error::MsgOverflow.code());
}

#[test]
fn page_fault_goes_to_pager_and_reply_maps() {
    let mut k = kernel();
    let (pager, pid) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 100);
    k.tcb_mut(client).pager = pid;
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let pspace = k.tcb(pager).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, pspace, 0x50_0000, frame, Rights::RW).unwrap();
    }
    wait(&mut k, pager, never());
    enter(&mut k, client);
    k.tcb_mut(client).frame.vector = 14;
    k.tcb_mut(client).frame.error = 0x6; // user write, not present
    k.tcb_mut(client).frame.rip = 0x40_0000;
    k.handle_exception(0x1234_5678);
    let p = k.tcb(pager).frame;
    let tag = MsgTag(p.r8);
    assert_eq!((tag.kind(), tag.detail()), (kind::PAGE_FAULT, Rights::W.bits() as u32));
    assert_eq!((p.r9, p.r10), (0x1234_5678, 0x40_0000));
    let item = TypedItem::Map { fpage: Fpage::new(0x50_0000, 12, Rights::RW), hotspot: 0x1234_5000 }.encode();
    ipc(
        &mut k,
        pager,
        cid,
        ThreadId::ANY,
        Timeouts::new(Timeout::Zero, Timeout::Never),
        MsgTag::new(0, 0, 2),
        [item[0], item[1], 0, 0, 0, 0],
    );
    assert_eq!(k.current, Some(client));
    assert_eq!(k.user_pa(k.tcb(client).space, 0x1234_5678, true), Some(frame + 0x678));
}

#[test]
fn fault_with_no_pager_ends_the_thread() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    enter(&mut k, a);
    k.tcb_mut(a).frame.vector = 14;
    k.handle_exception(0x1000);
    assert!(k.slot_of(aid).is_none());
    assert_eq!(k.current, None, "nothing left to run: idle");
}

#[test]
fn interrupts_arrive_as_messages_and_reply_unmasks() {
    let mut k = kernel();
    let (drv, did) = spawn(&mut k, 200);
    assert_eq!(raw_syscall(&mut k, drv, sysno::IRQ_CONTROL, [4, sysno::irq::ATTACH, did.0, 0, 0]), 0);
    assert_eq!(k.mach.unmasked, vec![4]);
    // IRQ before the driver waits: pending, delivered on its next receive.
    k.handle_irq(4);
    assert_ne!(k.irq_pending & (1 << 4), 0);
    wait(&mut k, drv, never());
    let f = k.tcb(drv).frame;
    assert_eq!(ThreadId(f.rsi), ThreadId::irq(4));
    assert_eq!(MsgTag(f.r8).kind(), kind::IRQ);
    // Reply to the IRQ and wait: the line is unmasked again.
    ipc(&mut k, drv, ThreadId::irq(4), ThreadId::ANY, Timeouts::new(Timeout::Zero, Timeout::Never), MsgTag(0), [0; 6]);
    assert_eq!(k.mach.unmasked, vec![4, 4]);
    assert!(matches!(k.tcb(drv).state, State::Receiving { .. }));
    // IRQ while waiting: delivered at once.
    k.handle_irq(4);
    assert_eq!(k.current, Some(drv));
    // Lines 0 and 2 are the kernel's; others need privilege.
    assert_eq!(
        raw_syscall(&mut k, drv, sysno::IRQ_CONTROL, [0, sysno::irq::ATTACH, did.0, 0, 0]),
        Error::InvalidArgument.code()
    );
}

#[test]
fn preemption_round_robin_and_priorities() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    let (b, _) = spawn(&mut k, 100);
    k.current = None;
    k.schedule();
    let first = k.current.unwrap();
    let other = if first == a { b } else { a };
    // A 10 ms timeslice is 10 ticks.
    for _ in 0..9 {
        k.handle_tick();
        assert_eq!(k.current, Some(first));
    }
    k.handle_tick();
    assert_eq!(k.current, Some(other), "timeslice over: round robin");
    // A higher-priority thread becoming ready runs first.
    let (hi, _) = spawn(&mut k, 150);
    k.schedule();
    assert_eq!(k.current, Some(hi));
    for _ in 0..50 {
        k.handle_tick();
        assert_eq!(k.current, Some(hi), "lower priorities never preempt");
    }
}

#[test]
fn restricted_thread_may_send_only_to_its_server() {
    let mut k = kernel();
    let (server, sid) = spawn(&mut k, 100);
    let (other, oid) = spawn(&mut k, 100);
    let (p, _) = spawn(&mut k, 100);
    k.tcb_mut(p).send_only_to = Some(k.tcb(server).space);
    wait(&mut k, other, never());
    ipc(&mut k, p, oid, ThreadId::NIL, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(p).frame.rax, Error::NoPermission.code());
    // A call in the fastpath's shape is refused just the same.
    ipc(&mut k, p, oid, oid, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.tcb(p).frame.rax, Error::NoPermission.code());
    assert_eq!(k.tcb(other).state, State::Receiving { from: ThreadId::ANY, kind: RecvKind::Normal });
    wait(&mut k, server, never());
    let fast = k.counters.ipc_fast;
    ipc(&mut k, p, sid, sid, never(), MsgTag(0), [0; 6]);
    assert_eq!(k.current, Some(server), "calling the server works");
    assert_eq!(k.counters.ipc_fast, fast + 1, "and takes the fastpath (the libc shim's calls)");
}

#[test]
fn unprivileged_spaces_cannot_create_threads_or_shut_down() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    let (b, _) = spawn_in(&mut k, a, UTCB + 0x1000, 100);
    let unpriv = k.create_thread(None, ThreadId::NIL, ThreadId::NIL, UTCB, 100).unwrap();
    let u = k.slot_of(unpriv).unwrap();
    k.wake(u);
    assert_eq!(raw_syscall(&mut k, u, sysno::THREAD_CREATE, [0; 5]), Error::NoPermission.code());
    assert_eq!(raw_syscall(&mut k, u, sysno::SHUTDOWN, [3, 0, 0, 0, 0]), Error::NoPermission.code());
    assert_eq!(k.mach.shutdown, None);
    let _ = b;
    assert_eq!(raw_syscall(&mut k, a, sysno::SHUTDOWN, [3, 0, 0, 0, 0]), 0);
    assert_eq!(k.mach.shutdown, Some(3));
}

#[test]
fn low_kernel_memory_refuses_growth_instead_of_failing_allocations() {
    let mut k = kernel();
    let (a, aid) = spawn(&mut k, 100);
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let sa = k.tcb(a).space.slot;
    k.mach.low_memory = true;
    {
        let (db, mut mmu) = k.mmu();
        assert_eq!(db.insert_root(&mut mmu, sa, 0x1000, frame, Rights::RW), Err(crate::mapdb::MapFail::NoMemory));
        assert_eq!(db.len(), 0, "nothing half-made is left behind");
        db.check_invariants().unwrap();
    }
    assert_eq!(k.create_thread(None, ThreadId::NIL, ThreadId::NIL, 0, 100), Err(Error::NoMemory));
    assert_eq!(k.create_thread(Some(k.tcb(a).space), ThreadId::NIL, ThreadId::NIL, 0, 100), Err(Error::NoMemory));
    k.mach.low_memory = false;
    let (db, mut mmu) = k.mmu();
    db.insert_root(&mut mmu, sa, 0x1000, frame, Rights::RW).unwrap();
    let _ = aid;
}

#[test]
fn space_deletion_returns_kernel_memory() {
    let mut k = kernel();
    let (a, _) = spawn(&mut k, 100);
    let before = k.frames.free_frames();
    let (b, _) = spawn(&mut k, 100);
    let (_b2, _) = spawn_in(&mut k, b, UTCB + 0x1000, 100);
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let sp = k.tcb(b).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        for i in 0..100 {
            db.insert_root(&mut mmu, sp, 0x1000_0000 + i * 0x1000, frame, Rights::RW).unwrap();
        }
    }
    k.frames.free(&mut k.mach, frame);
    k.delete_space_of(b);
    assert_eq!(k.frames.free_frames(), before, "all page tables, UTCBs freed");
    assert_eq!(k.mapdb.len(), 0);
    assert_eq!(k.spaces.live(), 1);
    let _ = a;
}

#[test]
fn random_syscalls_never_break_the_kernel() {
    // Seeded random syscalls with random arguments from several threads; the
    // kernel must neither panic nor leave its queues inconsistent.
    let mut k = kernel();
    let mut ids = vec![];
    for _ in 0..4 {
        ids.push(spawn(&mut k, 100).1);
    }
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..20_000 {
        if k.current.is_none() {
            k.schedule();
        }
        let Some(cur) = k.current else {
            // Everyone blocked: time passes, or restart a thread.
            k.handle_tick();
            if k.current.is_none() {
                let id = ids[(rnd() % ids.len() as u64) as usize];
                if let Some(s) = k.slot_of(id) {
                    if k.tcb(s).state.in_ipc() {
                        k.abort_ipc(s);
                    }
                }
                if k.current.is_none() && k.ready.is_empty() {
                    ids.push(spawn(&mut k, 100).1);
                }
            }
            continue;
        };
        let pick = |r: u64, ids: &Vec<ThreadId>| -> u64 {
            match r % 6 {
                0 => ids[(r / 7 % ids.len() as u64) as usize].0,
                1 => ThreadId::ANY.0,
                2 => 0,
                3 => ThreadId::irq((r % 20) as u32).0,
                _ => r,
            }
        };
        let nr = match rnd() % 4 {
            0 => sysno::IPC,
            1 => sysno::BASE + rnd() % 16,
            2 => rnd(),
            _ => sysno::EXREGS,
        };
        // Keep a thread from deleting everyone: avoid shutdown-free deletes of all.
        let f = &mut k.tcb_mut(cur).frame;
        f.rax = nr;
        f.rdi = pick(rnd(), &ids);
        f.rsi = pick(rnd(), &ids);
        f.rdx =
            if rnd() % 2 == 0 { rnd() } else { Timeouts::new(Timeout::Micros(100), Timeout::Micros(3000)).encode() };
        f.r8 = rnd() & 0xffff_ffff_ffff_0fff;
        f.r9 = rnd();
        f.r10 = rnd();
        k.handle_syscall();
        if i % 50 == 0 {
            k.handle_tick();
        }
        assert!(k.mapdb.check_invariants().is_ok());
    }
    assert!(k.counters.syscalls >= 10_000, "the campaign really ran ({} syscalls)", k.counters.syscalls);
}

#[test]
fn restart_regs_replaces_a_callers_registers_and_abandons_its_ipc() {
    let mut k = kernel();
    let (server, _) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 50);
    let f = k.frames.alloc(&mut k.mach).unwrap();
    let sp = k.tcb(server).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, sp, 0x20_0000, f, Rights::RW).unwrap();
    }
    wait(&mut k, server, never());
    let sid = k.tcb(server).id;
    ipc(&mut k, client, sid, sid, never(), MsgTag::new(1, 1, 0), [5, 0, 0, 0, 0, 0]);
    assert_eq!(k.current, Some(server));
    assert!(k.tcb(client).state.in_ipc(), "the client waits for the reply");
    let regs = abi::exception::UserRegs { rax: 77, rip: 0x40_1000, rsp: 0x7000_0000, r9: 9, ..Default::default() };
    let mut mrs = [0u64; abi::exception::FRAME_WORDS + 1];
    regs.to_mrs(&mut mrs);
    let bytes: alloc::vec::Vec<u8> = mrs[1..].iter().flat_map(|w| w.to_le_bytes()).collect();
    let space = k.tcb(server).space;
    k.copy_to_user(space, 0x20_0000, &bytes).unwrap();
    let len = bytes.len() as u64;
    // A non-canonical RIP is refused and leaves the client in its IPC.
    let mut bad = bytes.clone();
    bad[7 * 8..8 * 8].copy_from_slice(&0x8000_0000_0000_0000u64.to_le_bytes());
    k.copy_to_user(space, 0x20_1000 - bad.len() as u64, &bad).unwrap();
    let r =
        raw_syscall(&mut k, server, sysno::THREAD_STATE, [cid.0, thread_state::RESTART_REGS, 0x20_1000 - len, len, 0]);
    assert_eq!(r, Error::InvalidArgument.code());
    assert!(k.tcb(client).state.in_ipc());
    let r = raw_syscall(&mut k, server, sysno::THREAD_STATE, [cid.0, thread_state::RESTART_REGS, 0x20_0000, len, 0]);
    assert_eq!(r, 0);
    let c = k.tcb(client);
    assert_eq!(c.state, State::Ready, "the IPC is abandoned and the client runs again");
    assert_eq!(
        (c.frame.rax, c.frame.rip, c.frame.rsp, c.frame.r9),
        (77, 0x40_1000, 0x7000_0000, 9),
        "no Canceled code"
    );
}

/// `check_memory` (the `kcheck` self-check) accepts what map IPC and
/// unmap leave behind, and catches a page-table entry removed, made
/// writable or added behind the mapping database's back.
#[test]
fn memory_self_check_accepts_real_state_and_catches_corruption() {
    let mut k = kernel();
    let (pager, pid) = spawn(&mut k, 100);
    let (client, cid) = spawn(&mut k, 100);
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    let pspace = k.tcb(pager).space.slot;
    {
        let (db, mut mmu) = k.mmu();
        db.insert_root(&mut mmu, pspace, 0x10_0000, frame, Rights::RWX).unwrap();
    }
    assert_eq!(k.check_memory(), Ok(()));
    let cu = k.tcb(client).utcb.unwrap();
    k.mach.write_u64(cu.frame + offset::ACCEPTOR as u64, Fpage::new(0x40_0000, 22, Rights::RWX).0);
    ipc(&mut k, client, ThreadId::NIL, pid, never(), MsgTag(0), [0; 6]);
    let item = TypedItem::Map { fpage: Fpage::new(0x10_0000, 12, Rights::RW), hotspot: 0x3000 }.encode();
    ipc(&mut k, pager, cid, ThreadId::NIL, never(), MsgTag::new(0, 0, 2), [item[0], item[1], 0, 0, 0, 0]);
    assert_eq!(k.tcb(client).frame.rax, 0);
    raw_syscall(&mut k, pager, sysno::UNMAP, [Fpage::new(0x10_0000, 12, Rights::NONE).0, 2, 0, 0, 0]);
    assert_eq!(k.check_memory(), Ok(()), "after map and a write revocation");
    // An entry removed behind the database's back.
    let croot = k.spaces.get(k.tcb(client).space.slot).unwrap().root;
    let leaf = crate::paging::walk(&k.mach, croot, 0x40_3000).expect("mapped");
    k.mach.write_u64(leaf.entry_pa, 0);
    assert_eq!(k.check_memory(), Err("a mapping without a page-table entry"));
    // Restored, but writable where the mapping is read-only.
    k.mach.write_u64(leaf.entry_pa, leaf.pte.0 | 2);
    assert_eq!(k.check_memory(), Err("a page-table entry's write right differs from its mapping's"));
    k.mach.write_u64(leaf.entry_pa, leaf.pte.0);
    assert_eq!(k.check_memory(), Ok(()));
    // A stray user entry nobody mapped.
    let stray = k.frames.alloc(&mut k.mach).unwrap();
    let attrs = crate::paging::Attrs { user: true, writable: true, executable: false, global: false, pkey: 0 };
    let frames = &mut k.frames;
    crate::paging::map(&mut k.mach, croot, 0x50_0000, stray, crate::paging::PageSize::Size4K, attrs, &mut |m| {
        frames.alloc(m)
    })
    .unwrap();
    assert_eq!(k.check_memory(), Err("a user page-table entry without a mapping"));
}
