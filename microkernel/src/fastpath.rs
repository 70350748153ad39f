//! The IPC fastpath: a register-only call or reply-and-wait to a partner that
//! is already waiting. This is the path client/server traffic takes on every
//! request, so it does only what that case needs — copy the tag and six
//! registers, swap the two threads' states, switch — and leaves everything
//! else to the general path in [`crate::ipc`]. Each check below is a reason
//! to fall back. One kind of kernel-made IPC comes here too: the reply that
//! ends a trapped Linux syscall by setting RAX, the most frequent message of
//! a Linux workload.

use crate::kernel::{Kernel, Machine};
use crate::thread::{RecvKind, State};
use abi::exception::reply;
use abi::{MsgTag, ThreadId, Timeout, Timeouts};

impl<M: Machine> Kernel<M> {
    /// Try to complete the current thread's IPC syscall here. Returns false,
    /// having changed nothing, if the general path must handle it.
    pub fn ipc_fastpath(&mut self) -> bool {
        let Some(cur) = self.current else { return false };
        let c = self.tcb(cur);
        let f = &c.frame;
        let (to, from, tag) = (ThreadId(f.rdi), ThreadId(f.rsi), MsgTag(f.r8));
        // Only call (receive from the callee) and reply-and-wait (open receive).
        if !(from == to || from.is_any()) {
            return false;
        }
        // Typed items and words beyond the registers need the general path.
        if tag.typed() != 0 || tag.untyped() > abi::msg::REG_MRS {
            return false;
        }
        // A zero receive timeout fails at once when nobody is queued: the
        // general path reports it. (A finite one is armed below.)
        let recv_timeout = Timeouts::decode(f.rdx).recv;
        if recv_timeout == Timeout::Zero {
            return false;
        }
        // A reply-and-wait whose receive would not block: someone is queued.
        if from.is_any() && (!c.sendq.is_empty() || self.irq_pending_for(cur)) {
            return false;
        }
        // Higher-priority work is waiting to preempt.
        if self.resched {
            return false;
        }
        // The partner: a live thread, waiting for us (or anyone) in an
        // ordinary receive, with no timeout armed and not halted.
        let Some(dest) = self.slot_of(to) else { return false };
        let d = self.tcb(dest);
        let exception_reply = match d.state {
            State::Receiving { from: df, kind: RecvKind::Normal } if df == c.id || df.is_any() => false,
            // A handler's reply-and-wait that only sets RAX of the thread
            // whose exception it handled: the Linux server's answer to a
            // trapped syscall. Anything else an exception reply can do
            // (a whole frame, map items) takes the general path.
            State::Receiving { from: df, kind: RecvKind::ExceptionReply }
                if df == c.id && from.is_any() && tag.label() == reply::SET_RAX && tag.untyped() >= 1 =>
            {
                true
            }
            _ => return false,
        };
        if d.deadline.is_some() || d.halted || dest == cur {
            return false;
        }
        // An IPC restriction that forbids this partner: the general path
        // reports it. (A Linux thread calling its server passes: the
        // libc shim's calls.)
        if c.send_only_to.is_some_and(|allowed| allowed != d.space) {
            return false;
        }
        // Switching down in priority: a ready thread above the partner runs
        // first (e.g. a signal thread the server has just woken), so the
        // general path schedules. (Nothing ready is above the current
        // thread, or `resched` would be set.)
        if d.priority < c.priority && self.ready.any_above(d.priority) {
            return false;
        }
        let (id, mrs) = (c.id, c.frame.reg_mrs());
        let d = self.tcb_mut(dest);
        if exception_reply {
            d.frame.rax = mrs[0];
        } else {
            d.frame.rax = 0;
            d.frame.rsi = id.0;
            d.frame.r8 = tag.0;
            d.frame.set_reg_mrs(&mrs);
        }
        d.state = State::Ready;
        self.tcb_mut(cur).state = State::Receiving { from, kind: RecvKind::Normal };
        if recv_timeout != Timeout::Never {
            self.set_timeout(cur, recv_timeout);
        }
        self.current = Some(dest);
        self.counters.ipc_fast += 1;
        self.counters.thread_switches += 1;
        true
    }
}
