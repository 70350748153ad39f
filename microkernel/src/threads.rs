//! Creating, configuring, stopping and deleting threads and spaces.
//!
//! Only threads of privileged spaces (the initial servers, and spaces they
//! create with the privileged flag) may create or delete threads of other
//! spaces, configure them, or control interrupts. Any thread may delete
//! itself and may `exregs` threads of its own space. A space ends with its
//! last thread; everything mapped from it is revoked and its kernel memory
//! returned.

use crate::kernel::{Kernel, Machine, TCB_COST};
use crate::paging::{self, PageSize};
use crate::space::Space;
use crate::thread::{is_canonical, Frame, MsgKind, RecvKind, SpaceRef, State, Tcb, Utcb};
use abi::error::{Error, RECEIVE_PHASE};
use abi::sysno::{config, create, exregs, thread_state};
use abi::utcb::offset;
use abi::{ThreadId, PAGE_SIZE, USER_END};

impl<M: Machine> Kernel<M> {
    fn privileged(&self, slot: u32) -> bool {
        self.space_of(slot).privileged
    }

    fn set_result(&mut self, slot: u32, r: Result<(), Error>) {
        self.tcb_mut(slot).frame.rax = match r {
            Ok(()) => 0,
            Err(e) => e.code(),
        };
    }

    // ---- spaces --------------------------------------------------------

    /// A new, empty address space with the KIP mapped (or, under
    /// `tlb=small`, the shared window, which holds the KIP); small in window
    /// slot `small_slot` if that is given and the mode has small spaces.
    pub fn create_space(&mut self, privileged: bool, small_slot: Option<u32>) -> Result<SpaceRef, Error> {
        if self.spaces.live() >= crate::kernel::MAX_SPACES || self.mach.kernel_memory_low() {
            return Err(Error::NoMemory);
        }
        let root = self.frames.alloc(&mut self.mach).ok_or(Error::NoMemory)?;
        paging::copy_kernel_half(&mut self.mach, self.kernel_root, root);
        let mut space = Space::new(root, privileged);
        space.charge(PAGE_SIZE);
        if let Err(e) = self.init_space_tables(&mut space, small_slot) {
            self.free_space_tables(&mut space);
            return Err(e);
        }
        let (slot, version) = self.spaces.insert_with(|_, _| space).expect("room checked above");
        Ok(SpaceRef { slot, version })
    }

    /// Remove a space that has no threads left.
    fn destroy_space(&mut self, r: SpaceRef) {
        let (db, mut mmu) = self.mmu();
        db.remove_space(&mut mmu, r.slot);
        let mut space = self.spaces.remove(r.slot).expect("destroying a dead space");
        debug_assert_eq!(space.threads, 0);
        self.mach.space_ended(r, &space);
        self.free_space_tables(&mut space);
        log::debug!("space {}.{} destroyed", r.slot, r.version);
    }

    // ---- threads -------------------------------------------------------

    /// Create a halted thread in `space` (or in a new space). Its UTCB, if
    /// `utcb` is not 0, is mapped at that page of its space.
    pub fn create_thread(
        &mut self,
        space: Option<SpaceRef>,
        pager: ThreadId,
        exception_handler: ThreadId,
        utcb: u64,
        flags: u64,
    ) -> Result<ThreadId, Error> {
        if utcb != 0 && (utcb % PAGE_SIZE != 0 || utcb >= USER_END || utcb == abi::KIP_ADDR) {
            return Err(Error::InvalidArgument);
        }
        let small_slot = match (flags & create::SMALL_SLOT_MASK) >> create::SMALL_SLOT_SHIFT {
            0 => None,
            n => Some(n as u32 - 1),
        };
        let (sref, new_space) = match space {
            Some(s) => (s, false),
            None => {
                (self.create_space(flags & create::PRIVILEGED != 0, small_slot.filter(|_| self.small_mode()))?, true)
            }
        };
        let result = self.create_thread_in(sref, pager, exception_handler, utcb, flags);
        if result.is_err() && new_space {
            self.destroy_space(sref);
        }
        result
    }

