//! The tagged TLB (`tlb=plain|pcid|small`): what a space can reach when the
//! kernel stops flushing on every switch.
//!
//! These tests cannot use mirrored children (`harness::Ctx::spawn_space`):
//! under `tlb=small` this task is a small space in window slot 1 and a large
//! space may not have pages there. Their children run a *probe page* instead
//! — one page of this task's text, position-independent, mapped wherever a
//! child needs it — that touches the address in its RSP and stops at `ud2`.
//! This task is the children's pager and exception handler and answers
//! every message itself, so each step is observable: a page-fault message
//! means the access was refused, an exception message (#UD) that it went
//! through.

use crate::check;
use crate::harness::report_from;
use abi::exception::{mr, reply, FRAME_WORDS};
use abi::kip::TlbMode;
use abi::msg::kind;
use abi::syscall::{self as sys, IpcResult};
use abi::sysno::create;
use abi::window::slot_base;
use abi::{Fpage, Rights, ThreadId, Timeout, Timeouts, TypedItem};
use alloc::string::String;
use rt::ipc::{self, Message};

// The probe page. Entry points (offsets): READ reads [rsp] and stops; then
// READ_AGAIN does the same (an exception reply skips the ud2 to get there);
// WRITE writes [rsp]; SPIN is a ud2 that a reply can resume at itself.
core::arch::global_asm!(
    ".pushsection .text.ktest_probe, \"ax\"",
    ".balign 4096",
    ".global ktest_probe_page",
    "ktest_probe_page:",
    "mov rax, qword ptr [rsp]",
    "ud2",
    "mov rax, qword ptr [rsp]",
    "ud2",
    "mov qword ptr [rsp], rax",
    "ud2",
    "ud2",
    ".balign 4096",
    ".popsection",
);
const READ: u64 = 0;
const READ_AGAIN: u64 = 6;
const WRITE: u64 = 12;
const SPIN: u64 = 18;

extern "C" {
    static ktest_probe_page: u8;
}

/// Where large children get the probe page and a data page.
const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x50_0000;

/// A page of this task's data that children must not reach (or may be given).
#[repr(C, align(4096))]
struct Page([u64; 512]);
static mut SECRET: Page = Page([0; 512]);
const SECRET_VALUE: u64 = 0x5ec2_e75e_c2e7;

fn probe_page() -> u64 {
    // SAFETY: a linker symbol; only its address is used (and read below).
    let p = unsafe { &ktest_probe_page as *const u8 as u64 };
    // Touch it, so that this task has the page to map on.
    crate::insn::read_u64(p);
    p
}

fn secret() -> u64 {
    let p = core::ptr::addr_of_mut!(SECRET) as u64;
    crate::insn::write_u64(p, SECRET_VALUE);
    p
}

/// A probe thread in a new space (small in `slot`, or large), paged and
/// handled by this thread, started at `entry` of its code with RSP = `target`.
struct Probe {
    id: ThreadId,
    code: u64,
}

impl Probe {
    fn start(small_slot: Option<u32>, entry: u64, target: u64) -> Result<Probe, String> {
        let me = rt::utcb::Utcb::current().my_id();
        let flags = 100 | small_slot.map_or(0, create::small_slot);
        let id = sys::thread_create(ThreadId::NIL, me, me, 0, flags)
            .map_err(|e| alloc::format!("creating a probe space: {e:?}"))?;
        let code = small_slot.map_or(CODE, |s| slot_base(s) + 0x10_0000);
        sys::thread_start(id, code + entry, target).map_err(|e| alloc::format!("starting the probe: {e:?}"))?;
        let p = Probe { id, code };
        // Its first fault is for its code.
        let r = p.next()?;
        check!(fault_at(&r) == Some(code + entry), "the probe's first fault: {}", describe(&r));
        p.map(probe_page(), code, Rights::RX)?;
        Ok(p)
    }

    /// The probe's next message.
    fn next(&self) -> Result<IpcResult, String> {
        report_from(self.id, 2000).map_err(|e| alloc::format!("no message from the probe: {e:?}"))
    }

    /// Answer a page fault with a mapping of our page `src` at `dst`.
    fn map(&self, src: u64, dst: u64, rights: Rights) -> Result<(), String> {
        let mut m = Message::new(0);
        m.item(TypedItem::Map { fpage: Fpage::new(src & !0xfff, 12, rights), hotspot: dst & !0xfff });
        let r = ipc::send(self.id, &m, Timeouts::new(Timeout::Zero, Timeout::Never));
        r.ok().map_err(|e| alloc::format!("mapping reply: {e:?}"))
    }

    /// Answer an exception message: resume at `rip`.
    fn resume(&self, r: &IpcResult, rip: u64) -> Result<(), String> {
        let mut m = Message::new(reply::SET_FRAME);
        for i in 1..=FRAME_WORDS {
            m.push(if i == mr::RIP { rip } else { ipc::word(r, i) });
        }
        let r = ipc::send(self.id, &m, Timeouts::new(Timeout::Zero, Timeout::Never));
        r.ok().map_err(|e| alloc::format!("exception reply: {e:?}"))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = sys::space_delete(self.id);
    }
}

