//! IPC with messages of any length: MR1..MR6 go in registers, the rest
//! through the UTCB. Typed items follow the untyped words.

use crate::utcb::Utcb;
use abi::msg::{MAX_MR, REG_MRS};
use abi::syscall::{self, IpcResult, Msg};
use abi::{MsgTag, ThreadId, Timeouts, TypedItem};

/// A message being built: label, untyped words, typed items.
pub struct Message {
    pub label: u64,
    words: [u64; MAX_MR + 1],
    untyped: usize,
    typed: usize,
}

impl Message {
    pub fn new(label: u64) -> Message {
        Message { label, words: [0; MAX_MR + 1], untyped: 0, typed: 0 }
    }
    pub fn with(label: u64, words: &[u64]) -> Message {
        let mut m = Message::new(label);
        for &w in words {
            m.push(w);
        }
        m
    }
    /// Append an untyped word (before any typed item).
    pub fn push(&mut self, w: u64) -> &mut Message {
        assert!(self.typed == 0, "untyped words go before typed items");
        self.untyped += 1;
        self.words[self.untyped] = w;
        self
    }
    pub fn item(&mut self, item: TypedItem) -> &mut Message {
        let [a, b] = item.encode();
        let i = self.untyped + self.typed;
        self.words[i + 1] = a;
        self.words[i + 2] = b;
        self.typed += 2;
        self
    }
    fn load(&self) -> Msg {
        let n = self.untyped + self.typed;
        let u = Utcb::current();
        for i in REG_MRS + 1..=n {
            u.set_mr(i, self.words[i]);
        }
        let mut mr = [0; REG_MRS];
        mr.copy_from_slice(&self.words[1..=REG_MRS]);
        Msg { tag: MsgTag::new(self.label, self.untyped, self.typed), mr }
    }
}

/// A received message's word `i` (1-based MR number), from the registers or
/// the UTCB.
pub fn word(r: &IpcResult, i: usize) -> u64 {
    if (1..=REG_MRS).contains(&i) {
        r.msg.mr[i - 1]
    } else {
        Utcb::current().mr(i)
    }
}

pub fn ipc(to: ThreadId, from: ThreadId, timeouts: Timeouts, m: &Message) -> IpcResult {
    syscall::ipc(to, from, timeouts, &m.load())
}

pub fn call(to: ThreadId, m: &Message) -> IpcResult {
    syscall::call(to, &m.load())
}

pub fn reply_and_wait(to: ThreadId, m: &Message) -> IpcResult {
    syscall::reply_and_wait(to, &m.load())
}

pub fn send(to: ThreadId, m: &Message, timeouts: Timeouts) -> IpcResult {
    syscall::send(to, &m.load(), timeouts)
}
