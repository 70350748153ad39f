//! poll, ppoll, select, pselect6: waiting until descriptors are ready.
//!
//! Readiness is computed from the files themselves; a call with nothing
//! ready parks its thread, and every event that may change readiness (console
//! input, pipe traffic, a timeout) runs it again.

use crate::files::{FileKind, FileRef};
use crate::process::{Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use alloc::vec;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::linux::sysno as nr;

pub const POLLIN: u16 = 0x001;
pub const POLLPRI: u16 = 0x002;
pub const POLLOUT: u16 = 0x004;
pub const POLLERR: u16 = 0x008;
pub const POLLHUP: u16 = 0x010;
pub const POLLNVAL: u16 = 0x020;
pub const POLLRDNORM: u16 = 0x040;
pub const POLLWRNORM: u16 = 0x100;

impl Server {
    /// The events a file could report now (what `poll` checks against).
    pub fn readiness(&self, file: &FileRef) -> u16 {
        let f = file.borrow();
        match &f.kind {
            FileKind::Console => {
                let mut r = POLLOUT | POLLWRNORM;
                if self.console.ldisc.input_ready() {
                    r |= POLLIN | POLLRDNORM;
                }
                r
            }
            FileKind::Pipe(p) => self.pipe_readiness(p, f.flags),
            FileKind::Path => POLLNVAL,
            // Files and devices never block.
            _ => POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
        }
    }

    /// Park a poll-like call until something may have changed (or `until`).
    fn park_poll(&mut self, tid: Tid, n: u64, a: [u64; 6], regs: UserRegs, until: Option<u64>) -> Reply {
        if !self.pollers.contains(&tid) {
            self.pollers.push(tid);
        }
        self.park(tid, n, a, regs, Wait::Poll { until_ns: until })
    }

    /// The deadline (ns since boot) a poll-like call's timeout argument
    /// gives; `None` waits forever. Run again after a wait, the call keeps
    /// the deadline of its first run.
    fn poll_deadline(&mut self, tid: Tid, pid: Pid, n: u64, a: [u64; 6]) -> SysResult<Option<u64>> {
        if let Some(Wait::Poll { until_ns }) = self.tasks.get(&tid).and_then(|t| t.retry_wait) {
            return Ok(until_ns);
        }
        let (sec, nsec) = match n {
            nr::POLL => match a[2] as i32 {
                ms if ms < 0 => return Ok(None),
                ms => (ms as i64 / 1000, ms as i64 % 1000 * 1_000_000),
            },
            _ => {
                let ptr = if n == nr::PPOLL { a[2] } else { a[4] };
                if ptr == 0 {
                    return Ok(None);
                }
                let sec = self.read_u64(pid, ptr)? as i64;
                let frac = self.read_u64(pid, ptr + 8)? as i64;
                if n == nr::SELECT {
                    // A timeval; whole seconds in tv_usec count (as on Linux).
                    (sec.saturating_add(frac / 1_000_000), frac % 1_000_000 * 1000)
                } else {
                    (sec, frac)
                }
            }
        };
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(EINVAL);
        }
        let ns = (sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64);
        Ok(Some(self.clock.now_ns().saturating_add(ns)))
    }

    /// Linux writes the time left back into the caller's timeout of
    /// select, pselect6 and ppoll (a failure to do so is ignored, as there).
    fn poll_time_left(&mut self, pid: Pid, n: u64, a: [u64; 6], deadline: Option<u64>) {
        let (Some(d), ptr) = (deadline, if n == nr::PPOLL { a[2] } else { a[4] }) else { return };
        if n == nr::POLL || ptr == 0 {
            return;
        }
        let left = d.saturating_sub(self.clock.now_ns());
        let (sec, frac) = (left / 1_000_000_000, left % 1_000_000_000);
        let frac = if n == nr::SELECT { frac / 1000 } else { frac };
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&sec.to_le_bytes());
        b[8..].copy_from_slice(&frac.to_le_bytes());
        let _ = self.write_user(pid, ptr, &b);
    }

    /// Check a pollfd array; returns how many entries have events and
    /// writes the revents back.
    fn poll_scan(&mut self, pid: Pid, fds: u64, nfds: u64) -> SysResult<u64> {
        let raw = self.read_user(pid, fds, nfds as usize * 8)?;
        let mut out = raw.clone();
        let mut ready = 0;
        for i in 0..nfds as usize {
            let fd = i32::from_le_bytes(raw[i * 8..i * 8 + 4].try_into().unwrap());
            let events = u16::from_le_bytes(raw[i * 8 + 4..i * 8 + 6].try_into().unwrap());
            let revents = if fd < 0 {
                0
            } else {
                match self.procs[&pid].fds.file(fd as u64) {
                    Err(_) => POLLNVAL,
                    Ok(f) => self.readiness(&f) & (events | POLLERR | POLLHUP | POLLNVAL),
                }
            };
            if revents != 0 {
                ready += 1;
            }
            out[i * 8 + 6..i * 8 + 8].copy_from_slice(&revents.to_le_bytes());
        }
        self.write_user(pid, fds, &out)?;
        Ok(ready)
    }

    pub(super) fn sys_poll(&mut self, tid: Tid, pid: Pid, n: u64, a: [u64; 6], regs: UserRegs) -> Reply {
        let (fds, nfds) = (a[0], a[1]);
        let limit = self.procs[&pid].rlimits[crate::process::RLIMIT_NOFILE].cur;
        if nfds > limit {
            return Reply::Value(EINVAL.as_return());
        }
        let deadline = match self.poll_deadline(tid, pid, n, a) {
            Ok(d) => d,
            Err(e) => return Reply::Value(e.as_return()),
        };
        match self.poll_scan(pid, fds, nfds) {
            Err(e) => Reply::Value(e.as_return()),
            Ok(0) if deadline.is_none_or(|d| d > self.clock.now_ns()) => self.park_poll(tid, n, a, regs, deadline),
            Ok(k) => {
                self.poll_time_left(pid, n, a, deadline);
                Reply::Value(k)
            }
        }
    }

    /// select/pselect6: fd_set bitmaps in, the ready ones out.
    pub(super) fn sys_select(&mut self, tid: Tid, pid: Pid, n: u64, a: [u64; 6], regs: UserRegs) -> Reply {
        if (a[0] as i32) < 0 {
            return Reply::Value(EINVAL.as_return());
        }
        // Linux looks no further than its descriptor table's size (a power
        // of two, at least 64): bits beyond it are ignored.
        let table = self.procs[&pid].fds.numbers().last().map_or(0, |n| n + 1);
        let nfds = (a[0] as i32 as u64).min(table.max(64).next_power_of_two() as u64);
        let deadline = match self.poll_deadline(tid, pid, n, a) {
            Ok(d) => d,
            Err(e) => return Reply::Value(e.as_return()),
        };
        let bytes = (nfds as usize).div_ceil(64) * 8;
        let mut sets: [Vec<u8>; 3] = [vec![0; bytes], vec![0; bytes], vec![0; bytes]];
        for (k, set) in sets.iter_mut().enumerate() {
            if a[1 + k] != 0 {
                match self.read_user(pid, a[1 + k], bytes) {
                    Ok(v) => *set = v,
                    Err(e) => return Reply::Value(e.as_return()),
                }
            }
        }
        let mut out: [Vec<u8>; 3] = [vec![0; bytes], vec![0; bytes], vec![0; bytes]];
        let mut ready = 0u64;
        for fd in 0..nfds as usize {
            let wanted = [0, 1, 2].map(|k| sets[k][fd / 8] & (1 << (fd % 8)) != 0);
            if !wanted.iter().any(|&w| w) {
                continue;
            }
            let Ok(file) = self.procs[&pid].fds.file(fd as u64) else { return Reply::Value(EBADF.as_return()) };
            let r = self.readiness(&file);
            let got = [r & (POLLIN | POLLHUP | POLLERR) != 0, r & (POLLOUT | POLLERR) != 0, r & POLLPRI != 0];
            for k in 0..3 {
                if wanted[k] && got[k] {
                    out[k][fd / 8] |= 1 << (fd % 8);
                    ready += 1;
                }
            }
        }
        if ready == 0 && deadline.is_none_or(|d| d > self.clock.now_ns()) {
            return self.park_poll(tid, n, a, regs, deadline);
        }
        for (k, set) in out.iter().enumerate() {
            if a[1 + k] != 0 {
                if let Err(e) = self.write_user(pid, a[1 + k], set) {
                    return Reply::Value(e.as_return());
                }
            }
        }
        self.poll_time_left(pid, n, a, deadline);
        Reply::Value(ready)
    }

    /// Something that may change readiness happened: run the parked
    /// poll/select calls again.
    pub fn wake_pollers(&mut self) {
        for tid in core::mem::take(&mut self.pollers) {
            self.wake(tid);
        }
    }
}
