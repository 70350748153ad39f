//! User-side syscall stubs: the only code that executes the `syscall`
//! instruction for the kernel's own calls. Register use follows
//! `doc/syscalls.md`; `rcx` and `r11` are always clobbered by the instruction.

use crate::{sysno, Fpage, MsgTag, ThreadId, Timeouts};
use core::arch::asm;

/// A message as it travels in registers: the tag and MR1..MR6.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    pub tag: MsgTag,
    pub mr: [u64; crate::msg::REG_MRS],
}

impl Msg {
    pub fn new(label: u64, words: &[u64]) -> Msg {
        let mut mr = [0; crate::msg::REG_MRS];
        let n = words.len().min(mr.len());
        mr[..n].copy_from_slice(&words[..n]);
        Msg { tag: MsgTag::new(label, n, 0), mr }
    }
}

/// What an IPC returns: `rax` (0 or an error code), the sender, and the message.
#[derive(Clone, Copy, Debug)]
pub struct IpcResult {
    pub rax: u64,
    pub from: ThreadId,
    pub msg: Msg,
}

impl IpcResult {
    pub fn ok(&self) -> Result<(), crate::error::IpcError> {
        crate::error::IpcError::decode(self.rax)
    }
}

/// The IPC syscall: optional send phase to `to`, optional receive phase from
/// `from` (nil = none, `ANY` = open receive).
#[inline(always)]
pub fn ipc(to: ThreadId, from: ThreadId, timeouts: Timeouts, msg: &Msg) -> IpcResult {
    let (rax, from_out, tag, m1, m2, m3, m4, m5, m6);
    // SAFETY: the kernel reads and writes only the registers named here and the
    // caller's UTCB and buffers the caller itself registered there.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") sysno::IPC => rax,
            inlateout("rdi") to.0 => _,
            inlateout("rsi") from.0 => from_out,
            inlateout("rdx") timeouts.encode() => _,
            inlateout("r8") msg.tag.0 => tag,
            inlateout("r9") msg.mr[0] => m1,
            inlateout("r10") msg.mr[1] => m2,
            inlateout("r12") msg.mr[2] => m3,
            inlateout("r13") msg.mr[3] => m4,
            inlateout("r14") msg.mr[4] => m5,
            inlateout("r15") msg.mr[5] => m6,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    IpcResult { rax, from: ThreadId(from_out), msg: Msg { tag: MsgTag(tag), mr: [m1, m2, m3, m4, m5, m6] } }
}

/// Call: send to `to`, then receive its reply (atomically: the reply cannot
/// be missed).
#[inline(always)]
pub fn call(to: ThreadId, msg: &Msg) -> IpcResult {
    ipc(to, to, Timeouts::NEVER, msg)
}

/// Reply to `to` (zero send timeout), then wait for the next message from anyone.
#[inline(always)]
pub fn reply_and_wait(to: ThreadId, msg: &Msg) -> IpcResult {
    ipc(to, ThreadId::ANY, Timeouts::new(crate::Timeout::Zero, crate::Timeout::Never), msg)
}

/// Open receive with no send phase.
#[inline(always)]
pub fn wait() -> IpcResult {
    ipc(ThreadId::NIL, ThreadId::ANY, Timeouts::NEVER, &Msg::default())
}

/// Send only.
#[inline(always)]
pub fn send(to: ThreadId, msg: &Msg, timeouts: Timeouts) -> IpcResult {
    ipc(to, ThreadId::NIL, timeouts, msg)
}

/// A generic kernel call with up to six argument registers; returns the same
/// six registers (rax, rdi, rsi, rdx, r8, r9) after the call.
#[inline(always)]
pub fn raw(nr: u64, rdi: u64, rsi: u64, rdx: u64, r8: u64, r9: u64, r10: u64) -> [u64; 6] {
    let (rax, o_rdi, o_rsi, o_rdx, o_r8, o_r9);
    // SAFETY: kernel calls other than IPC only write the registers listed and,
    // where documented, a buffer whose address and length the caller passes.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => rax,
            inlateout("rdi") rdi => o_rdi,
            inlateout("rsi") rsi => o_rsi,
            inlateout("rdx") rdx => o_rdx,
            inlateout("r8") r8 => o_r8,
            inlateout("r9") r9 => o_r9,
            inlateout("r10") r10 => _,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    [rax, o_rdi, o_rsi, o_rdx, o_r8, o_r9]
}

fn result(rax: u64) -> Result<(), crate::Error> {
    if rax == 0 {
        Ok(())
    } else {
        Err(crate::Error::from_code(rax).unwrap_or(crate::Error::InvalidArgument))
    }
}

/// Print `s` on the kernel console (debugging aid; at most 1024 bytes).
pub fn kdebug_print(s: &str) {
    raw(sysno::KDEBUG_PRINT, s.as_ptr() as u64, s.len() as u64, 0, 0, 0, 0);
}

/// Give up the rest of the timeslice (to `to` if it is runnable, else to anyone).
pub fn yield_to(to: ThreadId) {
    raw(sysno::YIELD, to.0, 0, 0, 0, 0, 0);
}

