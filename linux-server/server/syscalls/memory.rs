//! msync and mincore (the rest of memory management is in ../mm.rs).

use crate::process::Pid;
use crate::server::Server;
use alloc::vec::Vec;
use linux_server::linux::errno::*;
use linux_server::mm::{page_up, PAGE};

impl Server {
    pub(super) fn sys_msync(&mut self, pid: Pid, addr: u64, len: u64, flags: u64) -> SysResult<u64> {
        const MS_ASYNC: u64 = 1;
        const MS_INVALIDATE: u64 = 2;
        const MS_SYNC: u64 = 4;
        if addr % PAGE != 0
            || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || flags & (MS_ASYNC | MS_SYNC) == (MS_ASYNC | MS_SYNC)
        {
            return Err(EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(ENOMEM)?).ok_or(ENOMEM)?;
        if !self.mm(pid).vmas.covered(addr, end) {
            return Err(ENOMEM);
        }
        // Shared file pages are written back when unmapped; nothing is lost
        // on our single-copy page cache meanwhile.
        Ok(0)
    }

    pub(super) fn sys_mincore(&mut self, pid: Pid, addr: u64, len: u64, vec: u64) -> SysResult<u64> {
        if addr % PAGE != 0 {
            return Err(EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(ENOMEM)?).ok_or(ENOMEM)?;
        if !self.mm(pid).vmas.covered(addr, end) {
            return Err(ENOMEM);
        }
        // One byte per page, written a piece at a time from the pages that
        // are present: a mapping may be terabytes long (the fuzzer's was
        // 2 TiB), and a vector of all of it took 512 MiB of the server's
        // heap, and visiting every page took minutes.
        const PIECE: u64 = 4096; // pages per piece: a page of output, as Linux
        let mut start = addr;
        while start < end {
            let stop = end.min(start.saturating_add(PIECE * PAGE));
            let mut v: Vec<u8> = alloc::vec![0; ((stop - start) / PAGE) as usize];
            for (page, _) in self.mm(pid).pt.range(start, stop) {
                v[((page - start) / PAGE) as usize] = 1;
            }
            self.write_user(pid, vec.wrapping_add((start - addr) / PAGE), &v)?;
            start = stop;
        }
        Ok(0)
    }
}
