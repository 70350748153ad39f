//! wait4 and waitid: a parent learns of its children's exits, stops and
//! continues, with Linux's status encoding; without WNOHANG it waits
//! (parked, woken by the child's change of state).

use crate::process::{ChildEvent, Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::signal::{self, SIGCHLD, SIGCONT};

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2; // = WSTOPPED for waitid
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;

const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;
const CLD_STOPPED: i32 = 5;
const CLD_CONTINUED: i32 = 6;

/// Which children a wait is about.
#[derive(Clone, Copy)]
enum Which {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// What a wait found.
struct Found {
    pid: Pid,
    /// The wait status (wait4's encoding).
    status: i32,
    /// siginfo's si_code and si_status (waitid's view).
    code: i32,
    value: i32,
    uid: u32,
    /// A zombie (reaped unless WNOWAIT).
    exited: bool,
    utime_ns: u64,
    stime_ns: u64,
}

impl Server {
    /// Look for a child of `pid` matching `which` with something to report.
    /// `Err(ECHILD)` if there is no matching child at all; `Ok(None)` if
    /// they have nothing to report yet.
    fn find_child(&mut self, pid: Pid, which: Which, options: u64) -> SysResult<Option<Found>> {
        let children = self.procs[&pid].children.clone();
        let mut any = false;
        for c in children {
            let Some(ch) = self.procs.get(&c) else { continue };
            let matches = match which {
                Which::Any => true,
                Which::Pid(p) => p == c,
                Which::Group(g) => ch.pgid == g,
            };
            // __WCLONE: only children that signal their end with something
            // other than SIGCHLD; __WALL: all.
            let clone_child = ch.exit_signal != SIGCHLD;
            if !matches || (options & WALL == 0 && clone_child != (options & WCLONE != 0)) {
                continue;
            }
            any = true;
            let (utime_ns, stime_ns) =
                (ch.usage.utime_ns + ch.children_usage.utime_ns, ch.usage.stime_ns + ch.children_usage.stime_ns);
            if let Some(status) = ch.zombie {
                if options & WEXITED == 0 {
                    continue;
                }
                let (code, value) =
                    if status & 0x7f == 0 { (CLD_EXITED, (status >> 8) & 0xff) } else { (CLD_KILLED, status & 0x7f) };
                let uid = ch.creds.uid;
                return Ok(Some(Found { pid: c, status, code, value, uid, exited: true, utime_ns, stime_ns }));
            }
            let report = match ch.child_event {
                Some(ChildEvent::Stopped(sig)) if options & WUNTRACED != 0 => {
                    Some((signal::stopped(sig), CLD_STOPPED, sig as i32))
                }
                Some(ChildEvent::Continued) if options & WCONTINUED != 0 => {
                    Some((signal::CONTINUED, CLD_CONTINUED, SIGCONT as i32))
                }
                _ => None,
            };
            if let Some((status, code, value)) = report {
                let uid = ch.creds.uid;
                if options & WNOWAIT == 0 {
                    self.procs.get_mut(&c).expect("listed").child_event = None;
                }
                return Ok(Some(Found { pid: c, status, code, value, uid, exited: false, utime_ns, stime_ns }));
            }
        }
        if any {
            Ok(None)
        } else {
            Err(ECHILD)
        }
    }

    /// The common part of wait4 and waitid: a find, or a wait.
    fn wait_common(&mut self, pid: Pid, which: Which, options: u64) -> SysResult<Option<Found>> {
        let found = self.find_child(pid, which, options)?;
        if let Some(f) = &found {
            if f.exited && options & WNOWAIT == 0 {
                self.reap(f.pid);
            }
        }
        Ok(found)
    }

    /// struct rusage for a waited-for child: its times (the rest zero).
    fn write_rusage(&mut self, pid: Pid, addr: u64, utime_ns: u64, stime_ns: u64) -> SysResult<()> {
        let mut b = [0u8; 144];
        let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000) / 1000) as i64);
        let (us, uu) = tv(utime_ns);
        let (ss, su) = tv(stime_ns);
        b[0..8].copy_from_slice(&us.to_le_bytes());
        b[8..16].copy_from_slice(&uu.to_le_bytes());
        b[16..24].copy_from_slice(&ss.to_le_bytes());
        b[24..32].copy_from_slice(&su.to_le_bytes());
        self.write_user(pid, addr, &b)
    }

    pub(super) fn sys_wait4(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (who, statusp, options, rusage) = (a[0] as i32, a[1], a[2] as u32 as u64, a[3]);
        if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
            return Reply::Value(EINVAL.as_return());
        }
        let which = match who {
            -1 => Which::Any,
            0 => Which::Group(self.procs[&pid].pgid),
            p if p > 0 => Which::Pid(p),
            g if g == i32::MIN => return Reply::Value(ESRCH.as_return()),
            g => Which::Group(-g),
        };
        match self.wait_common(pid, which, options | WEXITED) {
            Err(e) => Reply::Value(e.as_return()),
            Ok(Some(f)) => {
                if statusp != 0 && self.write_u32(pid, statusp, f.status as u32).is_err() {
                    return Reply::Value(EFAULT.as_return());
                }
                if rusage != 0 && self.write_rusage(pid, rusage, f.utime_ns, f.stime_ns).is_err() {
                    return Reply::Value(EFAULT.as_return());
                }
                Reply::Value(f.pid as u64)
            }
            Ok(None) if options & WNOHANG != 0 => Reply::Value(0),
            Ok(None) => self.park(tid, linux_server::linux::sysno::WAIT4, a, regs, Wait::Child),
        }
    }

    pub(super) fn sys_waitid(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (idtype, id, infop, options, rusage) = (a[0], a[1] as i32, a[2], a[3] as u32 as u64, a[4]);
        if options & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE) != 0
            || options & (WEXITED | WUNTRACED | WCONTINUED) == 0
        {
            return Reply::Value(EINVAL.as_return());
        }
        let which = match idtype {
            P_ALL => Which::Any,
            P_PID if id > 0 => Which::Pid(id),
            P_PGID if id == 0 => Which::Group(self.procs[&pid].pgid),
            P_PGID if id > 0 => Which::Group(id),
            _ => return Reply::Value(EINVAL.as_return()),
        };
        match self.wait_common(pid, which, options) {
            Err(e) => Reply::Value(e.as_return()),
            Ok(None) if options & WNOHANG == 0 => {
                self.park(tid, linux_server::linux::sysno::WAITID, a, regs, Wait::Child)
            }
            Ok(found) => {
                let mut info = [0u8; 128];
                let mut times = (0, 0);
                if let Some(f) = &found {
                    info[0..4].copy_from_slice(&(SIGCHLD as i32).to_le_bytes());
                    info[8..12].copy_from_slice(&f.code.to_le_bytes());
                    info[16..20].copy_from_slice(&f.pid.to_le_bytes());
                    info[20..24].copy_from_slice(&f.uid.to_le_bytes());
                    info[24..28].copy_from_slice(&f.value.to_le_bytes());
                    times = (f.utime_ns, f.stime_ns);
                }
                // Linux writes signo, errno, code, pid, uid and status (zeros
                // when nothing was found).
                if infop != 0 && self.write_user(pid, infop, &info[..28]).is_err() {
                    return Reply::Value(EFAULT.as_return());
                }
                if rusage != 0 && self.write_rusage(pid, rusage, times.0, times.1).is_err() {
                    return Reply::Value(EFAULT.as_return());
                }
                Reply::Value(0)
            }
        }
    }
}
