//! The root pager: the first user task.
//!
//! It owns all free physical memory as the master space (the kernel maps RAM
//! into its window idempotently, on first touch), loads the second initial
//! server from its boot module page by page as that server faults, and
//! serves memory requests (`rt::pager`, documented in `pager/README.md`).
//! Memory leaves it only through map items, so every page any other space
//! has is derived from it in the kernel's mapping database.

#![no_std]
#![no_main]

extern crate alloc;

mod window;

use abi::kip::MemType;
use abi::msg::kind;
use abi::{Fpage, Rights, ThreadId, TypedItem};
use alloc::collections::BTreeMap;
use elfload::{Limits, Plan};
use pager::pool::Pool;
use rt::ipc::{self, Message};
use rt::pager as proto;
use rt::println;

rt::entry!(main);
// The heap holds `loaded`: one entry per page of the root server's image it
// has backed, up to SERVER_LIMITS.max_total (1 GiB, 262,144 pages) at about
// 25 bytes each in a BTreeMap. With 1 MiB the pager ran out (and panicked)
// once the linux-server had touched ~150 MiB of its heap, e.g. for files a
// process wrote (found by the syscall fuzzer: tests/tests/fuzz.rs).
rt::declare_heap!(8 << 20);

const SERVER_LIMITS: Limits =
    Limits { min_addr: abi::WINDOW_BASE, max_addr: abi::KIP_ADDR, max_total: 1 << 30, pie_base: abi::WINDOW_BASE };

struct Pager {
    pool: Pool,
    /// The root server's image and the frames its pages were loaded into.
    image: &'static [u8],
    plan: Option<Plan>,
    loaded: BTreeMap<u64, u64>,
    modules: alloc::vec::Vec<(u64, u64)>,
}

fn rights_of(r: elfload::Rights) -> Rights {
    Rights(((r.read as u8) << 2) | ((r.write as u8) << 1) | r.exec as u8)
}

fn error(code: u64) -> Message {
    Message::with(proto::ERROR, &[code])
}

impl Pager {
    /// A page fault of the root server (or a thread in its space).
    fn page_fault(&mut self, from: ThreadId, addr: u64, access: u32, ip: u64) -> Option<Message> {
        let page = addr & !0xfff;
        let rights = self.plan.as_ref().and_then(|p| p.page_rights(page));
        let Some(r) = rights else {
            println!("pager: {from} faulted at {addr:#x} (ip {ip:#x}) outside its image; ending it");
            let _ = rt::sys::thread_delete(from);
            return None;
        };
        let denied =
            (access & Rights::W.bits() as u32 != 0 && !r.write) || (access & Rights::X.bits() as u32 != 0 && !r.exec);
        if denied && self.loaded.contains_key(&page) {
            println!("pager: {from} accessed {addr:#x} against its rights (access {access:#x}, ip {ip:#x}); ending it");
            let _ = rt::sys::thread_delete(from);
            return None;
        }
        let frame = match self.loaded.get(&page) {
            Some(&f) => f,
            None => {
                let Some(f) = self.pool.alloc(0) else {
                    println!("pager: out of memory loading {from}'s page {page:#x}");
                    return None;
                };
                let mut buf = [0u8; 4096];
                if let Some(plan) = &self.plan {
                    plan.fill_page(self.image, page, &mut buf);
                }
                window::fill_frame(f, &buf);
                self.loaded.insert(page, f);
                f
            }
        };
        let mut m = Message::new(0);
        m.item(TypedItem::Map { fpage: Fpage::new(window::addr(frame), 12, rights_of(r)), hotspot: page });
        Some(m)
    }

