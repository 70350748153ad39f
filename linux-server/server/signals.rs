//! Signals: generation, the pending sets, default actions, job-control
//! stops, and delivery to handlers.
//!
//! Delivery needs the target thread's full register state in the server. A
//! thread parked in a syscall is already here: its syscall is interrupted
//! (EINTR, or restarted under SA_RESTART) and the handler frame is built on
//! the spot. A thread running user code is brought here L4Linux's way: the
//! server asks its space's signal thread (trampoline.rs) to divert it; the
//! thread then traps at the stub with all its registers, the signal thread
//! reports where it was, and the two meet in `divert_arrived`/`divert_report`
//! (in either order). Linux checks for signals whenever it returns to user
//! mode; the server does the same whenever it answers a syscall
//! (`finish_syscall`), which is also when a handler's frame is built for a
//! signal that became deliverable during the call.
//!
//! While a thread is being diverted (or its process is stopped) an answer to
//! its parked syscall is held back, not sent: the diversion may have just
//! aborted that very IPC, and the held answer then becomes part of the
//! context the handler returns to.

use crate::kthread;
use crate::process::{ChildEvent, Pid, Tid, Wait, SIG_DFL, SIG_IGN};
use crate::server::{Reply, Server};
use crate::trampoline;
use abi::exception::UserRegs;
use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::entry::Entry;
use linux_server::linux::errno::*;
use linux_server::linux::signal::*;
use linux_server::linux::sysno as nr;
use linux_server::signal::action::{blocked_during_handler, SA_NOCLDSTOP, SA_RESTART};
use linux_server::signal::info::{CLD_CONTINUED, CLD_STOPPED, SI_KERNEL};
use linux_server::signal::{default_action, AltStack, DefaultAction, Delivery, SigInfo, SigSet};

/// Signals waiting for delivery: the set, and each pending instance's
/// siginfo (a standard signal is pending at most once; realtime ones queue).
#[derive(Clone, Default, Debug)]
pub struct Pending {
    pub set: u64,
    pub queue: Vec<SigInfo>,
}

/// Most queued realtime signals per process (RLIMIT_SIGPENDING's default).
const MAX_QUEUED: usize = crate::process::DEFAULT_NPROC as usize;

impl Pending {
    fn add(&mut self, sig: u32, info: SigInfo) -> bool {
        let bit = 1u64 << (sig - 1);
        if sig < 32 && self.set & bit != 0 {
            return false; // standard signals do not queue
        }
        if self.queue.len() >= MAX_QUEUED && sig >= 32 {
            return false;
        }
        self.set |= bit;
        self.queue.push(info);
        true
    }

    /// Take the first pending instance of `sig`.
    pub fn take_signal(&mut self, sig: u32) -> Option<SigInfo> {
        let i = self.queue.iter().position(|q| q.signo == sig as i32)?;
        let info = self.queue.remove(i);
        if !self.queue.iter().any(|q| q.signo == sig as i32) {
            self.set &= !(1u64 << (sig - 1));
        }
        Some(info)
    }

    /// Forget every pending instance of the signals in `mask`.
    fn flush(&mut self, mask: u64) {
        self.set &= !mask;
        self.queue.retain(|q| mask & (1u64 << (q.signo as u32 - 1)) == 0);
    }
}

/// Where the signal path is with a thread.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub enum Divert {
    /// Nothing under way.
    #[default]
    Idle,
    /// The signal thread was asked to divert it (or will be: queued).
    Requested,
    /// The signal thread reported its old RIP, and whether it was in an IPC
    /// (then the IPC was aborted); the thread's trap is still to come.
    Reported { rip: u64, in_ipc: bool },
    /// The thread trapped at the stub; the report is still to come.
    Arrived { regs: UserRegs },
}

/// An answer held back (see the module docs).
#[derive(Clone, Copy, Debug)]
pub enum Held {
    Value(u64),
    Regs(UserRegs),
}

fn bit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

const STOP_SIGNALS: u64 = (1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1));

/// The syscalls a handler interrupts with EINTR even under SA_RESTART
/// (Linux returns ERESTARTNOHAND or ERESTART_RESTARTBLOCK for them).
fn never_restarted(nr: u64) -> bool {
    matches!(
        nr,
        nr::POLL
            | nr::PPOLL
            | nr::SELECT
            | nr::PSELECT6
            | nr::NANOSLEEP
            | nr::CLOCK_NANOSLEEP
            | nr::PAUSE
            | nr::RT_SIGSUSPEND
            | nr::RT_SIGTIMEDWAIT
    )
}

