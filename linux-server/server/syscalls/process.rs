//! Process and thread identity, limits and exit.

use crate::process::{Pid, Rlimit, Tid, RLIM_NLIMITS};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::signal;
use linux_server::linux::sysno as nr;

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
const ARCH_GET_CPUID: u64 = 0x1011;
const ARCH_SET_CPUID: u64 = 0x1012;

impl Server {
    pub(super) fn sys_exit(&mut self, tid: Tid, code: u64) -> Reply {
        self.exit_thread(tid, code as u8);
        Reply::None
    }

    pub(super) fn sys_exit_group(&mut self, pid: Pid, code: u64) -> Reply {
        self.exit_process(pid, signal::exited(code as u8));
        Reply::None
    }

    pub(super) fn sys_execve(&mut self, tid: Tid, pid: Pid, pathp: u64, argvp: u64, envp: u64) -> Reply {
        let old_kid = self.tasks[&tid].kid;
        let r = (|| {
            let path = self.read_path(pid, pathp)?;
            let argv = self.read_str_array(pid, argvp)?;
            let env = self.read_str_array(pid, envp)?;
            self.exec(tid, &path, argv, env)
        })();
        self.exec_result(pid, old_kid, r)
    }

    /// execveat: the program named relative to a directory descriptor, or
    /// the descriptor itself (AT_EMPTY_PATH); its name is /dev/fd/N[/path]
    /// as on Linux.
    pub(super) fn sys_execveat(&mut self, tid: Tid, pid: Pid, a: [u64; 6]) -> Reply {
        use linux_server::linux::fcntl::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
        let (dirfd, pathp, argvp, envp, flags) = (a[0] as i32, a[1], a[2], a[3], a[4] as u32);
        let old_kid = self.tasks[&tid].kid;
        let r = (|| {
            if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
                return Err(EINVAL);
            }
            let path = self.read_cstr(pid, pathp, 4095, ENAMETOOLONG)?;
            let argv = self.read_str_array(pid, argvp)?;
            let env = self.read_str_array(pid, envp)?;
            let (ino, name) = if path.is_empty() {
                if flags & AT_EMPTY_PATH == 0 {
                    return Err(ENOENT);
                }
                let f = self.procs[&pid].fds.file(dirfd as u64)?;
                let ino = f.borrow().ino.ok_or(EACCES)?;
                (ino, alloc::format!("/dev/fd/{dirfd}").into_bytes())
            } else {
                let start = if path[0] == b'/' || dirfd == AT_FDCWD {
                    self.procs[&pid].cwd
                } else {
                    let f = self.procs[&pid].fds.file(dirfd as u64)?;
                    let i = f.borrow().ino.ok_or(ENOTDIR)?;
                    i
                };
                let ino = self.lookup(pid, start, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
                if flags & AT_SYMLINK_NOFOLLOW != 0 && self.vfs.kind(ino)? == linux_server::vfs::Kind::Symlink {
                    return Err(ELOOP);
                }
                let name = if path[0] == b'/' || dirfd == AT_FDCWD {
                    path.clone()
                } else {
                    let mut n = alloc::format!("/dev/fd/{dirfd}/").into_bytes();
                    n.extend_from_slice(&path);
                    n
                };
                (ino, name)
            };
            self.exec_ino(tid, ino, &name, argv, env, 0)
        })();
        self.exec_result(pid, old_kid, r)
    }