    fn alloc(&mut self, log2: u64, dest: u64) -> Message {
        if !(proto::MIN_LOG2 as u64..=proto::MAX_LOG2 as u64).contains(&log2) {
            return error(2);
        }
        let Some(pa) = self.pool.alloc(log2 as u32 - 12) else { return error(1) };
        window::zero(pa, 1 << log2);
        let mut m = Message::with(proto::OK, &[pa]);
        // All rights: the client decides what its own clients may do with it.
        m.item(TypedItem::Map { fpage: Fpage::new(window::addr(pa), log2 as u32, Rights::RWX), hotspot: dest });
        m
    }

    fn frame(&mut self, pa: u64, log2: u64, dest: u64) -> Message {
        if !(12..=30).contains(&log2) || pa % (1 << log2) != 0 {
            return error(2);
        }
        let end = pa + (1 << log2);
        if !self.modules.iter().any(|&(s, e)| pa >= s && end <= e) {
            return error(2);
        }
        let mut m = Message::with(proto::OK, &[pa]);
        // Read-only, not executable: under tlb=small the kernel refuses
        // executable window pages holding WRPKRU, and boot modules (the
        // initrd's programs) may hold any bytes.
        m.item(TypedItem::Map { fpage: Fpage::new(window::addr(pa), log2 as u32, Rights::R), hotspot: dest });
        m
    }

    fn release(&mut self, pa: u64, log2: u64) -> Message {
        if !(proto::MIN_LOG2 as u64..=proto::MAX_LOG2 as u64).contains(&log2)
            || pa % (1 << log2) != 0
            || !self.pool.is_allocated(pa, log2 as u32 - 12)
            || self.loaded.values().any(|&f| f >= pa && f < pa + (1 << log2))
        {
            return error(2);
        }
        // Revoke from every space the block reached, then take it back.
        let _ = rt::sys::unmap(Fpage::new(window::addr(pa), log2 as u32, Rights::NONE), Rights::RWX, false);
        self.pool.release(pa, log2 as u32 - 12);
        Message::new(proto::OK)
    }
}

fn main() {
    let kip = rt::kip::kip();
    let mut pool = Pool::new(kip.phys_end);
    let mut modules = alloc::vec::Vec::new();
    for d in kip.mem_descs() {
        if d.kind == MemType::Conventional as u32 {
            pool.add(d.start, d.end);
        } else if d.kind == MemType::BootModule as u32 {
            modules.push((d.start, d.end));
        }
    }
    if !kip.cmdline_flag("quiet") {
        println!("pager: root pager running; {} MiB of free memory in the pool", pool.free_frames() * 4096 >> 20);
    }
    let server = kip.root_server;
    if server.is_nil() {
        println!("pager: no root server to page; exiting");
        return;
    }
    let m = kip.modules()[1];
    let image = window::module_bytes(m.start, m.size as usize);
    let plan = match Plan::parse(image, &SERVER_LIMITS) {
        Ok(p) => Some(p),
        Err(e) => {
            println!("pager: root server '{}' is not loadable: {e}", m.name());
            None
        }
    };
    let mut p = Pager { pool, image, plan, loaded: BTreeMap::new(), modules };
    let mut r = rt::sys::wait();
    loop {
        let reply = if r.ok().is_err() {
            None
        } else {
            let tag = r.msg.tag;
            let w = r.msg.mr;
            match (tag.kind(), tag.label()) {
                (kind::PAGE_FAULT, _) => p.page_fault(r.from, w[0], tag.detail(), w[1]),
                (_, proto::ALLOC) => Some(p.alloc(w[0], w[1])),
                (_, proto::FRAME) => Some(p.frame(w[0], w[1], w[2])),
                (_, proto::RELEASE) => Some(p.release(w[0], w[1])),
                (_, proto::STATS) => Some(Message::with(
                    proto::OK,
                    &[p.pool.free_frames(), p.pool.total_frames(), p.loaded.len() as u64],
                )),
                _ => Some(error(2)),
            }
        };
        r = match reply {
            Some(m) => ipc::reply_and_wait(r.from, &m),
            None => rt::sys::wait(),
        };
    }
}
