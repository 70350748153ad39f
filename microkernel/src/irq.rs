//! Interrupts as IPC. A privileged thread attaches itself (or another thread)
//! to an IRQ line; each interrupt then arrives as a message from the line's
//! sender ID (`ThreadId::irq(n)`). The line stays masked from the moment it
//! fires until the handler replies to that ID, so a slow handler sees one
//! message per interrupt burst and never an interrupt storm.

use crate::ipc::Sender;
use crate::kernel::{Kernel, Machine};
use crate::thread::{MsgKind, State};
use abi::error::Error;
use abi::sysno::irq;
use abi::thread_id::IRQ_COUNT;
use abi::ThreadId;

/// Lines user threads may not take: the timer (the kernel's) and the cascade.
const KERNEL_IRQS: [u32; 2] = [0, 2];

impl<M: Machine> Kernel<M> {
    /// An interrupt on `line` (already masked and acknowledged at the PIC).
    pub fn handle_irq(&mut self, line: u32) {
        self.counters.kernel_entries += 1;
        self.counters.interrupts += 1;
        let Some(handler) = self.irqs.get(line as usize).and_then(|l| l.handler) else { return self.schedule() };
        let Some(slot) = self.slot_of(handler) else {
            self.irqs[line as usize] = Default::default();
            self.irq_pending &= !(1 << line);
            return self.schedule();
        };
        match self.tcb(slot).state {
            State::Receiving { from, kind } if from.is_any() || from == ThreadId::irq(line) => {
                let r = self.transfer(Sender::Irq(line), slot, MsgKind::Normal, kind);
                self.finish_receive(slot, kind, r);
            }
            _ => self.irq_pending |= 1 << line,
        }
        self.schedule();
    }

    pub(crate) fn sys_irq_control(&mut self, cur: u32) {
        let f = self.tcb(cur).frame;
        let line = f.rdi;
        let r = if !self.space_of(cur).privileged {
            Err(Error::NoPermission)
        } else if line >= IRQ_COUNT as u64 || KERNEL_IRQS.contains(&(line as u32)) {
            Err(Error::InvalidArgument)
        } else {
            let line = line as u32;
            match f.rsi {
                irq::ATTACH => match self.slot_of(ThreadId(f.rdx)) {
                    Some(_) => {
                        self.irqs[line as usize].handler = Some(ThreadId(f.rdx));
                        self.irq_pending &= !(1 << line);
                        self.mach.irq_unmask(line);
                        Ok(())
                    }
                    None => Err(Error::NotExist),
                },
                irq::DETACH => {
                    self.irqs[line as usize] = Default::default();
                    self.irq_pending &= !(1 << line);
                    self.mach.irq_mask(line);
                    Ok(())
                }
                _ => Err(Error::InvalidArgument),
            }
        };
        self.tcb_mut(cur).frame.rax = r.err().map_or(0, |e| e.code());
    }
}