/// Create a thread, halted, in the space of `space` (nil: in a new space).
pub fn thread_create(
    space: ThreadId,
    pager: ThreadId,
    exception_handler: ThreadId,
    utcb: u64,
    flags: u64,
) -> Result<ThreadId, crate::Error> {
    let r = raw(sysno::THREAD_CREATE, space.0, pager.0, exception_handler.0, utcb, flags, 0);
    result(r[0]).map(|_| ThreadId(r[1]))
}

pub fn thread_delete(thread: ThreadId) -> Result<(), crate::Error> {
    result(raw(sysno::THREAD_DELETE, thread.0, 0, 0, 0, 0, 0)[0])
}

pub fn space_delete(thread: ThreadId) -> Result<(), crate::Error> {
    result(raw(sysno::SPACE_DELETE, thread.0, 0, 0, 0, 0, 0)[0])
}

pub fn thread_config(thread: ThreadId, field: u64, value: u64) -> Result<(), crate::Error> {
    result(raw(sysno::THREAD_CONFIG, thread.0, field, value, 0, 0, 0)[0])
}

/// What `exregs` returns: the previous IP, SP, flags and the state bits.
#[derive(Clone, Copy, Debug)]
pub struct ExregsOut {
    pub ip: u64,
    pub sp: u64,
    pub flags: u64,
    pub state: u64,
}

pub fn exregs(thread: ThreadId, control: u64, ip: u64, sp: u64, flags: u64) -> Result<ExregsOut, crate::Error> {
    let r = raw(sysno::EXREGS, thread.0, control, ip, sp, flags, 0);
    result(r[0]).map(|_| ExregsOut { ip: r[3], sp: r[4], flags: r[5], state: r[2] })
}

/// Start a thread created by `thread_create` at `ip` with stack `sp`.
pub fn thread_start(thread: ThreadId, ip: u64, sp: u64) -> Result<(), crate::Error> {
    use sysno::exregs::*;
    exregs(thread, SET_IP | SET_SP | RESUME, ip, sp, 0).map(|_| ())
}

/// Revoke `rights` of `fpage` from every space that got it from the caller
/// (and from the caller too with `own`). Returns accessed/dirty status bits.
pub fn unmap(fpage: Fpage, rights: crate::Rights, own: bool) -> Result<u64, crate::Error> {
    unmap_in(ThreadId::NIL, fpage, rights, own)
}

/// `unmap` in the space of `thread` (privileged; nil: the caller's space).
/// With `own`, the mappings of that space itself lose the rights too — how a
/// server takes a page away from one client without touching others that
/// share the frame.
pub fn unmap_in(thread: ThreadId, fpage: Fpage, rights: crate::Rights, own: bool) -> Result<u64, crate::Error> {
    let ctl = rights.bits() as u64 | if own { sysno::unmap::OWN } else { 0 };
    let r = raw(sysno::UNMAP, fpage.0, ctl, thread.0, 0, 0, 0);
    result(r[0]).map(|_| r[3])
}

pub fn irq_attach(irq: u32, handler: ThreadId) -> Result<(), crate::Error> {
    result(raw(sysno::IRQ_CONTROL, irq as u64, sysno::irq::ATTACH, handler.0, 0, 0, 0)[0])
}

pub fn irq_detach(irq: u32) -> Result<(), crate::Error> {
    result(raw(sysno::IRQ_CONTROL, irq as u64, sysno::irq::DETACH, 0, 0, 0, 0)[0])
}

/// Read the kernel's event counters.
pub fn counters() -> crate::counters::Counters {
    let mut w = [0u64; crate::counters::COUNTER_WORDS];
    raw(sysno::COUNTERS, w.as_mut_ptr() as u64, core::mem::size_of_val(&w) as u64, 0, 0, 0, 0);
    crate::counters::Counters::from_words(&w)
}

/// Copy a thread's state (see `sysno::thread_state`) to or from `buf`.
pub fn thread_state(thread: ThreadId, op: u64, buf: &mut [u8]) -> Result<(), crate::Error> {
    result(raw(sysno::THREAD_STATE, thread.0, op, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0)[0])
}

/// Allow the space of `thread` to use I/O ports `first..first+count`.
pub fn io_ports(thread: ThreadId, first: u16, count: u16) -> Result<(), crate::Error> {
    result(raw(sysno::IO_PORTS, thread.0, first as u64, count as u64, 0, 0, 0)[0])
}

/// Power off through QEMU's isa-debug-exit with `code` (privileged; returns
/// the error if the caller may not).
pub fn shutdown(code: u8) -> crate::Error {
    let r = raw(sysno::SHUTDOWN, code as u64, 0, 0, 0, 0, 0);
    crate::Error::from_code(r[0]).unwrap_or(crate::Error::NoPermission)
}

/// The calling native thread's UTCB (its GS base points at it; word 0 holds
/// its address).
#[inline(always)]
pub fn utcb_addr() -> u64 {
    let a: u64;
    // SAFETY: reads word 0 of the GS segment, which for native threads is the
    // UTCB the kernel mapped there. Linux-personality threads must not call this.
    unsafe { asm!("mov {}, qword ptr gs:[0]", out(reg) a, options(nostack, readonly, preserves_flags)) };
    a
}
