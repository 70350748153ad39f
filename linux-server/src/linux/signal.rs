//! Signal numbers (x86-64) and how a process's end is encoded in a wait status.

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
pub const NSIG: u32 = 64;
/// The first realtime signal (arch/x86/include/uapi/asm/signal.h: `SIGRTMIN 32`).
pub const SIGRTMIN: u32 = 32;
/// The last realtime signal (`SIGRTMAX _NSIG`, 64 on x86-64).
pub const SIGRTMAX: u32 = NSIG;

/// Signals whose default action is "terminate with core dump" (Linux's
/// `SIG_KERNEL_COREDUMP_MASK`). This is the class of the default action only:
/// whether the wait status carries the 0x80 core flag depends on a core file
/// actually being written, which never happens here (see [`killed`]).
pub fn dumps_core(sig: u32) -> bool {
    matches!(sig, SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS)
}

/// The wait status of a process that exited with `code`.
pub const fn exited(code: u8) -> i32 {
    (code as i32) << 8
}

/// The wait status of a process killed by `sig`: the signal number alone.
/// Linux adds the 0x80 "core dumped" flag only when a core file was really
/// written; with `RLIMIT_CORE` = 0 (init's default) and no core files in this
/// system, the flag is never set, even for [`dumps_core`] signals.
pub fn killed(sig: u32) -> i32 {
    sig as i32 & 0x7f
}

/// The wait status of a process stopped by `sig` (`WIFSTOPPED`: low byte 0x7f,
/// `WSTOPSIG` in bits 8..16), as kernel/exit.c's `wait_task_stopped` reports it.
pub fn stopped(sig: u32) -> i32 {
    ((sig as i32 & 0xff) << 8) | 0x7f
}

/// The wait status of a stopped process that was continued by SIGCONT
/// (`WIFCONTINUED`, reported with `WCONTINUED`).
pub const CONTINUED: i32 = 0xffff;

/// What a shell reports as `$?` for a wait status.
pub fn shell_status(status: i32) -> i32 {
    if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn wait_status_encoding() {
        assert_eq!(exited(3), 0x300);
        assert_eq!(killed(SIGSEGV), 11, "no core flag: no core file is ever written");
        assert!(dumps_core(SIGSEGV), "the default-action class is still core");
        assert_eq!(killed(SIGKILL), 9);
        assert_eq!(killed(SIGQUIT) & 0x80, 0);
        assert_eq!(shell_status(exited(3)), 3);
        assert_eq!(shell_status(killed(SIGSEGV)), 139);
    }

    #[test]
    fn stop_and_continue_statuses() {
        // WIFSTOPPED(s): (s & 0xff) == 0x7f; WSTOPSIG(s): (s >> 8) & 0xff.
        assert_eq!(stopped(SIGTSTP), 0x147f);
        assert_eq!(stopped(SIGSTOP) & 0xff, 0x7f);
        assert_eq!((stopped(SIGTTIN) >> 8) & 0xff, SIGTTIN as i32);
        // WIFCONTINUED(s): s == 0xffff.
        assert_eq!(CONTINUED, 0xffff);
        // Neither looks like an exit or a kill: WIFEXITED is (s & 0x7f) == 0,
        // WIFSIGNALED is ((s & 0x7f) + 1) as i8 >> 1 > 0.
        for s in [stopped(SIGSTOP), CONTINUED] {
            assert_ne!(s & 0x7f, 0);
            assert!(((((s & 0x7f) + 1) as i8) >> 1) <= 0);
        }
        assert!(((((killed(SIGTERM) & 0x7f) + 1) as i8) >> 1) > 0);
    }
}
