//! Synchronous IPC, the general path.
//!
//! An IPC has an optional send phase and an optional receive phase. A send
//! completes only when the receiver is waiting (rendezvous); otherwise the
//! sender queues at the receiver until it is, the send timeout fires, or the
//! IPC is aborted. The kernel itself sends on a thread's behalf for CPU
//! exceptions, trapped Linux syscalls and page faults: the thread then waits
//! for the handler's reply, which may rewrite its registers or map pages.
//!
//! The common register-only call / reply-and-wait does not come here: see
//! [`crate::fastpath`], which falls back to this path for anything else.

use crate::kernel::{DeferredReceive, Kernel, Machine};
use crate::thread::{MsgKind, RecvKind, State, SYSCALL_VECTOR};
use abi::error::{Error, RECEIVE_PHASE};
use abi::exception::{mr, reply, EXCEPTION_WORDS, FRAME_WORDS};
use abi::msg::{kind, MAX_MR, REG_MRS};
use abi::thread_id::IRQ_COUNT;
use abi::utcb::offset;
use abi::{Fpage, MsgTag, ThreadId, Timeout, Timeouts, TypedItem};

/// Who a message comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Sender {
    Thread(u32),
    Irq(u32),
}

/// A message as the kernel moves it: the tag and MR1..MR63 (index = MR number).
pub(crate) struct Message {
    pub tag: MsgTag,
    pub mr: [u64; MAX_MR + 1],
}

pub(crate) enum SendOutcome {
    /// Delivered to the receiver in this slot (`None` for an IRQ acknowledgement).
    Delivered(Option<u32>),
    /// The sender is queued at the receiver.
    Blocked,
    /// Failed; the value for the sender's RAX.
    Failed(u64),
}

fn recv_kind_after(kind: MsgKind) -> RecvKind {
    match kind {
        MsgKind::Normal => RecvKind::Normal,
        MsgKind::Exception => RecvKind::ExceptionReply,
        MsgKind::PageFault { .. } => RecvKind::PageFaultReply,
    }
}

impl<M: Machine> Kernel<M> {
    /// The IPC syscall (general path).
    pub(crate) fn sys_ipc(&mut self, cur: u32) {
        self.counters.ipc_slow += 1;
        let f = self.tcb(cur).frame;
        let (to, from, ts) = (ThreadId(f.rdi), ThreadId(f.rsi), Timeouts::decode(f.rdx));
        let mut partner = None;
        if !to.is_nil() {
            match self.send_phase(cur, to, MsgKind::Normal, ts.send, from, ts.recv) {
                SendOutcome::Delivered(p) => partner = p,
                SendOutcome::Blocked => return,
                SendOutcome::Failed(rax) => {
                    self.tcb_mut(cur).frame.rax = rax;
                    return;
                }
            }
        }
        if from.is_nil() {
            self.tcb_mut(cur).frame.rax = 0;
        } else {
            self.receive_phase(cur, from, RecvKind::Normal, ts.recv);
        }
        // A caller that now waits for its reply hands the CPU to the callee.
        if let Some(p) = partner {
            if self.tcb(cur).state != State::Ready && self.tcb(p).state == State::Ready {
                self.switch_to(p);
            }
        }
    }

    /// Send from `slot` to `to`. `then_from` (nil: none) is the receive phase
    /// that follows once the message is delivered, with `recv_timeout`.
    pub(crate) fn send_phase(
        &mut self,
        slot: u32,
        to: ThreadId,
        kind: MsgKind,
        send_timeout: Timeout,
        then_from: ThreadId,
        recv_timeout: Timeout,
    ) -> SendOutcome {
        let my_id = self.tcb(slot).id;
        if let Some(irq) = to.as_irq() {
            // Sending to an interrupt acknowledges it: the line is re-enabled.
            if self.irqs[irq as usize].handler == Some(my_id) {
                self.mach.irq_unmask(irq);
                return SendOutcome::Delivered(None);
            }
            return SendOutcome::Failed(Error::NotExist.code());
        }
        let Some(dest) = self.slot_of(to) else { return SendOutcome::Failed(Error::NotExist.code()) };
        if kind == MsgKind::Normal {
            if let Some(allowed) = self.tcb(slot).send_only_to {
                if self.tcb(dest).space != allowed {
                    return SendOutcome::Failed(Error::NoPermission.code());
                }
            }
        }
        if let State::Receiving { from, kind: rkind } = self.tcb(dest).state {
            if from == my_id || from.is_any() {
                let r = self.transfer(Sender::Thread(slot), dest, kind, rkind);
                self.finish_receive(dest, rkind, r);
                return match r {
                    Ok(()) => SendOutcome::Delivered(Some(dest)),
                    Err(e) => SendOutcome::Failed(e.code()),
                };
            }
        }
        if send_timeout == Timeout::Zero {
            return SendOutcome::Failed(Error::Timeout.code());
        }
        self.tcb_mut(slot).state = State::Sending { to, then_from, kind, recv_timeout };
        let mut q = self.tcb(dest).sendq;
        q.push_back(&mut self.threads, slot);
        self.tcb_mut(dest).sendq = q;
        self.set_timeout(slot, send_timeout);
        SendOutcome::Blocked
    }