fn fault_at(r: &IpcResult) -> Option<u64> {
    (r.msg.tag.kind() == kind::PAGE_FAULT).then_some(r.msg.mr[0])
}

fn is_ud2(r: &IpcResult) -> bool {
    r.msg.tag.kind() == kind::EXCEPTION && r.msg.tag.detail() == 6
}

fn describe(r: &IpcResult) -> String {
    match fault_at(r) {
        Some(a) => alloc::format!("page fault at {a:#x}"),
        None if is_ud2(r) => alloc::format!("ud2 reached at {:#x} (the access went through)", ipc::word(r, mr::RIP)),
        None => alloc::format!("message {:?}", r.msg.tag),
    }
}

/// Under `tlb=small`: a large space reaches nothing in the window, a small
/// one nothing outside its slot — neither another small space nor the large
/// space whose page table it happens to run in — and switching between a
/// large space and a small one loads no CR3.
pub fn small_spaces(_: &crate::harness::Ctx) -> Result<(), String> {
    check!(rt::kip::kip().tlb() == TlbMode::Small, "needs tlb=small (the KIP says {:?})", rt::kip::kip().tlb());
    let secret = secret();
    // A large space reads and writes this task's (small) memory.
    let large = Probe::start(None, READ, secret)?;
    let r = large.next()?;
    check!(fault_at(&r) == Some(secret), "a large space reading the window: {}", describe(&r));
    let writer = Probe::start(None, WRITE, secret + 8)?;
    let r = writer.next()?;
    check!(fault_at(&r) == Some(secret + 8), "a large space writing the window: {}", describe(&r));
    check!(crate::insn::read_u64(secret + 8) == 0, "the write reached our page");
    drop(writer);
    // `large` is still waiting, its page table loaded (we run in it): a
    // small space in slot 2 runs in it too and reads the large space's code.
    let small = Probe::start(Some(2), READ, CODE)?;
    let r = small.next()?;
    check!(fault_at(&r) == Some(CODE), "a small space reading the large space it runs in: {}", describe(&r));
    // ... and another small space's memory: ours.
    let other = Probe::start(Some(3), READ, secret)?;
    let r = other.next()?;
    check!(fault_at(&r) == Some(secret), "a small space reading another small space: {}", describe(&r));
    drop((small, other, large));
    // Exception round trips between a large space and this small one: PKRU
    // writes, no CR3 loads.
    let spinner = Probe::start(None, SPIN, DATA)?;
    let before = sys::counters();
    let mut r = spinner.next()?;
    for _ in 0..100 {
        check!(is_ud2(&r), "the spinner: {}", describe(&r));
        spinner.resume(&r, spinner.code + SPIN)?;
        r = spinner.next()?;
    }
    let after = sys::counters();
    let cr3 = after.cr3_loads - before.cr3_loads;
    let pkru = after.pkru_writes - before.pkru_writes;
    rt::println!("ktest: 100 exception round trips large <-> small: {cr3} CR3 loads, {pkru} PKRU writes");
    check!(cr3 <= 2, "{cr3} CR3 loads for 100 round trips between a large and a small space");
    check!(pkru >= 200, "only {pkru} PKRU writes for 100 round trips");
    Ok(())
}

/// In every mode: a page unmapped while its space is not running is gone
/// when the space runs again (no stale translation under its PCID, or in
/// the page table a small space shares).
pub fn tlb_unmap(_: &crate::harness::Ctx) -> Result<(), String> {
    let secret = secret();
    let p = Probe::start(None, READ, DATA)?;
    let r = p.next()?;
    check!(fault_at(&r) == Some(DATA), "first read: {}", describe(&r));
    p.map(secret, DATA, Rights::R)?;
    // The read went through and the probe stopped at its ud2.
    let r = p.next()?;
    check!(is_ud2(&r), "after mapping: {}", describe(&r));
    check!(ipc::word(&r, mr::RAX) == SECRET_VALUE, "the probe read {:#x}", ipc::word(&r, mr::RAX));
    // Take the page away while the probe waits (this thread runs: with
    // PCIDs, its space is loaded and the probe's entries keep their tag).
    sys::unmap(Fpage::new(secret, 12, Rights::NONE), Rights::RWX, false).map_err(|e| alloc::format!("unmap: {e:?}"))?;
    p.resume(&r, p.code + READ_AGAIN)?;
    let r = p.next()?;
    check!(fault_at(&r) == Some(DATA), "reading again after the unmap: {}", describe(&r));
    let c = sys::counters();
    rt::println!(
        "ktest: tlb={} cr3_loads {} tlb_full_flushes {} pkru_writes {} tlb_page_flushes {}",
        rt::kip::kip().tlb().name(),
        c.cr3_loads,
        c.tlb_full_flushes,
        c.pkru_writes,
        c.tlb_page_flushes
    );
    Ok(())
}
