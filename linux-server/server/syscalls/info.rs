//! Questions about the system: uname, sysinfo, random numbers, CPUs; and
//! the few calls that act on the machine (reboot, ioperm).

use crate::process::Pid;
use crate::server::{Reply, Server};
use alloc::vec;
use linux_server::linux::errno::*;

/// What `uname` reports. The release is a Linux version the C libraries
/// accept (glibc refuses to run on kernels it thinks too old).
const SYSNAME: &[u8] = b"Linux";
const RELEASE: &[u8] = b"6.1.0-l4linux";
const VERSION: &[u8] = b"#1 SMP linux-server on a microkernel";
const MACHINE: &[u8] = b"x86_64";

impl Server {
    pub(super) fn sys_uname(&mut self, pid: Pid, buf: u64) -> SysResult<u64> {
        let mut u = [0u8; 6 * 65];
        let fields: [&[u8]; 6] = [SYSNAME, &self.hostname, RELEASE, VERSION, MACHINE, b"(none)"];
        for (i, f) in fields.iter().enumerate() {
            let n = f.len().min(64);
            u[i * 65..i * 65 + n].copy_from_slice(&f[..n]);
        }
        self.write_user(pid, buf, &u)?;
        Ok(0)
    }

    pub(super) fn sys_sethostname(&mut self, pid: Pid, name: u64, len: u64) -> SysResult<u64> {
        if len > 64 {
            return Err(EINVAL);
        }
        self.hostname = self.read_user(pid, name, len as usize)?;
        Ok(0)
    }

    pub(super) fn sys_sysinfo(&mut self, pid: Pid, info: u64) -> SysResult<u64> {
        let (used, total) = self.pool.usage();
        let (free_pager, total_pager) =
            rt::pager::stats(rt::kip::kip().root_pager).map(|s| (s.free_pages, s.total_pages)).unwrap_or((0, 0));
        let totalram = (total_pager.max(total)) * 4096;
        let freeram = (free_pager + (total - used)) * 4096;
        let mut b = [0u8; 112];
        // Linux rounds the uptime up to whole seconds.
        b[0..8].copy_from_slice(&(self.clock.now_ns().div_ceil(1_000_000_000) as i64).to_le_bytes());
        b[32..40].copy_from_slice(&totalram.to_le_bytes());
        b[40..48].copy_from_slice(&freeram.min(totalram).to_le_bytes());
        b[80..82].copy_from_slice(&(self.procs.len() as u16).to_le_bytes());
        b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
        self.write_user(pid, info, &b)?;
        Ok(0)
    }

    /// Fill `out` from the server's generator (splitmix64 over the TSC: not
    /// cryptographic, documented as such).
    pub fn fill_random(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15 ^ rt::port::rdtsc());
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    pub(super) fn sys_getrandom(&mut self, pid: Pid, buf: u64, len: u64, flags: u64) -> SysResult<u64> {
        if flags & !7 != 0 || flags & 6 == 6 {
            return Err(EINVAL);
        }
        // Linux's most per call, made and copied a piece at a time (32 MiB
        // at once would be two reserves of the server's heap).
        let n = len.min(32 << 20) as usize;
        let mut data = vec![0u8; n.min(64 << 10)];
        let mut done = 0;
        while done < n {
            let piece = &mut data[..(n - done).min(64 << 10)];
            self.fill_random(piece);
            match self.copy_out(pid, buf.wrapping_add(done as u64), piece) {
                Ok(()) => done += piece.len(),
                Err(k) if done + k == 0 => return Err(EFAULT),
                Err(k) => return Ok((done + k) as u64),
            }
        }
        Ok(n as u64)
    }

    pub(super) fn sys_sched_getaffinity(&mut self, pid: Pid, who: u64, len: u64, mask: u64) -> SysResult<u64> {
        if who != 0 && !self.procs.contains_key(&(who as i32)) {
            return Err(ESRCH);
        }
        if len < 8 || len % 8 != 0 {
            return Err(EINVAL);
        }
        self.write_u64(pid, mask, 1)?;
        Ok(8)
    }

    pub(super) fn sys_sched_getscheduler(&mut self, _pid: Pid, who: u64) -> SysResult<u64> {
        if (who as i32) < 0 {
            return Err(EINVAL);
        }
        if who != 0 && !self.procs.contains_key(&(who as i32)) {
            return Err(ESRCH);
        }
        Ok(0) // SCHED_OTHER
    }

    pub(super) fn sys_sched_getparam(&mut self, pid: Pid, who: u64, param: u64) -> SysResult<u64> {
        if (who as i32) < 0 || param == 0 {
            return Err(EINVAL);
        }
        if who != 0 && !self.procs.contains_key(&(who as i32)) {
            return Err(ESRCH);
        }
        self.write_u32(pid, param, 0)?; // sched_priority of SCHED_OTHER
        Ok(0)
    }

    pub(super) fn sys_getcpu(&mut self, pid: Pid, cpu: u64, node: u64) -> SysResult<u64> {
        if cpu != 0 {
            self.write_u32(pid, cpu, 0)?;
        }
        if node != 0 {
            self.write_u32(pid, node, 0)?;
        }
        Ok(0)
    }

    pub(super) fn sys_reboot(&mut self, _pid: Pid, magic1: u64, magic2: u64, cmd: u64) -> Reply {
        const MAGIC1: u64 = 0xfee1_dead;
        const MAGIC2: [u64; 4] = [672274793, 85072278, 369367448, 537993216];
        if magic1 as u32 as u64 != MAGIC1 || !MAGIC2.contains(&(magic2 as u32 as u64)) {
            return Reply::Value(EINVAL.as_return());
        }
        match cmd as u32 {
            0x4321_fedc | 0xcdef_0123 | 0x0123_4567 => {
                self.console.write(b"linux-server: reboot(2): powering off\n");
                let _ = rt::sys::shutdown(0);
                Reply::Value(0)
            }
            0x89ab_cdef | 0 => Reply::Value(0), // Ctrl-Alt-Del on/off
            _ => Reply::Value(EINVAL.as_return()),
        }
    }

    /// ioperm: root may use I/O ports (only the legacy range the kernel's
    /// bitmap covers; switching access off is not supported and is ignored).
    pub(super) fn sys_ioperm(&mut self, pid: Pid, from: u64, num: u64, on: u64) -> SysResult<u64> {
        if from.checked_add(num).is_none_or(|e| e > 0x10000) {
            return Err(EINVAL);
        }
        if on == 0 {
            return Ok(0);
        }
        if from + num > 1024 {
            return Err(EINVAL);
        }
        let kid = self.procs[&pid].tasks.first().and_then(|t| self.tasks.get(t)).map(|t| t.kid).ok_or(ESRCH)?;
        rt::sys::io_ports(kid, from as u16, num as u16).map_err(|_| EPERM)?;
        Ok(0)
    }
}
