//! pipe and pipe2: a new pipe as two descriptors (the pipe itself is
//! ../pipe.rs).

use crate::files::Fd;
use crate::process::{Pid, RLIMIT_NOFILE};
use crate::server::Server;
use linux_server::linux::errno::*;
use linux_server::linux::fcntl::{O_CLOEXEC, O_DIRECT, O_NONBLOCK};

impl Server {
    /// pipe2: descriptors for the read end and the write end, stored as two
    /// ints at `fds`; O_DIRECT makes a packet-mode pipe.
    pub(super) fn sys_pipe2(&mut self, pid: Pid, fds: u64, flags: u64) -> SysResult<u64> {
        let flags = flags as u32;
        if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
            return Err(EINVAL);
        }
        let (r, w) = self.new_pipe(flags & O_NONBLOCK != 0, flags & O_DIRECT != 0);
        let cloexec = flags & O_CLOEXEC != 0;
        let limit = self.procs[&pid].rlimits[RLIMIT_NOFILE].cur.min(crate::files::MAX_FDS as u64) as usize;
        let table = &mut self.procs.get_mut(&pid).expect("live").fds;
        let rfd = Fd { file: r, cloexec };
        let wfd = Fd { file: w, cloexec };
        let rn = match table.alloc_from(0, limit, rfd.clone()) {
            Ok(n) => n,
            Err(e) => {
                self.drop_fd(rfd);
                self.drop_fd(wfd);
                return Err(e);
            }
        };
        let wn = match table.alloc_from(0, limit, wfd.clone()) {
            Ok(n) => n,
            Err(e) => {
                let taken = table.take(rn);
                self.drop_fd(rfd);
                taken.into_iter().for_each(|f| self.drop_fd(f));
                self.drop_fd(wfd);
                return Err(e);
            }
        };
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&(rn as u32).to_le_bytes());
        out[4..].copy_from_slice(&(wn as u32).to_le_bytes());
        if let Err(e) = self.write_user(pid, fds, &out) {
            // As Linux does: no descriptors if they cannot be reported.
            let table = &mut self.procs.get_mut(&pid).expect("live").fds;
            let (a, b) = (table.take(rn), table.take(wn));
            drop((rfd, wfd));
            a.into_iter().chain(b).for_each(|f| self.drop_fd(f));
            return Err(e);
        }
        Ok(0)
    }
}
