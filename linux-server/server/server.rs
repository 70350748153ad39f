//! The server's state and its event loop.
//!
//! One thread receives everything: trapped syscalls (exception messages),
//! page faults of Linux processes (it is their pager), CPU exceptions, and the
//! console's interrupts. A syscall that cannot complete (a console read with
//! no input, a sleep) parks its thread — the server simply does not reply — and
//! the reply is sent when the event it waits for happens: the event `wake`s
//! the thread, and once the current message is handled the parked syscall is
//! simply run again (it may park again). The server itself never blocks on
//! anything but the next message (or the next timer).

use crate::clock::Clock;
use crate::console::Console;
use crate::pool::Pool;
use crate::process::{Mm, MmId, Pending, Pid, Process, Task, Tid, Wait};
use abi::exception::{mr, reply, UserRegs, FRAME_WORDS};
use abi::msg::kind;
use abi::syscall::{self as sys, IpcResult};
use abi::{ThreadId, Timeout, Timeouts};
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use hashbrown::HashMap;
use linux_server::entry::{self, Entry};
use linux_server::vfs::Vfs;
use rt::ipc::{self, Message};

/// What becomes of the thread whose message was handled.
pub enum Reply {
    /// Return this value from the syscall (RAX).
    Value(u64),
    /// Resume with these registers (execve, arch_prctl, sigreturn...).
    Regs(UserRegs),
    /// A prepared message (page-fault replies with map items).
    Msg(Message),
    /// No reply now: the thread waits (parked) or is gone.
    None,
}

pub struct Server {
    pub me: ThreadId,
    pub pool: Pool,
    pub vfs: Vfs,
    pub clock: Clock,
    pub console: Console,
    pub procs: BTreeMap<Pid, Process>,
    pub tasks: BTreeMap<Tid, Task>,
    /// Address spaces of Linux processes.
    pub mms: BTreeMap<MmId, Mm>,
    pub next_mm: MmId,
    /// Signal threads (kernel thread ID -> their address space).
    pub signal_threads: HashMap<u64, MmId>,
    /// A request to a signal thread could not be sent yet.
    pub signal_thread_stalled: bool,
    /// The frame holding the signal page's code (trampoline.rs).
    pub signal_frame: linux_server::mm::pages::Frame,
    /// The thread whose message is being handled (or whose parked syscall
    /// runs again): it returns to user mode through the server.
    pub in_server: Option<Tid>,
    /// `trace` on the kernel command line: log every syscall.
    pub trace: bool,
    /// The fault being turned into a signal: (thread, trap number, error
    /// code, fault address) for the handler's sigcontext.
    pub fault_context: Option<(Tid, u64, u64, u64)>,
    /// Kernel thread ID -> Linux thread.
    pub by_kid: HashMap<u64, Tid>,
    pub next_pid: Pid,
    /// Sleepers and timed waits: (deadline in ns since boot, thread); a
    /// negative "thread" is the ITIMER_REAL of process -n.
    pub timers: BTreeSet<(u64, Tid)>,
    /// Replies to threads parked earlier, sent after the current message.
    pub outbox: Vec<(ThreadId, Message)>,
    /// Parked threads to run again after the current message (see `wake`).
    pub wakeups: VecDeque<Tid>,
    /// Threads parked in poll/select: woken by any event that may change
    /// readiness.
    pub pollers: Vec<Tid>,
    /// Pages held by all pipes, against PIPE_PAGES (see pipe.rs).
    pub pipe_pages: usize,
    /// Inode numbers for pipes (fstat's st_ino).
    pub next_pipe_ino: u64,
    /// The pipes of FIFOs with an end open, by inode.
    pub fifos: HashMap<linux_server::vfs::Ino, crate::pipe::PipeRef>,
    /// Syscall numbers already reported as unimplemented.
    pub enosys_logged: BTreeSet<u64>,
    pub hostname: Vec<u8>,
    /// `quiet` on the kernel command line: no diagnostics about processes
    /// (faults, kills) on the console; unimplemented syscalls are still logged.
    pub quiet: bool,
    /// The /proc directory and the /proc files in the VFS.
    pub proc_dir: Option<linux_server::vfs::Ino>,
    pub proc_files: HashMap<linux_server::vfs::Ino, crate::procfs::ProcFile>,
    /// Shared file pages: (inode, page index) -> frame (see pagecache.rs).
    pub page_cache: alloc::collections::BTreeMap<(linux_server::vfs::Ino, u64), linux_server::mm::pages::Frame>,
    /// Cached pages a shared mapping has mapped (and so may have written):
    /// the only ones `cache_flush` writes back.
    pub cache_shared: alloc::collections::BTreeSet<(linux_server::vfs::Ino, u64)>,
    /// Futex wait queues.
    pub futexes: BTreeMap<crate::syscalls::FutexKey, crate::syscalls::futex::FutexQueue>,
    /// Shared anonymous memory: (object, page index) -> frame.
    pub shm_pages: HashMap<(u64, u64), linux_server::mm::pages::Frame>,
    pub next_shm: u64,
    /// State of the pseudo-random generator (getrandom, AT_RANDOM).
    pub rng: u64,
    /// The kernel runs `tlb=small`: Linux processes share their page table
    /// with this server, so W^X and the WRPKRU rule hold (wx.rs).
    pub small_tlb: bool,
    /// Under `tlb=small`: how shared frames are mapped (wx.rs).
    pub shared_frames: linux_server::mm::wx::SharedFrames,
    /// Under `tlb=small`: what the rules refused (/proc/l4/tlb).
    pub wx_stats: crate::wx::WxStats,
}