    fn create_thread_in(
        &mut self,
        sref: SpaceRef,
        pager: ThreadId,
        exception_handler: ThreadId,
        utcb_addr: u64,
        flags: u64,
    ) -> Result<ThreadId, Error> {
        if utcb_addr != 0 {
            let sp = self.space(sref);
            if sp.utcb_pages.contains(&utcb_addr)
                || self.mapdb.lookup(sref.slot, utcb_addr).is_some()
                || !sp.owns_address(utcb_addr, self.small_mode())
            {
                return Err(Error::InvalidArgument);
            }
        }
        if self.mach.kernel_memory_low() || !self.space_mut(sref).charge(TCB_COST) {
            return Err(Error::NoMemory);
        }
        let utcb = if utcb_addr != 0 { Some(self.map_utcb(sref, utcb_addr)?) } else { None };
        let Some((slot, version)) =
            self.threads.insert_with(|slot, version| Tcb::new(Self::id_of(slot, version), sref))
        else {
            if let Some(u) = utcb {
                self.unmap_utcb(sref, u);
            }
            self.space_mut(sref).uncharge(TCB_COST);
            return Err(Error::NoMemory);
        };
        let id = Self::id_of(slot, version);
        let t = self.tcb_mut(slot);
        t.pager = pager;
        t.exception_handler = exception_handler;
        t.priority = (flags & create::PRIORITY_MASK) as u8;
        t.linux = flags & create::LINUX != 0;
        t.utcb = utcb;
        if let Some(u) = utcb {
            t.gs_base = u.user_addr;
            self.mach.write_u64(u.frame + offset::SELF as u64, u.user_addr);
            self.mach.write_u64(u.frame + offset::MY_ID as u64, id.0);
        }
        self.space_mut(sref).threads += 1;
        Ok(id)
    }

    fn map_utcb(&mut self, sref: SpaceRef, addr: u64) -> Result<Utcb, Error> {
        let frame = {
            let sp = self.spaces.get_mut(sref.slot).expect("live space");
            crate::memory::alloc_table(&mut self.frames, sp, &mut self.mach).ok_or(Error::NoMemory)?
        };
        let small = self.small_mode();
        let sp = self.spaces.get_mut(sref.slot).expect("live space");
        let attrs = crate::window::user_attrs(sp, abi::Rights::RW, small);
        let root = sp.root;
        let frames = &mut self.frames;
        let r = paging::map(&mut self.mach, root, addr, frame, PageSize::Size4K, attrs, &mut |m| {
            crate::memory::alloc_table(frames, sp, m)
        });
        if r.is_err() {
            self.frames.free(&mut self.mach, frame);
            self.space_mut(sref).uncharge(PAGE_SIZE);
            return Err(Error::NoMemory);
        }
        self.space_mut(sref).utcb_pages.push(addr);
        Ok(Utcb { user_addr: addr, frame })
    }

    fn unmap_utcb(&mut self, sref: SpaceRef, u: Utcb) {
        let root = self.space(sref).root;
        paging::unmap(&mut self.mach, root, u.user_addr);
        let sp = self.spaces.get_mut(sref.slot).expect("live space");
        self.mach.flush_page(sp, u.user_addr);
        self.frames.free(&mut self.mach, u.frame);
        let sp = self.space_mut(sref);
        sp.uncharge(PAGE_SIZE);
        sp.utcb_pages.retain(|&p| p != u.user_addr);
    }

    /// Take `slot` out of whatever queue or wait it is in, without waking it.
    fn detach(&mut self, slot: u32) {
        self.cancel_timeout(slot);
        match self.tcb(slot).state {
            State::Sending { to, .. } => self.dequeue_sender(slot, to),
            State::Ready => self.unready(slot),
            _ => {}
        }
    }

    /// End a thread the kernel cannot let go on (an exception nobody
    /// handles): report it and delete it at the next scheduling point.
    pub(crate) fn kill(&mut self, slot: u32, why: core::fmt::Arguments) {
        let t = self.tcb(slot);
        let f = t.frame;
        log::warn!(
            "thread {:?}: {}; vector {} error {:#x} rip {:#x} rsp {:#x} cr2 {:#x}; thread ended",
            t.id,
            why,
            f.vector,
            f.error,
            f.rip,
            f.rsp,
            t.fault_addr
        );
        self.detach(slot);
        self.tcb_mut(slot).state = State::Killed;
        if self.current == Some(slot) {
            self.current = None;
        }
        self.reap.push(slot);
    }

    /// Delete the threads killed meanwhile.
    pub(crate) fn reap_killed(&mut self) {
        while let Some(slot) = self.reap.pop() {
            if self.threads.get(slot).is_some_and(|t| t.state == State::Killed) {
                self.delete_thread(slot);
            }
        }
    }