    /// The answer to a successful exec: the new image's registers — or, if
    /// the process got a new kernel thread (a vfork child), that thread
    /// starts and the old one, with its syscall, is gone.
    fn exec_result(&mut self, pid: Pid, old_kid: abi::ThreadId, r: SysResult<UserRegs>) -> Reply {
        match r {
            Ok(regs) => {
                let Some(kid) = self.tasks.get(&pid).map(|t| t.kid) else { return Reply::None };
                if kid == old_kid {
                    return Reply::Regs(regs);
                }
                let _ = self.start_thread(kid, &regs, None);
                Reply::None
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    /// clone, fork and vfork (fork.rs does the work).
    pub(super) fn sys_clone(&mut self, tid: Tid, n: u64, a: [u64; 6], regs: UserRegs) -> Reply {
        use crate::fork::*;
        let args = match n {
            nr::FORK => CloneArgs { flags: linux_server::linux::signal::SIGCHLD as u64, ..Default::default() },
            nr::VFORK => CloneArgs {
                flags: CLONE_VM | CLONE_VFORK | linux_server::linux::signal::SIGCHLD as u64,
                ..Default::default()
            },
            // x86-64 clone: flags, stack, parent_tid, child_tid, tls.
            _ => CloneArgs { flags: a[0], stack: a[1], parent_tid: a[2], child_tid: a[3], tls: a[4] },
        };
        self.do_clone(tid, args, regs)
    }

    /// clone3: the same, from a `struct clone_args`.
    pub(super) fn sys_clone3(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        use crate::fork::*;
        let size = a[1];
        if !(64..=4096).contains(&size) {
            return Reply::Value(EINVAL.as_return());
        }
        let raw = match self.read_user(pid, a[0], 64) {
            Ok(r) => r,
            Err(e) => return Reply::Value(e.as_return()),
        };
        let w = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap());
        // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
        if w(0) & CSIGNAL != 0 || w(4) > 64 {
            return Reply::Value(EINVAL.as_return());
        }
        let stack = if w(5) != 0 { w(5) + w(6) } else { 0 };
        let args = CloneArgs { flags: w(0) | w(4), stack, parent_tid: w(3), child_tid: w(2), tls: w(7) };
        self.do_clone(tid, args, regs)
    }

    fn target(&self, me: Pid, pid: u64) -> SysResult<Pid> {
        let p = pid as i32;
        if p < 0 {
            return Err(ESRCH);
        }
        let p = if p == 0 { me } else { p };
        if self.procs.contains_key(&p) {
            Ok(p)
        } else {
            Err(ESRCH)
        }
    }

    pub(super) fn sys_getpgid(&mut self, me: Pid, pid: u64) -> SysResult<u64> {
        let p = self.target(me, pid)?;
        Ok(self.procs[&p].pgid as u64)
    }

    pub(super) fn sys_getsid(&mut self, me: Pid, pid: u64) -> SysResult<u64> {
        let p = self.target(me, pid)?;
        Ok(self.procs[&p].sid as u64)
    }

    /// setpgid: Linux's rules — the caller or one of its children (ESRCH),
    /// a child that has not exec'd (EACCES) in the caller's session, not a
    /// session leader (EPERM), into its own group or an existing group of
    /// the same session (EPERM).
    pub(super) fn sys_setpgid(&mut self, me: Pid, pid: u64, pgid: u64) -> SysResult<u64> {
        let (pid, pgid) = (pid as i32, pgid as i32);
        if pgid < 0 {
            return Err(EINVAL);
        }
        let p = if pid == 0 { me } else { pid };
        let target = self.procs.get(&p).filter(|t| t.zombie.is_none()).ok_or(ESRCH)?;
        let my_sid = self.procs[&me].sid;
        if p != me {
            if target.ppid != me {
                return Err(ESRCH);
            }
            if target.sid != my_sid {
                return Err(EPERM);
            }
            if target.execed {
                return Err(EACCES);
            }
        }
        if target.sid == p {
            return Err(EPERM); // a session leader cannot move
        }
        let g = if pgid == 0 { p } else { pgid };
        if g != p && !self.procs.values().any(|q| q.pgid == g && q.sid == my_sid && q.zombie.is_none()) {
            return Err(EPERM);
        }
        self.procs.get_mut(&p).expect("checked").pgid = g;
        Ok(0)
    }

    /// setsid: a new session and process group, led by the caller (not
    /// allowed for a process group leader); it has no controlling terminal.
    pub(super) fn sys_setsid(&mut self, pid: Pid) -> SysResult<u64> {
        if self.procs.values().any(|p| p.pgid == pid) {
            return Err(EPERM);
        }
        let p = self.procs.get_mut(&pid).expect("live");
        p.sid = pid;
        p.pgid = pid;
        Ok(pid as u64)
    }

    pub(super) fn sys_set_tid_address(&mut self, tid: Tid, addr: u64) -> SysResult<u64> {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.clear_child_tid = addr;
        }
        Ok(tid as u64)
    }

    pub(super) fn sys_set_robust_list(&mut self, tid: Tid, head: u64, len: u64) -> SysResult<u64> {
        if len != 24 {
            return Err(EINVAL);
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.robust_list = (head, len);
        }
        Ok(0)
    }

    pub(super) fn sys_get_robust_list(&mut self, pid: Pid, tid: Tid, who: u64, head: u64, len: u64) -> SysResult<u64> {
        let t = if who == 0 { tid } else { who as i32 };
        let (h, l) = self.tasks.get(&t).ok_or(ESRCH)?.robust_list;
        self.write_u64(pid, head, h)?;
        self.write_u64(pid, len, l)?;
        Ok(0)
    }

    pub(super) fn sys_arch_prctl(&mut self, tid: Tid, pid: Pid, code: u64, addr: u64, mut regs: UserRegs) -> Reply {
        let canonical = addr < linux_server::exec::layout::TASK_END;
        let r = match code {
            ARCH_SET_FS | ARCH_SET_GS if !canonical => Err(EPERM),
            ARCH_SET_FS => {
                regs = self.returning(tid, &regs, 0);
                regs.fs_base = addr;
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.fs_base = addr;
                }
                return Reply::Regs(regs);
            }
            ARCH_SET_GS => {
                regs = self.returning(tid, &regs, 0);
                regs.gs_base = addr;
                return Reply::Regs(regs);
            }
            ARCH_GET_FS => self.write_u64(pid, addr, regs.fs_base).map(|_| 0),
            ARCH_GET_GS => self.write_u64(pid, addr, regs.gs_base).map(|_| 0),
            ARCH_GET_CPUID => Ok(1),
            ARCH_SET_CPUID => Err(ENODEV),
            _ => Err(EINVAL),
        };
        super::value(r)
    }

