//! IPC: rendezvous between spaces and within one, open and closed receive,
//! timeouts, cancellation, exception and Linux-syscall messages, IPC
//! restriction.

use crate::check;
use crate::harness::{self, main_id, report, report_from, Ctx};
use crate::insn;
use abi::error::RECEIVE_PHASE;
use abi::exception::{mr, reply, FRAME_WORDS};
use abi::msg::kind;
use abi::syscall::{self as sys, Msg};
use abi::sysno::{config, create, exregs};
use abi::{Error, MsgTag, ThreadId, Timeout, Timeouts};
use alloc::string::String;
use rt::ipc::{self, Message};
use rt::utcb::Utcb;

/// Echo server: replies to each message with label + 1 and every word + 1.
extern "C" fn echo_server(_: u64) -> ! {
    let mut r = sys::wait();
    loop {
        let tag = r.msg.tag;
        let mut m = Message::new(tag.label() + 1);
        for i in 1..=tag.untyped() {
            m.push(ipc::word(&r, i) + 1);
        }
        r = ipc::reply_and_wait(r.from, &m);
    }
}

fn pingpong_with(server: ThreadId, rounds: u64, words: usize) -> Result<(), String> {
    for i in 0..rounds {
        let mut m = Message::new(i);
        for w in 0..words as u64 {
            m.push(i * 100 + w);
        }
        let r = ipc::call(server, &m);
        check!(r.ok().is_ok(), "call {i} failed: {:?}", r.ok());
        check!(r.from == server, "reply from {} instead of {server}", r.from);
        check!(r.msg.tag.label() == i + 1 && r.msg.tag.untyped() == words, "round {i}: bad reply tag {:?}", r.msg.tag);
        for w in 0..words {
            let got = ipc::word(&r, w + 1);
            check!(got == i * 100 + w as u64 + 1, "round {i}: word {w} is {got}");
        }
    }
    Ok(())
}

pub fn pingpong(ctx: &Ctx) -> Result<(), String> {
    let before = sys::counters();
    let remote = ctx.spawn_space(echo_server, 0, 150, ctx.mirror, ThreadId::NIL);
    pingpong_with(remote.id, 1000, 6)?;
    let local = ctx.spawn_local(echo_server, 0, 150, ThreadId::NIL, 0);
    pingpong_with(local.id, 1000, 6)?;
    let after = sys::counters();
    // 4000 IPCs; only the first call to each server (not yet waiting) may
    // take the general path.
    let fast = after.ipc_fast - before.ipc_fast;
    check!(fast >= 3998, "fastpath not taken: {fast} fast IPCs of 4000");
    // Long messages (UTCB words) take the general path, both ways.
    pingpong_with(remote.id, 100, 20)?;
    pingpong_with(local.id, 100, 20)?;
    let later = sys::counters();
    check!(later.ipc_slow - after.ipc_slow >= 400, "long messages did not take the general path");
    remote.kill();
    local.kill();
    rt::println!("ktest: pingpong: 2000 register round trips between spaces and within one, 200 long ones");
    Ok(())
}

extern "C" fn call_with_index(i: u64) -> ! {
    let r = sys::call(main_id(), &Msg::new(7, &[i]));
    // The main thread answers each caller with its own index times ten.
    let ok = r.ok().is_ok() && r.msg.mr[0] == i * 10;
    report(main_id(), &[ok as u64]);
    rt::exit()
}

pub fn open_receive(ctx: &Ctx) -> Result<(), String> {
    let kids: alloc::vec::Vec<_> = (0..3).map(|i| ctx.spawn_local(call_with_index, i, 100, ThreadId::NIL, 0)).collect();
    let mut seen = [false; 3];
    for _ in 0..3 {
        let r = sys::ipc(
            ThreadId::NIL,
            ThreadId::ANY,
            Timeouts::new(Timeout::Never, Timeout::Micros(2_000_000)),
            &Msg::default(),
        );
        check!(r.ok().is_ok(), "open receive failed: {:?}", r.ok());
        check!(r.msg.tag.label() == 7, "unexpected label {}", r.msg.tag.label());
        let i = r.msg.mr[0] as usize;
        check!(i < 3 && !seen[i], "index {i} twice or out of range");
        check!(kids[i].id == r.from, "message {i} from {} not {}", r.from, kids[i].id);
        seen[i] = true;
    }
    // All three wait for their replies; answer in reverse order.
    for (i, k) in kids.iter().enumerate().rev() {
        let s = sys::send(k.id, &Msg::new(0, &[i as u64 * 10]), Timeouts::new(Timeout::Zero, Timeout::Never));
        check!(s.ok().is_ok(), "reply to {i} failed: {:?}", s.ok());
        let r = report_from(k.id, 2000).map_err(|e| alloc::format!("no report from {i}: {e:?}"))?;
        check!(r.msg.mr[0] == 1, "caller {i} got a wrong reply");
    }
    Ok(())
}

