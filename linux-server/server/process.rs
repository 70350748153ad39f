//! Processes, their threads and their address spaces as the server keeps them.
//!
//! A Linux process (a thread group) has one Linux thread per kernel thread,
//! all with the Linux-personality flag, this server as pager and exception
//! handler, and an IPC restriction to this server's space. Its memory — the
//! areas, the logical page table — is an `Mm`, which is one address space of
//! the microkernel; an `Mm` is shared by the threads of a process and, for a
//! while, by a vfork child and its parent. Each `Mm` has a signal thread in
//! its space (see signals.rs); it is also the space's anchor: the space lives
//! as long as the `Mm` does.

use crate::files::FdTable;
use abi::exception::UserRegs;
use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::mm::pages::PageTable;
use linux_server::mm::vma::VmaSet;
use linux_server::vfs::Ino;

pub type Pid = i32;
pub type Tid = i32;
pub type MmId = u64;

/// An address space of Linux processes: its areas, its logical page table,
/// the heap.
#[derive(Clone, Default)]
pub struct Mm {
    pub vmas: VmaSet,
    pub pt: PageTable,
    pub brk_start: u64,
    pub brk: u64,
    /// Where argv/envp strings are (for /proc/<pid>/cmdline).
    pub arg_start: u64,
    pub arg_end: u64,
    /// The space's signal thread (and the handle for calls on the space).
    pub anchor: ThreadId,
    /// Processes using it (more than one: a vfork child in its parent's).
    pub users: u32,
    /// The signal thread is working on a request (see signals.rs).
    pub sigthread_busy: bool,
    /// Threads waiting for the signal thread to divert them.
    pub divert_queue: Vec<Tid>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_CORE: usize = 4;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIM_NLIMITS: usize = 16;

/// RLIMIT_NPROC's and RLIMIT_SIGPENDING's default: Linux sets both to
/// threads-max / 2 (1782 on the reference machine).
pub const DEFAULT_NPROC: u64 = crate::fork::MAX_THREADS as u64 / 2;

pub fn default_rlimits() -> [Rlimit; RLIM_NLIMITS] {
    let inf = Rlimit { cur: RLIM_INFINITY, max: RLIM_INFINITY };
    let mut r = [inf; RLIM_NLIMITS];
    r[RLIMIT_STACK] = Rlimit { cur: 8 << 20, max: RLIM_INFINITY };
    r[RLIMIT_NOFILE] = Rlimit { cur: 1024, max: 4096 };
    r[RLIMIT_CORE] = Rlimit { cur: 0, max: RLIM_INFINITY };
    r[RLIMIT_NPROC] = Rlimit { cur: DEFAULT_NPROC, max: DEFAULT_NPROC };
    r[8] = Rlimit { cur: 8 << 20, max: 8 << 20 }; // RLIMIT_MEMLOCK
    r[11] = Rlimit { cur: DEFAULT_NPROC, max: DEFAULT_NPROC }; // RLIMIT_SIGPENDING
    r[12] = Rlimit { cur: 819200, max: 819200 }; // RLIMIT_MSGQUEUE
    r[13] = Rlimit { cur: 0, max: 0 }; // RLIMIT_NICE
    r[14] = Rlimit { cur: 0, max: 0 }; // RLIMIT_RTPRIO
    r
}

pub use linux_server::signal::action::{SIG_DFL, SIG_IGN};
pub use linux_server::signal::SigAction;

/// User and group identity (real, effective, saved; Linux's fs ids follow
/// the effective ones here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub groups: Vec<u32>,
}

impl Creds {
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }
}

/// What a parent can learn with wait: a change of the child not yet reported.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChildEvent {
    /// Stopped by this signal (WUNTRACED / WSTOPPED).
    Stopped(u32),
    /// Continued by SIGCONT (WCONTINUED).
    Continued,
}

/// CPU time charged to a process (the server cannot measure it per thread:
/// the time its threads spend running is estimated from the syscalls and
/// faults it handles for them, plus wall time).
#[derive(Clone, Copy, Default, Debug)]
pub struct Usage {
    pub utime_ns: u64,
    pub stime_ns: u64,
    pub minflt: u64,
}

pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub mm: MmId,
    pub fds: FdTable,
    pub cwd: Ino,
    pub umask: u32,
    pub creds: Creds,
    /// The executable's path and inode (for /proc/<pid>/exe).
    pub exe: Vec<u8>,
    pub exe_ino: Ino,
    /// The live threads; the first is the thread-group leader.
    pub tasks: Vec<Tid>,
    pub children: Vec<Pid>,
    pub rlimits: [Rlimit; RLIM_NLIMITS],
    /// Signal dispositions, index = signal number - 1.
    pub sigactions: [SigAction; 64],
    /// Signals sent to the process as a whole, not yet delivered.
    pub shared_pending: crate::signals::Pending,
    /// Number of argv strings (the rest of the argument area is envp).
    pub argc: usize,
    /// The signal the parent gets when this process ends (SIGCHLD, or what
    /// clone asked for; 0: none).
    pub exit_signal: u32,
    /// It has exec'd since it was forked (setpgid by its parent: EACCES).
    pub execed: bool,
    /// Ended, not yet waited for: the wait status.
    pub zombie: Option<i32>,
    /// Stopped by a signal (job control).
    pub stopped: bool,
    /// A stop or continue the parent has not seen through wait yet.
    pub child_event: Option<ChildEvent>,
    /// A vfork child: the parent's thread waiting for it to exec or exit.
    pub vfork_parent: Option<Tid>,
    /// ITIMER_REAL: (next expiry in ns since boot, interval in ns).
    pub itimer_real: Option<(u64, u64)>,
    /// ITIMER_VIRTUAL and ITIMER_PROF: (expiry in ns of the process's CPU
    /// time — user, or user and system —, interval in ns).
    pub itimer_cpu: [Option<(u64, u64)>; 2],
    pub usage: Usage,
    /// What waited-for children used (RUSAGE_CHILDREN).
    pub children_usage: Usage,
    /// When the process started (ns since boot): /proc/<pid>/stat.
    pub start_ns: u64,
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants come to this process
    /// rather than to init.
    pub child_subreaper: bool,
    /// PR_SET_PDEATHSIG: the signal this process gets when its parent ends
    /// (0: none).
    pub pdeathsig: u32,
    /// Syscalls of the current program image (since its execve) that
    /// arrived trapped (exception IPC) and as direct IPC from the libc shim:
    /// /proc/<pid>/status shows them.
    pub syscalls: SyscallCounts,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct SyscallCounts {
    pub trapped: u64,
    pub direct: u64,
}

/// Why a thread waits inside a syscall (the server has not replied yet).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// Reading or writing a console or pipe that is not ready: retried when
    /// it may be. `done` bytes of the call were already moved (a large pipe
    /// write goes in pieces).
    Io { done: u64 },
    /// poll/select with nothing ready: retried on any event that may change
    /// readiness, and when the time (if any) is reached.
    Poll { until_ns: Option<u64> },
    /// Sleeping until a time (ns since boot); then the syscall returns `ret`.
    Sleep { until_ns: u64, ret: u64 },
    /// futex wait on a key, until woken or the time (if any).
    Futex { key: crate::syscalls::FutexKey, until_ns: Option<u64> },
    /// wait4/waitid: retried when a child changes state.
    Child,
    /// vfork: until the child execs or exits.
    Vfork { child: Pid },
    /// rt_sigtimedwait: until one of the awaited signals is pending or the
    /// time (if any).
    SigWait { until_ns: Option<u64> },
    /// pause, rt_sigsuspend: until a signal is delivered.
    Signal,
    /// Stopped by a signal (job control): resumed by SIGCONT with the
    /// parked registers.
    Stopped,
    /// Opening a FIFO: retried until the other end has been opened (the
    /// partner counter differs from `seen`).
    FifoOpen { seen: u32 },
}

impl Wait {
    /// The time at which the wait ends by itself, if any.
    pub fn deadline(&self) -> Option<u64> {
        match *self {
            Wait::Sleep { until_ns, .. } => Some(until_ns),
            Wait::Futex { until_ns, .. } | Wait::Poll { until_ns } | Wait::SigWait { until_ns } => until_ns,
            _ => None,
        }
    }
}

/// A syscall the server has not answered yet.
#[derive(Clone, Copy)]
pub struct Pending {
    pub nr: u64,
    pub args: [u64; 6],
    pub regs: UserRegs,
    pub wait: Wait,
}

pub struct Task {
    pub tid: Tid,
    pub pid: Pid,
    /// The kernel thread.
    pub kid: ThreadId,
    /// set_tid_address: cleared and futex-woken when the thread exits.
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub pending: Option<Pending>,
    /// While a parked syscall is run again: what it was waiting for (its
    /// progress and deadline).
    pub retry_wait: Option<Wait>,
    /// Blocked signals.
    pub sigmask: u64,
    /// The mask to restore when a temporary one ends (sigsuspend, ppoll,
    /// pselect6): restored after the handler that interrupted them.
    pub saved_mask: Option<u64>,
    /// Signals sent to this thread, not yet delivered.
    pub pending_signals: crate::signals::Pending,
    /// sigaltstack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, u32, u64),
    /// Where the signal path has got with this thread (signals.rs).
    pub divert: crate::signals::Divert,
    /// The answer to a parked syscall that completed while the thread could
    /// not be answered (being diverted, or its process stopped).
    pub held: Option<crate::signals::Held>,
    pub fs_base: u64,
    /// The thread's name (prctl PR_SET_NAME; the program's name after exec).
    pub comm: [u8; 16],
    /// A FIFO open waiting for the other end (Wait::FifoOpen): the open file
    /// description, already counted as a reader or writer.
    pub fifo_open: Option<crate::files::FileRef>,
    /// How its current (or last) syscall reached the server.
    pub entry: linux_server::entry::Entry,
}

impl Task {
    pub fn new(tid: Tid, pid: Pid, kid: ThreadId) -> Task {
        Task {
            tid,
            pid,
            kid,
            clear_child_tid: 0,
            robust_list: (0, 0),
            pending: None,
            retry_wait: None,
            sigmask: 0,
            saved_mask: None,
            pending_signals: Default::default(),
            altstack: (0, 2, 0),
            divert: Default::default(),
            held: None,
            fs_base: 0,
            comm: [0; 16],
            fifo_open: None,
            entry: Default::default(),
        }
    }
}

/// A thread name from a path: its last component, at most 15 bytes.
pub fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}
