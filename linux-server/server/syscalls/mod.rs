//! Linux system calls: dispatch by number to `sys_<name>` handlers, one file
//! per family. A handler returns the syscall's value or an errno; the few that
//! can block return a `Reply` themselves. An unimplemented call returns ENOSYS
//! and is logged once, by name (numbers Linux does not have: once in all).

mod creds;
mod fd;
mod fs;
pub mod futex;
mod info;
mod memory;
mod pipe;
pub mod poll;
mod process;
mod rw;
mod signal;
mod time;
mod wait;

pub use futex::FutexKey;
pub use rw::MAX_RW;

use crate::process::Tid;
use crate::server::{Reply, Server};
use abi::exception::UserRegs;
use linux_server::linux::errno::*;
use linux_server::linux::sysno as nr;

/// The value of a completed syscall: a result, or `-errno`.
pub fn value(r: SysResult<u64>) -> Reply {
    Reply::Value(match r {
        Ok(v) => v,
        Err(e) => e.as_return(),
    })
}

impl Server {
    pub fn syscall(&mut self, tid: Tid, number: u64, a: [u64; 6], regs: UserRegs) -> Reply {
        let Some(pid) = self.tasks.get(&tid).map(|t| t.pid) else { return Reply::None };
        // Linux looks at the low 32 bits, as a signed number.
        let n = number as u32 as i32;
        if n < 0 {
            return value(Err(ENOSYS));
        }
        let n = n as u64;
        let r: SysResult<u64> = match n {
            // files and directories (fs.rs)
            nr::OPEN | nr::OPENAT | nr::CREAT => {
                let (dirfd, path, flags, mode) = match n {
                    nr::OPEN => (AT_FDCWD, a[0], a[1], a[2]),
                    nr::OPENAT => (a[0], a[1], a[2], a[3]),
                    _ => (AT_FDCWD, a[0], 0o1101, a[1]),
                };
                match self.sys_openat(tid, pid, dirfd, path, flags, mode) {
                    Ok(fs::Opened::Fd(fd)) => Ok(fd),
                    // A FIFO end waiting for its partner (fs.rs).
                    Ok(fs::Opened::Waiting(seen)) => {
                        return self.park(tid, n, a, regs, crate::process::Wait::FifoOpen { seen })
                    }
                    Err(e) => Err(e),
                }
            }
            nr::CLOSE => self.sys_close(pid, a[0]),
            nr::LSEEK => self.sys_lseek(pid, a[0], a[1], a[2]),
            nr::STAT => self.sys_fstatat(pid, AT_FDCWD, a[0], a[1], 0),
            nr::LSTAT => {
                self.sys_fstatat(pid, AT_FDCWD, a[0], a[1], linux_server::linux::fcntl::AT_SYMLINK_NOFOLLOW as u64)
            }
            nr::FSTAT => self.sys_fstat(pid, a[0], a[1]),
            nr::NEWFSTATAT => self.sys_fstatat(pid, a[0], a[1], a[2], a[3]),
            nr::STATX => self.sys_statx(pid, a[0], a[1], a[2], a[3], a[4]),
            nr::GETDENTS64 => self.sys_getdents64(pid, a[0], a[1], a[2]),
            nr::ACCESS => self.sys_faccessat(pid, AT_FDCWD, a[0], a[1], 0),
            nr::FACCESSAT => self.sys_faccessat(pid, a[0], a[1], a[2], 0),
            nr::FACCESSAT2 => self.sys_faccessat(pid, a[0], a[1], a[2], a[3]),
            nr::MKDIR => self.sys_mkdirat(pid, AT_FDCWD, a[0], a[1]),
            nr::MKDIRAT => self.sys_mkdirat(pid, a[0], a[1], a[2]),
            nr::MKNOD => self.sys_mknodat(pid, AT_FDCWD, a[0], a[1], a[2]),
            nr::MKNODAT => self.sys_mknodat(pid, a[0], a[1], a[2], a[3]),
            nr::UNLINK => self.sys_unlinkat(pid, AT_FDCWD, a[0], 0),
            nr::UNLINKAT => self.sys_unlinkat(pid, a[0], a[1], a[2]),
            nr::RMDIR => self.sys_unlinkat(pid, AT_FDCWD, a[0], linux_server::linux::fcntl::AT_REMOVEDIR as u64),
            nr::RENAME => self.sys_renameat2(pid, AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
            nr::RENAMEAT => self.sys_renameat2(pid, a[0], a[1], a[2], a[3], 0),
            nr::RENAMEAT2 => self.sys_renameat2(pid, a[0], a[1], a[2], a[3], a[4]),
            nr::LINK => self.sys_linkat(pid, AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
            nr::LINKAT => self.sys_linkat(pid, a[0], a[1], a[2], a[3], a[4]),
            nr::SYMLINK => self.sys_symlinkat(pid, a[0], AT_FDCWD, a[1]),
            nr::SYMLINKAT => self.sys_symlinkat(pid, a[0], a[1], a[2]),
            nr::READLINK => self.sys_readlinkat(pid, AT_FDCWD, a[0], a[1], a[2]),
            nr::READLINKAT => self.sys_readlinkat(pid, a[0], a[1], a[2], a[3]),
            nr::CHDIR => self.sys_chdir(pid, a[0]),
            nr::FCHDIR => self.sys_fchdir(pid, a[0]),
            nr::GETCWD => self.sys_getcwd(pid, a[0], a[1]),
            nr::TRUNCATE => self.sys_truncate(pid, a[0], a[1]),
            nr::FTRUNCATE => self.sys_ftruncate(pid, a[0], a[1]),
            nr::UMASK => self.sys_umask(pid, a[0]),
            nr::CHMOD => self.sys_fchmodat(pid, AT_FDCWD, a[0], a[1]),
            nr::FCHMODAT => self.sys_fchmodat(pid, a[0], a[1], a[2]),
            nr::FCHMOD => self.sys_fchmod(pid, a[0], a[1]),
            nr::CHOWN => self.sys_fchownat(pid, AT_FDCWD, a[0], a[1], a[2], 0),
            nr::LCHOWN => self.sys_fchownat(
                pid,
                AT_FDCWD,
                a[0],
                a[1],
                a[2],
                linux_server::linux::fcntl::AT_SYMLINK_NOFOLLOW as u64,
            ),
            nr::FCHOWNAT => self.sys_fchownat(pid, a[0], a[1], a[2], a[3], a[4]),
            nr::FCHOWN => self.sys_fchown(pid, a[0], a[1], a[2]),
            nr::UTIMENSAT => self.sys_utimensat(pid, a[0], a[1], a[2], a[3]),
            nr::STATFS | nr::FSTATFS => self.sys_statfs(pid, a[1]),
            nr::FSYNC | nr::FDATASYNC | nr::SYNCFS => self.sys_fsync(pid, a[0]),
            nr::SYNC => Ok(0),
            nr::MOUNT => self.sys_mount(pid, a[1], a[2], a[3]),
            nr::UMOUNT2 => Err(if self.procs[&pid].creds.is_root() { EINVAL } else { EPERM }),
            // reading and writing (rw.rs)
            nr::READ => return self.sys_read(tid, pid, a, regs),
            nr::WRITE => return self.sys_write(tid, pid, a, regs),
            nr::READV => return self.sys_readv(tid, pid, a, regs),
            nr::WRITEV => return self.sys_writev(tid, pid, a, regs),
            nr::PREAD64 => self.sys_pread64(pid, a[0], a[1], a[2], a[3]),
            nr::PWRITE64 => self.sys_pwrite64(tid, pid, a[0], a[1], a[2], a[3]),
            nr::PREADV => self.sys_preadv(pid, a[0], a[1], a[2], a[3]),
            nr::PWRITEV => self.sys_pwritev(tid, pid, a[0], a[1], a[2], a[3]),
            nr::SENDFILE => return self.sys_sendfile(tid, pid, a, regs),
            // pipes and waiting for descriptors (pipe.rs, poll.rs)
            nr::PIPE => self.sys_pipe2(pid, a[0], 0),
            nr::PIPE2 => self.sys_pipe2(pid, a[0], a[1]),
            nr::POLL | nr::PPOLL => return self.sys_poll(tid, pid, n, a, regs),
            nr::SELECT | nr::PSELECT6 => return self.sys_select(tid, pid, n, a, regs),
            // the descriptor table (fd.rs)
            nr::DUP => self.sys_dup(pid, a[0]),
            nr::DUP2 => self.sys_dup2(pid, a[0], a[1]),
            nr::DUP3 => self.sys_dup3(pid, a[0], a[1], a[2]),
            nr::FCNTL => self.sys_fcntl(pid, a[0], a[1], a[2]),
            nr::IOCTL => self.sys_ioctl(tid, pid, a[0], a[1], a[2]),
            nr::CLOSE_RANGE => self.sys_close_range(pid, a[0], a[1], a[2]),
            // memory (memory.rs, mm.rs)
            nr::BRK => Ok(self.sys_brk(pid, a[0])),
            nr::MMAP => self.sys_mmap(pid, a[0], a[1], a[2], a[3], a[4], a[5]),
            nr::MUNMAP => self.sys_munmap(pid, a[0], a[1]),
            nr::MPROTECT => self.sys_mprotect(pid, a[0], a[1], a[2]),
            nr::MREMAP => self.sys_mremap(pid, a[0], a[1], a[2], a[3], a[4]),
            nr::MADVISE => self.sys_madvise(pid, a[0], a[1], a[2]),
            nr::MSYNC => self.sys_msync(pid, a[0], a[1], a[2]),
            nr::MINCORE => self.sys_mincore(pid, a[0], a[1], a[2]),
            nr::MLOCK | nr::MUNLOCK | nr::MLOCKALL | nr::MUNLOCKALL | nr::MLOCK2 => Ok(0),
            // processes and identity (process.rs)
            nr::EXECVE => return self.sys_execve(tid, pid, a[0], a[1], a[2]),
            nr::EXECVEAT => return self.sys_execveat(tid, pid, a),
            nr::CLONE | nr::FORK | nr::VFORK => return self.sys_clone(tid, n, a, regs),
            nr::CLONE3 => return self.sys_clone3(tid, pid, a, regs),
            nr::WAIT4 => return self.sys_wait4(tid, pid, a, regs),
            nr::WAITID => return self.sys_waitid(tid, pid, a, regs),
            nr::EXIT => return self.sys_exit(tid, a[0]),
            nr::EXIT_GROUP => return self.sys_exit_group(pid, a[0]),
            nr::GETPID => Ok(pid as u64),
            nr::GETTID => Ok(tid as u64),
            nr::GETPPID => Ok(self.procs[&pid].ppid as u64),
            // identity (creds.rs)
            nr::GETUID => Ok(self.procs[&pid].creds.uid as u64),
            nr::GETEUID => Ok(self.procs[&pid].creds.euid as u64),
            nr::GETGID => Ok(self.procs[&pid].creds.gid as u64),
            nr::GETEGID => Ok(self.procs[&pid].creds.egid as u64),
            nr::GETRESUID => self.sys_getresuid(pid, a[0], a[1], a[2], false),
            nr::GETRESGID => self.sys_getresuid(pid, a[0], a[1], a[2], true),
            nr::SETUID => self.sys_setid(pid, a[0] as u32, false),
            nr::SETGID => self.sys_setid(pid, a[0] as u32, true),
            nr::SETREUID => self.sys_setreid(pid, a[0] as u32, a[1] as u32, false),
            nr::SETREGID => self.sys_setreid(pid, a[0] as u32, a[1] as u32, true),
            nr::SETRESUID => self.sys_setresid(pid, a[0] as u32, a[1] as u32, a[2] as u32, false),
            nr::SETRESGID => self.sys_setresid(pid, a[0] as u32, a[1] as u32, a[2] as u32, true),
            nr::SETFSUID => self.sys_setfsid(pid, false),
            nr::SETFSGID => self.sys_setfsid(pid, true),
            nr::GETGROUPS => self.sys_getgroups(pid, a[0], a[1]),
            nr::SETGROUPS => self.sys_setgroups(pid, a[0], a[1]),
            nr::GETPGRP => Ok(self.procs[&pid].pgid as u64),
            nr::GETPGID => self.sys_getpgid(pid, a[0]),
            nr::SETPGID => self.sys_setpgid(pid, a[0], a[1]),
            nr::GETSID => self.sys_getsid(pid, a[0]),
            nr::SETSID => self.sys_setsid(pid),
            nr::SET_TID_ADDRESS => self.sys_set_tid_address(tid, a[0]),
            nr::SET_ROBUST_LIST => self.sys_set_robust_list(tid, a[0], a[1]),
            nr::GET_ROBUST_LIST => self.sys_get_robust_list(pid, tid, a[0], a[1], a[2]),
            nr::ARCH_PRCTL => return self.sys_arch_prctl(tid, pid, a[0], a[1], regs),
            nr::PRLIMIT64 => self.sys_prlimit64(pid, a[0], a[1], a[2], a[3]),
            nr::GETRLIMIT => self.sys_prlimit64(pid, 0, a[0], 0, a[1]),
            nr::SETRLIMIT => self.sys_prlimit64(pid, 0, a[0], a[1], 0),
            nr::GETRUSAGE => self.sys_getrusage(tid, pid, a[0], a[1]),
            nr::PRCTL => self.sys_prctl(tid, pid, a[0], a[1], a[2]),
            nr::PERSONALITY => Ok(0),
            nr::RSEQ => Err(ENOSYS),
            // time (time.rs)
            nr::CLOCK_GETTIME => self.sys_clock_gettime(pid, a[0], a[1]),
            nr::CLOCK_GETRES => self.sys_clock_getres(pid, a[0], a[1]),
            nr::CLOCK_SETTIME => self.sys_clock_settime(pid, a[0], a[1]),
            nr::GETTIMEOFDAY => self.sys_gettimeofday(pid, a[0], a[1]),
            nr::SETTIMEOFDAY => self.sys_settimeofday(pid, a[0]),
            nr::TIME => self.sys_time(pid, a[0]),
            nr::TIMES => self.sys_times(pid, a[0]),
            nr::NANOSLEEP => return self.sys_nanosleep(tid, pid, a, regs),
            nr::CLOCK_NANOSLEEP => return self.sys_clock_nanosleep(tid, pid, a, regs),
            // system information (info.rs)
            nr::UNAME => self.sys_uname(pid, a[0]),
            nr::SYSINFO => self.sys_sysinfo(pid, a[0]),
            nr::GETRANDOM => self.sys_getrandom(pid, a[0], a[1], a[2]),
            nr::SCHED_YIELD => Ok(0),
            nr::SCHED_GETAFFINITY => self.sys_sched_getaffinity(pid, a[0], a[1], a[2]),
            nr::SCHED_SETAFFINITY => Ok(0),
            nr::SCHED_GETSCHEDULER => self.sys_sched_getscheduler(pid, a[0]),
            nr::SCHED_GETPARAM => self.sys_sched_getparam(pid, a[0], a[1]),
            nr::SCHED_GET_PRIORITY_MAX | nr::SCHED_GET_PRIORITY_MIN => Ok(0),
            nr::GETPRIORITY => Ok(20),
            nr::SETPRIORITY => Ok(0),
            nr::GETCPU => self.sys_getcpu(pid, a[0], a[1]),
            nr::SYSLOG => Ok(0),
            nr::SETHOSTNAME => self.sys_sethostname(pid, a[0], a[1]),
            nr::REBOOT => return self.sys_reboot(pid, a[0], a[1], a[2]),
            nr::IOPERM => self.sys_ioperm(pid, a[0], a[1], a[2]),
            // signals (signal.rs, ../signals.rs)
            nr::RT_SIGACTION => self.sys_rt_sigaction(pid, a[0], a[1], a[2], a[3]),
            nr::RT_SIGPROCMASK => self.sys_rt_sigprocmask(tid, pid, a),
            nr::RT_SIGPENDING => self.sys_rt_sigpending(tid, pid, a[0], a[1]),
            nr::RT_SIGSUSPEND => return self.sys_rt_sigsuspend(tid, pid, a, regs),
            nr::PAUSE => return self.park(tid, n, a, regs, crate::process::Wait::Signal),
            nr::RT_SIGTIMEDWAIT => return self.sys_rt_sigtimedwait(tid, pid, a, regs),
            nr::RT_SIGRETURN => return self.sys_rt_sigreturn(tid, pid, regs),
            nr::SIGALTSTACK => self.sys_sigaltstack(tid, pid, a[0], a[1], regs.rsp),
            nr::KILL => self.sys_kill(pid, a[0] as i32, a[1], None),
            nr::TKILL => self.sys_tgkill(pid, -1, a[0] as i32, a[1], None),
            nr::TGKILL => self.sys_tgkill(pid, a[0] as i32, a[1] as i32, a[2], None),
            nr::RT_SIGQUEUEINFO | nr::RT_TGSIGQUEUEINFO => self.sys_sigqueueinfo(pid, n, a),
            nr::ALARM => self.sys_alarm(pid, a[0]),
            nr::GETITIMER => self.sys_getitimer(pid, a[0], a[1]),
            nr::SETITIMER => self.sys_setitimer(pid, a[0], a[1], a[2]),
            // futexes (futex.rs)
            nr::FUTEX => return self.sys_futex(tid, pid, a, regs),
            _ => {
                // Numbers Linux does not have share one entry: the set must
                // not grow with every number a program tries.
                let known = nr::name(n) != "?";
                if self.enosys_logged.insert(if known { n } else { u64::MAX }) {
                    if known {
                        rt::println!("linux-server: syscall {} ({}) is not implemented: ENOSYS", n, nr::name(n));
                    } else {
                        rt::println!(
                            "linux-server: syscall {} is not a Linux system call: ENOSYS (not logged again)",
                            n
                        );
                    }
                }
                Err(ENOSYS)
            }
        };
        // A syscall may end its own process (a fatal SIGPIPE): no reply then.
        if !self.tasks.contains_key(&tid) {
            return Reply::None;
        }
        // ERESTARTSYS (a background terminal access that sent SIGTTIN or
        // SIGTTOU): the call runs again once the process is continued.
        if r == Err(ERESTARTSYS) {
            return self.restart_reply(tid, number, &regs);
        }
        value(r)
    }
}

const AT_FDCWD: u64 = linux_server::linux::fcntl::AT_FDCWD as i64 as u64;