pub fn timeouts(_ctx: &Ctx) -> Result<(), String> {
    let me = Utcb::current().my_id();
    // Receive with a 50 ms timeout, nobody sends.
    let t0 = rt::kip::clock_us();
    let r =
        sys::ipc(ThreadId::NIL, ThreadId::ANY, Timeouts::new(Timeout::Never, Timeout::Micros(50_000)), &Msg::default());
    let waited = rt::kip::clock_us() - t0;
    check!(r.rax == Error::Timeout.code() | RECEIVE_PHASE, "receive timeout gave {:#x}", r.rax);
    check!((50_000..2_000_000).contains(&waited), "receive timeout after {waited} us");
    // Send to a thread that never receives (a halted one), 20 ms.
    let halted = sys::thread_create(me, ThreadId::NIL, ThreadId::NIL, 0, 100).map_err(|e| alloc::format!("{e:?}"))?;
    let t0 = rt::kip::clock_us();
    let r = sys::send(halted, &Msg::new(1, &[]), Timeouts::new(Timeout::Micros(20_000), Timeout::Never));
    let waited = rt::kip::clock_us() - t0;
    check!(r.rax == Error::Timeout.code(), "send timeout gave {:#x}", r.rax);
    check!(waited >= 20_000, "send timeout after {waited} us");
    // Zero timeouts fail at once.
    let r = sys::send(halted, &Msg::new(1, &[]), Timeouts::new(Timeout::Zero, Timeout::Never));
    check!(r.rax == Error::Timeout.code(), "zero send timeout gave {:#x}", r.rax);
    let r = sys::ipc(ThreadId::NIL, ThreadId::ANY, Timeouts::new(Timeout::Never, Timeout::Zero), &Msg::default());
    check!(r.rax == Error::Timeout.code() | RECEIVE_PHASE, "zero receive timeout gave {:#x}", r.rax);
    // IPC to a deleted thread: stale ID.
    sys::thread_delete(halted).map_err(|e| alloc::format!("{e:?}"))?;
    let r = sys::send(halted, &Msg::new(1, &[]), Timeouts::NEVER);
    check!(r.rax == Error::NotExist.code(), "IPC to a dead thread gave {:#x}", r.rax);
    Ok(())
}

extern "C" fn receive_then_report(_: u64) -> ! {
    let me = Utcb::current().my_id();
    // Wait for a message from ourselves: only cancellation ends this.
    let r = sys::ipc(ThreadId::NIL, me, Timeouts::NEVER, &Msg::default());
    report(main_id(), &[r.rax]);
    rt::exit()
}

pub fn exregs_cancel(ctx: &Ctx) -> Result<(), String> {
    let k = ctx.spawn_local(receive_then_report, 0, 100, ThreadId::NIL, 0);
    harness::sleep_us(10_000);
    let out = sys::exregs(k.id, exregs::ABORT_IPC, 0, 0, 0).map_err(|e| alloc::format!("exregs: {e:?}"))?;
    check!(out.state & exregs::OUT_IN_IPC != 0, "thread was not in IPC (state {:#x})", out.state);
    let r = report_from(k.id, 2000).map_err(|e| alloc::format!("no report: {e:?}"))?;
    check!(r.msg.mr[0] == Error::Canceled.code() | RECEIVE_PHASE, "cancelled receive returned {:#x}", r.msg.mr[0]);
    Ok(())
}

extern "C" fn do_ud2(_: u64) -> ! {
    let rax = insn::ud2();
    report(main_id(), &[rax]);
    rt::exit()
}