impl Server {
    // ---- generation -------------------------------------------------------

    /// Whether `sig` sent to process `pid` would be thrown away at once
    /// (ignored, and not blocked by its threads).
    fn discarded(&self, pid: Pid, sig: u32) -> bool {
        let p = &self.procs[&pid];
        if !p.sigactions[sig as usize - 1].ignores(sig) {
            return false;
        }
        !p.tasks.iter().all(|t| self.tasks.get(t).is_some_and(|t| t.sigmask & bit(sig) != 0))
    }

    /// Send `sig` to process `pid` (kill), or to one thread of it (`to`).
    pub fn send_signal(&mut self, pid: Pid, to: Option<Tid>, info: SigInfo) {
        let sig = info.signo as u32;
        let Some(p) = self.procs.get(&pid) else { return };
        if p.zombie.is_some() || sig == 0 || sig > 64 {
            return;
        }
        if sig == SIGKILL {
            self.exit_process(pid, killed(SIGKILL));
            return;
        }
        if bit(sig) & STOP_SIGNALS != 0 {
            self.flush_pending(pid, bit(SIGCONT));
        }
        if sig == SIGCONT {
            self.flush_pending(pid, STOP_SIGNALS);
            self.continue_process(pid);
        }
        if self.discarded(pid, sig) {
            return;
        }
        let added = match to {
            Some(t) => self.tasks.get_mut(&t).is_some_and(|t| t.pending_signals.add(sig, info)),
            None => self.procs.get_mut(&pid).expect("checked").shared_pending.add(sig, info),
        };
        if !added {
            return;
        }
        self.signal_pending_now(pid, to, sig);
    }

    /// A signal was added to the pending set: act on it where Linux would
    /// at once (a fatal default action, a stop), else bring a thread that
    /// can take it into the server.
    fn signal_pending_now(&mut self, pid: Pid, to: Option<Tid>, sig: u32) {
        let act = self.procs[&pid].sigactions[sig as usize - 1];
        let target = match to {
            Some(t) => Some(t),
            None => {
                let p = &self.procs[&pid];
                p.tasks.iter().copied().find(|t| self.tasks.get(t).is_some_and(|t| t.sigmask & bit(sig) == 0))
            }
        };
        // sigtimedwait callers look at the pending set themselves.
        for t in self.procs[&pid].tasks.clone() {
            if matches!(self.tasks.get(&t).and_then(|t| t.pending).map(|p| p.wait), Some(Wait::SigWait { .. })) {
                self.wake(t);
            }
        }
        let Some(target) = target else { return }; // blocked everywhere: stays pending
        if self.tasks.get(&target).is_none_or(|t| t.sigmask & bit(sig) != 0) {
            return;
        }
        // A stopped process takes signals when it is continued (SIGKILL and
        // SIGCONT did their work in send_signal).
        if self.procs[&pid].stopped {
            return;
        }
        if act.handler == SIG_DFL {
            match default_action(sig) {
                DefaultAction::Terminate | DefaultAction::Core => {
                    // Linux kills the whole group at once for a fatal signal.
                    self.exit_process(pid, killed(sig));
                    return;
                }
                DefaultAction::Stop => {
                    if let Some(t) = self.tasks.get_mut(&target) {
                        t.pending_signals.take_signal(sig);
                    }
                    self.procs.get_mut(&pid).expect("live").shared_pending.take_signal(sig);
                    // Terminal stops are discarded for orphaned groups.
                    if sig == SIGSTOP || !self.pgrp_orphaned(self.procs[&pid].pgid) {
                        self.stop_process(pid, sig);
                    }
                    return;
                }
                DefaultAction::Ignore | DefaultAction::Continue => return,
            }
        }
        self.kick(target);
    }

    /// SIGCHLD (or a clone child's exit signal) to `parent` about `child`.
    pub fn send_child_signal(&mut self, parent: Pid, sig: u32, child: Pid, code: i32, status: i32) {
        let (uid, utime, stime) = match self.procs.get(&child) {
            Some(c) => (c.creds.uid, (c.usage.utime_ns / 10_000_000) as i64, (c.usage.stime_ns / 10_000_000) as i64),
            None => (0, 0, 0),
        };
        let mut info = SigInfo::child(code, child, uid, status, utime, stime);
        info.signo = sig as i32;
        self.send_signal(parent, None, info);
    }

