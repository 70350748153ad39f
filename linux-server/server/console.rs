//! The console: the COM1 serial port, driven from user space. Output is
//! polled; input arrives as IRQ 4, delivered by the kernel as IPC, and goes
//! through the line discipline. Readers that find nothing to read are parked
//! and woken when input arrives.

use crate::process::Tid;
use crate::server::Server;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_server::tty::LineDiscipline;
use rt::port::{inb, outb};

const COM1: u16 = 0x3f8;
pub const IRQ: u32 = 4;

pub struct Console {
    pub ldisc: LineDiscipline,
    /// Threads parked reading the console, in arrival order.
    pub readers: VecDeque<Tid>,
    /// The foreground process group (TIOCSPGRP).
    pub fg_pgrp: i32,
    /// The session it is the controlling terminal of (TIOCSCTTY).
    pub session: Option<i32>,
}

impl Console {
    /// Take over COM1: its ports and its interrupt.
    pub fn init(me: abi::ThreadId) -> Console {
        let _ = rt::sys::io_ports(me, COM1, 8);
        // Drain what is pending, then enable the receive interrupt.
        while inb(COM1 + 5) & 1 != 0 {
            inb(COM1);
        }
        if rt::sys::irq_attach(IRQ, me).is_ok() {
            outb(COM1 + 1, 0x01);
        } else {
            rt::println!("linux-server: could not attach the console interrupt; input will not work");
        }
        Console { ldisc: LineDiscipline::new(), readers: VecDeque::new(), fg_pgrp: 0, session: None }
    }

    /// Send raw bytes to the terminal.
    pub fn put_raw(&self, bytes: &[u8]) {
        for &b in bytes {
            while inb(COM1 + 5) & 0x20 == 0 {}
            outb(COM1, b);
        }
    }

    /// Output from a process (with the line discipline's output processing).
    pub fn write(&self, data: &[u8]) {
        let mut out = Vec::with_capacity(data.len() + 16);
        self.ldisc.output(data, &mut out);
        self.put_raw(&out);
    }
}

impl Server {
    /// IRQ 4: take the received bytes through the line discipline, echo,
    /// and retry the parked readers.
    pub fn console_interrupt(&mut self) {
        let mut echo = Vec::new();
        while inb(COM1 + 5) & 1 != 0 {
            let b = inb(COM1);
            let fx = self.console.ldisc.input(b);
            echo.extend_from_slice(&fx.echo);
            if let Some(sig) = fx.signal {
                self.tty_signal(sig);
            }
        }
        if !echo.is_empty() {
            self.console.write(&echo);
        }
        // Acknowledge: the kernel unmasks the line.
        let _ = rt::sys::send(
            abi::ThreadId::irq(IRQ),
            &rt::sys::Msg::default(),
            abi::Timeouts::new(abi::Timeout::Zero, abi::Timeout::Never),
        );
        let readers: Vec<Tid> = self.console.readers.drain(..).collect();
        for tid in readers {
            self.wake(tid);
        }
        self.wake_pollers();
    }
}
