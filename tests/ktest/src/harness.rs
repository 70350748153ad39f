//! What the tests share: stacks, starting threads in this space or in new
//! spaces, the mirror pager that gives child spaces this task's own pages,
//! reports from children, and sleeping.
//!
//! Child spaces run code of this task: their pager maps them the very pages
//! this task has at the same addresses ("mirroring"), so a child and this
//! task share text, data and the stacks below. Each child gets its own stack
//! slot; results travel back by IPC.

use crate::insn;
use abi::msg::kind;
use abi::syscall::{self as sys, IpcResult, Msg};
use abi::{Error, Fpage, Rights, ThreadId, Timeout, Timeouts, TypedItem};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use rt::ipc::{self, Message};
use rt::println;

pub const STACK_SIZE: usize = 32 * 1024;
pub const STACKS: usize = 48;

#[repr(C, align(4096))]
pub struct Stacks([[u8; STACK_SIZE]; STACKS]);
static mut STACK_AREA: Stacks = Stacks([[0; STACK_SIZE]; STACKS]);
static STACK_USED: [AtomicBool; STACKS] = [const { AtomicBool::new(false) }; STACKS];

/// UTCBs of threads created in this task's own space (one page each).
const OWN_UTCB_BASE: u64 = 0x7f9e_0000_0000;
/// UTCB of the first thread of a child space.
pub const CHILD_UTCB: u64 = 0x7f9f_0000_0000;
/// Label of reports children send to the main thread.
pub const REPORT: u64 = 0x55;

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
}

pub fn image() -> (u64, u64) {
    // SAFETY: linker-script symbols; only their addresses are used.
    unsafe { (&__image_start as *const u8 as u64, &__image_end as *const u8 as u64) }
}

/// A stack slot, released when dropped (only after its thread is gone).
pub struct StackSlot(usize);

impl StackSlot {
    pub fn take() -> StackSlot {
        for (i, used) in STACK_USED.iter().enumerate() {
            if !used.swap(true, Ordering::AcqRel) {
                return StackSlot(i);
            }
        }
        panic!("out of test stacks");
    }
    pub fn top(&self) -> u64 {
        let base = core::ptr::addr_of_mut!(STACK_AREA) as u64;
        base + ((self.0 + 1) * STACK_SIZE) as u64
    }
    fn utcb(&self) -> u64 {
        OWN_UTCB_BASE + self.0 as u64 * 0x1000
    }
}

impl Drop for StackSlot {
    fn drop(&mut self) {
        STACK_USED[self.0].store(false, Ordering::Release);
    }
}

/// A started thread and its stack.
pub struct Child {
    pub id: ThreadId,
    /// Held until the thread is gone.
    _stack: StackSlot,
}

impl Child {
    /// Delete the thread (and its space, if it was the last there).
    pub fn kill(self) {}
}

impl Drop for Child {
    /// A child never outlives its handle, so its stack and UTCB slot can be
    /// reused safely.
    fn drop(&mut self) {
        let _ = sys::thread_delete(self.id);
    }
}

pub struct Ctx {
    pub me: ThreadId,
    pub mirror: ThreadId,
}

impl Ctx {
    /// A thread in this task's own space (paged, like the main thread, by
    /// the root pager).
    pub fn spawn_local(&self, body: rt::thread::Body, arg: u64, prio: u8, handler: ThreadId, flags: u64) -> Child {
        let stack = StackSlot::take();
        let pager = rt::kip::kip().root_pager;
        let id = rt::thread::spawn(self.me, pager, handler, stack.utcb(), prio as u64 | flags, stack.top(), body, arg)
            .expect("spawning a local thread");
        Child { id, _stack: stack }
    }

