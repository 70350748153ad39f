//! futex: waiting on and waking words in user memory — wait, wake (with
//! bitsets), requeue, cmp_requeue, wake_op. Waiters park in the server, in
//! FIFO queues keyed like Linux's: a word in private memory by (address
//! space, address), a word in shared memory by (frame, offset), so processes
//! sharing a mapping meet on the same futex.

use crate::process::{MmId, Pid, Tid, Wait};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use alloc::collections::VecDeque;
use linux_server::linux::errno::*;
use linux_server::linux::sysno as nr;
use linux_server::mm::{page_down, PAGE};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const BITSET_MATCH_ANY: u32 = u32::MAX;

/// Which futex a word is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum FutexKey {
    Private { mm: MmId, addr: u64 },
    Shared { frame: u32, offset: u32 },
}

/// The waiters of one futex, in arrival order, with their bitsets.
pub type FutexQueue = VecDeque<(Tid, u32)>;

impl Server {
    /// The key of the word at `uaddr` of `pid` (Linux's get_futex_key).
    fn futex_key(&mut self, pid: Pid, uaddr: u64, private: bool) -> SysResult<FutexKey> {
        if uaddr % 4 != 0 {
            return Err(EINVAL);
        }
        let mm = self.procs[&pid].mm;
        if !private {
            let shared = self.mm(pid).vmas.find(uaddr).is_some_and(|v| v.shared);
            if shared {
                let frame = self.user_frame(pid, page_down(uaddr), false)?;
                return Ok(FutexKey::Shared { frame, offset: (uaddr % PAGE) as u32 });
            }
        }
        Ok(FutexKey::Private { mm, addr: uaddr })
    }

    /// Wake up to `n` waiters of `key` whose bitset meets `mask`.
    fn futex_wake_key(&mut self, key: FutexKey, n: usize, mask: u32) -> usize {
        let mut woken = 0;
        let Some(q) = self.futexes.get_mut(&key) else { return 0 };
        let mut keep = FutexQueue::new();
        let mut wake = alloc::vec::Vec::new();
        while let Some((t, bits)) = q.pop_front() {
            if woken < n && bits & mask != 0 {
                wake.push(t);
                woken += 1;
            } else {
                keep.push_back((t, bits));
            }
        }
        if keep.is_empty() {
            self.futexes.remove(&key);
        } else {
            *self.futexes.get_mut(&key).expect("present") = keep;
        }
        for t in wake {
            self.unpark(t, Reply::Value(0));
        }
        woken
    }

    /// Wake up to `n` waiters on the word `uaddr` of `pid` (thread exit with
    /// CLONE_CHILD_CLEARTID).
    pub fn futex_wake_addr(&mut self, pid: Pid, uaddr: u64, n: usize) {
        if let Ok(key) = self.futex_key(pid, uaddr, false) {
            self.futex_wake_key(key, n, BITSET_MATCH_ANY);
        }
    }

    /// `tid` no longer waits on `key` (timed out, interrupted, gone).
    pub fn futex_forget(&mut self, tid: Tid, key: FutexKey) {
        if let Some(q) = self.futexes.get_mut(&key) {
            q.retain(|&(t, _)| t != tid);
            if q.is_empty() {
                self.futexes.remove(&key);
            }
        }
    }

    /// An absolute or relative timeout (a `struct timespec` at `tsp`) as a
    /// deadline in ns since boot.
    fn futex_deadline(&mut self, pid: Pid, tsp: u64, absolute: bool, realtime: bool) -> SysResult<Option<u64>> {
        if tsp == 0 {
            return Ok(None);
        }
        let sec = self.read_u64(pid, tsp)?;
        let nsec = self.read_u64(pid, tsp + 8)?;
        if sec as i64 > i64::MAX / 2 || (sec as i64) < 0 || nsec >= 1_000_000_000 {
            return Err(EINVAL);
        }
        let ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
        Ok(Some(if absolute {
            if realtime {
                ns.saturating_sub(self.clock.realtime_ns()).saturating_add(self.clock.now_ns())
            } else {
                ns
            }
        } else {
            self.clock.now_ns().saturating_add(ns)
        }))
    }

