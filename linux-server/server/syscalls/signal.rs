//! Signals as far as the first stage needs them: dispositions and masks are
//! stored and reported back; a signal a process sends itself takes its
//! default action. Delivery to handlers comes with the signal-thread stage.

use crate::process::{Pid, SigAction, Tid, SIG_DFL, SIG_IGN};
use crate::server::{Reply, Server};
use linux_server::linux::errno::*;
use linux_server::linux::signal::*;
use linux_server::linux::sysno as nr;

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
const SS_DISABLE: u32 = 2;
const MINSIGSTKSZ: u64 = 2048;

/// Signals whose default action is to do nothing.
fn ignored_by_default(sig: u32) -> bool {
    matches!(sig, SIGCHLD | SIGURG | SIGWINCH | SIGCONT)
}

impl Server {
    /// Signal `sig` for process `pid`, as far as this stage can: a signal
    /// with the default action "terminate" (or "core") ends the process, and
    /// `true` says it did; ignored signals, stops (until job control) and
    /// caught signals (until handlers run) do nothing.
    pub fn default_signal(&mut self, pid: Pid, sig: u32) -> bool {
        let Some(p) = self.procs.get(&pid) else { return false };
        let act = p.sigactions[sig as usize - 1];
        let terminates = !ignored_by_default(sig) && !matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU);
        if sig == SIGKILL || (act.handler == SIG_DFL && terminates) {
            self.exit_process(pid, killed(sig));
            return true;
        }
        false
    }

    pub(super) fn sys_rt_sigaction(&mut self, pid: Pid, sig: u64, act: u64, old: u64, size: u64) -> SysResult<u64> {
        if size != 8 || !(1..=64).contains(&sig) {
            return Err(EINVAL);
        }
        let s = sig as u32;
        let new = if act != 0 {
            if s == SIGKILL || s == SIGSTOP {
                return Err(EINVAL);
            }
            let b = self.read_user(pid, act, 32)?;
            let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
            Some(SigAction {
                handler: w(0),
                flags: w(1),
                restorer: w(2),
                mask: w(3) & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)),
            })
        } else {
            None
        };
        let cur = self.procs[&pid].sigactions[s as usize - 1];
        if old != 0 {
            let mut b = [0u8; 32];
            for (i, v) in [cur.handler, cur.flags, cur.restorer, cur.mask].iter().enumerate() {
                b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            self.write_user(pid, old, &b)?;
        }
        if let Some(a) = new {
            self.procs.get_mut(&pid).expect("live").sigactions[s as usize - 1] = a;
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigprocmask(
        &mut self,
        tid: Tid,
        pid: Pid,
        how: u64,
        set: u64,
        old: u64,
        size: u64,
    ) -> SysResult<u64> {
        if size != 8 {
            return Err(EINVAL);
        }
        let cur = self.tasks[&tid].sigmask;
        let new = if set != 0 {
            let s = self.read_u64(pid, set)?;
            let m = match how {
                SIG_BLOCK => cur | s,
                SIG_UNBLOCK => cur & !s,
                SIG_SETMASK => s,
                _ => return Err(EINVAL),
            };
            Some(m & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)))
        } else {
            None
        };
        if old != 0 {
            self.write_u64(pid, old, cur)?;
        }
        if let Some(m) = new {
            self.tasks.get_mut(&tid).expect("live").sigmask = m;
        }
        Ok(0)
    }

    pub(super) fn sys_sigaltstack(&mut self, pid: Pid, ss: u64, old: u64) -> SysResult<u64> {
        let cur = self.procs[&pid].altstack;
        let new = if ss != 0 {
            let b = self.read_user(pid, ss, 24)?;
            let sp = u64::from_le_bytes(b[0..8].try_into().unwrap());
            let flags = u32::from_le_bytes(b[8..12].try_into().unwrap());
            let size = u64::from_le_bytes(b[16..24].try_into().unwrap());
            if flags & !(SS_DISABLE | 1 << 31) != 0 {
                return Err(EINVAL);
            }
            if flags & SS_DISABLE == 0 && size < MINSIGSTKSZ {
                return Err(ENOMEM);
            }
            Some((sp, flags, size))
        } else {
            None
        };
        if old != 0 {
            let mut b = [0u8; 24];
            b[0..8].copy_from_slice(&cur.0.to_le_bytes());
            b[8..12].copy_from_slice(&cur.1.to_le_bytes());
            b[16..24].copy_from_slice(&cur.2.to_le_bytes());
            self.write_user(pid, old, &b)?;
        }
        if let Some(n) = new {
            self.procs.get_mut(&pid).expect("live").altstack = n;
        }
        Ok(0)
    }

    /// kill/tkill/tgkill before signal delivery exists: a process may test
    /// for existence (signal 0) or send itself a signal whose disposition is
    /// the default or "ignore"; a handler cannot be run yet (ENOSYS, logged).
    pub(super) fn sys_kill_self(&mut self, tid: Tid, pid: Pid, n: u64, a: [u64; 6]) -> Reply {
        let (target, sig) = match n {
            nr::KILL => (a[0] as i32, a[1]),
            nr::TKILL => (a[0] as i32, a[1]),
            _ => (a[1] as i32, a[2]),
        };
        if sig > 64 {
            return Reply::Value(EINVAL.as_return());
        }
        let is_self = match n {
            nr::KILL => target == pid || target == 0 || target == -1 || target == -pid,
            _ => target == tid,
        };
        if !is_self {
            let exists = if n == nr::KILL {
                target > 0 && self.procs.contains_key(&target)
            } else {
                self.tasks.contains_key(&target)
            };
            return Reply::Value(if exists { ENOSYS.as_return() } else { ESRCH.as_return() });
        }
        if sig == 0 {
            return Reply::Value(0);
        }
        let s = sig as u32;
        if self.default_signal(pid, s) {
            return Reply::None;
        }
        let act = self.procs[&pid].sigactions[s as usize - 1];
        if act.handler == SIG_IGN || act.handler == 0 {
            return Reply::Value(0);
        }
        if self.enosys_logged.insert(0x1_0000 + s as u64) {
            rt::println!("linux-server: pid {pid}: running a handler for signal {s} is not implemented yet");
        }
        Reply::Value(ENOSYS.as_return())
    }
}
