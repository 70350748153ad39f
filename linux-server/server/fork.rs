//! New processes and threads: fork, vfork, clone.
//!
//! fork copies the address space copy-on-write through the logical page
//! tables: every private page becomes shared read-only by parent and child
//! (the frame's reference count says how many share it), one unmap takes
//! write access away from the parent's kernel mappings, and the first write
//! fault on either side copies the page (or, for the last sharer, just makes
//! it writable again). Shared mappings stay shared. A vfork child runs in its
//! parent's address space (the same `Mm`, a kernel thread in the same space)
//! while the parent waits, until the child execs or exits. A thread
//! (CLONE_THREAD) is one more kernel thread in the process's space.
//!
//! Descriptor tables, cwd and umask belong to the process, so threads share
//! them; a new process always gets copies. CLONE_FILES or CLONE_FS without
//! CLONE_THREAD (shared tables between processes — rare outside
//! container runtimes) are accepted and treated as copies. CLONE_PTRACE,
//! CLONE_SYSVSEM, CLONE_UNTRACED, CLONE_IO and CLONE_DETACHED change nothing
//! here.

use crate::kthread;
use crate::lifecycle::NewProcess;
use crate::process::{MmId, Pid, Task, Tid, Wait, RLIMIT_NPROC};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use abi::{Fpage, Rights};
use linux_server::linux::errno::*;
use linux_server::mm::pages::Pte;
use linux_server::mm::vma::Backing;

pub const CSIGNAL: u64 = 0xff;
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_NEWNS: u64 = 0x20000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
/// The namespace flags (NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET,
/// NEWTIME): no namespaces here.
const CLONE_NAMESPACES: u64 = 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x80;

/// Most Linux threads in the system at once: beyond it fork and clone fail
/// with EAGAIN, for everyone. Linux derives threads-max from the memory
/// size; Debian's 6.1 kernel in the same QEMU machine (-m 512M) reports
/// 3565 in /proc/sys/kernel/threads-max.
pub const MAX_THREADS: usize = 3565;

/// What clone was asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

impl Server {
    /// fork, vfork and clone. `regs` are the caller's registers at the
    /// syscall; the child returns 0 from it. Returns the parent's reply.
    pub fn do_clone(&mut self, tid: Tid, args: CloneArgs, regs: UserRegs) -> Reply {
        match self.clone_checked(tid, args, regs) {
            Ok(Some(child)) if args.flags & CLONE_VFORK != 0 => {
                // The parent waits until the child execs or exits.
                self.procs.get_mut(&child).expect("a new process").vfork_parent = Some(tid);
                self.park(
                    tid,
                    linux_server::linux::sysno::VFORK,
                    [child as u64, 0, 0, 0, 0, 0],
                    regs,
                    Wait::Vfork { child },
                )
            }
            Ok(Some(child)) => Reply::Value(child as u64),
            Ok(None) => Reply::None,
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    fn clone_checked(&mut self, tid: Tid, a: CloneArgs, regs: UserRegs) -> SysResult<Option<Tid>> {
        let f = a.flags;
        if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
            return Err(EINVAL);
        }
        if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
            return Err(EINVAL);
        }
        if f & (CLONE_NAMESPACES | CLONE_NEWNS | CLONE_PIDFD) != 0 {
            return Err(EINVAL);
        }
        let pid = self.tasks.get(&tid).map(|t| t.pid).ok_or(ESRCH)?;
        self.check_thread_limits(pid)?;
        let parent_fpu = kthread::get_fpu(self.tasks[&tid].kid).ok();
        // The child returns 0 from the same call, by the same path.
        let mut child_regs = self.returning(tid, &regs, 0);
        if a.stack != 0 {
            child_regs.rsp = a.stack;
        }
        if f & CLONE_SETTLS != 0 {
            if a.tls >= linux_server::exec::layout::TASK_END {
                return Err(EPERM);
            }
            child_regs.fs_base = a.tls;
        }
        let new_tid =
            if f & CLONE_THREAD != 0 { self.new_thread(tid, pid, a)? } else { self.new_process_from(tid, pid, a)? };
        // Linux writes the TIDs before the child runs.
        if f & CLONE_PARENT_SETTID != 0 {
            let _ = self.write_u32(pid, a.parent_tid, new_tid as u32);
        }
        let child_pid = self.tasks[&new_tid].pid;
        if f & CLONE_CHILD_SETTID != 0 {
            let _ = self.write_u32(child_pid, a.child_tid, new_tid as u32);
        }
        if f & CLONE_CHILD_CLEARTID != 0 {
            self.tasks.get_mut(&new_tid).expect("new").clear_child_tid = a.child_tid;
        }
        let kid = self.tasks[&new_tid].kid;
        if self.start_thread(kid, &child_regs, parent_fpu.as_ref()).is_err() {
            self.exit_process(child_pid, linux_server::linux::signal::killed(linux_server::linux::signal::SIGKILL));
            return Err(EAGAIN);
        }
        Ok(Some(new_tid))
    }

    /// Linux's limits: the system's thread count, and RLIMIT_NPROC for the
    /// real user (not enforced for root, as on Linux).
    fn check_thread_limits(&self, pid: Pid) -> SysResult<()> {
        if self.tasks.len() >= MAX_THREADS {
            return Err(EAGAIN);
        }
        let p = &self.procs[&pid];
        if !p.creds.is_root() {
            let uid = p.creds.uid;
            let mine: usize =
                self.procs.values().filter(|q| q.zombie.is_none() && q.creds.uid == uid).map(|q| q.tasks.len()).sum();
            if mine as u64 >= p.rlimits[RLIMIT_NPROC].cur {
                return Err(EAGAIN);
            }
        }
        Ok(())
    }

