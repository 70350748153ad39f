//! Processes coming and going: the first process, exit, and ends forced by
//! faults. (Signals proper, fork and wait come with the next stage; until
//! then a fault or a fatal signal ends the process with the status Linux's
//! default action would give.)

use crate::process::{default_rlimits, Mm, Pid, Process, Task, Tid};
use crate::server::{Reply, Server};
use abi::sysno::{config, create, exregs};
use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::signal::{self, *};

/// Priority of Linux threads (below the servers).
const LINUX_PRIORITY: u64 = 100;

impl Server {
    /// A new kernel thread in a new space, set up as a Linux thread of ours.
    fn new_linux_thread(&mut self) -> SysResult<ThreadId> {
        let kid = rt::sys::thread_create(ThreadId::NIL, self.me, self.me, 0, create::LINUX | LINUX_PRIORITY)
            .map_err(|_| EAGAIN)?;
        // It may talk to nobody but us.
        let _ = rt::sys::thread_config(kid, config::SEND_ONLY_TO_SPACE_OF, self.me.0);
        Ok(kid)
    }

    /// Start the first process (PID 1) running `path` with `argv` and `envp`.
    pub fn spawn_init(&mut self, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> SysResult<Pid> {
        let kid = self.new_linux_thread()?;
        let pid = self.next_pid;
        self.next_pid += 1;
        let root = self.vfs.root();
        let fds = self.console_fds();
        self.procs.insert(
            pid,
            Process {
                pid,
                ppid: 0,
                pgid: pid,
                sid: pid,
                mm: Mm::default(),
                fds,
                cwd: root,
                umask: 0o022,
                exe: Vec::new(),
                exe_ino: root,
                tasks: alloc::vec![pid],
                rlimits: default_rlimits(),
                sigactions: [Default::default(); 64],
                altstack: (0, 2, 0),
                argc: 0,
            },
        );
        self.tasks.insert(
            pid,
            Task {
                tid: pid,
                pid,
                kid,
                clear_child_tid: 0,
                robust_list: (0, 0),
                pending: None,
                retry_wait: None,
                sigmask: 0,
                fs_base: 0,
                comm: [0; 16],
            },
        );
        self.by_kid.insert(kid.0, pid);
        let _ = self.vfs.open_ref(root); // the working directory
        self.proc_add(pid);
        match self.exec(pid, path, argv, envp) {
            Ok(regs) => {
                let _ = rt::sys::exregs(kid, exregs::SET_IP | exregs::SET_SP | exregs::RESUME, regs.rip, regs.rsp, 0);
                Ok(pid)
            }
            Err(e) => {
                self.reap(pid);
                Err(e)
            }
        }
    }

    /// Remove every trace of a process that has ended.
    fn reap(&mut self, pid: Pid) {
        let Some(p) = self.procs.get(&pid) else { return };
        let tids = p.tasks.clone();
        let mut kid = None;
        for tid in tids {
            if let Some(t) = self.tasks.remove(&tid) {
                self.by_kid.remove(&t.kid.0);
                kid.get_or_insert(t.kid);
                if let Some(t) = t.pending.and_then(|p| p.wait.deadline()) {
                    self.timers.remove(&(t, tid));
                }
            }
            // Wait queues may keep stale entries (pipes): waking a thread
            // that is gone does nothing.
            self.console.readers.retain(|&r| r != tid);
            self.pollers.retain(|&r| r != tid);
        }
        // The space and everything mapped into it go with its threads.
        if let Some(k) = kid {
            let _ = rt::sys::space_delete(k);
        }
        self.release_mm(pid);
        self.close_all(pid);
        if let Some(p) = self.procs.remove(&pid) {
            let _ = self.vfs.close_ref(p.cwd);
        }
        self.proc_remove(pid);
    }

    /// Process `pid` ends with wait status `status`.
    pub fn exit_process(&mut self, pid: Pid, status: i32) {
        self.reap(pid);
        if pid == 1 {
            let code = signal::shell_status(status);
            self.console.write(alloc::format!("### exit status {code}\n").as_bytes());
            let _ = rt::sys::shutdown(code as u8);
        }
    }

    /// The thread `tid` faulted (or was sent a fatal signal it cannot
    /// handle yet): its process ends as Linux's default action would.
    pub fn fault_signal(&mut self, tid: Tid, sig: u32, addr: u64, ip: u64, what: &str) -> Reply {
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return Reply::None };
        // Like Linux's segfault reports: shown unless the console is quiet.
        if sig != SIGKILL && !self.quiet {
            rt::println!("linux-server: pid {pid}: {what} at {addr:#x} (ip {ip:#x}): signal {sig}");
        }
        self.exit_process(pid, signal::killed(sig));
        Reply::None
    }

    /// A terminal signal character: the foreground process group gets the
    /// signal's default action (handlers come with the signal stage).
    pub fn tty_signal(&mut self, sig: linux_server::tty::TtySignal) {
        use linux_server::tty::TtySignal;
        let s = match sig {
            TtySignal::Interrupt => SIGINT,
            TtySignal::Quit => SIGQUIT,
            TtySignal::Suspend => return, // stopping needs job control (next stage)
        };
        let fg = self.console.fg_pgrp;
        let victims: Vec<_> = self
            .procs
            .values()
            .filter(|p| p.pgid == fg && p.sigactions[s as usize - 1].handler == crate::process::SIG_DFL)
            .map(|p| p.pid)
            .collect();
        for pid in victims {
            self.exit_process(pid, signal::killed(s));
        }
    }

    /// A CPU exception of a Linux thread (not a page fault on user memory).
    pub fn cpu_exception(
        &mut self,
        tid: Tid,
        vector: u64,
        _error: u64,
        addr: u64,
        regs: &abi::exception::UserRegs,
    ) -> Reply {
        let (sig, what) = match vector {
            0 => (SIGFPE, "divide error"),
            1 | 3 => (SIGTRAP, "breakpoint"),
            6 => (SIGILL, "invalid opcode"),
            12 | 17 => (SIGBUS, "bus error"),
            16 | 19 => (SIGFPE, "floating-point exception"),
            14 => (SIGSEGV, "page fault on a kernel address"),
            _ => (SIGSEGV, "general protection fault"),
        };
        let at = if vector == 14 { addr } else { regs.rip };
        self.fault_signal(tid, sig, at, regs.rip, what)
    }
}
