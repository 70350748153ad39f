//! Process and thread identity, limits and exit.

use crate::process::{Pid, Rlimit, Tid, RLIM_NLIMITS};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::signal;

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
const ARCH_GET_CPUID: u64 = 0x1011;
const ARCH_SET_CPUID: u64 = 0x1012;

impl Server {
    pub(super) fn sys_exit(&mut self, tid: Tid, code: u64) -> Reply {
        // One thread per process until threads arrive: exit ends the process.
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return Reply::None };
        self.exit_process(pid, signal::exited(code as u8));
        Reply::None
    }

    pub(super) fn sys_exit_group(&mut self, pid: Pid, code: u64) -> Reply {
        self.exit_process(pid, signal::exited(code as u8));
        Reply::None
    }

    pub(super) fn sys_execve(&mut self, pid: Pid, pathp: u64, argvp: u64, envp: u64) -> Reply {
        let r = (|| {
            let path = self.read_path(pid, pathp)?;
            let argv = self.read_str_array(pid, argvp)?;
            let env = self.read_str_array(pid, envp)?;
            self.exec(pid, &path, argv, env)
        })();
        match r {
            Ok(regs) => Reply::Regs(regs),
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_getresuid(&mut self, pid: Pid, a: u64, b: u64, c: u64) -> SysResult<u64> {
        for p in [a, b, c] {
            self.write_u32(pid, p, 0)?;
        }
        Ok(0)
    }

    pub(super) fn sys_getgroups(&mut self, pid: Pid, size: u64, list: u64) -> SysResult<u64> {
        // Root, in group 0 only.
        if size as i32 as i64 <= 0 {
            return if size == 0 { Ok(1) } else { Err(EINVAL) };
        }
        self.write_u32(pid, list, 0)?;
        Ok(1)
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

    pub(super) fn sys_setpgid(&mut self, me: Pid, pid: u64, pgid: u64) -> SysResult<u64> {
        let p = self.target(me, pid)?;
        let g = pgid as i32;
        if g < 0 {
            return Err(EINVAL);
        }
        let g = if g == 0 { p } else { g };
        if self.procs[&p].sid == p {
            return Err(EPERM); // a session leader cannot move
        }
        self.procs.get_mut(&p).expect("checked").pgid = g;
        Ok(0)
    }

    pub(super) fn sys_setsid(&mut self, pid: Pid) -> SysResult<u64> {
        if self.procs.values().any(|p| p.pgid == pid && p.pid != pid)
            || self.procs[&pid].pgid == pid && self.procs[&pid].sid == pid
        {
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
                regs.fs_base = addr;
                regs.rax = 0;
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.fs_base = addr;
                }
                return Reply::Regs(regs);
            }
            ARCH_SET_GS => {
                regs.gs_base = addr;
                regs.rax = 0;
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

    pub(super) fn sys_getrusage(&mut self, pid: Pid, who: u64, usage: u64) -> SysResult<u64> {
        let who = who as i32;
        if !(who == 0 || who == -1 || who == 1) {
            return Err(EINVAL);
        }
        // struct rusage: 144 bytes; user and system time from the clock,
        // faults from the page table; the rest zero.
        let mut b = [0u8; 144];
        let ns = self.clock.now_ns();
        let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000) / 1000) as i64);
        let (us, uu) = tv(if who == -1 { 0 } else { ns / 2 });
        b[0..8].copy_from_slice(&us.to_le_bytes());
        b[8..16].copy_from_slice(&uu.to_le_bytes());
        let maxrss = self.procs[&pid].mm.pt.len() as i64 * 4;
        b[32..40].copy_from_slice(&maxrss.to_le_bytes());
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
            PR_SET_PDEATHSIG | PR_SET_DUMPABLE => Ok(0),
            PR_GET_PDEATHSIG => self.write_u32(pid, arg2, 0).map(|_| 0),
            PR_GET_DUMPABLE => Ok(1),
            _ => Err(EINVAL),
        }
    }
}