    pub(super) fn sys_futex(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> Reply {
        match self.futex_op(tid, pid, a, regs) {
            Ok(r) => r,
            Err(e) => Reply::Value(e.as_return()),
        }
    }

    fn futex_op(&mut self, tid: Tid, pid: Pid, a: [u64; 6], regs: UserRegs) -> SysResult<Reply> {
        let (uaddr, op, val) = (a[0], a[1], a[2] as u32);
        let private = op & FUTEX_PRIVATE_FLAG != 0;
        let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT {
            return Err(ENOSYS);
        }
        match cmd {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                let bits = if cmd == FUTEX_WAIT_BITSET { a[5] as u32 } else { BITSET_MATCH_ANY };
                if bits == 0 {
                    return Err(EINVAL);
                }
                let key = self.futex_key(pid, uaddr, private)?;
                let until = self.futex_deadline(pid, a[3], cmd == FUTEX_WAIT_BITSET, op & FUTEX_CLOCK_REALTIME != 0)?;
                if self.read_u32(pid, uaddr)? != val {
                    return Err(EAGAIN);
                }
                if until.is_some_and(|u| u <= self.clock.now_ns()) {
                    return Err(ETIMEDOUT);
                }
                self.futexes.entry(key).or_default().push_back((tid, bits));
                Ok(self.park(tid, nr::FUTEX, a, regs, Wait::Futex { key, until_ns: until }))
            }
            FUTEX_WAKE | FUTEX_WAKE_BITSET => {
                let mask = if cmd == FUTEX_WAKE_BITSET { a[5] as u32 } else { BITSET_MATCH_ANY };
                if mask == 0 {
                    return Err(EINVAL);
                }
                let key = self.futex_key(pid, uaddr, private)?;
                Ok(Reply::Value(self.futex_wake_key(key, val as i32 as usize, mask) as u64))
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                let (n_wake, n_move, uaddr2) = (val as i32, a[3] as u32 as i32, a[4]);
                if n_wake < 0 || n_move < 0 {
                    return Err(EINVAL);
                }
                let key = self.futex_key(pid, uaddr, private)?;
                let key2 = self.futex_key(pid, uaddr2, private)?;
                if cmd == FUTEX_CMP_REQUEUE && self.read_u32(pid, uaddr)? != a[5] as u32 {
                    return Err(EAGAIN);
                }
                let woken = self.futex_wake_key(key, n_wake as usize, BITSET_MATCH_ANY);
                let mut moved = 0;
                if key != key2 {
                    while moved < n_move as usize {
                        let Some((t, bits)) = self.futexes.get_mut(&key).and_then(|q| q.pop_front()) else { break };
                        if let Some(p) = self.tasks.get_mut(&t).and_then(|t| t.pending.as_mut()) {
                            if let Wait::Futex { key: k, .. } = &mut p.wait {
                                *k = key2;
                            }
                        }
                        self.futexes.entry(key2).or_default().push_back((t, bits));
                        moved += 1;
                    }
                    if self.futexes.get(&key).is_some_and(|q| q.is_empty()) {
                        self.futexes.remove(&key);
                    }
                }
                // CMP_REQUEUE reports woken + requeued; REQUEUE only woken.
                Ok(Reply::Value(if cmd == FUTEX_CMP_REQUEUE { woken + moved } else { woken } as u64))
            }
            FUTEX_WAKE_OP => {
                let (n1, n2, uaddr2, encoded) = (val as usize, a[3] as u32 as usize, a[4], a[5] as u32);
                let key = self.futex_key(pid, uaddr, private)?;
                let key2 = self.futex_key(pid, uaddr2, private)?;
                let old = self.read_u32(pid, uaddr2)?;
                let (op, cmp) = ((encoded >> 28) & 0xf, (encoded >> 24) & 0xf);
                let mut oparg = (encoded << 8) as i32 >> 20;
                let cmparg = (encoded << 20) as i32 >> 20;
                if op & 8 != 0 {
                    // FUTEX_OP_OPARG_SHIFT
                    if !(0..32).contains(&oparg) {
                        return Err(EINVAL);
                    }
                    oparg = 1 << oparg;
                }
                let new = match op & 7 {
                    0 => oparg as u32,
                    1 => old.wrapping_add(oparg as u32),
                    2 => old | oparg as u32,
                    3 => old & !(oparg as u32),
                    4 => old ^ oparg as u32,
                    _ => return Err(ENOSYS),
                };
                self.write_u32(pid, uaddr2, new)?;
                let take2 = match cmp {
                    0 => old as i32 == cmparg,
                    1 => old as i32 != cmparg,
                    2 => (old as i32) < cmparg,
                    3 => (old as i32) <= cmparg,
                    4 => (old as i32) > cmparg,
                    5 => (old as i32) >= cmparg,
                    _ => return Err(ENOSYS),
                };
                let mut woken = self.futex_wake_key(key, n1, BITSET_MATCH_ANY);
                if take2 {
                    woken += self.futex_wake_key(key2, n2, BITSET_MATCH_ANY);
                }
                Ok(Reply::Value(woken as u64))
            }
            _ => {
                // Linux's operations are 0..=13; any other shares one entry,
                // so that the set cannot grow with every number tried.
                if self.enosys_logged.insert(0x2_0000 + cmd.min(14)) {
                    rt::println!("linux-server: futex operation {cmd} is not implemented: ENOSYS");
                }
                Err(ENOSYS)
            }
        }
    }
}
