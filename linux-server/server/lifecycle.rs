//! Processes and threads coming and going: the first process, thread exit,
//! process exit into a zombie, the parent's notification, reaping, and
//! orphans going to the nearest child subreaper or to init.
//!
//! A process that ends keeps its `Process` entry as a zombie (its wait
//! status) until its parent waits for it; everything else — threads, memory,
//! descriptors — goes at once. If the parent ignores SIGCHLD (or set
//! SA_NOCLDWAIT) the zombie is reaped right away, as on Linux.

use crate::files::FdTable;
use crate::process::{default_rlimits, Creds, MmId, Pid, Process, Task, Tid, Usage, Wait, SIG_IGN};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::signal::{self, *};
use linux_server::signal::info::{CLD_EXITED, CLD_KILLED};
use linux_server::signal::SigInfo;
use linux_server::vfs::Ino;

/// SA_NOCLDWAIT: children of a process with it set leave no zombies.
pub const SA_NOCLDWAIT: u64 = 2;

/// What a new process starts with (fork fills it from the parent).
pub struct NewProcess {
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub mm: MmId,
    pub fds: FdTable,
    pub cwd: Ino,
    pub umask: u32,
    pub creds: Creds,
    pub exe: Vec<u8>,
    pub exe_ino: Ino,
    pub exit_signal: u32,
}