    /// Receive into `slot` from `from` (a thread, an IRQ, or `ANY`): take a
    /// waiting sender now, or block.
    pub(crate) fn receive_phase(&mut self, slot: u32, from: ThreadId, rkind: RecvKind, timeout: Timeout) {
        if let Some(irq) = self.pending_irq_for(slot, from) {
            self.irq_pending &= !(1 << irq);
            let r = self.transfer(Sender::Irq(irq), slot, MsgKind::Normal, rkind);
            self.finish_receive(slot, rkind, r);
            return;
        }
        let my_id = self.tcb(slot).id;
        let sender = if from.is_any() {
            self.tcb(slot).sendq.head
        } else if from.as_irq().is_some() {
            None
        } else {
            match self.slot_of(from) {
                None => {
                    self.finish_receive(slot, rkind, Err(Error::NotExist));
                    return;
                }
                Some(s) => match self.tcb(s).state {
                    State::Sending { to, .. } if to == my_id => Some(s),
                    _ => None,
                },
            }
        };
        if let Some(s) = sender {
            let mut q = self.tcb(slot).sendq;
            q.remove(&mut self.threads, s);
            self.tcb_mut(slot).sendq = q;
            let State::Sending { kind, .. } = self.tcb(s).state else { unreachable!("queued sender not sending") };
            let r = self.transfer(Sender::Thread(s), slot, kind, rkind);
            self.complete_send(s, r);
            self.finish_receive(slot, rkind, r);
            return;
        }
        if timeout == Timeout::Zero {
            self.finish_receive(slot, rkind, Err(Error::Timeout));
            return;
        }
        self.tcb_mut(slot).state = State::Receiving { from, kind: rkind };
        self.set_timeout(slot, timeout);
    }

    /// A queued sender's message was taken (or failed): continue with its
    /// receive phase, or let it run.
    pub(crate) fn complete_send(&mut self, s: u32, r: Result<(), Error>) {
        self.cancel_timeout(s);
        let State::Sending { then_from, kind, recv_timeout, .. } = self.tcb(s).state else { return };
        if let Err(e) = r {
            if kind == MsgKind::Normal {
                self.tcb_mut(s).frame.rax = e.code();
                self.wake(s);
            } else {
                self.kill(s, format_args!("its exception message could not be delivered ({e:?})"));
            }
            return;
        }
        if then_from.is_nil() {
            self.tcb_mut(s).frame.rax = 0;
            self.wake(s);
            return;
        }
        let rkind = recv_kind_after(kind);
        self.tcb_mut(s).state = State::Receiving { from: then_from, kind: rkind };
        self.deferred.push(DeferredReceive { slot: s, from: then_from, kind: rkind, timeout: recv_timeout });
    }

    /// Run the receive phases of senders whose send completed meanwhile.
    pub(crate) fn run_deferred(&mut self) {
        while let Some(d) = self.deferred.pop() {
            if self.threads.get(d.slot).is_some_and(|t| t.state == State::Receiving { from: d.from, kind: d.kind }) {
                self.receive_phase(d.slot, d.from, d.kind, d.timeout);
            }
        }
    }

    /// The receive phase of `slot` ended with `r`: report it and let it run.
    pub(crate) fn finish_receive(&mut self, slot: u32, rkind: RecvKind, r: Result<(), Error>) {
        if rkind == RecvKind::Normal {
            self.tcb_mut(slot).frame.rax = match r {
                Ok(()) => 0,
                Err(e) => e.code() | RECEIVE_PHASE,
            };
        }
        self.wake(slot);
    }

    /// A timeout fired for `slot`, blocked in `state`.
    pub(crate) fn ipc_timeout(&mut self, slot: u32) {
        match self.tcb(slot).state {
            State::Sending { to, .. } => {
                self.dequeue_sender(slot, to);
                self.tcb_mut(slot).frame.rax = Error::Timeout.code();
                self.wake(slot);
            }
            State::Receiving { .. } => {
                self.tcb_mut(slot).frame.rax = Error::Timeout.code() | RECEIVE_PHASE;
                self.wake(slot);
            }
            _ => {}
        }
    }

