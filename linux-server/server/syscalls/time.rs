//! Clocks and sleeping.

use crate::process::{Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::sysno as nr;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const CLOCK_REALTIME_ALARM: u64 = 8;
const CLOCK_BOOTTIME_ALARM: u64 = 9;
const CLOCK_TAI: u64 = 11;
const TIMER_ABSTIME: u64 = 1;

impl Server {
    /// The time of a clock in ns, or EINVAL for an unknown clock.
    fn clock_ns(&self, clock: u64) -> SysResult<u64> {
        match clock {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => Ok(self.clock.realtime_ns()),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => {
                Ok(self.clock.now_ns())
            }
            // CPU time: the process has run at most as long as the system.
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => Ok(self.clock.now_ns()),
            _ => Err(EINVAL),
        }
    }

    fn write_timespec(&mut self, pid: Pid, addr: u64, ns: u64) -> SysResult<()> {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_le_bytes());
        b[8..].copy_from_slice(&((ns % 1_000_000_000) as i64).to_le_bytes());
        self.write_user(pid, addr, &b)
    }

    /// A `struct timespec` from user memory, validated, in ns.
    fn read_timespec(&mut self, pid: Pid, addr: u64) -> SysResult<u64> {
        let sec = self.read_u64(pid, addr)? as i64;
        let nsec = self.read_u64(pid, addr + 8)? as i64;
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(EINVAL);
        }
        Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
    }

    pub(super) fn sys_clock_gettime(&mut self, pid: Pid, clock: u64, tp: u64) -> SysResult<u64> {
        let ns = self.clock_ns(clock)?;
        self.write_timespec(pid, tp, ns)?;
        Ok(0)
    }

    pub(super) fn sys_clock_getres(&mut self, pid: Pid, clock: u64, tp: u64) -> SysResult<u64> {
        self.clock_ns(clock)?;
        if tp != 0 {
            let res = self.clock.resolution_ns();
            self.write_timespec(pid, tp, res)?;
        }
        Ok(0)
    }

    pub(super) fn sys_clock_settime(&mut self, pid: Pid, clock: u64, tp: u64) -> SysResult<u64> {
        if clock != CLOCK_REALTIME {
            return Err(EINVAL);
        }
        let ns = self.read_timespec(pid, tp)?;
        self.clock.set_realtime_ns(ns);
        Ok(0)
    }

    pub(super) fn sys_gettimeofday(&mut self, pid: Pid, tv: u64, tz: u64) -> SysResult<u64> {
        let ns = self.clock.realtime_ns();
        if tv != 0 {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_le_bytes());
            b[8..].copy_from_slice(&(((ns % 1_000_000_000) / 1000) as i64).to_le_bytes());
            self.write_user(pid, tv, &b)?;
        }
        if tz != 0 {
            self.write_user(pid, tz, &[0u8; 8])?;
        }
        Ok(0)
    }

    pub(super) fn sys_settimeofday(&mut self, pid: Pid, tv: u64) -> SysResult<u64> {
        if tv != 0 {
            let sec = self.read_u64(pid, tv)? as i64;
            let usec = self.read_u64(pid, tv + 8)? as i64;
            if sec < 0 || !(0..1_000_000).contains(&usec) {
                return Err(EINVAL);
            }
            self.clock.set_realtime_ns(sec as u64 * 1_000_000_000 + usec as u64 * 1000);
        }
        Ok(0)
    }

    pub(super) fn sys_time(&mut self, pid: Pid, t: u64) -> SysResult<u64> {
        let secs = self.clock.realtime_ns() / 1_000_000_000;
        if t != 0 {
            self.write_u64(pid, t, secs)?;
        }
        Ok(secs)
    }

    pub(super) fn sys_times(&mut self, pid: Pid, buf: u64) -> SysResult<u64> {
        // Clock ticks (USER_HZ = 100): the process's and its waited-for
        // children's times, and the time since boot.
        let ticks = self.clock.now_ns() / 10_000_000;
        if buf != 0 {
            let (me, ch) = (self.usage_of(pid), self.procs[&pid].children_usage);
            let mut b = [0u8; 32];
            for (i, ns) in [me.utime_ns, me.stime_ns, ch.utime_ns, ch.stime_ns].into_iter().enumerate() {
                b[i * 8..i * 8 + 8].copy_from_slice(&(ns / 10_000_000).to_le_bytes());
            }
            self.write_user(pid, buf, &b)?;
        }
        Ok(ticks)
    }

    fn sleep_until(&mut self, tid: Tid, nr: u64, args: [u64; 6], regs: UserRegs, until_ns: u64) -> Reply {
        if until_ns <= self.clock.now_ns() {
            return Reply::Value(0);
        }
        self.park(tid, nr, args, regs, Wait::Sleep { until_ns, ret: 0 })
    }

    pub(super) fn sys_nanosleep(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        match self.read_timespec(pid, a[0]) {
            Ok(ns) => {
                let until = self.clock.now_ns().saturating_add(ns);
                self.sleep_until(tid, nr::NANOSLEEP, a, regs, until)
            }
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    pub(super) fn sys_clock_nanosleep(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (clock, flags, req) = (a[0], a[1], a[2]);
        if clock == CLOCK_THREAD_CPUTIME_ID {
            // Linux: sleeping on a thread's CPU clock is not supported.
            return Reply::Value(EOPNOTSUPP.as_return());
        }
        if let Err(e) = self.clock_ns(clock) {
            return Reply::Value(e.as_return());
        }
        let ns = match self.read_timespec(pid, req) {
            Ok(ns) => ns,
            Err(e) => return Reply::Value(e.as_return()),
        };
        let until = if flags & TIMER_ABSTIME != 0 {
            let realtime = matches!(clock, CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI);
            if realtime {
                ns.saturating_sub(self.clock.realtime_ns()).saturating_add(self.clock.now_ns())
            } else {
                ns
            }
        } else {
            self.clock.now_ns().saturating_add(ns)
        };
        self.sleep_until(tid, nr::CLOCK_NANOSLEEP, a, regs, until)
    }
}
