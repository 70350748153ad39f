//! The kernel threads behind Linux threads: creating them, and reading and
//! writing their registers and FPU state (THREAD_STATE) while they wait for
//! the server — how fork gives a child its parent's state, and how the
//! signal path saves and restores the FPU, and how a libc-shim caller gets a
//! whole new register state.

use crate::server::Server;
use abi::exception::{UserRegs, FRAME_WORDS};
use abi::sysno::{config, create, exregs, thread_state};
use abi::ThreadId;
use linux_server::linux::errno::*;

/// Priority of Linux threads: below the signal threads and the server, so
/// a busy process never delays the server's answers.
pub const LINUX_PRIORITY: u64 = 100;
/// Priority of the signal threads.
pub const SIGNAL_PRIORITY: u64 = 150;
/// The server's own priority.
pub const SERVER_PRIORITY: u64 = 200;

pub const FPU_BYTES: usize = thread_state::FPU_BYTES;

/// The 512-byte FXSAVE image of a thread's x87/SSE state.
pub type Fpu = [u8; FPU_BYTES];

/// The FPU state of a fresh thread (FNINIT and the default MXCSR): what a
/// signal frame without FPU state restores.
pub fn initial_fpu() -> Fpu {
    let mut f = [0u8; FPU_BYTES];
    f[0..2].copy_from_slice(&0x037fu16.to_le_bytes()); // FCW
    f[24..28].copy_from_slice(&0x1f80u32.to_le_bytes()); // MXCSR
    f
}

impl Server {
    /// A new Linux thread (halted) in the space of `space` (a thread there).
    pub fn new_linux_thread(&mut self, space: ThreadId) -> SysResult<ThreadId> {
        let kid =
            rt::sys::thread_create(space, self.me, self.me, 0, create::LINUX | LINUX_PRIORITY).map_err(|_| EAGAIN)?;
        // It may talk to nobody but us.
        let _ = rt::sys::thread_config(kid, config::SEND_ONLY_TO_SPACE_OF, self.me.0);
        Ok(kid)
    }

    /// Start a halted thread with these registers (and FPU state).
    pub fn start_thread(&mut self, kid: ThreadId, regs: &UserRegs, fpu: Option<&Fpu>) -> SysResult<()> {
        set_regs(kid, regs)?;
        if let Some(f) = fpu {
            set_fpu(kid, f)?;
        }
        rt::sys::exregs(kid, exregs::RESUME, 0, 0, 0).map_err(|_| ESRCH)?;
        Ok(())
    }
}

/// The registers of a thread that waits for the server.
pub fn get_regs(kid: ThreadId) -> SysResult<UserRegs> {
    let mut w = [0u64; FRAME_WORDS + 1];
    let mut buf = [0u8; FRAME_WORDS * 8];
    rt::sys::thread_state(kid, thread_state::READ_REGS, &mut buf).map_err(|_| ESRCH)?;
    for (i, slot) in w.iter_mut().enumerate().skip(1) {
        *slot = u64::from_le_bytes(buf[(i - 1) * 8..i * 8].try_into().unwrap());
    }
    Ok(UserRegs::from_mrs(&w))
}

pub fn set_regs(kid: ThreadId, regs: &UserRegs) -> SysResult<()> {
    write_regs(kid, regs, thread_state::WRITE_REGS)
}

/// Give a thread that waits in a call to the server new registers to run
/// from, abandoning its call (how a libc-shim caller is answered with a
/// whole register state: entry.rs).
pub fn restart_regs(kid: ThreadId, regs: &UserRegs) -> SysResult<()> {
    write_regs(kid, regs, thread_state::RESTART_REGS)
}

fn write_regs(kid: ThreadId, regs: &UserRegs, op: u64) -> SysResult<()> {
    let mut w = [0u64; FRAME_WORDS + 1];
    regs.to_mrs(&mut w);
    let mut buf = [0u8; FRAME_WORDS * 8];
    for i in 1..=FRAME_WORDS {
        buf[(i - 1) * 8..i * 8].copy_from_slice(&w[i].to_le_bytes());
    }
    rt::sys::thread_state(kid, op, &mut buf).map_err(|_| ESRCH)
}

pub fn get_fpu(kid: ThreadId) -> SysResult<Fpu> {
    let mut f = [0u8; thread_state::FPU_BYTES];
    rt::sys::thread_state(kid, thread_state::READ_FPU, &mut f).map_err(|_| ESRCH)?;
    Ok(f)
}

pub fn set_fpu(kid: ThreadId, f: &Fpu) -> SysResult<()> {
    let mut b = *f;
    rt::sys::thread_state(kid, thread_state::WRITE_FPU, &mut b).map_err(|_| ESRCH)
}

/// The processor time a thread has used, in ns (timer-tick resolution).
pub fn cpu_ns(kid: ThreadId) -> u64 {
    let mut b = [0u8; 8];
    let _ = rt::sys::thread_state(kid, thread_state::READ_TIMES, &mut b);
    u64::from_le_bytes(b).saturating_mul(1000)
}