    /// Take `slot` out of the send queue of the thread `to`.
    pub(crate) fn dequeue_sender(&mut self, slot: u32, to: ThreadId) {
        if let Some(dest) = self.slot_of(to) {
            if self.tcb(slot).link.linked {
                let mut q = self.tcb(dest).sendq;
                q.remove(&mut self.threads, slot);
                self.tcb_mut(dest).sendq = q;
            }
        }
    }

    /// Abort the IPC `slot` is in (exregs). Ordinary IPCs return `Canceled`;
    /// exception and page-fault IPCs are undone so that resuming the thread
    /// raises them again (a trapped syscall is restarted).
    pub(crate) fn abort_ipc(&mut self, slot: u32) {
        let (kind_is_normal, phase) = match self.tcb(slot).state {
            State::Sending { to, kind, .. } => {
                self.dequeue_sender(slot, to);
                (kind == MsgKind::Normal, 0)
            }
            State::Receiving { kind, .. } => (kind == RecvKind::Normal, RECEIVE_PHASE),
            _ => return,
        };
        let t = self.tcb_mut(slot);
        if kind_is_normal {
            t.frame.rax = Error::Canceled.code() | phase;
        } else if t.frame.vector == SYSCALL_VECTOR {
            t.frame.rip = t.frame.rip.wrapping_sub(2);
        }
        self.wake(slot);
    }

    /// Send an exception (or page fault) message on behalf of `slot` to its
    /// handler (pager) and wait for the reply.
    pub(crate) fn raise_exception(&mut self, slot: u32, kind: MsgKind) {
        let t = self.tcb(slot);
        let handler = match kind {
            MsgKind::PageFault { .. } => t.pager,
            _ => t.exception_handler,
        };
        if self.slot_of(handler).is_none() {
            let what = if matches!(kind, MsgKind::PageFault { .. }) { "page fault" } else { "exception" };
            self.kill(slot, format_args!("unhandled {what} (no handler)"));
            return;
        }
        self.counters.exception_ipcs += 1;
        match self.send_phase(slot, handler, kind, Timeout::Never, handler, Timeout::Never) {
            SendOutcome::Delivered(partner) => {
                self.receive_phase(slot, handler, recv_kind_after(kind), Timeout::Never);
                if let Some(p) = partner {
                    if self.tcb(p).state == State::Ready {
                        self.switch_to(p);
                    }
                }
            }
            SendOutcome::Blocked => {}
            SendOutcome::Failed(e) => {
                self.kill(slot, format_args!("exception message could not be delivered (error {e})"));
            }
        }
    }

    /// An interrupt pending for `slot` that a receive from `from` accepts.
    fn pending_irq_for(&self, slot: u32, from: ThreadId) -> Option<u32> {
        if self.irq_pending == 0 {
            return None;
        }
        let me = Some(self.tcb(slot).id);
        let pending = |irq: u32| self.irq_pending & (1 << irq) != 0 && self.irqs[irq as usize].handler == me;
        if let Some(irq) = from.as_irq() {
            return pending(irq).then_some(irq);
        }
        if !from.is_any() {
            return None;
        }
        (0..IRQ_COUNT).find(|&irq| pending(irq))
    }

    /// Is an interrupt pending for `slot` (any line)?
    pub(crate) fn irq_pending_for(&self, slot: u32) -> bool {
        self.pending_irq_for(slot, ThreadId::ANY).is_some()
    }

    // ---- message transfer ---------------------------------------------

    /// Move a message from `sender` into `dst`, per how each side sends and
    /// receives. Errors are reported to both sides by the callers.
    pub(crate) fn transfer(&mut self, sender: Sender, dst: u32, skind: MsgKind, rkind: RecvKind) -> Result<(), Error> {
        let msg = match sender {
            Sender::Irq(irq) => {
                let mut m = Message { tag: MsgTag::new(kind::label(kind::IRQ, irq), 0, 0), mr: [0; MAX_MR + 1] };
                m.mr[0] = m.tag.0;
                m
            }
            Sender::Thread(s) => self.read_message(s, skind)?,
        };
        match rkind {
            RecvKind::Normal => self.deliver(sender, dst, &msg),
            RecvKind::ExceptionReply => self.deliver_exception_reply(sender, dst, &msg),
            RecvKind::PageFaultReply => self.typed_items(sender, dst, &msg, Fpage::complete(abi::Rights::RWX)),
        }
    }