    /// Delete a thread: its partners learn it is gone, its UTCB and kernel
    /// memory return, and its space goes with its last thread.
    pub fn delete_thread(&mut self, slot: u32) {
        let id = self.tcb(slot).id;
        self.detach(slot);
        // Threads queued to send to it.
        while let Some(s) = {
            let mut q = self.tcb(slot).sendq;
            let h = q.pop_front(&mut self.threads);
            self.tcb_mut(slot).sendq = q;
            h
        } {
            self.cancel_timeout(s);
            match self.tcb(s).state {
                State::Sending { kind: MsgKind::Normal, .. } => {
                    self.tcb_mut(s).frame.rax = Error::NotExist.code();
                    self.wake(s);
                }
                _ => self.kill(s, format_args!("its handler {id:?} was deleted")),
            }
        }
        // Threads waiting for a message from it specifically.
        let waiting: alloc::vec::Vec<u32> = self
            .threads
            .slots()
            .filter(|&s| matches!(self.tcb(s).state, State::Receiving { from, .. } if from == id))
            .collect();
        for s in waiting {
            match self.tcb(s).state {
                State::Receiving { kind: RecvKind::Normal, .. } => {
                    self.tcb_mut(s).frame.rax = Error::NotExist.code() | RECEIVE_PHASE;
                    self.wake(s);
                }
                _ => self.kill(s, format_args!("its handler {id:?} was deleted")),
            }
        }
        for (n, line) in self.irqs.iter_mut().enumerate() {
            if line.handler == Some(id) {
                *line = Default::default();
                self.irq_pending &= !(1 << n);
            }
        }
        if self.fpu_owner == Some(slot) {
            self.fpu_owner = None;
        }
        if self.current == Some(slot) {
            self.current = None;
        }
        let t = self.threads.remove(slot).expect("deleting a dead thread");
        if let Some(u) = t.utcb {
            self.unmap_utcb(t.space, u);
        }
        let sp = self.space_mut(t.space);
        sp.uncharge(TCB_COST);
        sp.threads -= 1;
        let last = sp.threads == 0;
        log::debug!("thread {:?} deleted", id);
        if last {
            self.destroy_space(t.space);
        }
    }

    /// Delete every thread of the space of `slot` (and so the space).
    pub fn delete_space_of(&mut self, slot: u32) {
        let sref = self.tcb(slot).space;
        let members: alloc::vec::Vec<u32> = self.threads.slots().filter(|&s| self.tcb(s).space == sref).collect();
        for s in members {
            if self.threads.get(s).is_some() {
                self.delete_thread(s);
            }
        }
    }

    // ---- syscalls ------------------------------------------------------

    pub(crate) fn sys_thread_create(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        if !self.privileged(cur) {
            return self.set_result(cur, Err(Error::NoPermission));
        }
        let space = ThreadId(f.rdi);
        let space = if space.is_nil() {
            None
        } else {
            match self.slot_of(space) {
                Some(s) => Some(self.tcb(s).space),
                None => return self.set_result(cur, Err(Error::NotExist)),
            }
        };
        // The initial servers' slots are theirs; a request for another
        // space's slot, or a slot without a new space, is an error.
        let small = (f.r9 & create::SMALL_SLOT_MASK) >> create::SMALL_SLOT_SHIFT;
        if small != 0 && (space.is_some() || !abi::window::FREE_SLOTS.contains(&(small as u32 - 1))) {
            return self.set_result(cur, Err(Error::InvalidArgument));
        }
        match self.create_thread(space, ThreadId(f.rsi), ThreadId(f.rdx), f.r8, f.r9) {
            Ok(id) => {
                let t = self.tcb_mut(cur);
                t.frame.rax = 0;
                t.frame.rdi = id.0;
            }
            Err(e) => self.set_result(cur, Err(e)),
        }
    }

    pub(crate) fn sys_thread_delete(&mut self, cur: u32, whole_space: bool) {
        let target = ThreadId(self.tcb(cur).frame.rdi);
        let Some(slot) = self.slot_of(target) else { return self.set_result(cur, Err(Error::NotExist)) };
        let own_space = self.tcb(slot).space == self.tcb(cur).space;
        let allowed = if whole_space { self.privileged(cur) || own_space } else { slot == cur || self.privileged(cur) };
        if !allowed {
            return self.set_result(cur, Err(Error::NoPermission));
        }
        // Set the result first: the caller may be among the deleted.
        self.set_result(cur, Ok(()));
        if slot == cur && self.privileged(cur) {
            log::info!("thread {:?} of a privileged space exited", target);
        } else {
            log::debug!(
                "{:?} deletes {:?}{}",
                self.tcb(cur).id,
                target,
                if whole_space { " and its space" } else { "" }
            );
        }
        if whole_space {
            self.delete_space_of(slot);
        } else {
            self.delete_thread(slot);
        }
    }

