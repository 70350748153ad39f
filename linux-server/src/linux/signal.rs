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

/// Signals whose default action dumps core (the 0x80 bit of the wait status).
pub fn dumps_core(sig: u32) -> bool {
    matches!(sig, SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS)
}

/// The wait status of a process that exited with `code`.
pub const fn exited(code: u8) -> i32 {
    (code as i32) << 8
}

/// The wait status of a process killed by `sig`.
pub fn killed(sig: u32) -> i32 {
    (sig as i32 & 0x7f) | if dumps_core(sig) { 0x80 } else { 0 }
}

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
        assert_eq!(killed(SIGSEGV), 0x8b, "core flag for SIGSEGV");
        assert_eq!(killed(SIGKILL), 9);
        assert_eq!(shell_status(exited(3)), 3);
        assert_eq!(shell_status(killed(SIGSEGV)), 139);
    }
}