    /// A signal raised by a fault of thread `tid` (SIGSEGV, SIGILL, ...):
    /// it cannot be ignored or blocked — if it is, the process dies (Linux's
    /// force_sig).
    pub fn force_signal(&mut self, tid: Tid, info: SigInfo) {
        let sig = info.signo as u32;
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return };
        let act = self.procs[&pid].sigactions[sig as usize - 1];
        let blocked = self.tasks[&tid].sigmask & bit(sig) != 0;
        if blocked || act.handler == SIG_IGN || act.handler == SIG_DFL {
            self.exit_process(pid, killed(sig));
            return;
        }
        self.tasks.get_mut(&tid).expect("live").pending_signals.add(sig, info);
    }

    fn flush_pending(&mut self, pid: Pid, mask: u64) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.shared_pending.flush(mask);
        for t in p.tasks.clone() {
            if let Some(t) = self.tasks.get_mut(&t) {
                t.pending_signals.flush(mask);
            }
        }
    }

    /// The deliverable signals of `tid` (pending for it or its process, not
    /// blocked).
    pub fn deliverable(&self, tid: Tid) -> u64 {
        let Some(t) = self.tasks.get(&tid) else { return 0 };
        let shared = self.procs.get(&t.pid).map_or(0, |p| p.shared_pending.set);
        (t.pending_signals.set | shared) & !t.sigmask
    }

    // ---- job control --------------------------------------------------------

    /// A terminal signal character (^C, ^\, ^Z): its signal to every
    /// process of the foreground process group.
    pub fn tty_signal(&mut self, sig: linux_server::tty::TtySignal) {
        use linux_server::tty::TtySignal;
        let s = match sig {
            TtySignal::Interrupt => SIGINT,
            TtySignal::Quit => SIGQUIT,
            TtySignal::Suspend => SIGTSTP,
        };
        let fg = self.console.fg_pgrp;
        let group: Vec<Pid> =
            self.procs.values().filter(|p| p.pgid == fg && p.zombie.is_none()).map(|p| p.pid).collect();
        for pid in group {
            self.send_signal(pid, None, SigInfo::sent(s, SI_KERNEL, 0, 0));
        }
    }

    /// Stop process `pid` (SIGSTOP, or a stop signal's default action).
    fn stop_process(&mut self, pid: Pid, sig: u32) {
        let p = self.procs.get_mut(&pid).expect("live");
        if p.stopped {
            return;
        }
        p.stopped = true;
        p.child_event = Some(ChildEvent::Stopped(sig));
        let (ppid, tasks) = (p.ppid, p.tasks.clone());
        // Threads in user code are brought in and parked; parked ones keep
        // waiting (their answers are held until SIGCONT).
        for t in tasks {
            if self.tasks.get(&t).is_some_and(|t| t.pending.is_none()) {
                self.kick(t);
            }
        }
        if let Some(parent) = self.procs.get(&ppid) {
            if parent.sigactions[SIGCHLD as usize - 1].flags & SA_NOCLDSTOP == 0 {
                self.send_child_signal(ppid, SIGCHLD, pid, CLD_STOPPED, sig as i32);
            }
            self.wake_child_waiters(ppid);
        }
    }

    /// SIGCONT: a stopped process goes on.
    fn continue_process(&mut self, pid: Pid) {
        let p = self.procs.get_mut(&pid).expect("live");
        if !p.stopped {
            return;
        }
        p.stopped = false;
        p.child_event = Some(ChildEvent::Continued);
        let (ppid, tasks) = (p.ppid, p.tasks.clone());
        for t in tasks {
            let Some(task) = self.tasks.get_mut(&t) else { continue };
            if let Some(p) = task.pending.filter(|p| p.wait == Wait::Stopped) {
                task.pending = None;
                let r = self.return_to_user(t, p.regs);
                self.send_reply(t, r);
            } else if let Some(h) = task.held.take() {
                self.release_held(t, h);
            }
        }
        if let Some(parent) = self.procs.get(&ppid) {
            if parent.sigactions[SIGCHLD as usize - 1].flags & SA_NOCLDSTOP == 0 {
                self.send_child_signal(ppid, SIGCHLD, pid, CLD_CONTINUED, SIGCONT as i32);
            }
            self.wake_child_waiters(ppid);
        }
        // What was sent while it was stopped takes effect now.
        self.recheck_pending(pid);
    }

    /// Act on every deliverable pending signal of `pid` as if just sent.
    fn recheck_pending(&mut self, pid: Pid) {
        let Some(p) = self.procs.get(&pid) else { return };
        let mut todo: Vec<(Option<Tid>, u32)> = Vec::new();
        for s in SigSet(p.shared_pending.set).iter() {
            todo.push((None, s));
        }
        for t in &p.tasks {
            if let Some(task) = self.tasks.get(t) {
                for s in SigSet(task.pending_signals.set & !task.sigmask).iter() {
                    todo.push((Some(*t), s));
                }
            }
        }
        for (to, sig) in todo {
            if self.procs.get(&pid).is_none_or(|p| p.zombie.is_some() || p.stopped) {
                return;
            }
            self.signal_pending_now(pid, to, sig);
        }
    }

    /// Send a reply to a thread now waiting for one (outside the message
    /// being handled).
    fn send_reply(&mut self, tid: Tid, r: Reply) {
        let Some((kid, entry)) = self.tasks.get(&tid).map(|t| (t.kid, t.entry)) else { return };
        if let Some(msg) = crate::server::answer(kid, r, entry) {
            self.outbox.push((kid, msg));
        }
    }

    /// A held answer can go out now.
    fn release_held(&mut self, tid: Tid, h: Held) {
        let regs = match (h, self.tasks.get(&tid).and_then(|t| t.pending)) {
            (Held::Regs(r), _) => r,
            (Held::Value(v), Some(p)) => self.returning(tid, &p.regs, v),
            (Held::Value(v), None) => {
                self.send_reply(tid, Reply::Value(v));
                return;
            }
        };
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.pending = None;
        }
        let r = self.return_to_user(tid, regs);
        self.send_reply(tid, r);
    }

    /// Whether an answer to `tid` must be held back now.
    pub fn must_hold(&self, tid: Tid) -> bool {
        let Some(t) = self.tasks.get(&tid) else { return false };
        t.divert != Divert::Idle || self.procs.get(&t.pid).is_some_and(|p| p.stopped)
    }

    // ---- bringing a thread in -----------------------------------------------

    /// Make thread `tid` enter the server so its pending signals (or a stop)
    /// can be acted on.
    pub fn kick(&mut self, tid: Tid) {
        let Some(t) = self.tasks.get(&tid) else { return };
        // The thread whose message is being handled goes back to user mode
        // through `return_to_user` anyway.
        if self.in_server == Some(tid) {
            return;
        }
        if t.divert != Divert::Idle {
            return; // already on its way
        }
        // Its answer is on hold: the signal goes with it (the parked call,
        // still recorded for its registers, has completed: not interrupted).
        if t.held.is_some() {
            return;
        }
        if let Some(p) = t.pending {
            match p.wait {
                // Stopped threads take signals after SIGCONT; a vfork parent
                // after its child let go.
                Wait::Stopped | Wait::Vfork { .. } => {}
                _ => self.interrupt_parked(tid),
            }
            return;
        }
        // In user code (or on its way to us): the signal thread diverts it.
        let pid = t.pid;
        self.tasks.get_mut(&tid).expect("live").divert = Divert::Requested;
        let mm = self.procs[&pid].mm;
        let m = self.mms.get_mut(&mm).expect("live");
        m.divert_queue.push(tid);
        self.run_signal_thread(mm);
    }

    /// Give the signal thread of `mm` its next request, if it is free.
    fn run_signal_thread(&mut self, mm: crate::process::MmId) {
        let Some(m) = self.mms.get_mut(&mm) else { return };
        if m.sigthread_busy || m.divert_queue.is_empty() {
            return;
        }
        let tid = m.divert_queue.remove(0);
        let anchor = m.anchor;
        let Some(kid) = self.tasks.get(&tid).map(|t| t.kid) else { return self.run_signal_thread(mm) };
        let msg = rt::ipc::Message::with(trampoline::DIVERT, &[kid.0]);
        let r = rt::ipc::send(anchor, &msg, abi::Timeouts::new(abi::Timeout::Zero, abi::Timeout::Never));
        match r.ok() {
            Ok(_) => self.mms.get_mut(&mm).expect("live").sigthread_busy = true,
            Err(_) => {
                // Not waiting (it has not started yet): try again later.
                self.mms.get_mut(&mm).expect("live").divert_queue.insert(0, tid);
                self.signal_thread_stalled = true;
            }
        }
    }

    /// Retry requests to signal threads that were not ready.
    pub fn retry_signal_threads(&mut self) {
        if !core::mem::take(&mut self.signal_thread_stalled) {
            return;
        }
        let ids: Vec<_> = self.mms.keys().copied().collect();
        for mm in ids {
            self.run_signal_thread(mm);
        }
    }

    /// A message from a signal thread (its report, or a page fault on the
    /// signal page).
    pub fn signal_thread_message(&mut self, mm: crate::process::MmId, r: &abi::syscall::IpcResult) -> Reply {
        use abi::msg::kind;
        let tag = r.msg.tag;
        if tag.kind() == kind::PAGE_FAULT {
            // Its code: the signal page, mapped read/execute.
            let mut m = rt::ipc::Message::new(0);
            m.item(abi::TypedItem::Map {
                fpage: abi::Fpage::new(crate::pool::Pool::addr(self.signal_frame), 12, abi::Rights::RX),
                hotspot: trampoline::SIGNAL_PAGE,
            });
            return Reply::Msg(m);
        }
        if tag.label() != trampoline::REPORT {
            return Reply::None;
        }
        if let Some(m) = self.mms.get_mut(&mm) {
            m.sigthread_busy = false;
        }
        let w = |i| rt::ipc::word(r, i);
        let (target, old_rip, result, state) = (ThreadId(w(1)), w(2), w(3), w(4));
        if let Some(&tid) = self.by_kid.get(&target.0) {
            if result == 0 {
                self.divert_report(tid, old_rip, state & abi::sysno::exregs::OUT_IN_IPC != 0);
            } else if let Some(t) = self.tasks.get_mut(&tid) {
                t.divert = Divert::Idle;
            }
        }
        // Its next request (if any) is the reply to this report.
        self.run_signal_thread(mm);
        Reply::None
    }

    /// The signal thread diverted `tid`, which was at `rip`.
    fn divert_report(&mut self, tid: Tid, rip: u64, in_ipc: bool) {
        let Some(t) = self.tasks.get_mut(&tid) else { return };
        match t.divert {
            Divert::Arrived { mut regs } => {
                t.divert = Divert::Idle;
                regs.rip = rip;
                let r = self.diverted_context(tid, regs, in_ipc);
                self.send_reply(tid, r);
            }
            _ => t.divert = Divert::Reported { rip, in_ipc },
        }
    }

    /// `tid` trapped at the diversion stub with registers `regs`.
    pub fn divert_arrived(&mut self, tid: Tid, regs: UserRegs) -> Reply {
        let Some(t) = self.tasks.get_mut(&tid) else { return Reply::None };
        match t.divert {
            Divert::Reported { rip, in_ipc } => {
                t.divert = Divert::Idle;
                let regs = UserRegs { rip, ..regs };
                self.diverted_context(tid, regs, in_ipc)
            }
            _ => {
                t.divert = Divert::Arrived { regs };
                Reply::None
            }
        }
    }

    /// A diverted thread is here with its true context. If the diversion
    /// aborted a syscall the server had parked (or held the answer of), that
    /// syscall is settled first.
    fn diverted_context(&mut self, tid: Tid, mut regs: UserRegs, in_ipc: bool) -> Reply {
        let t = self.tasks.get_mut(&tid).expect("live");
        let held = t.held.take();
        let parked = t.pending.take();
        let entry = t.entry;
        if in_ipc {
            // Where the aborted syscall returns to. `regs.rip` is the RIP
            // the signal thread's EXREGS reported: the one after the abort
            // (a trapped call's `syscall` instruction; see entry.rs).
            let rip = entry.return_rip_after_abort(regs.rip);
            match (held, parked) {
                // It completed: the thread gets its result.
                (Some(Held::Value(v)), _) => regs = entry.returning(&UserRegs { rip, ..regs }, v),
                (Some(Held::Regs(r)), _) => regs = r,
                // Still waiting: it is interrupted (or restarted).
                (None, Some(p)) => {
                    self.cancel_wait(tid, &p.wait);
                    if p.wait == Wait::Stopped {
                        regs = p.regs;
                    } else {
                        // A trapped call's registers are the parked ones; a
                        // shim call's are those the diversion brought (its
                        // inputs intact: entry.rs).
                        let at_call = match entry {
                            Entry::Trap => p.regs,
                            Entry::Shim => regs,
                        };
                        return self.interrupted(tid, p.nr, UserRegs { rip, ..at_call }, None);
                    }
                }
                // Not a call the server has seen: a page fault, or a trapped
                // call still in its send phase, which the abort rewound to
                // its `syscall` instruction (RAX still its number): resuming
                // at the reported RIP raises it again.
                (None, None) => {}
            }
        }
        self.return_to_user(tid, regs)
    }

    /// Forget what a parked syscall waits for.
    fn cancel_wait(&mut self, tid: Tid, w: &Wait) {
        if let Some(d) = w.deadline() {
            self.timers.remove(&(d, tid));
        }
        if let Wait::Futex { key, .. } = *w {
            self.futex_forget(tid, key);
        }
        // An interrupted FIFO open counts as a reader or writer no more.
        if let Some(f) = self.tasks.get_mut(&tid).and_then(|t| t.fifo_open.take()) {
            self.drop_file(f);
        }
        self.console.readers.retain(|&r| r != tid);
        self.pollers.retain(|&r| r != tid);
    }

    /// A signal interrupts the syscall `tid` is parked in.
    fn interrupt_parked(&mut self, tid: Tid) {
        let Some(p) = self.tasks.get_mut(&tid).and_then(|t| t.pending.take()) else { return };
        self.cancel_wait(tid, &p.wait);
        // An interrupted relative sleep reports the time it had left.
        if let Wait::Sleep { until_ns, .. } = p.wait {
            let rem = match p.nr {
                nr::NANOSLEEP => p.args[1],
                nr::CLOCK_NANOSLEEP if p.args[1] & 1 == 0 => p.args[3],
                _ => 0,
            };
            if rem != 0 {
                let left = until_ns.saturating_sub(self.clock.now_ns());
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
                b[8..].copy_from_slice(&(left % 1_000_000_000).to_le_bytes());
                let pid = self.tasks[&tid].pid;
                let _ = self.write_user(pid, rem, &b);
            }
        }
        let done = match p.wait {
            Wait::Io { done } if done > 0 => Some(done),
            _ => None,
        };
        let regs = self.caller_regs(tid, &p.regs);
        let r = self.interrupted(tid, p.nr, regs, done);
        self.send_reply(tid, r);
    }

    /// The syscall `nr` of `tid` (registers `regs` as at its trap: RIP after
    /// the instruction) was interrupted. Returns the answer: a partial
    /// count, EINTR, or a restart — Linux's rules: when a handler runs, only
    /// calls that would return ERESTARTSYS restart, and only under
    /// SA_RESTART; when none runs (a stop), every call restarts except
    /// sigtimedwait. The handler's frame goes on top.
    fn interrupted(&mut self, tid: Tid, nr: u64, regs: UserRegs, done: Option<u64>) -> Reply {
        let entry = self.tasks.get(&tid).map_or(Entry::Trap, |t| t.entry);
        if let Some(d) = done {
            return self.return_to_user(tid, entry.returning(&regs, d));
        }
        let restart = match self.next_signal_for(tid).filter(|&s| self.has_handler(tid, s)) {
            Some(sig) => {
                let pid = self.tasks[&tid].pid;
                self.procs[&pid].sigactions[sig as usize - 1].flags & SA_RESTART != 0 && !never_restarted(nr)
            }
            None => nr != nr::RT_SIGTIMEDWAIT,
        };
        let ctx = if restart { entry.restarting(&regs, nr) } else { entry.returning(&regs, EINTR.as_return()) };
        self.return_to_user(tid, ctx)
    }

    fn has_handler(&self, tid: Tid, sig: u32) -> bool {
        let pid = self.tasks[&tid].pid;
        self.procs[&pid].sigactions[sig as usize - 1].has_handler()
    }

    /// The signal `tid` would be handed next.
    fn next_signal_for(&self, tid: Tid) -> Option<u32> {
        linux_server::signal::next_deliverable(SigSet(self.deliverable(tid)), SigSet(0))
    }

    // ---- delivery -----------------------------------------------------------

    /// `tid` returns to user mode with `regs` (a syscall's answer included):
    /// first every deliverable signal is acted on, as Linux does on its way
    /// back to user mode. Returns the reply for the thread.
    pub fn return_to_user(&mut self, tid: Tid, mut regs: UserRegs) -> Reply {
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return Reply::None };
        if self.procs.get(&pid).is_some_and(|p| p.stopped) {
            let t = self.tasks.get_mut(&tid).expect("live");
            t.pending = Some(crate::process::Pending { nr: 0, args: [0; 6], regs, wait: Wait::Stopped });
            return Reply::None;
        }
        let mut delivered = false;
        while let Some(sig) = self.next_signal_for(tid) {
            let info = {
                let t = self.tasks.get_mut(&tid).expect("live");
                match t.pending_signals.take_signal(sig) {
                    Some(i) => i,
                    None => match self.procs.get_mut(&pid).expect("live").shared_pending.take_signal(sig) {
                        Some(i) => i,
                        None => break,
                    },
                }
            };
            let act = self.procs[&pid].sigactions[sig as usize - 1];
            if act.handler == SIG_IGN {
                continue;
            }
            if act.handler == SIG_DFL {
                match default_action(sig) {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => {
                        if sig != SIGSTOP && self.pgrp_orphaned(self.procs[&pid].pgid) {
                            continue;
                        }
                        self.stop_process(pid, sig);
                        let t = self.tasks.get_mut(&tid).expect("live");
                        t.pending = Some(crate::process::Pending { nr: 0, args: [0; 6], regs, wait: Wait::Stopped });
                        return Reply::None;
                    }
                    DefaultAction::Terminate | DefaultAction::Core => {
                        self.exit_process(pid, killed(sig));
                        return Reply::None;
                    }
                }
            }
            match self.setup_frame(tid, sig, info, regs) {
                Ok(r) => {
                    regs = r;
                    delivered = true;
                }
                Err(_) => {
                    // No room for the frame: Linux forces SIGSEGV.
                    self.exit_process(pid, killed(SIGSEGV));
                    return Reply::None;
                }
            }
        }
        // A temporary mask (sigsuspend, ppoll, pselect6) ends here unless a
        // handler's frame took it along.
        if !delivered {
            if let Some(m) = self.tasks.get_mut(&tid).and_then(|t| t.saved_mask.take()) {
                self.tasks.get_mut(&tid).expect("live").sigmask = m;
            }
        }
        Reply::Regs(regs)
    }

    /// Build the handler frame for `sig` on `tid`'s stack; returns the
    /// registers the handler starts with.
    fn setup_frame(&mut self, tid: Tid, sig: u32, info: SigInfo, regs: UserRegs) -> SysResult<UserRegs> {
        let t = &self.tasks[&tid];
        let pid = t.pid;
        let act = self.procs[&pid].sigactions[sig as usize - 1];
        let fpu = kthread::get_fpu(t.kid)?;
        let (sp, flags, size) = t.altstack;
        let saved_mask = t.saved_mask.unwrap_or(t.sigmask);
        let (trapno, err, cr2) = self.fault_context.filter(|f| f.0 == tid).map_or((0, 0, 0), |f| (f.1, f.2, f.3));
        let d = Delivery {
            regs,
            fpu: &fpu,
            info,
            saved_mask,
            handler: act.handler,
            sa_flags: act.flags,
            restorer: act.restorer,
            altstack: AltStack { sp, flags, size },
            trapno,
            err,
            cr2,
        };
        let frame = linux_server::signal::build(&d).map_err(|_| EFAULT)?;
        self.write_user(pid, frame.write_at, &frame.bytes)?;
        // The handler starts with a clean FPU (its frame holds the old one).
        let _ = kthread::set_fpu(self.tasks[&tid].kid, &kthread::initial_fpu());
        let t = self.tasks.get_mut(&tid).expect("live");
        t.saved_mask = None;
        t.sigmask = blocked_during_handler(SigSet(t.sigmask), &act, sig).0;
        let alt = frame.altstack_after;
        t.altstack = (alt.sp, alt.flags, alt.size);
        let after = act.after_delivery();
        self.procs.get_mut(&pid).expect("live").sigactions[sig as usize - 1] = after;
        Ok(frame.handler_regs)
    }
}
