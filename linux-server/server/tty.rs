//! The console as a terminal: its session and foreground process group, the
//! terminal ioctls, and job control — a background process that reads from
//! it (or writes with TOSTOP, or changes its settings) gets SIGTTIN/SIGTTOU
//! and its call restarts once it is continued, as on Linux.

use crate::process::{Pid, Tid, SIG_IGN};
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::signal::{SIGTTIN, SIGTTOU};
use linux_server::linux::termios::*;
use linux_server::signal::info::SI_KERNEL;
use linux_server::signal::SigInfo;

/// TCSBRK (tcdrain, tcsendbreak), TCXONC, TCFLSH.
const TCSBRK: u64 = 0x5409;
const TCXONC: u64 = 0x540a;
const TCFLSH: u64 = 0x540b;
const TCSBRKP: u64 = 0x5425;

/// What a terminal access from the background comes to.
pub enum TtyAccess {
    Allowed,
    /// The caller's process group got the signal: the call restarts after
    /// it is continued.
    Restart,
    Denied(Errno),
}

impl Server {
    /// Is the console `pid`'s controlling terminal?
    pub fn has_console_ctty(&self, pid: Pid) -> bool {
        self.console.session.is_some() && self.procs.get(&pid).is_some_and(|p| Some(p.sid) == self.console.session)
    }

    /// Linux's job-control check for a process of the console's session
    /// that is not in the foreground: `sig` (SIGTTIN for reads, SIGTTOU for
    /// writes and settings) to its process group, unless the signal is
    /// ignored or blocked (then reads fail with EIO and the rest go ahead) or
    /// the group is orphaned (EIO).
    pub fn tty_check(&mut self, tid: Tid, pid: Pid, sig: u32) -> TtyAccess {
        if !self.has_console_ctty(pid) {
            return TtyAccess::Allowed;
        }
        let pgid = self.procs[&pid].pgid;
        if pgid == self.console.fg_pgrp {
            return TtyAccess::Allowed;
        }
        let ignored = self.procs[&pid].sigactions[sig as usize - 1].handler == SIG_IGN
            || self.tasks.get(&tid).is_some_and(|t| t.sigmask & (1 << (sig - 1)) != 0);
        if ignored {
            return if sig == SIGTTIN { TtyAccess::Denied(EIO) } else { TtyAccess::Allowed };
        }
        if self.pgrp_orphaned(pgid) {
            return TtyAccess::Denied(EIO);
        }
        let members: alloc::vec::Vec<Pid> =
            self.procs.values().filter(|p| p.pgid == pgid && p.zombie.is_none()).map(|p| p.pid).collect();
        for m in members {
            self.send_signal(m, None, SigInfo::sent(sig, SI_KERNEL, 0, 0));
        }
        TtyAccess::Restart
    }

    /// The reply that restarts syscall `nr` of `tid` (its registers `regs`
    /// at the call) when the thread next runs.
    pub fn restart_reply(&self, tid: Tid, nr: u64, regs: &UserRegs) -> Reply {
        let entry = self.tasks.get(&tid).map_or(Default::default(), |t| t.entry);
        Reply::Regs(entry.restarting(&self.caller_regs(tid, regs), nr))
    }

    /// The terminal ioctls of the console.
    pub fn console_ioctl(&mut self, tid: Tid, pid: Pid, req: u64, arg: u64) -> SysResult<Option<u64>> {
        let in_session = self.has_console_ctty(pid);
        match req {
            TCGETS => {
                let t = self.console.ldisc.termios.to_bytes();
                self.write_user(pid, arg, &t)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let b = self.read_user(pid, arg, TERMIOS_BYTES)?;
                if let TtyAccess::Restart = self.tty_check(tid, pid, SIGTTOU) {
                    return Ok(None);
                }
                let t = Termios::from_bytes(b[..].try_into().unwrap());
                self.console.ldisc.set_termios(t, req == TCSETSF);
            }
            TIOCGWINSZ => {
                let w = self.console.ldisc.winsize.to_bytes();
                self.write_user(pid, arg, &w)?;
            }
            TIOCSWINSZ => {
                let b = self.read_user(pid, arg, 8)?;
                self.console.ldisc.winsize = Winsize::from_bytes(b[..].try_into().unwrap());
            }
            TIOCGPGRP => {
                if !in_session {
                    return Err(ENOTTY);
                }
                let g = self.console.fg_pgrp as u32;
                self.write_u32(pid, arg, g)?;
            }
            TIOCSPGRP => {
                if !in_session {
                    return Err(ENOTTY);
                }
                let g = self.read_u32(pid, arg)? as i32;
                if g < 0 {
                    return Err(EINVAL);
                }
                let sid = self.procs[&pid].sid;
                if !self.procs.values().any(|p| p.pgid == g && p.sid == sid && p.zombie.is_none()) {
                    return Err(EPERM);
                }
                if let TtyAccess::Restart = self.tty_check(tid, pid, SIGTTOU) {
                    return Ok(None);
                }
                self.console.fg_pgrp = g;
            }
            TIOCGSID => {
                if !in_session {
                    return Err(ENOTTY);
                }
                let sid = self.console.session.unwrap_or(0) as u32;
                self.write_u32(pid, arg, sid)?;
            }
            FIONREAD => {
                let n = self.console.ldisc.available() as u32;
                self.write_u32(pid, arg, n)?;
            }
            TIOCSCTTY => {
                // A session leader without a terminal takes it; root may
                // steal it from another session with arg 1.
                let p = &self.procs[&pid];
                if p.sid != pid {
                    return Err(EPERM);
                }
                if in_session {
                    return Ok(Some(0));
                }
                if self.console.session.is_some_and(|s| self.procs.get(&s).is_some_and(|l| l.zombie.is_none()))
                    && !(arg == 1 && p.creds.is_root())
                {
                    return Err(EPERM);
                }
                self.console.session = Some(pid);
                self.console.fg_pgrp = p.pgid;
            }
            TIOCNOTTY => {
                if !in_session {
                    return Err(ENOTTY);
                }
                if self.procs[&pid].sid == pid {
                    self.console.session = None;
                }
            }
            TCSBRK | TCSBRKP | TCXONC => {} // output is synchronous: always drained
            TCFLSH => {
                if arg == 0 || arg == 2 {
                    self.console.ldisc.flush_input();
                }
            }
            _ => return Err(ENOTTY),
        }
        Ok(Some(0))
    }

    /// The controlling process `pid` ended: its terminal hangs up (SIGHUP
    /// and SIGCONT to the foreground group) and belongs to no session.
    pub fn session_leader_exited(&mut self, pid: Pid) {
        if self.console.session != Some(pid) {
            return;
        }
        self.console.session = None;
        let fg = self.console.fg_pgrp;
        let members: alloc::vec::Vec<Pid> =
            self.procs.values().filter(|p| p.pgid == fg && p.zombie.is_none()).map(|p| p.pid).collect();
        for m in &members {
            self.send_signal(*m, None, SigInfo::kernel(linux_server::linux::signal::SIGHUP));
        }
        for m in members {
            self.send_signal(m, None, SigInfo::kernel(linux_server::linux::signal::SIGCONT));
        }
    }
}