    /// A thread in a new space, paged by `pager` (usually the mirror pager).
    pub fn spawn_space(&self, body: rt::thread::Body, arg: u64, prio: u8, pager: ThreadId, handler: ThreadId) -> Child {
        assert!(
            rt::kip::kip().tlb() != abi::kip::TlbMode::Small,
            "mirrored children need tlb=plain or tlb=pcid: under tlb=small this task is a small space and a \
             large one cannot have its window addresses"
        );
        let stack = StackSlot::take();
        let id = rt::thread::spawn(ThreadId::NIL, pager, handler, CHILD_UTCB, prio as u64, stack.top(), body, arg)
            .expect("spawning a thread in a new space");
        Child { id, _stack: stack }
    }
}

/// Wait `us` microseconds (a receive nobody will answer).
pub fn sleep_us(us: u32) {
    let me = rt::utcb::Utcb::current().my_id();
    let _ = sys::ipc(ThreadId::NIL, me, Timeouts::new(Timeout::Never, Timeout::Micros(us)), &Msg::default());
}

/// Receive a report from `from` within `ms` milliseconds.
pub fn report_from(from: ThreadId, ms: u32) -> Result<IpcResult, Error> {
    let r = sys::ipc(ThreadId::NIL, from, Timeouts::new(Timeout::Never, Timeout::Micros(ms * 1000)), &Msg::default());
    r.ok().map_err(|e| e.error)?;
    Ok(r)
}

/// Send a report to the main thread (used by children).
pub fn report(main: ThreadId, words: &[u64]) {
    let r = ipc::send(main, &Message::with(REPORT, words), Timeouts::NEVER);
    if r.ok().is_err() {
        println!("ktest: a report to {main} failed: {:?}", r.ok());
    }
}

/// Main thread's ID, for children (written before any child starts).
pub static MAIN: AtomicU64 = AtomicU64::new(0);

pub fn main_id() -> ThreadId {
    ThreadId(MAIN.load(Ordering::Acquire))
}

/// The reply a mirroring pager gives for a fault at `addr`: this task's own
/// page there, if `addr` is in its image.
pub fn mirror_reply(addr: u64) -> Option<Message> {
    let (lo, hi) = image();
    if addr < lo || addr >= hi {
        return None;
    }
    let page = addr & !0xfff;
    insn::touch(page); // make sure we have it ourselves
    let mut m = Message::new(0);
    m.item(TypedItem::Map { fpage: Fpage::new(page, 12, Rights::RWX), hotspot: page });
    Some(m)
}

/// The mirror pager: children's faults in this task's image get its pages;
/// any other fault, or the same write fault twice in a row (a write to a
/// read-only page), ends the child with a message.
pub extern "C" fn mirror_pager(_: u64) -> ! {
    let mut last = (ThreadId::NIL, 0u64);
    let mut r = sys::wait();
    loop {
        let reply = if r.ok().is_ok() && r.msg.tag.kind() == kind::PAGE_FAULT {
            let (addr, ip) = (r.msg.mr[0], r.msg.mr[1]);
            let write = r.msg.tag.detail() & Rights::W.bits() as u32 != 0;
            if write && last == (r.from, addr) {
                println!("ktest: mirror pager: {} keeps faulting writing {addr:#x} (ip {ip:#x}); ending it", r.from);
                let _ = sys::thread_delete(r.from);
                None
            } else {
                last = if write { (r.from, addr) } else { (ThreadId::NIL, 0) };
                let m = mirror_reply(addr);
                if m.is_none() {
                    println!(
                        "ktest: mirror pager: {} faulted at {addr:#x} (ip {ip:#x}) outside the image; ending it",
                        r.from
                    );
                    let _ = sys::thread_delete(r.from);
                }
                m
            }
        } else {
            None
        };
        r = match reply {
            Some(m) => ipc::reply_and_wait(r.from, &m),
            None => sys::wait(),
        };
    }
}

/// Start the mirror pager thread.
pub fn start_mirror(me: ThreadId) -> (ThreadId, StackSlot) {
    let stack = StackSlot::take();
    let pager = rt::kip::kip().root_pager;
    let id = rt::thread::spawn(me, pager, ThreadId::NIL, stack.utcb(), 220, stack.top(), mirror_pager, 0)
        .expect("mirror pager");
    (id, stack)
}

/// Check `cond`, or fail the test with a message.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($arg)*));
        }
    };
}