pub fn value_msg(v: u64) -> Message {
    Message::with(reply::SET_RAX, &[v])
}

pub fn regs_msg(r: &UserRegs) -> Message {
    let mut w = [0u64; FRAME_WORDS + 1];
    r.to_mrs(&mut w);
    Message::with(reply::SET_FRAME, &w[1..])
}

/// The message that gives thread `kid` the answer `reply` to what it sent
/// the server through `entry` (entry.rs) — or none: a shim caller that gets
/// new registers has them installed right here, abandoning its IPC.
pub fn answer(kid: ThreadId, reply: Reply, entry: Entry) -> Option<Message> {
    match (reply, entry) {
        (Reply::Value(v), Entry::Trap) => Some(value_msg(v)),
        (Reply::Value(v), Entry::Shim) => Some(Message::with(0, &[v])),
        (Reply::Regs(r), Entry::Trap) => Some(regs_msg(&r)),
        (Reply::Regs(r), Entry::Shim) => {
            if crate::kthread::restart_regs(kid, &r).is_err() {
                rt::println!("linux-server: thread {kid} could not be given new registers (rip {:#x})", r.rip);
            }
            None
        }
        (Reply::Msg(m), _) => Some(m),
        (Reply::None, _) => None,
    }
}

impl Server {
    /// The full register frame of the exception message just received.
    fn message_regs(r: &IpcResult) -> UserRegs {
        let mut w = [0u64; FRAME_WORDS + 1];
        for (i, slot) in w.iter_mut().enumerate().skip(1) {
            *slot = ipc::word(r, i);
        }
        UserRegs::from_mrs(&w)
    }

    /// Handle one message; returns the reply for its sender.
    fn handle(&mut self, r: &IpcResult) -> Reply {
        let tag = r.msg.tag;
        if tag.kind() == kind::IRQ {
            self.console_interrupt();
            return Reply::None;
        }
        let Some(&tid) = self.by_kid.get(&r.from.0) else {
            if let Some(&mm) = self.signal_threads.get(&r.from.0) {
                return self.signal_thread_message(mm, r);
            }
            rt::println!("linux-server: message from unknown thread {} ({:?}); ignored", r.from, tag);
            return Reply::None;
        };
        self.in_server = Some(tid);
        let t0 = self.clock.now_ns();
        let reply = self.handle_thread(tid, r);
        self.in_server = None;
        // The server's time for a process is its system time.
        if let Some(p) = self.tasks.get(&tid).and_then(|t| self.procs.get_mut(&t.pid)) {
            p.usage.stime_ns += self.clock.now_ns().saturating_sub(t0);
        }
        reply
    }