    pub(crate) fn sys_thread_config(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        if !self.privileged(cur) {
            return self.set_result(cur, Err(Error::NoPermission));
        }
        let Some(slot) = self.slot_of(ThreadId(f.rdi)) else { return self.set_result(cur, Err(Error::NotExist)) };
        let value = f.rdx;
        let r = match f.rsi {
            config::PAGER => {
                self.tcb_mut(slot).pager = ThreadId(value);
                Ok(())
            }
            config::EXCEPTION_HANDLER => {
                self.tcb_mut(slot).exception_handler = ThreadId(value);
                Ok(())
            }
            config::PRIORITY if value <= 255 => {
                let queued = self.current != Some(slot) && self.tcb(slot).state == State::Ready;
                if queued {
                    self.unready(slot);
                }
                self.tcb_mut(slot).priority = value as u8;
                if queued {
                    self.ready.enqueue(&mut self.threads, slot, value as u8);
                }
                self.resched = true;
                Ok(())
            }
            config::LINUX => {
                self.tcb_mut(slot).linux = value != 0;
                Ok(())
            }
            config::SEND_ONLY_TO_SPACE_OF => {
                let target = ThreadId(value);
                if target.is_nil() {
                    self.tcb_mut(slot).send_only_to = None;
                    Ok(())
                } else if let Some(ts) = self.slot_of(target) {
                    let s = self.tcb(ts).space;
                    self.tcb_mut(slot).send_only_to = Some(s);
                    Ok(())
                } else {
                    Err(Error::NotExist)
                }
            }
            config::TIMESLICE_US if (1000..=10_000_000).contains(&value) => {
                let t = self.tcb_mut(slot);
                t.timeslice_us = value;
                t.remaining_us = value;
                Ok(())
            }
            config::SPACE_KMEM_QUOTA => {
                let s = self.tcb(slot).space;
                self.space_mut(s).kmem_quota = value.saturating_mul(PAGE_SIZE);
                Ok(())
            }
            _ => Err(Error::InvalidArgument),
        };
        self.set_result(cur, r);
    }

    /// EXREGS: read and change another thread's IP, SP and flags, abort its
    /// IPC, halt or resume it.
    pub(crate) fn sys_exregs(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let Some(slot) = self.slot_of(ThreadId(f.rdi)) else { return self.set_result(cur, Err(Error::NotExist)) };
        if self.tcb(slot).space != self.tcb(cur).space && !self.privileged(cur) {
            return self.set_result(cur, Err(Error::NoPermission));
        }
        let ctl = f.rsi;
        if ctl & exregs::SET_IP != 0 && !is_canonical(f.rdx) {
            return self.set_result(cur, Err(Error::InvalidArgument));
        }
        let t = self.tcb(slot);
        if t.state == State::Killed {
            return self.set_result(cur, Err(Error::NotExist));
        }
        let mut bits = 0;
        if t.halted || t.state == State::Inactive {
            bits |= exregs::OUT_HALTED;
        }
        if t.state.in_ipc() {
            bits |= exregs::OUT_IN_IPC;
        }
        if ctl & exregs::ABORT_IPC != 0 && self.tcb(slot).state.in_ipc() {
            self.abort_ipc(slot);
        }
        // The old registers are those the thread would go on with: read
        // after the abort. Aborting a trapped syscall moves RIP back to the
        // `syscall` instruction, and only the RIP after the abort tells the
        // caller so: before it, a syscall's RIP (after the instruction) is
        // indistinguishable from that of a page fault or exception IPC
        // (which resume at the reported RIP). The linux-server relies on
        // this: it resumed a diverted thread two bytes past the syscall
        // instruction when this reported the RIP from before the abort.
        let t = self.tcb(slot);
        let (old_ip, old_sp, old_flags) = (t.frame.rip, t.frame.rsp, t.frame.rflags);
        {
            let t = self.tcb_mut(slot);
            if ctl & exregs::SET_IP != 0 {
                t.frame.rip = f.rdx;
            }
            if ctl & exregs::SET_SP != 0 {
                t.frame.rsp = f.r8;
            }
            if ctl & exregs::SET_FLAGS != 0 {
                t.frame.rflags = Frame::sanitize_rflags(f.r9);
            }
        }
        if ctl & exregs::HALT != 0 {
            self.tcb_mut(slot).halted = true;
            if self.tcb(slot).state == State::Ready {
                self.unready(slot);
                self.tcb_mut(slot).state = State::Inactive;
                if self.current == Some(slot) {
                    self.current = None;
                }
            }
        }
        if ctl & exregs::RESUME != 0 {
            self.tcb_mut(slot).halted = false;
            if self.tcb(slot).state == State::Inactive {
                self.wake(slot);
            }
        }
        let c = self.tcb_mut(cur);
        c.frame.rax = 0;
        c.frame.rsi = bits;
        c.frame.rdx = old_ip;
        c.frame.r8 = old_sp;
        c.frame.r9 = old_flags;
    }