    /// The message `s` sends: its registers and UTCB, or a kernel-made
    /// exception / page-fault message from its frame.
    fn read_message(&self, s: u32, skind: MsgKind) -> Result<Message, Error> {
        let t = self.tcb(s);
        let mut m = Message { tag: MsgTag(0), mr: [0; MAX_MR + 1] };
        match skind {
            MsgKind::Normal => {
                m.tag = MsgTag(t.frame.r8);
                let n = m.tag.words();
                if n > MAX_MR || m.tag.typed() % 2 != 0 {
                    return Err(Error::MsgOverflow);
                }
                m.mr[1..=REG_MRS].copy_from_slice(&t.frame.reg_mrs());
                if n > REG_MRS {
                    let u = t.utcb.ok_or(Error::MsgOverflow)?;
                    for i in REG_MRS + 1..=n {
                        m.mr[i] = self.mach.read_u64(u.frame + (offset::MRS + 8 * i) as u64);
                    }
                }
            }
            MsgKind::Exception => {
                let label = if t.frame.vector == SYSCALL_VECTOR {
                    kind::label(kind::LINUX_SYSCALL, t.frame.rax as u32)
                } else {
                    kind::label(kind::EXCEPTION, t.frame.vector as u32)
                };
                m.tag = MsgTag::new(label, EXCEPTION_WORDS, 0);
                t.frame.user_regs(t.fs_base, t.gs_base).to_mrs(&mut m.mr);
                m.mr[mr::VECTOR] = t.frame.vector;
                m.mr[mr::ERROR_CODE] = t.frame.error;
                m.mr[mr::FAULT_ADDR] = t.fault_addr;
            }
            MsgKind::PageFault { addr, access } => {
                m.tag = MsgTag::new(kind::label(kind::PAGE_FAULT, access as u32), 2, 0);
                m.mr[1] = addr;
                m.mr[2] = t.frame.rip;
            }
        }
        m.mr[0] = m.tag.0;
        Ok(m)
    }

    fn sender_id(&self, sender: Sender) -> ThreadId {
        match sender {
            Sender::Thread(s) => self.tcb(s).id,
            Sender::Irq(irq) => ThreadId::irq(irq),
        }
    }

    /// Ordinary delivery: typed items first, then registers and UTCB.
    fn deliver(&mut self, sender: Sender, dst: u32, msg: &Message) -> Result<(), Error> {
        let n = msg.tag.words();
        let utcb = self.tcb(dst).utcb;
        if n > REG_MRS && utcb.is_none() {
            return Err(Error::MsgOverflow);
        }
        if msg.tag.typed() > 0 {
            let acceptor = utcb.map_or(Fpage::NIL, |u| Fpage(self.mach.read_u64(u.frame + offset::ACCEPTOR as u64)));
            self.typed_items(sender, dst, msg, acceptor)?;
        }
        let from = self.sender_id(sender);
        let t = self.tcb_mut(dst);
        t.frame.rsi = from.0;
        t.frame.r8 = msg.tag.0;
        t.frame.set_reg_mrs(&msg.mr[1..=REG_MRS]);
        if let Some(u) = utcb {
            for i in REG_MRS + 1..=n {
                self.mach.write_u64(u.frame + (offset::MRS + 8 * i) as u64, msg.mr[i]);
            }
        }
        Ok(())
    }

    /// The handler's reply to an exception: maybe new registers, maybe pages.
    fn deliver_exception_reply(&mut self, sender: Sender, dst: u32, msg: &Message) -> Result<(), Error> {
        if msg.tag.typed() > 0 {
            self.typed_items(sender, dst, msg, Fpage::complete(abi::Rights::RWX))?;
        }
        match msg.tag.label() {
            reply::SET_RAX if msg.tag.untyped() >= 1 => self.tcb_mut(dst).frame.rax = msg.mr[1],
            reply::SET_FRAME if msg.tag.untyped() >= FRAME_WORDS => {
                let regs = abi::exception::UserRegs::from_mrs(&msg.mr);
                if self.tcb_mut(dst).set_user_regs(&regs).is_err() {
                    self.kill(dst, format_args!("exception reply set a non-canonical RIP or segment base"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Process the typed items of `msg` (map, grant, string) into `dst`.
    fn typed_items(&mut self, sender: Sender, dst: u32, msg: &Message, acceptor: Fpage) -> Result<(), Error> {
        let Sender::Thread(src) = sender else { return Ok(()) };
        let (u, t) = (msg.tag.untyped(), msg.tag.typed());
        for i in (0..t).step_by(2) {
            let words = [msg.mr[u + 1 + i], msg.mr[u + 2 + i]];
            match TypedItem::decode(words) {
                Some(TypedItem::Map { fpage, hotspot }) => self.map_item(src, dst, fpage, hotspot, acceptor, false)?,
                Some(TypedItem::Grant { fpage, hotspot }) => self.map_item(src, dst, fpage, hotspot, acceptor, true)?,
                Some(TypedItem::String { addr, len }) => self.string_item(src, dst, addr, len)?,
                None => return Err(Error::MsgOverflow),
            }
        }
        Ok(())
    }
}
