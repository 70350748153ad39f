//! Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending,
//! rt_sigsuspend, pause, rt_sigtimedwait, rt_sigreturn, sigaltstack, kill,
//! tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, alarm, setitimer,
//! getitimer. Generation and delivery are ../signals.rs.

use crate::process::{Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::signal::*;
use linux_server::linux::sysno as nr;
use linux_server::signal::action::check_sigaction;
use linux_server::signal::info::{SI_TKILL, SI_USER};
use linux_server::signal::set::{apply_sigprocmask, SigSet};
use linux_server::signal::{frame, AltStack, SigAction, SigInfo};

const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;
const SS_AUTODISARM: u32 = 1 << 31;
const MINSIGSTKSZ: u64 = 2048;

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

impl Server {
    pub(super) fn sys_rt_sigaction(&mut self, pid: Pid, sig: u64, act: u64, old: u64, size: u64) -> SysResult<u64> {
        if size != 8 || sig > 64 {
            return Err(EINVAL);
        }
        check_sigaction(sig as u32, act != 0)?;
        let s = sig as u32;
        let new = if act != 0 {
            let b = self.read_user(pid, act, SigAction::SIZE)?;
            Some(SigAction::from_bytes(b[..].try_into().unwrap()).sanitized())
        } else {
            None
        };
        let cur = self.procs[&pid].sigactions[s as usize - 1];
        if old != 0 {
            self.write_user(pid, old, &cur.to_bytes())?;
        }
        if let Some(a) = new {
            self.procs.get_mut(&pid).expect("live").sigactions[s as usize - 1] = a;
            // Setting a signal to be ignored throws away what is pending.
            if a.ignores(s) {
                let p = self.procs.get_mut(&pid).expect("live");
                p.shared_pending.set &= !(1 << (s - 1));
                p.shared_pending.queue.retain(|q| q.signo != s as i32);
                for t in p.tasks.clone() {
                    if let Some(t) = self.tasks.get_mut(&t) {
                        t.pending_signals.set &= !(1 << (s - 1));
                        t.pending_signals.queue.retain(|q| q.signo != s as i32);
                    }
                }
            }
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigprocmask(&mut self, tid: Tid, pid: Pid, a: [u64; 6]) -> SysResult<u64> {
        let (how, set, old, size) = (a[0], a[1], a[2], a[3]);
        if size != 8 {
            return Err(EINVAL);
        }
        let cur = SigSet(self.tasks[&tid].sigmask);
        let new = if set != 0 {
            let s = SigSet(self.read_u64(pid, set)?);
            Some(apply_sigprocmask(how as u32, cur, s)?)
        } else {
            if how > 2 {
                return Err(EINVAL);
            }
            None
        };
        if old != 0 {
            self.write_u64(pid, old, cur.0)?;
        }
        if let Some(m) = new {
            self.tasks.get_mut(&tid).expect("live").sigmask = m.0;
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigpending(&mut self, tid: Tid, pid: Pid, set: u64, size: u64) -> SysResult<u64> {
        if size > 8 {
            return Err(EINVAL);
        }
        let t = &self.tasks[&tid];
        let pending = (t.pending_signals.set | self.procs[&pid].shared_pending.set) & t.sigmask;
        self.write_user(pid, set, &pending.to_le_bytes()[..size as usize])?;
        Ok(0)
    }

    /// rt_sigsuspend: wait for a signal with a temporary mask.
    pub(super) fn sys_rt_sigsuspend(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        if a[1] != 8 {
            return Reply::Value(EINVAL.as_return());
        }
        let mask = match self.read_u64(pid, a[0]) {
            Ok(m) => m & !((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))),
            Err(e) => return Reply::Value(e.as_return()),
        };
        let t = self.tasks.get_mut(&tid).expect("live");
        t.saved_mask = Some(t.sigmask);
        t.sigmask = mask;
        if self.deliverable(tid) != 0 {
            return Reply::Value(EINTR.as_return());
        }
        self.park(tid, nr::RT_SIGSUSPEND, a, regs, Wait::Signal)
    }

    /// rt_sigtimedwait: take one of `set`'s signals once pending (blocked or
    /// not), or time out.
    pub(super) fn sys_rt_sigtimedwait(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (setp, infop, tsp, size) = (a[0], a[1], a[2], a[3]);
        if size != 8 {
            return Reply::Value(EINVAL.as_return());
        }
        let set = match self.read_u64(pid, setp) {
            Ok(s) => s & !((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))),
            Err(e) => return Reply::Value(e.as_return()),
        };
        let deadline = if let Some(Wait::SigWait { until_ns }) = self.tasks[&tid].retry_wait {
            until_ns
        } else if tsp != 0 {
            match (self.read_u64(pid, tsp), self.read_u64(pid, tsp + 8)) {
                (Ok(s), Ok(ns)) if (s as i64) >= 0 && ns < 1_000_000_000 => {
                    Some(self.clock.now_ns().saturating_add(s.saturating_mul(1_000_000_000) + ns))
                }
                (Ok(_), Ok(_)) => return Reply::Value(EINVAL.as_return()),
                _ => return Reply::Value(EFAULT.as_return()),
            }
        } else {
            None
        };
        let t = &self.tasks[&tid];
        let avail = (t.pending_signals.set | self.procs[&pid].shared_pending.set) & set;
        if let Some(sig) = linux_server::signal::next_deliverable(SigSet(avail), SigSet(0)) {
            let info = self
                .tasks
                .get_mut(&tid)
                .expect("live")
                .pending_signals
                .take_signal(sig)
                .or_else(|| self.procs.get_mut(&pid).expect("live").shared_pending.take_signal(sig));
            if let (Some(i), true) = (info, infop != 0) {
                if let Err(e) = self.write_user(pid, infop, &i.to_bytes()) {
                    return Reply::Value(e.as_return());
                }
            }
            return Reply::Value(sig as u64);
        }
        if deadline.is_some_and(|d| d <= self.clock.now_ns()) {
            return Reply::Value(EAGAIN.as_return());
        }
        self.park(tid, nr::RT_SIGTIMEDWAIT, a, regs, Wait::SigWait { until_ns: deadline })
    }

    /// rt_sigreturn: back from a handler, to the context its frame holds.
    pub(super) fn sys_rt_sigreturn(&mut self, tid: Tid, pid: Pid, regs: UserRegs) -> Reply {
        let at = frame::frame_address_for_sigreturn(regs.rsp);
        let restored = self
            .read_user(pid, at, frame::SIGRETURN_READ_LEN)
            .map(|b| frame::parse(b[..].try_into().expect("read that many"), &regs));
        let Ok(r) = restored else {
            // A bad frame: Linux forces SIGSEGV.
            self.exit_process(pid, killed(SIGSEGV));
            return Reply::None;
        };
        let kid = self.tasks[&tid].kid;
        if r.fpstate != 0 {
            match self.read_user(pid, r.fpstate, crate::kthread::FPU_BYTES) {
                Ok(b) => {
                    let _ = crate::kthread::set_fpu(kid, b[..].try_into().unwrap());
                }
                Err(_) => {
                    self.exit_process(pid, killed(SIGSEGV));
                    return Reply::None;
                }
            }
        } else {
            let _ = crate::kthread::set_fpu(kid, &crate::kthread::initial_fpu());
        }
        let t = self.tasks.get_mut(&tid).expect("live");
        t.sigmask = r.mask;
        // restore_altstack: the stack recorded in the frame (errors ignored).
        if t.altstack.1 & SS_ONSTACK == 0 {
            let s = r.stack;
            if s.flags & SS_DISABLE != 0 {
                t.altstack = (0, SS_DISABLE, 0);
            } else if s.size >= MINSIGSTKSZ {
                t.altstack = (s.sp, s.flags & SS_AUTODISARM, s.size);
            }
        }
        Reply::Regs(r.regs)
    }

    pub(super) fn sys_sigaltstack(&mut self, tid: Tid, pid: Pid, ss: u64, old: u64, rsp: u64) -> SysResult<u64> {
        let (sp, flags, size) = self.tasks[&tid].altstack;
        let cur = AltStack { sp, flags, size };
        let on_stack = cur.flags_for(rsp) & SS_ONSTACK != 0;
        let new = if ss != 0 {
            let b = self.read_user(pid, ss, 24)?;
            let nsp = u64::from_le_bytes(b[0..8].try_into().unwrap());
            let nflags = u32::from_le_bytes(b[8..12].try_into().unwrap());
            let nsize = u64::from_le_bytes(b[16..24].try_into().unwrap());
            if on_stack {
                return Err(EPERM);
            }
            let mode = nflags & !SS_AUTODISARM;
            if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
                return Err(EINVAL);
            }
            if mode == SS_DISABLE {
                Some((0, SS_DISABLE, 0))
            } else {
                if nsize < MINSIGSTKSZ {
                    return Err(ENOMEM);
                }
                Some((nsp, nflags & SS_AUTODISARM, nsize))
            }
        } else {
            None
        };
        if old != 0 {
            let mut b = [0u8; 24];
            let f = cur.flags_for(rsp);
            b[0..8].copy_from_slice(&cur.sp.to_le_bytes());
            b[8..12].copy_from_slice(&f.to_le_bytes());
            b[16..24].copy_from_slice(&cur.size.to_le_bytes());
            self.write_user(pid, old, &b)?;
        }
        if let Some(n) = new {
            self.tasks.get_mut(&tid).expect("live").altstack = n;
        }
        Ok(0)
    }

    /// May process `me` signal process `to`? (Root, or matching user IDs;
    /// SIGCONT within the session.)
    fn may_signal(&self, me: Pid, to: Pid, sig: u32) -> bool {
        let (a, b) = (&self.procs[&me], &self.procs[&to]);
        let (s, t) = (&a.creds, &b.creds);
        s.euid == 0
            || s.euid == t.suid
            || s.euid == t.uid
            || s.uid == t.suid
            || s.uid == t.uid
            || (sig == SIGCONT && a.sid == b.sid)
    }

    /// kill(2): to a process, a process group, or everyone.
    pub(super) fn sys_kill(&mut self, pid: Pid, target: i32, sig: u64, info: Option<SigInfo>) -> SysResult<u64> {
        if sig > 64 {
            return Err(EINVAL);
        }
        let sig = sig as u32;
        let uid = self.procs[&pid].creds.uid;
        let info = info.unwrap_or_else(|| SigInfo::sent(sig, SI_USER, pid, uid));
        let targets: alloc::vec::Vec<Pid> = match target {
            t if t > 0 => alloc::vec![t],
            0 => {
                let g = self.procs[&pid].pgid;
                self.procs.values().filter(|p| p.pgid == g).map(|p| p.pid).collect()
            }
            -1 => self.procs.keys().copied().filter(|&p| p != 1 && p != pid).collect(),
            i32::MIN => return Err(ESRCH),
            g => self.procs.values().filter(|p| p.pgid == -g).map(|p| p.pid).collect(),
        };
        let targets: alloc::vec::Vec<Pid> = targets
            .into_iter()
            .filter(|t| self.procs.get(t).is_some_and(|p| p.zombie.is_none() || target > 0))
            .collect();
        if targets.is_empty() {
            return Err(ESRCH);
        }
        let mut sent = false;
        let mut denied = false;
        for t in targets {
            if !self.may_signal(pid, t, sig) {
                denied = true;
                continue;
            }
            sent = true;
            if sig != 0 {
                self.send_signal(t, None, info);
            }
        }
        if sent {
            Ok(0)
        } else if denied {
            Err(EPERM)
        } else {
            Err(ESRCH)
        }
    }

    /// tkill/tgkill: to one thread.
    pub(super) fn sys_tgkill(
        &mut self,
        pid: Pid,
        tgid: i32,
        tid: i32,
        sig: u64,
        info: Option<SigInfo>,
    ) -> SysResult<u64> {
        if sig > 64 || tid <= 0 || (tgid != -1 && tgid <= 0) {
            return Err(EINVAL);
        }
        let t = self.tasks.get(&tid).ok_or(ESRCH)?;
        let to = t.pid;
        if tgid != -1 && to != tgid {
            return Err(ESRCH);
        }
        if !self.may_signal(pid, to, sig as u32) {
            return Err(EPERM);
        }
        if sig != 0 {
            let uid = self.procs[&pid].creds.uid;
            let info = info.unwrap_or_else(|| SigInfo::sent(sig as u32, SI_TKILL, pid, uid));
            self.send_signal(to, Some(tid), info);
        }
        Ok(0)
    }

    /// rt_sigqueueinfo / rt_tgsigqueueinfo: a signal with the caller's
    /// siginfo (which may not pretend to come from the kernel).
    pub(super) fn sys_sigqueueinfo(&mut self, pid: Pid, n: u64, a: [u64; 6]) -> SysResult<u64> {
        let (sig, infop) = if n == nr::RT_SIGQUEUEINFO { (a[1], a[2]) } else { (a[2], a[3]) };
        if sig == 0 || sig > 64 {
            return Err(EINVAL);
        }
        let b = self.read_user(pid, infop, 128)?;
        let info = SigInfo::from_user(b[..].try_into().unwrap(), sig as i32)?;
        let target = a[0] as i32;
        if (info.code >= 0 || info.code == SI_TKILL) && target != pid {
            return Err(EPERM);
        }
        if n == nr::RT_SIGQUEUEINFO {
            self.sys_kill(pid, target, sig, Some(info))
        } else {
            self.sys_tgkill(pid, target, a[1] as i32, sig, Some(info))
        }
    }

    // ---- timers ---------------------------------------------------------------

    /// The ITIMER_REAL of `pid` as (ns left, interval ns).
    fn itimer_left(&self, pid: Pid) -> (u64, u64) {
        match self.procs[&pid].itimer_real {
            Some((at, iv)) => (at.saturating_sub(self.clock.now_ns()).max(1), iv),
            None => (0, 0),
        }
    }

    fn set_itimer(&mut self, pid: Pid, value_ns: u64, interval_ns: u64) {
        if let Some((at, _)) = self.procs.get_mut(&pid).expect("live").itimer_real.take() {
            self.timers.remove(&(at, -pid));
        }
        if value_ns > 0 {
            let at = self.clock.now_ns().saturating_add(value_ns);
            self.procs.get_mut(&pid).expect("live").itimer_real = Some((at, interval_ns));
            self.timers.insert((at, -pid));
        }
    }

    /// The ITIMER_REAL of `pid` expired: SIGALRM, and the next period.
    pub fn itimer_fired(&mut self, pid: Pid) {
        let Some((_, iv)) = self.procs.get_mut(&pid).and_then(|p| p.itimer_real.take()) else { return };
        if iv > 0 {
            let at = self.clock.now_ns().saturating_add(iv);
            self.procs.get_mut(&pid).expect("live").itimer_real = Some((at, iv));
            self.timers.insert((at, -pid));
        }
        let info = SigInfo::kernel(SIGALRM);
        self.send_signal(pid, None, info);
    }

    pub(super) fn sys_alarm(&mut self, pid: Pid, secs: u64) -> SysResult<u64> {
        let (left, _) = self.itimer_left(pid);
        let secs = secs as u32 as u64;
        self.set_itimer(pid, secs * 1_000_000_000, 0);
        // Seconds left, rounded to nearest (at least 1 if any).
        Ok(if left == 0 { 0 } else { (left + 500_000_000) / 1_000_000_000 }.max(if left > 0 { 1 } else { 0 }))
    }

    fn write_itimerval(&mut self, pid: Pid, addr: u64, left: u64, iv: u64) -> SysResult<()> {
        let mut b = [0u8; 32];
        let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000).div_ceil(1000)) as i64);
        let (is, iu) = tv(iv);
        let (vs, vu) = tv(left);
        b[0..8].copy_from_slice(&is.to_le_bytes());
        b[8..16].copy_from_slice(&iu.to_le_bytes());
        b[16..24].copy_from_slice(&vs.to_le_bytes());
        b[24..32].copy_from_slice(&vu.to_le_bytes());
        self.write_user(pid, addr, &b)
    }

    /// A CPU-time timer of `pid` as (ns of CPU time left, interval).
    fn itimer_cpu_left(&self, pid: Pid, which: u64) -> (u64, u64) {
        let i = (which - ITIMER_VIRTUAL) as usize;
        match self.procs[&pid].itimer_cpu[i] {
            Some((at, iv)) => (at.saturating_sub(self.cpu_time(pid, which)).max(1), iv),
            None => (0, 0),
        }
    }

    /// The CPU time a CPU-time timer counts: user (ITIMER_VIRTUAL) or user
    /// and system (ITIMER_PROF).
    fn cpu_time(&self, pid: Pid, which: u64) -> u64 {
        let u = self.usage_of(pid);
        if which == ITIMER_VIRTUAL {
            u.utime_ns
        } else {
            u.utime_ns + u.stime_ns
        }
    }

    /// How often the CPU-time timers are checked (the server learns a
    /// thread's CPU time by asking the kernel).
    const CPU_TIMER_POLL_NS: u64 = 5_000_000;
    /// The timer key of that check.
    pub const CPU_TIMER_KEY: i32 = i32::MIN;

    fn arm_cpu_timer_poll(&mut self) {
        if !self.timers.iter().any(|&(_, k)| k == Self::CPU_TIMER_KEY) {
            let at = self.clock.now_ns() + Self::CPU_TIMER_POLL_NS;
            self.timers.insert((at, Self::CPU_TIMER_KEY));
        }
    }

    /// Check the CPU-time timers: SIGVTALRM / SIGPROF where one expired.
    pub fn cpu_timers_fired(&mut self) {
        let armed: alloc::vec::Vec<Pid> = self
            .procs
            .values()
            .filter(|p| p.zombie.is_none() && p.itimer_cpu.iter().any(|t| t.is_some()))
            .map(|p| p.pid)
            .collect();
        for pid in &armed {
            for which in [ITIMER_VIRTUAL, ITIMER_PROF] {
                let i = (which - ITIMER_VIRTUAL) as usize;
                let Some((at, iv)) = self.procs.get(pid).and_then(|p| p.itimer_cpu[i]) else { continue };
                let now = self.cpu_time(*pid, which);
                if now < at {
                    continue;
                }
                self.procs.get_mut(pid).expect("listed").itimer_cpu[i] =
                    if iv > 0 { Some((now + iv, iv)) } else { None };
                let sig = if which == ITIMER_VIRTUAL { SIGVTALRM } else { SIGPROF };
                self.send_signal(*pid, None, SigInfo::kernel(sig));
            }
        }
        if self.procs.values().any(|p| p.zombie.is_none() && p.itimer_cpu.iter().any(|t| t.is_some())) {
            self.arm_cpu_timer_poll();
        }
    }

    pub(super) fn sys_getitimer(&mut self, pid: Pid, which: u64, addr: u64) -> SysResult<u64> {
        let (left, iv) = match which {
            ITIMER_REAL => self.itimer_left(pid),
            ITIMER_VIRTUAL | ITIMER_PROF => self.itimer_cpu_left(pid, which),
            _ => return Err(EINVAL),
        };
        self.write_itimerval(pid, addr, left, iv)?;
        Ok(0)
    }

    /// setitimer: ITIMER_REAL is a server timer; the CPU-time timers are
    /// checked every few milliseconds against the threads' CPU time, which
    /// the kernel counts in timer ticks.
    pub(super) fn sys_setitimer(&mut self, pid: Pid, which: u64, new: u64, old: u64) -> SysResult<u64> {
        if which > ITIMER_PROF {
            return Err(EINVAL);
        }
        let val = if new != 0 {
            let b = self.read_user(pid, new, 32)?;
            let w = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
            let (is, iu, vs, vu) = (w(0), w(1), w(2), w(3));
            if is < 0 || vs < 0 || !(0..1_000_000).contains(&iu) || !(0..1_000_000).contains(&vu) {
                return Err(EINVAL);
            }
            Some((vs as u64 * 1_000_000_000 + vu as u64 * 1000, is as u64 * 1_000_000_000 + iu as u64 * 1000))
        } else {
            None
        };
        if old != 0 {
            let (left, iv) =
                if which == ITIMER_REAL { self.itimer_left(pid) } else { self.itimer_cpu_left(pid, which) };
            self.write_itimerval(pid, old, left, iv)?;
        }
        match (val, which) {
            (Some((v, iv)), ITIMER_REAL) => self.set_itimer(pid, v, iv),
            (Some((v, iv)), _) => {
                let at = if v == 0 { None } else { Some((self.cpu_time(pid, which) + v, iv)) };
                self.procs.get_mut(&pid).expect("live").itimer_cpu[(which - ITIMER_VIRTUAL) as usize] = at;
                if at.is_some() {
                    self.arm_cpu_timer_poll();
                }
            }
            _ => {}
        }
        Ok(0)
    }
}