    /// THREAD_STATE: copy a thread's full registers or FPU state to or from a
    /// buffer of the caller.
    pub(crate) fn sys_thread_state(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let Some(slot) = self.slot_of(ThreadId(f.rdi)) else { return self.set_result(cur, Err(Error::NotExist)) };
        if self.tcb(slot).space != self.tcb(cur).space && !self.privileged(cur) {
            return self.set_result(cur, Err(Error::NoPermission));
        }
        let (buf, len) = (f.rdx, f.r8);
        let my_space = self.tcb(cur).space;
        const REG_BYTES: usize = abi::exception::FRAME_WORDS * 8;
        let r = match f.rsi {
            thread_state::READ_REGS if len as usize >= REG_BYTES => {
                let t = self.tcb(slot);
                let mut mrs = [0u64; abi::exception::FRAME_WORDS + 1];
                t.frame.user_regs(t.fs_base, t.gs_base).to_mrs(&mut mrs);
                let mut bytes = [0u8; REG_BYTES];
                for (i, w) in mrs[1..].iter().enumerate() {
                    bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
                }
                self.copy_to_user(my_space, buf, &bytes).map_err(|_| Error::XferFault)
            }
            op @ (thread_state::WRITE_REGS | thread_state::RESTART_REGS) if len as usize >= REG_BYTES => {
                let mut bytes = [0u8; REG_BYTES];
                match self.copy_from_user(my_space, buf, &mut bytes) {
                    Err(()) => Err(Error::XferFault),
                    Ok(()) => {
                        let mut mrs = [0u64; abi::exception::FRAME_WORDS + 1];
                        for (i, w) in mrs[1..].iter_mut().enumerate() {
                            *w = u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
                        }
                        let regs = abi::exception::UserRegs::from_mrs(&mrs);
                        if !crate::thread::Tcb::user_regs_valid(&regs) {
                            Err(Error::InvalidArgument)
                        } else {
                            // Abandon the IPC first: aborting writes its
                            // error code, which the new registers replace.
                            if op == thread_state::RESTART_REGS && self.tcb(slot).state.in_ipc() {
                                self.abort_ipc(slot);
                            }
                            self.tcb_mut(slot).set_user_regs(&regs).map_err(|_| Error::InvalidArgument)
                        }
                    }
                }
            }
            thread_state::READ_FPU if len as usize >= thread_state::FPU_BYTES => {
                self.fpu_to_memory(slot);
                let area = self.tcb(slot).fpu.0;
                self.copy_to_user(my_space, buf, &area).map_err(|_| Error::XferFault)
            }
            thread_state::WRITE_FPU if len as usize >= thread_state::FPU_BYTES => {
                let mut area = [0u8; thread_state::FPU_BYTES];
                match self.copy_from_user(my_space, buf, &mut area) {
                    Err(()) => Err(Error::XferFault),
                    Ok(()) => {
                        self.fpu_to_memory(slot);
                        // Reserved MXCSR bits would make FXRSTOR fault in the kernel.
                        let mxcsr = u32::from_le_bytes(area[24..28].try_into().unwrap()) & self.mxcsr_mask;
                        area[24..28].copy_from_slice(&mxcsr.to_le_bytes());
                        self.tcb_mut(slot).fpu.0 = area;
                        Ok(())
                    }
                }
            }
            thread_state::READ_TIMES if len >= 8 => {
                let us = self.tcb(slot).cpu_us;
                self.copy_to_user(my_space, buf, &us.to_le_bytes()).map_err(|_| Error::XferFault)
            }
            _ => Err(Error::InvalidArgument),
        };
        self.set_result(cur, r);
    }

    /// Make sure `slot`'s FPU state is in its TCB, not live in the CPU.
    fn fpu_to_memory(&mut self, slot: u32) {
        if self.fpu_owner == Some(slot) {
            let t = self.threads.get_mut(slot).expect("live thread");
            self.mach.fpu_save(&mut t.fpu);
            self.fpu_owner = None;
        }
    }
}
