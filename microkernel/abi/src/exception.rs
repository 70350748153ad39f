//! Layout of exception messages (CPU exceptions and trapped Linux syscalls)
//! and of the replies that resume the thread.
//!
//! The first six message registers hold the Linux syscall argument registers,
//! so that a trapped `syscall` (kind `LINUX_SYSCALL`, number in the label) and
//! a direct syscall IPC from the libc shim (number in the label, arguments in
//! MR1..MR6) look the same to the server. The rest of the frame follows in the
//! UTCB.

/// Message-register index of each register in an exception message.
pub mod mr {
    pub const RDI: usize = 1;
    pub const RSI: usize = 2;
    pub const RDX: usize = 3;
    pub const R10: usize = 4;
    pub const R8: usize = 5;
    pub const R9: usize = 6;
    pub const RAX: usize = 7;
    pub const RIP: usize = 8;
    pub const RSP: usize = 9;
    pub const RFLAGS: usize = 10;
    pub const RBX: usize = 11;
    pub const RCX: usize = 12;
    pub const RBP: usize = 13;
    pub const R11: usize = 14;
    pub const R12: usize = 15;
    pub const R13: usize = 16;
    pub const R14: usize = 17;
    pub const R15: usize = 18;
    pub const FS_BASE: usize = 19;
    pub const GS_BASE: usize = 20;
    pub const VECTOR: usize = 21;
    pub const ERROR_CODE: usize = 22;
    pub const FAULT_ADDR: usize = 23;
}

/// Untyped words in an exception message.
pub const EXCEPTION_WORDS: usize = 23;
/// Words of a full-frame reply (MR1..MR20: all registers, FS and GS base).
pub const FRAME_WORDS: usize = 20;

/// Labels of replies to exception messages.
pub mod reply {
    /// Resume with the registers unchanged.
    pub const RESUME: u64 = 0;
    /// Set RAX to MR1, then resume (the common syscall return).
    pub const SET_RAX: u64 = 1;
    /// Set the whole frame from MR1..MR20 (exception-message order), then resume.
    pub const SET_FRAME: u64 = 2;
}

/// The register set of a user thread as carried in exception messages.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct UserRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
}

impl UserRegs {
    /// Store into message registers `mrs[1..=FRAME_WORDS]` (index = MR number).
    pub fn to_mrs(&self, mrs: &mut [u64]) {
        mrs[mr::RDI] = self.rdi;
        mrs[mr::RSI] = self.rsi;
        mrs[mr::RDX] = self.rdx;
        mrs[mr::R10] = self.r10;
        mrs[mr::R8] = self.r8;
        mrs[mr::R9] = self.r9;
        mrs[mr::RAX] = self.rax;
        mrs[mr::RIP] = self.rip;
        mrs[mr::RSP] = self.rsp;
        mrs[mr::RFLAGS] = self.rflags;
        mrs[mr::RBX] = self.rbx;
        mrs[mr::RCX] = self.rcx;
        mrs[mr::RBP] = self.rbp;
        mrs[mr::R11] = self.r11;
        mrs[mr::R12] = self.r12;
        mrs[mr::R13] = self.r13;
        mrs[mr::R14] = self.r14;
        mrs[mr::R15] = self.r15;
        mrs[mr::FS_BASE] = self.fs_base;
        mrs[mr::GS_BASE] = self.gs_base;
    }
    /// Load from message registers `mrs[1..=FRAME_WORDS]`.
    pub fn from_mrs(mrs: &[u64]) -> UserRegs {
        UserRegs {
            rdi: mrs[mr::RDI],
            rsi: mrs[mr::RSI],
            rdx: mrs[mr::RDX],
            r10: mrs[mr::R10],
            r8: mrs[mr::R8],
            r9: mrs[mr::R9],
            rax: mrs[mr::RAX],
            rip: mrs[mr::RIP],
            rsp: mrs[mr::RSP],
            rflags: mrs[mr::RFLAGS],
            rbx: mrs[mr::RBX],
            rcx: mrs[mr::RCX],
            rbp: mrs[mr::RBP],
            r11: mrs[mr::R11],
            r12: mrs[mr::R12],
            r13: mrs[mr::R13],
            r14: mrs[mr::R14],
            r15: mrs[mr::R15],
            fs_base: mrs[mr::FS_BASE],
            gs_base: mrs[mr::GS_BASE],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn regs_round_trip_through_mrs() {
        let mut r = UserRegs::default();
        let vals: [u64; 20] = core::array::from_fn(|i| 100 + i as u64);
        r.rax = vals[0];
        r.rbx = vals[1];
        r.rcx = vals[2];
        r.rdx = vals[3];
        r.rsi = vals[4];
        r.rdi = vals[5];
        r.rbp = vals[6];
        r.rsp = vals[7];
        r.r8 = vals[8];
        r.r9 = vals[9];
        r.r10 = vals[10];
        r.r11 = vals[11];
        r.r12 = vals[12];
        r.r13 = vals[13];
        r.r14 = vals[14];
        r.r15 = vals[15];
        r.rip = vals[16];
        r.rflags = vals[17];
        r.fs_base = vals[18];
        r.gs_base = vals[19];
        let mut mrs = [0u64; 64];
        r.to_mrs(&mut mrs);
        assert_eq!(UserRegs::from_mrs(&mrs), r);
        // every MR in 1..=FRAME_WORDS is used exactly once
        let mut seen: [u64; 21] = [0; 21];
        for (i, s) in seen.iter_mut().enumerate().skip(1) {
            *s = mrs[i];
        }
        seen[1..].sort();
        assert_eq!(&seen[1..], &vals[..]);
    }
}