pub fn exception_ipc(ctx: &Ctx) -> Result<(), String> {
    let k = ctx.spawn_space(do_ud2, 0, 100, ctx.mirror, ctx.me);
    let r = report_from(k.id, 2000).map_err(|e| alloc::format!("no exception message: {e:?}"))?;
    let tag = r.msg.tag;
    check!(tag.kind() == kind::EXCEPTION && tag.detail() == 6, "expected #UD message, got {tag:?}");
    check!(tag.untyped() == abi::exception::EXCEPTION_WORDS, "exception message has {} words", tag.untyped());
    let mut mrs = [0u64; FRAME_WORDS + 1];
    for (i, m) in mrs.iter_mut().enumerate().skip(1) {
        *m = ipc::word(&r, i);
    }
    check!(ipc::word(&r, mr::VECTOR) == 6, "vector word");
    let rip = mrs[mr::RIP];
    check!(insn::read_u64(rip) & 0xffff == 0x0b0f, "RIP {rip:#x} does not point at ud2");
    // Skip the instruction and put a value in RAX.
    mrs[mr::RIP] = rip + 2;
    mrs[mr::RAX] = 0x1234_5678;
    let mut m = Message::new(reply::SET_FRAME);
    for &w in &mrs[1..] {
        m.push(w);
    }
    let r = ipc::send(k.id, &m, Timeouts::new(Timeout::Zero, Timeout::Never));
    check!(r.ok().is_ok(), "reply failed: {:?}", r.ok());
    let rep = report_from(k.id, 2000).map_err(|e| alloc::format!("no report after resume: {e:?}"))?;
    check!(rep.msg.mr[0] == 0x1234_5678, "resumed thread saw RAX {:#x}", rep.msg.mr[0]);
    k.kill();
    Ok(())
}

extern "C" fn linux_caller(_: u64) -> ! {
    let rax = insn::linux_syscall(39, [1, 2, 3, 4, 5, 6]);
    // Kernel syscalls still work for a Linux-personality thread.
    sys::kdebug_print("ktest: (a Linux-personality thread made a kernel call)\n");
    report(main_id(), &[rax]);
    rt::exit()
}

pub fn linux_syscall(ctx: &Ctx) -> Result<(), String> {
    let k = ctx.spawn_local(linux_caller, 0, 100, ctx.me, create::LINUX);
    let r = report_from(k.id, 2000).map_err(|e| alloc::format!("no syscall message: {e:?}"))?;
    let tag = r.msg.tag;
    check!(tag.kind() == kind::LINUX_SYSCALL && tag.detail() == 39, "expected Linux syscall 39, got {tag:?}");
    check!(r.msg.mr == [1, 2, 3, 4, 5, 6], "arguments {:?}", r.msg.mr);
    check!(ipc::word(&r, mr::RAX) == 39, "RAX word");
    let r = ipc::send(k.id, &Message::with(reply::SET_RAX, &[4242]), Timeouts::new(Timeout::Zero, Timeout::Never));
    check!(r.ok().is_ok(), "reply failed");
    let rep = report_from(k.id, 2000).map_err(|e| alloc::format!("no report: {e:?}"))?;
    check!(rep.msg.mr[0] == 4242, "syscall returned {}", rep.msg.mr[0]);
    Ok(())
}

extern "C" fn send_to(target: u64) -> ! {
    let r = sys::send(ThreadId(target), &Msg::new(3, &[]), Timeouts::new(Timeout::Micros(100_000), Timeout::Never));
    report(main_id(), &[r.rax]);
    rt::exit()
}

pub fn restriction(ctx: &Ctx) -> Result<(), String> {
    // A thread confined to our space may not send to another space.
    let other = ctx.spawn_space(echo_server, 0, 100, ctx.mirror, ThreadId::NIL);
    let me = Utcb::current().my_id();
    let k = ctx.spawn_local(send_to, other.id.0, 100, ThreadId::NIL, 0);
    // Configure before it runs: it is at lower priority than us.
    sys::thread_config(k.id, config::SEND_ONLY_TO_SPACE_OF, me.0).map_err(|e| alloc::format!("{e:?}"))?;
    let r = report_from(k.id, 2000).map_err(|e| alloc::format!("no report: {e:?}"))?;
    check!(r.msg.mr[0] == Error::NoPermission.code(), "restricted send gave {:#x}", r.msg.mr[0]);
    other.kill();
    let _ = MsgTag(0);
    Ok(())
}
