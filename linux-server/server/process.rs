//! Processes and their threads as the server keeps them.
//!
//! A Linux process is one address space of the microkernel and one kernel
//! thread per Linux thread, all with the Linux-personality flag, this server
//! as pager and exception handler, and an IPC restriction to this server's
//! space. Everything else about it — memory areas, open files, identity — lives
//! here.

use crate::files::FdTable;
use abi::exception::UserRegs;
use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::mm::pages::PageTable;
use linux_server::mm::vma::VmaSet;
use linux_server::vfs::Ino;

pub type Pid = i32;
pub type Tid = i32;

/// A process's memory: its areas, its logical page table, the heap.
#[derive(Clone, Default)]
pub struct Mm {
    pub vmas: VmaSet,
    pub pt: PageTable,
    pub brk_start: u64,
    pub brk: u64,
    /// Where argv/envp strings are (for /proc/<pid>/cmdline).
    pub arg_start: u64,
    pub arg_end: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIM_NLIMITS: usize = 16;

pub fn default_rlimits() -> [Rlimit; RLIM_NLIMITS] {
    let inf = Rlimit { cur: RLIM_INFINITY, max: RLIM_INFINITY };
    let mut r = [inf; RLIM_NLIMITS];
    r[RLIMIT_STACK] = Rlimit { cur: 8 << 20, max: RLIM_INFINITY };
    r[RLIMIT_NOFILE] = Rlimit { cur: 1024, max: 4096 };
    r[4] = Rlimit { cur: 0, max: RLIM_INFINITY }; // RLIMIT_CORE
    r[6] = Rlimit { cur: 4096, max: 4096 }; // RLIMIT_NPROC
    r[8] = Rlimit { cur: 8 << 20, max: 8 << 20 }; // RLIMIT_MEMLOCK
    r[11] = Rlimit { cur: 4096, max: 4096 }; // RLIMIT_SIGPENDING
    r[12] = Rlimit { cur: 819200, max: 819200 }; // RLIMIT_MSGQUEUE
    r[13] = Rlimit { cur: 0, max: 0 }; // RLIMIT_NICE
    r[14] = Rlimit { cur: 0, max: 0 }; // RLIMIT_RTPRIO
    r
}

/// A signal disposition as `rt_sigaction` stores it.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub mm: Mm,
    pub fds: FdTable,
    pub cwd: Ino,
    pub umask: u32,
    /// The executable's path and inode (for /proc/<pid>/exe).
    pub exe: Vec<u8>,
    pub exe_ino: Ino,
    pub tasks: Vec<Tid>,
    pub rlimits: [Rlimit; RLIM_NLIMITS],
    /// Signal dispositions, index = signal number - 1.
    pub sigactions: [SigAction; 64],
    /// sigaltstack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, u32, u64),
    /// Number of argv strings (the rest of the argument area is envp).
    pub argc: usize,
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
    /// futex wait on an address, until woken or the time (if any).
    Futex { uaddr: u64, until_ns: Option<u64> },
    /// pause(), or a blocking call with nothing that could wake it yet.
    Forever,
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
    /// Signals (until the signal stage, kept so programs can query them).
    pub sigmask: u64,
    pub fs_base: u64,
    /// The thread's name (prctl PR_SET_NAME; the program's name after exec).
    pub comm: [u8; 16],
}

/// A thread name from a path: its last component, at most 15 bytes.
pub fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}

impl Wait {
    /// The time at which the wait ends by itself, if any.
    pub fn deadline(&self) -> Option<u64> {
        match *self {
            Wait::Sleep { until_ns, .. } => Some(until_ns),
            Wait::Futex { until_ns, .. } | Wait::Poll { until_ns } => until_ns,
            Wait::Io { .. } | Wait::Forever => None,
        }
    }
}