    /// A message from Linux thread `tid`.
    fn handle_thread(&mut self, tid: Tid, r: &IpcResult) -> Reply {
        let tag = r.msg.tag;
        match tag.kind() {
            kind::LINUX_SYSCALL => {
                let regs = Self::message_regs(r);
                let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
                self.enter_syscall(tid, Entry::Trap, regs.rax, args, regs, r.from)
            }
            kind::LINUX_DIRECT => {
                let n = tag.detail() as u64;
                let args = core::array::from_fn(|i| ipc::word(r, i + 1));
                let mut regs = entry::unknown_registers(n, args);
                if entry::needs_registers(n) {
                    regs = self.caller_regs(tid, &regs);
                }
                self.enter_syscall(tid, Entry::Shim, n, args, regs, r.from)
            }
            kind::PAGE_FAULT => self.page_fault(tid, r.msg.mr[0], tag.detail(), r.msg.mr[1]),
            kind::EXCEPTION => {
                let regs = Self::message_regs(r);
                let vector = ipc::word(r, mr::VECTOR);
                if vector == 6 && regs.rip == crate::trampoline::stub_address() {
                    if let Some(t) = self.tasks.get(&tid) {
                        if t.divert != crate::signals::Divert::Idle {
                            return self.divert_arrived(tid, regs);
                        }
                    }
                }
                let addr = ipc::word(r, mr::FAULT_ADDR);
                self.cpu_exception(tid, vector, ipc::word(r, mr::ERROR_CODE), addr, &regs)
            }
            _ => {
                rt::println!("linux-server: unexpected message {:?} from {}", tag, r.from);
                Reply::None
            }
        }
    }