    pub(super) fn sys_prlimit64(&mut self, me: Pid, pid: u64, res: u64, new: u64, old: u64) -> SysResult<u64> {
        let p = self.target(me, pid)?;
        let r = res as usize;
        if r >= RLIM_NLIMITS {
            return Err(EINVAL);
        }
        let cur = self.procs[&p].rlimits[r];
        let newl = if new != 0 {
            let lim = Rlimit { cur: self.read_u64(me, new)?, max: self.read_u64(me, new + 8)? };
            if lim.cur > lim.max {
                return Err(EINVAL);
            }
            Some(lim)
        } else {
            None
        };
        if old != 0 {
            self.write_u64(me, old, cur.cur)?;
            self.write_u64(me, old + 8, cur.max)?;
        }
        if let Some(l) = newl {
            // Root may raise hard limits; RLIMIT_NOFILE is capped by the fd table.
            if r == crate::process::RLIMIT_NOFILE && l.max > crate::files::MAX_FDS as u64 {
                return Err(EPERM);
            }
            self.procs.get_mut(&p).expect("checked").rlimits[r] = l;
        }
        Ok(0)
    }

    pub(super) fn sys_getrusage(&mut self, tid: Tid, pid: Pid, who: u64, usage: u64) -> SysResult<u64> {
        const RUSAGE_SELF: i32 = 0;
        const RUSAGE_CHILDREN: i32 = -1;
        const RUSAGE_THREAD: i32 = 1;
        let u = match who as i32 {
            RUSAGE_SELF => self.usage_of(pid),
            RUSAGE_CHILDREN => self.procs[&pid].children_usage,
            RUSAGE_THREAD => {
                crate::process::Usage { utime_ns: crate::kthread::cpu_ns(self.tasks[&tid].kid), ..Default::default() }
            }
            _ => return Err(EINVAL),
        };
        // struct rusage (144 bytes): times, maximum resident set, minor faults.
        let mut b = [0u8; 144];
        let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000) / 1000) as i64);
        for (at, ns) in [(0, u.utime_ns), (16, u.stime_ns)] {
            let (s, us) = tv(ns);
            b[at..at + 8].copy_from_slice(&s.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&us.to_le_bytes());
        }
        let maxrss = if who as i32 == RUSAGE_CHILDREN { 0 } else { self.mm(pid).pt.len() as i64 * 4 };
        b[32..40].copy_from_slice(&maxrss.to_le_bytes());
        b[64..72].copy_from_slice(&(u.minflt as i64).to_le_bytes());
        self.write_user(pid, usage, &b)?;
        Ok(0)
    }

    pub(super) fn sys_prctl(&mut self, tid: Tid, pid: Pid, option: u64, arg2: u64, _arg3: u64) -> SysResult<u64> {
        const PR_SET_PDEATHSIG: u64 = 1;
        const PR_GET_PDEATHSIG: u64 = 2;
        const PR_GET_DUMPABLE: u64 = 3;
        const PR_SET_DUMPABLE: u64 = 4;
        const PR_SET_NAME: u64 = 15;
        const PR_GET_NAME: u64 = 16;
        const PR_SET_CHILD_SUBREAPER: u64 = 36;
        const PR_GET_CHILD_SUBREAPER: u64 = 37;
        match option {
            PR_SET_NAME => {
                // At most 15 bytes and a NUL, like Linux's comm.
                let mut name = [0u8; 16];
                for (i, slot) in name.iter_mut().take(15).enumerate() {
                    let mut b = [0u8];
                    self.copy_in(pid, arg2 + i as u64, &mut b).map_err(|_| EFAULT)?;
                    if b[0] == 0 {
                        break;
                    }
                    *slot = b[0];
                }
                self.tasks.get_mut(&tid).expect("live").comm = name;
                Ok(0)
            }
            PR_GET_NAME => {
                let name = self.tasks[&tid].comm;
                self.write_user(pid, arg2, &name)?;
                Ok(0)
            }
            PR_SET_PDEATHSIG => {
                if arg2 > 64 {
                    return Err(EINVAL);
                }
                self.procs.get_mut(&pid).expect("live").pdeathsig = arg2 as u32;
                Ok(0)
            }
            PR_GET_PDEATHSIG => {
                let sig = self.procs[&pid].pdeathsig;
                self.write_u32(pid, arg2, sig).map(|_| 0)
            }
            PR_SET_CHILD_SUBREAPER => {
                self.procs.get_mut(&pid).expect("live").child_subreaper = arg2 != 0;
                Ok(0)
            }
            PR_GET_CHILD_SUBREAPER => {
                let on = self.procs[&pid].child_subreaper as u32;
                self.write_u32(pid, arg2, on).map(|_| 0)
            }
            PR_SET_DUMPABLE if arg2 <= 1 => Ok(0),
            PR_GET_DUMPABLE => Ok(1),
            _ => Err(EINVAL),
        }
    }
}
