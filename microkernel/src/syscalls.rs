//! Kernel entry from user code: syscalls and CPU exceptions, and the small
//! syscalls that need no module of their own.
//!
//! For a Linux-personality thread, every `syscall` whose number is not one of
//! the kernel's becomes an exception message to its handler — the trampoline
//! that runs unmodified Linux binaries. For native threads such a number is an
//! error.

use crate::kernel::{Kernel, Machine};
use crate::thread::{MsgKind, SYSCALL_VECTOR};
use abi::error::Error;
use abi::sysno;
use abi::{ThreadId, USER_END};

/// Longest string `KDEBUG_PRINT` prints.
pub const KDEBUG_MAX: usize = 1024;

impl<M: Machine> Kernel<M> {
    /// A `syscall` instruction of the current thread.
    pub fn handle_syscall(&mut self) {
        self.counters.kernel_entries += 1;
        self.counters.syscalls += 1;
        let cur = self.cur();
        let rax = self.tcb(cur).frame.rax;
        if rax == sysno::IPC && self.ipc_fastpath() {
            return;
        }
        if !sysno::is_kernel_syscall(rax) {
            if self.tcb(cur).linux {
                self.counters.linux_syscalls += 1;
                self.tcb_mut(cur).frame.vector = SYSCALL_VECTOR;
                self.raise_exception(cur, MsgKind::Exception);
            } else {
                self.tcb_mut(cur).frame.rax = Error::NoSyscall.code();
            }
            return self.schedule();
        }
        // A Linux process reaches the kernel only to call its server (the
        // libc shim's direct IPC): with any other call it could delete its
        // own thread or space behind the server's back (its parent would
        // wait forever), halt or divert its signal thread, or unmap pages.
        if self.tcb(cur).linux && !matches!(rax, sysno::IPC | sysno::YIELD) {
            self.tcb_mut(cur).frame.rax = Error::NoPermission.code();
            return self.schedule();
        }
        match rax {
            sysno::IPC => self.sys_ipc(cur),
            sysno::YIELD => self.sys_yield(cur),
            sysno::THREAD_CREATE => self.sys_thread_create(cur),
            sysno::THREAD_DELETE => self.sys_thread_delete(cur, false),
            sysno::SPACE_DELETE => self.sys_thread_delete(cur, true),
            sysno::THREAD_CONFIG => self.sys_thread_config(cur),
            sysno::EXREGS => self.sys_exregs(cur),
            sysno::UNMAP => self.sys_unmap(cur),
            sysno::IRQ_CONTROL => self.sys_irq_control(cur),
            sysno::KDEBUG_PRINT => self.sys_kdebug_print(cur),
            sysno::COUNTERS => self.sys_counters(cur),
            sysno::THREAD_STATE => self.sys_thread_state(cur),
            sysno::IO_PORTS => self.sys_io_ports(cur),
            sysno::SHUTDOWN => self.sys_shutdown(cur),
            _ => self.tcb_mut(cur).frame.rax = Error::NoSyscall.code(),
        }
        self.schedule();
    }

    /// A CPU exception raised by the current thread in user mode. `vector` and
    /// `error` are already in its frame; `cr2` is the fault address.
    pub fn handle_exception(&mut self, cr2: u64) {
        self.counters.kernel_entries += 1;
        self.counters.exceptions += 1;
        let cur = self.cur();
        let t = self.tcb_mut(cur);
        let (vector, error) = (t.frame.vector, t.frame.error);
        t.fault_addr = cr2;
        if vector == 14 && cr2 < USER_END {
            self.page_fault(cur, cr2, error);
        } else {
            self.raise_exception(cur, MsgKind::Exception);
        }
        self.schedule();
    }

    fn sys_yield(&mut self, cur: u32) {
        self.tcb_mut(cur).frame.rax = 0;
        let to = ThreadId(self.tcb(cur).frame.rdi);
        match self.slot_of(to) {
            Some(t) if t != cur && self.tcb(t).state == crate::thread::State::Ready => self.switch_to(t),
            _ => self.yield_current(),
        }
    }

    fn sys_kdebug_print(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let len = (f.rsi as usize).min(KDEBUG_MAX);
        let mut buf = [0u8; KDEBUG_MAX];
        let space = self.tcb(cur).space;
        let r = self.copy_from_user(space, f.rdi, &mut buf[..len]);
        if r.is_ok() {
            self.mach.console_write(&buf[..len]);
        }
        self.tcb_mut(cur).frame.rax = if r.is_ok() { 0 } else { Error::XferFault.code() };
    }

    fn sys_counters(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        if self.self_check {
            if let Err(e) = self.check_memory() {
                panic!("kcheck (at a COUNTERS call of thread slot {cur}): {e}");
            }
        }
        self.counters.kmem_free_frames = self.frames.free_frames();
        self.counters.kmem_heap_used = self.mach.heap_used();
        self.counters.mapping_nodes = self.mapdb.len() as u64;
        self.counters.live_threads = self.threads.live() as u64;
        self.counters.live_spaces = self.spaces.live() as u64;
        let words = self.counters.as_words();
        let mut bytes = [0u8; abi::counters::COUNTER_WORDS * 8];
        for (i, w) in words.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let len = (f.rsi as usize).min(bytes.len());
        let space = self.tcb(cur).space;
        let r = self.copy_to_user(space, f.rdi, &bytes[..len]);
        self.tcb_mut(cur).frame.rax = if r.is_ok() { 0 } else { Error::XferFault.code() };
    }

    fn sys_io_ports(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let r = if !self.space_of(cur).privileged {
            Err(Error::NoPermission)
        } else {
            match self.slot_of(ThreadId(f.rdi)) {
                Some(t) => {
                    let s = self.tcb(t).space;
                    self.space_mut(s).allow_ports(f.rsi as usize, f.rdx as usize);
                    Ok(())
                }
                None => Err(Error::NotExist),
            }
        };
        self.tcb_mut(cur).frame.rax = r.err().map_or(0, |e| e.code());
    }

    fn sys_shutdown(&mut self, cur: u32) {
        if !self.space_of(cur).privileged {
            self.tcb_mut(cur).frame.rax = Error::NoPermission.code();
            return;
        }
        let code = self.tcb(cur).frame.rdi as u8;
        self.tcb_mut(cur).frame.rax = 0;
        self.mach.shutdown(code);
    }
}