    /// CLONE_THREAD: another thread of process `pid`.
    fn new_thread(&mut self, tid: Tid, pid: Pid, a: CloneArgs) -> SysResult<Tid> {
        let anchor = self.mm(pid).anchor;
        let kid = self.new_linux_thread(anchor)?;
        let new = self.next_pid;
        self.next_pid += 1;
        let parent = &self.tasks[&tid];
        let mut t = Task::new(new, pid, kid);
        t.sigmask = parent.sigmask;
        t.comm = parent.comm;
        let _ = a;
        self.tasks.insert(new, t);
        self.by_kid.insert(kid.0, new);
        self.procs.get_mut(&pid).expect("live").tasks.push(new);
        Ok(new)
    }

    /// A new process: the caller's copy (or, with CLONE_VM, a sharer of its
    /// address space).
    fn new_process_from(&mut self, tid: Tid, pid: Pid, a: CloneArgs) -> SysResult<Tid> {
        let f = a.flags;
        let parent_mm = self.procs[&pid].mm;
        let mm = if f & CLONE_VM != 0 {
            self.mms.get_mut(&parent_mm).expect("live").users += 1;
            parent_mm
        } else {
            self.fork_mm(pid)?
        };
        let anchor = self.mms[&mm].anchor;
        let kid = match self.new_linux_thread(anchor) {
            Ok(k) => k,
            Err(e) => {
                self.mm_put(mm);
                return Err(e);
            }
        };
        let p = &self.procs[&pid];
        // CLONE_PARENT: a sibling of the caller, whose parent hears of its
        // end by the caller's own exit signal, not the one given (Linux's
        // copy_process; otherwise a child could pick a fatal signal for its
        // parent).
        let ppid = if f & CLONE_PARENT != 0 { p.ppid } else { pid };
        let exit_signal = if f & CLONE_PARENT != 0 { p.exit_signal } else { (f & CSIGNAL) as u32 };
        let n = NewProcess {
            ppid,
            pgid: p.pgid,
            sid: p.sid,
            mm,
            fds: p.fds.clone(),
            cwd: p.cwd,
            umask: p.umask,
            creds: p.creds.clone(),
            exe: p.exe.clone(),
            exe_ino: p.exe_ino,
            exit_signal,
        };
        let (rlimits, sigactions, argc) = (p.rlimits, p.sigactions, p.argc);
        let child = self.add_process(n, kid);
        let c = self.procs.get_mut(&child).expect("new");
        c.rlimits = rlimits;
        c.sigactions = sigactions;
        c.argc = argc;
        let parent = &self.tasks[&tid];
        let (mask, comm, altstack, fs_base) = (parent.sigmask, parent.comm, parent.altstack, parent.fs_base);
        let t = self.tasks.get_mut(&child).expect("new");
        t.sigmask = mask;
        t.comm = comm;
        t.fs_base = fs_base;
        // A sharer of the address space gets no alternate signal stack.
        t.altstack = if f & CLONE_VM != 0 && f & CLONE_VFORK == 0 { (0, 2, 0) } else { altstack };
        Ok(child)
    }

    /// A copy-on-write copy of process `pid`'s address space.
    fn fork_mm(&mut self, pid: Pid) -> SysResult<MmId> {
        let child = self.new_mm()?;
        let parent_id = self.procs[&pid].mm;
        let parent = &self.mms[&parent_id];
        let areas: alloc::vec::Vec<_> = parent.vmas.iter().filter(|v| v.backing != Backing::Signal).copied().collect();
        let (brk_start, brk, arg_start, arg_end) = (parent.brk_start, parent.brk, parent.arg_start, parent.arg_end);
        let pages: alloc::vec::Vec<(u64, Pte)> = parent.pt.iter().collect();
        let mut shared_pages = alloc::vec::Vec::new();
        let mut cow_pages = alloc::vec::Vec::new();
        for (va, pte) in pages {
            let Some(v) = areas.iter().find(|v| v.contains(va)) else { continue };
            if v.shared {
                shared_pages.push((va, pte));
            } else {
                cow_pages.push((va, pte));
            }
        }
        for &(_, pte) in shared_pages.iter().chain(cow_pages.iter()) {
            self.pool.get(pte.frame);
        }
        let p = self.mms.get_mut(&parent_id).expect("live");
        for &(va, pte) in &cow_pages {
            p.pt.set(va, Pte { frame: pte.frame, writable: false });
        }
        let parent_anchor = p.anchor;
        let c = self.mms.get_mut(&child).expect("new");
        for v in areas {
            c.vmas.insert(v);
        }
        (c.brk_start, c.brk, c.arg_start, c.arg_end) = (brk_start, brk, arg_start, arg_end);
        for (va, pte) in shared_pages {
            c.pt.set(va, pte);
        }
        for (va, pte) in cow_pages {
            c.pt.set(va, Pte { frame: pte.frame, writable: false });
        }
        // One unmap takes write access from all the parent's mappings; the
        // shared pages get it back on their next write fault.
        let _ = rt::sys::unmap_in(parent_anchor, Fpage::complete(Rights::NONE), Rights::W, true);
        Ok(child)
    }

    /// The vfork child of `parent_tid` has exec'd or exited: the parent
    /// goes on, returning the child's PID.
    pub fn vfork_done(&mut self, parent_tid: Tid) {
        let child = match self.tasks.get(&parent_tid).and_then(|t| t.pending) {
            Some(p) if matches!(p.wait, Wait::Vfork { .. }) => p.args[0],
            _ => return,
        };
        self.unpark(parent_tid, Reply::Value(child));
    }
}
