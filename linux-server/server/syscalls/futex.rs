//! futex: waiting on and waking addresses in user memory. Waiters park in
//! the server; a wake replies to them.

use crate::process::{Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::sysno as nr;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

impl Server {
    pub(super) fn sys_futex(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        let (uaddr, op, val, timeout) = (a[0], a[1], a[2] as u32, a[3]);
        let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        if uaddr % 4 != 0 {
            return Reply::Value(EINVAL.as_return());
        }
        match cmd {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                if cmd == FUTEX_WAIT_BITSET && a[5] as u32 == 0 {
                    return Reply::Value(EINVAL.as_return());
                }
                let cur = match self.read_u32(pid, uaddr) {
                    Ok(v) => v,
                    Err(e) => return Reply::Value(e.as_return()),
                };
                if cur != val {
                    return Reply::Value(EAGAIN.as_return());
                }
                let until = if timeout == 0 {
                    None
                } else {
                    let sec = self.read_u64(pid, timeout);
                    let nsec = self.read_u64(pid, timeout + 8);
                    let (Ok(sec), Ok(nsec)) = (sec, nsec) else { return Reply::Value(EFAULT.as_return()) };
                    if sec as i64 > i64::MAX / 2 || nsec >= 1_000_000_000 {
                        return Reply::Value(EINVAL.as_return());
                    }
                    let ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
                    Some(if cmd == FUTEX_WAIT_BITSET {
                        // Absolute (CLOCK_MONOTONIC, or realtime with the flag).
                        if op & FUTEX_CLOCK_REALTIME != 0 {
                            ns.saturating_sub(self.clock.realtime_ns()).saturating_add(self.clock.now_ns())
                        } else {
                            ns
                        }
                    } else {
                        self.clock.now_ns().saturating_add(ns)
                    })
                };
                self.park(tid, nr::FUTEX, a, regs, Wait::Futex { uaddr, until_ns: until })
            }
            FUTEX_WAKE | FUTEX_WAKE_BITSET => Reply::Value(self.futex_wake(pid, uaddr, val as usize) as u64),
            _ => {
                if self.enosys_logged.insert(0x2_0000 + cmd) {
                    rt::println!("linux-server: futex operation {cmd} is not implemented: ENOSYS");
                }
                Reply::Value(ENOSYS.as_return())
            }
        }
    }

    /// Wake up to `n` threads of process `pid` waiting on `uaddr`.
    pub fn futex_wake(&mut self, pid: Pid, uaddr: u64, n: usize) -> usize {
        let waiters: alloc::vec::Vec<Tid> = self
            .tasks
            .values()
            .filter(|t| t.pid == pid && matches!(t.pending, Some(p) if p.wait == Wait::Futex { uaddr, until_ns: match p.wait { Wait::Futex { until_ns, .. } => until_ns, _ => None } }))
            .map(|t| t.tid)
            .take(n)
            .collect();
        let woken = waiters.len();
        for t in waiters {
            self.unpark(t, Reply::Value(0));
        }
        woken
    }
}