    /// Syscall `n` of `tid` arrived through `entry`, with arguments `args`
    /// and registers `regs` (a shim call's may be stand-ins: entry.rs).
    fn enter_syscall(
        &mut self,
        tid: Tid,
        entry: Entry,
        n: u64,
        args: [u64; 6],
        regs: UserRegs,
        from: ThreadId,
    ) -> Reply {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.entry = entry;
            if let Some(p) = self.procs.get_mut(&t.pid) {
                match entry {
                    Entry::Trap => p.syscalls.trapped += 1,
                    Entry::Shim => p.syscalls.direct += 1,
                }
            }
        }
        let reply = self.syscall(tid, n, args, regs);
        if self.trace {
            self.trace_syscall(tid, n, args, &reply);
        }
        // execve from a second thread makes it the leader: its TID is now
        // the PID.
        let tid = self.by_kid.get(&from.0).copied().unwrap_or(tid);
        self.finish_syscall(tid, reply, &regs)
    }

    /// The registers of `tid` at its syscall: `regs` themselves, unless
    /// they are a shim call's stand-ins — then the thread's own, read from
    /// the kernel while it waits in its call.
    pub fn caller_regs(&self, tid: Tid, regs: &UserRegs) -> UserRegs {
        if !entry::registers_unknown(regs) {
            return *regs;
        }
        let Some(t) = self.tasks.get(&tid) else { return *regs };
        crate::kthread::get_regs(t.kid).unwrap_or(*regs)
    }

    /// The registers `tid` resumes with when its syscall (registers `regs`)
    /// returns `v`.
    pub fn returning(&self, tid: Tid, regs: &UserRegs, v: u64) -> UserRegs {
        let entry = self.tasks.get(&tid).map_or(Entry::Trap, |t| t.entry);
        entry.returning(&self.caller_regs(tid, regs), v)
    }

    /// `trace` on the kernel command line: one line per syscall, strace-like.
    fn trace_syscall(&self, tid: Tid, n: u64, a: [u64; 6], reply: &Reply) {
        let result = match reply {
            Reply::Value(v) if (*v as i64) < 0 && (*v as i64) > -4096 => {
                alloc::format!("-1 {}", linux_server::linux::errno::Errno(-(*v as i64) as i32).name())
            }
            Reply::Value(v) => alloc::format!("{:#x}", v),
            Reply::Regs(_) => "(new registers)".into(),
            Reply::Msg(_) => "(message)".into(),
            Reply::None => "(waits)".into(),
        };
        rt::println!(
            "trace: [{tid}] {}({:#x}, {:#x}, {:#x}, {:#x}) = {result}",
            linux_server::linux::sysno::name(n),
            a[0],
            a[1],
            a[2],
            a[3]
        );
    }

    /// A syscall's answer goes back to user mode: as on Linux, pending
    /// signals are acted on first (and a temporary mask ends).
    fn finish_syscall(&mut self, tid: Tid, reply: Reply, regs: &UserRegs) -> Reply {
        let Some(t) = self.tasks.get(&tid) else { return Reply::None };
        let stopped = self.procs.get(&t.pid).is_some_and(|p| p.stopped);
        let busy = self.deliverable(tid) != 0 || t.saved_mask.is_some() || stopped;
        match reply {
            Reply::Value(v) if busy => {
                let r = self.returning(tid, regs, v);
                self.return_to_user(tid, r)
            }
            Reply::Regs(r) if busy => self.return_to_user(tid, r),
            r => r,
        }
    }

    /// Park `tid` in its current syscall until `wait` ends.
    pub fn park(&mut self, tid: Tid, nr: u64, args: [u64; 6], regs: UserRegs, wait: Wait) -> Reply {
        if let Some(t) = wait.deadline() {
            self.timers.insert((t, tid));
        }
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.pending = Some(Pending { nr, args, regs, wait });
        }
        Reply::None
    }

    /// Finish the parked syscall of `tid` with `reply` (sent after the
    /// current message is answered) — unless the answer must be held (the
    /// thread is being diverted or its process is stopped: signals.rs).
    pub fn unpark(&mut self, tid: Tid, reply: Reply) {
        let Some(task) = self.tasks.get_mut(&tid) else { return };
        let Some(p) = task.pending else { return };
        if let Some(t) = p.wait.deadline() {
            self.timers.remove(&(t, tid));
        }
        if self.must_hold(tid) {
            let held = match reply {
                Reply::Value(v) => crate::signals::Held::Value(v),
                Reply::Regs(r) => crate::signals::Held::Regs(r),
                _ => return,
            };
            self.tasks.get_mut(&tid).expect("live").held = Some(held);
            return;
        }
        self.tasks.get_mut(&tid).expect("live").pending = None;
        let reply = self.finish_syscall(tid, reply, &p.regs);
        let Some((kid, entry)) = self.tasks.get(&tid).map(|t| (t.kid, t.entry)) else { return };
        if let Some(msg) = answer(kid, reply, entry) {
            self.outbox.push((kid, msg));
        }
    }

    /// Schedule the parked syscall of `tid` to run again once the current
    /// message is handled (the event it waited for may have happened).
    /// Deferred, so that wakeups never nest inside the handler that caused
    /// them; a thread that is not parked (any more) is left alone.
    pub fn wake(&mut self, tid: Tid) {
        self.wakeups.push_back(tid);
    }

    /// Run the parked syscall of `tid` again; it may park again. Only waits
    /// that are re-checked this way are run again: the others end by an
    /// explicit `unpark` (a futex wake, a timer, the vfork child, a signal),
    /// so a stale wakeup can never restart them.
    fn retry(&mut self, tid: Tid) {
        let Some(task) = self.tasks.get_mut(&tid) else { return };
        // A call whose answer is held (the thread is being diverted or its
        // process is stopped) has completed: running it again would answer
        // it twice — a wait4 could reap a second child, and the thread got
        // the stale answer in its next call (found by the syscall fuzzer:
        // the fuzzer's own waitpid failed with ENOSYS or EFAULT).
        if task.held.is_some() {
            return;
        }
        match task.pending.map(|p| p.wait) {
            Some(Wait::Io { .. } | Wait::Poll { .. } | Wait::Child | Wait::SigWait { .. } | Wait::FifoOpen { .. }) => {}
            _ => return,
        }
        let p = task.pending.take().expect("checked above");
        task.retry_wait = Some(p.wait);
        if let Some(t) = p.wait.deadline() {
            self.timers.remove(&(t, tid));
        }
        self.in_server = Some(tid);
        let r = self.syscall(tid, p.nr, p.args, p.regs);
        self.in_server = None;
        let Some(task) = self.tasks.get_mut(&tid) else { return };
        task.retry_wait = None;
        if !matches!(r, Reply::None) {
            // Put the (completed) syscall back so unpark can answer it.
            task.pending = Some(p);
            self.unpark(tid, r);
        }
    }

    /// Run the wakeups scheduled so far (and those they schedule).
    fn run_wakeups(&mut self) {
        while let Some(tid) = self.wakeups.pop_front() {
            self.retry(tid);
        }
    }

    /// Wake threads whose time has come.
    fn fire_timers(&mut self) {
        let now = self.clock.now_ns();
        while let Some(&(t, tid)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            if tid == Self::CPU_TIMER_KEY {
                self.cpu_timers_fired();
                continue;
            }
            if tid < 0 {
                self.itimer_fired(-tid);
                continue;
            }
            let wait = self.tasks.get(&tid).and_then(|t| t.pending).map(|p| p.wait);
            match wait {
                Some(Wait::Sleep { ret, .. }) => self.unpark(tid, Reply::Value(ret)),
                Some(Wait::Futex { key, .. }) => {
                    self.futex_forget(tid, key);
                    self.unpark(tid, Reply::Value(linux_server::linux::errno::ETIMEDOUT.as_return()))
                }
                // poll/select, sigtimedwait: the call sees the deadline passed.
                Some(Wait::Poll { .. } | Wait::SigWait { .. }) => self.wake(tid),
                _ => {}
            }
        }
    }

    fn receive_timeout(&self) -> Timeout {
        match self.timers.first() {
            None => Timeout::Never,
            Some(&(t, _)) => {
                let now = self.clock.now_ns();
                let us = t.saturating_sub(now).div_ceil(1000).clamp(1, u32::MAX as u64 - 1);
                Timeout::Micros(us as u32)
            }
        }
    }

    /// The event loop.
    pub fn run(&mut self) -> ! {
        let mut next: Option<(ThreadId, Message)> = None;
        loop {
            let recv = self.receive_timeout();
            let r = match next.take() {
                Some((to, m)) => ipc::ipc(to, ThreadId::ANY, Timeouts::new(Timeout::Zero, recv), &m),
                None => {
                    sys::ipc(ThreadId::NIL, ThreadId::ANY, Timeouts::new(Timeout::Never, recv), &sys::Msg::default())
                }
            };
            self.fire_timers();
            if r.ok().is_ok() {
                let reply = self.handle(&r);
                // A shim call is answered as one; anything else the thread
                // sent (a trapped syscall, an exception) waits for an
                // exception reply.
                let entry = if r.msg.tag.kind() == kind::LINUX_DIRECT { Entry::Shim } else { Entry::Trap };
                next = answer(r.from, reply, entry).map(|m| (r.from, m));
            }
            self.run_wakeups();
            self.retry_signal_threads();
            // A failed send phase (the client vanished) or a receive timeout
            // needs nothing more than another turn of the loop.
            for (kid, m) in core::mem::take(&mut self.outbox) {
                let _ = ipc::send(kid, &m, Timeouts::new(Timeout::Zero, Timeout::Never));
            }
            // Free memory goes back to the root pager (pool.rs: `shrink`);
            // two blocks stay, so a process that comes and goes does not
            // make the pool grow and shrink every time.
            if self.pool.free_frames() > 3 * 512 {
                self.pool.shrink();
            }
        }
    }
}