impl Server {
    /// Enter a new process with its first thread (kernel thread `kid`),
    /// under a new PID (which is also the thread's TID).
    pub fn add_process(&mut self, n: NewProcess, kid: ThreadId) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        let _ = self.vfs.open_ref(n.cwd);
        let start_ns = self.clock.now_ns();
        self.procs.insert(
            pid,
            Process {
                pid,
                ppid: n.ppid,
                pgid: n.pgid,
                sid: n.sid,
                mm: n.mm,
                fds: n.fds,
                cwd: n.cwd,
                umask: n.umask,
                creds: n.creds,
                exe: n.exe,
                exe_ino: n.exe_ino,
                tasks: alloc::vec![pid],
                children: Vec::new(),
                rlimits: default_rlimits(),
                sigactions: [Default::default(); 64],
                shared_pending: Default::default(),
                argc: 0,
                exit_signal: n.exit_signal,
                execed: false,
                zombie: None,
                stopped: false,
                child_event: None,
                vfork_parent: None,
                itimer_real: None,
                itimer_cpu: [None, None],
                usage: Usage::default(),
                children_usage: Usage::default(),
                start_ns,
                child_subreaper: false,
                pdeathsig: 0,
                syscalls: Default::default(),
            },
        );
        self.tasks.insert(pid, Task::new(pid, pid, kid));
        self.by_kid.insert(kid.0, pid);
        if let Some(parent) = self.procs.get_mut(&n.ppid) {
            parent.children.push(pid);
        }
        self.proc_add(pid);
        pid
    }

    /// Start the first process (PID 1) running `path` with `argv` and `envp`.
    pub fn spawn_init(&mut self, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> SysResult<Pid> {
        let mm = self.new_mm()?;
        let anchor = self.mms[&mm].anchor;
        let kid = self.new_linux_thread(anchor)?;
        let root = self.vfs.root();
        let fds = self.console_fds();
        let n = NewProcess {
            ppid: 0,
            pgid: 0,
            sid: 0,
            mm,
            fds,
            cwd: root,
            umask: 0o022,
            creds: Creds::default(),
            exe: Vec::new(),
            exe_ino: root,
            exit_signal: 0,
        };
        let pid = self.add_process(n, kid);
        match self.exec(pid, path, argv, envp) {
            Ok(regs) => {
                self.start_thread(kid, &regs, None)?;
                Ok(pid)
            }
            Err(e) => {
                // Never started: no status line here (main reports it).
                self.drop_task(pid);
                self.close_all(pid);
                if let Some(p) = self.procs.remove(&pid) {
                    self.mm_put(p.mm);
                    let _ = self.vfs.close_ref(p.cwd);
                }
                self.proc_remove(pid);
                Err(e)
            }
        }
    }

    /// Thread `tid` is gone: its kernel thread, its waits and wakeups.
    pub fn drop_task(&mut self, tid: Tid) {
        let Some(t) = self.tasks.remove(&tid) else { return };
        self.by_kid.remove(&t.kid.0);
        let used = crate::kthread::cpu_ns(t.kid);
        if let Some(p) = self.procs.get_mut(&t.pid) {
            p.usage.utime_ns += used;
        }
        let _ = rt::sys::thread_delete(t.kid);
        if let Some(p) = t.pending {
            if let Some(d) = p.wait.deadline() {
                self.timers.remove(&(d, tid));
            }
            if let Wait::Futex { key, .. } = p.wait {
                self.futex_forget(tid, key);
            }
        }
        if let Some(f) = t.fifo_open {
            self.drop_file(f);
        }
        // Other wait lists may keep the TID (pipes): waking a thread that is
        // gone does nothing.
        self.console.readers.retain(|&r| r != tid);
        self.pollers.retain(|&r| r != tid);
        if let Some(p) = self.procs.get_mut(&t.pid) {
            p.tasks.retain(|&x| x != tid);
        }
    }

    /// exit: the calling thread ends; the last one ends the process.
    pub fn exit_thread(&mut self, tid: Tid, code: u8) {
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return };
        if self.procs[&pid].tasks.len() <= 1 {
            self.exit_process(pid, signal::exited(code));
            return;
        }
        // CLONE_CHILD_CLEARTID / set_tid_address: the joiner's futex.
        let ctid = self.tasks[&tid].clear_child_tid;
        if ctid != 0 && self.write_u32(pid, ctid, 0).is_ok() {
            self.futex_wake_addr(pid, ctid, 1);
        }
        self.drop_task(tid);
    }

    /// Process `pid` ends with wait status `status` (exit_group, a fatal
    /// signal, a failed start): it becomes a zombie and its parent hears of it.
    pub fn exit_process(&mut self, pid: Pid, status: i32) {
        let Some(p) = self.procs.get(&pid) else { return };
        if p.zombie.is_some() {
            return;
        }
        for tid in p.tasks.clone() {
            self.drop_task(tid);
        }
        let p = self.procs.get_mut(&pid).expect("checked above");
        p.zombie = Some(status);
        p.stopped = false;
        p.child_event = None;
        let (mm, cwd, vfork_parent, itimer) = (p.mm, p.cwd, p.vfork_parent.take(), p.itimer_real.take());
        if let Some((t, _)) = itimer {
            self.timers.remove(&(t, -pid));
        }
        if let Some(parent_tid) = vfork_parent {
            self.vfork_done(parent_tid);
        }
        self.mm_put(mm);
        self.close_all(pid);
        let _ = self.vfs.close_ref(cwd);
        self.session_leader_exited(pid);
        self.reparent_children(pid);
        self.kill_orphaned_pgrp(pid, None);
        if pid == 1 {
            let code = signal::shell_status(status);
            self.console.write(alloc::format!("### exit status {code}\n").as_bytes());
            let _ = rt::sys::shutdown(code as u8);
        }
        self.notify_parent_of_exit(pid);
    }

    /// Whether process group `pgid` is orphaned: no live member has a parent
    /// in another group of the same session (a parent that is init does not
    /// count). Linux discards terminal stop signals for such groups and wakes
    /// their stopped members when a group becomes orphaned.
    pub fn pgrp_orphaned(&self, pgid: Pid) -> bool {
        self.pgrp_orphaned_without(pgid, None)
    }

    /// [`pgrp_orphaned`](Self::pgrp_orphaned), not counting member `ignored`
    /// (Linux's will_become_orphaned_pgrp).
    fn pgrp_orphaned_without(&self, pgid: Pid, ignored: Option<Pid>) -> bool {
        !self
            .procs
            .values()
            .filter(|p| p.pgid == pgid && p.zombie.is_none() && Some(p.pid) != ignored)
            .any(|p| p.ppid != 1 && self.procs.get(&p.ppid).is_some_and(|q| q.pgid != pgid && q.sid == p.sid))
    }

    /// Linux's kill_orphaned_pgrp: SIGHUP then SIGCONT to the group of
    /// `member` if it just became orphaned and has stopped members (POSIX).
    /// Called when `member` ends (`reparented_from` = None: its parent may
    /// have been the group's last link outside), and for each child of an
    /// ending process, right after the child is reparented (`Some(the ended
    /// parent)`). The parent checked must be in another group of the same
    /// session — so a group orphaned all along (a child of init) is told
    /// only when such a link goes.
    fn kill_orphaned_pgrp(&mut self, member: Pid, reparented_from: Option<Pid>) {
        let Some(m) = self.procs.get(&member) else { return };
        let (pgid, sid) = (m.pgid, m.sid);
        let (parent, ignored) = match reparented_from {
            None => (m.ppid, Some(member)),
            Some(p) => (p, None),
        };
        let Some(parent) = self.procs.get(&parent) else { return };
        if parent.pgid == pgid || parent.sid != sid || !self.pgrp_orphaned_without(pgid, ignored) {
            return;
        }
        if !self.procs.values().any(|q| q.pgid == pgid && q.zombie.is_none() && q.stopped) {
            return;
        }
        let members: Vec<Pid> =
            self.procs.values().filter(|q| q.pgid == pgid && q.zombie.is_none()).map(|q| q.pid).collect();
        for m in &members {
            self.send_signal(*m, None, SigInfo::kernel(SIGHUP));
        }
        for m in members {
            self.send_signal(m, None, SigInfo::kernel(SIGCONT));
        }
    }

    /// The children of an ending process go to the nearest live ancestor
    /// that is a child subreaper, else to init (zombies included: the new
    /// parent reaps them); each gets its parent-death signal, if it asked
    /// for one. An adopted child's exit signal becomes SIGCHLD, as on Linux
    /// (`reparent_leader`: "we don't want people slaying init"): a clone
    /// child with exit signal SIGINT must not kill its new parent.
    fn reparent_children(&mut self, pid: Pid) {
        let children = core::mem::take(&mut self.procs.get_mut(&pid).expect("live").children);
        let heir = self.heir_of(pid);
        for c in children {
            let Some(child) = self.procs.get_mut(&c) else { continue };
            child.exit_signal = SIGCHLD;
            let (zombie, pdeathsig) = (child.zombie.is_some(), child.pdeathsig);
            match heir {
                Some(h) => {
                    child.ppid = h;
                    self.procs.get_mut(&h).expect("alive").children.push(c);
                    if zombie {
                        self.notify_parent_of_exit(c);
                    }
                }
                None => {
                    child.ppid = 0;
                    if zombie {
                        self.reap(c);
                    }
                }
            }
            if !zombie && pdeathsig != 0 {
                self.send_signal(c, None, SigInfo::kernel(pdeathsig));
            }
            self.kill_orphaned_pgrp(c, Some(pid));
        }
    }

    /// Who adopts the orphans of ending process `pid`: the nearest live
    /// ancestor marked as a child subreaper, else init while it lives.
    fn heir_of(&self, pid: Pid) -> Option<Pid> {
        let alive = |q: Pid| self.procs.get(&q).is_some_and(|p| p.zombie.is_none());
        let mut a = self.procs[&pid].ppid;
        while a > 1 && a != pid {
            match self.procs.get(&a) {
                Some(p) if p.child_subreaper && p.zombie.is_none() => return Some(a),
                Some(p) => a = p.ppid,
                None => break,
            }
        }
        (pid != 1 && alive(1)).then_some(1)
    }

    /// A child ended: SIGCHLD (or its exit signal) to the parent and its
    /// waiters woken — or, if the parent does not want zombies, it is gone.
    fn notify_parent_of_exit(&mut self, pid: Pid) {
        let (ppid, exit_signal, status) = {
            let p = &self.procs[&pid];
            (p.ppid, p.exit_signal, p.zombie.unwrap_or(0))
        };
        let Some(parent) = self.procs.get(&ppid).filter(|p| p.zombie.is_none()) else {
            // No parent (init's own end, or init gone): nobody will wait.
            self.reap(pid);
            return;
        };
        let chld = parent.sigactions[SIGCHLD as usize - 1];
        // SIGCHLD ignored: no signal and no zombie; SA_NOCLDWAIT: no zombie,
        // but a handler still hears of it (Linux's do_notify_parent).
        let autoreap = exit_signal == SIGCHLD && (chld.handler == SIG_IGN || chld.flags & SA_NOCLDWAIT != 0);
        if exit_signal != 0 && !(exit_signal == SIGCHLD && chld.handler == SIG_IGN) {
            let code = if status & 0x7f == 0 { CLD_EXITED } else { CLD_KILLED };
            let value = if status & 0x7f == 0 { (status >> 8) & 0xff } else { status & 0x7f };
            self.send_child_signal(ppid, exit_signal, pid, code, value);
        }
        if autoreap {
            self.reap(pid);
        }
        self.wake_child_waiters(ppid);
    }

    /// Wake the threads of `pid` waiting in wait4/waitid.
    pub fn wake_child_waiters(&mut self, pid: Pid) {
        let Some(p) = self.procs.get(&pid) else { return };
        for tid in p.tasks.clone() {
            if matches!(self.tasks.get(&tid).and_then(|t| t.pending).map(|p| p.wait), Some(Wait::Child)) {
                self.wake(tid);
            }
        }
    }

    /// What process `pid` has used so far: the ended threads' time and the
    /// live threads' (user), the server's time on its behalf (system).
    pub fn usage_of(&self, pid: Pid) -> Usage {
        let Some(p) = self.procs.get(&pid) else { return Usage::default() };
        let mut u = p.usage;
        for t in &p.tasks {
            if let Some(t) = self.tasks.get(t) {
                u.utime_ns += crate::kthread::cpu_ns(t.kid);
            }
        }
        u
    }

    /// Remove every trace of a zombie (it was waited for, or nobody will).
    pub fn reap(&mut self, pid: Pid) {
        let Some(p) = self.procs.remove(&pid) else { return };
        if let Some(parent) = self.procs.get_mut(&p.ppid) {
            parent.children.retain(|&c| c != pid);
            parent.children_usage.utime_ns += p.usage.utime_ns + p.children_usage.utime_ns;
            parent.children_usage.stime_ns += p.usage.stime_ns + p.children_usage.stime_ns;
            parent.children_usage.minflt += p.usage.minflt + p.children_usage.minflt;
        }
        self.proc_remove(pid);
    }

    /// Thread `tid` faulted: the signal `info` is forced on it (a handler
    /// runs, or the process dies as Linux's default action would). `regs`
    /// are its registers at the fault; `trapno`, `err` and `cr2` go into the
    /// handler's sigcontext. Returns the thread's reply.
    pub fn fault(
        &mut self,
        tid: Tid,
        info: SigInfo,
        trapno: u64,
        err: u64,
        cr2: u64,
        regs: UserRegs,
        what: &str,
    ) -> Reply {
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return Reply::None };
        let sig = info.signo as u32;
        self.force_signal(tid, info);
        if !self.tasks.contains_key(&tid) {
            // Like Linux's segfault reports: shown unless the console is quiet.
            if sig != SIGKILL && !self.quiet {
                rt::println!("linux-server: pid {pid}: {what} at {cr2:#x} (ip {:#x}): signal {sig}", regs.rip);
            }
            return Reply::None;
        }
        self.fault_context = Some((tid, trapno, err, cr2));
        let r = self.return_to_user(tid, regs);
        self.fault_context = None;
        r
    }

    /// A CPU exception of a Linux thread (not a page fault on user memory).
    pub fn cpu_exception(&mut self, tid: Tid, vector: u64, error: u64, addr: u64, regs: &UserRegs) -> Reply {
        use linux_server::signal::info::*;
        let ip = regs.rip;
        let (info, what) = match vector {
            0 => (SigInfo::fault(SIGFPE, FPE_INTDIV, ip), "divide error"),
            1 => (SigInfo::fault(SIGTRAP, TRAP_TRACE, ip), "debug trap"),
            3 => (SigInfo::kernel(SIGTRAP), "breakpoint"),
            6 => (SigInfo::fault(SIGILL, ILL_ILLOPN, ip), "invalid opcode"),
            7 => (SigInfo::fault(SIGFPE, FPE_FLTINV, ip), "device not available"),
            12 => (SigInfo::kernel(SIGBUS), "stack segment fault"),
            17 => (SigInfo::fault(SIGBUS, BUS_ADRALN, 0), "alignment check"),
            16 | 19 => (SigInfo::fault(SIGFPE, self.fpe_code(tid), ip), "floating-point exception"),
            14 => (SigInfo::fault(SIGSEGV, SEGV_MAPERR, addr), "page fault on a kernel address"),
            _ => (SigInfo::kernel(SIGSEGV), "general protection fault"),
        };
        let cr2 = if vector == 14 { addr } else { 0 };
        self.fault(tid, info, vector, error, cr2, *regs, what)
    }

    /// The si_code of a floating-point exception, from the unmasked
    /// exception flags in MXCSR (Linux's fpu__exception_code for SIMD).
    fn fpe_code(&self, tid: Tid) -> i32 {
        use linux_server::signal::info::*;
        let Some(kid) = self.tasks.get(&tid).map(|t| t.kid) else { return FPE_FLTUNK };
        let Ok(f) = crate::kthread::get_fpu(kid) else { return FPE_FLTUNK };
        let mxcsr = u32::from_le_bytes(f[24..28].try_into().unwrap());
        let raised = mxcsr & 0x3f & !(mxcsr >> 7);
        if raised & 1 != 0 {
            FPE_FLTINV
        } else if raised & 4 != 0 {
            FPE_FLTDIV
        } else if raised & 8 != 0 {
            FPE_FLTOVF
        } else if raised & 0x12 != 0 {
            FPE_FLTUND
        } else if raised & 0x20 != 0 {
            FPE_FLTRES
        } else {
            FPE_FLTUNK
        }
    }
}
