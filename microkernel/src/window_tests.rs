//! Host tests of `tlb=small`: the shared window, who may map where, the
//! protection keys in the page tables, W^X and the WRPKRU check for small
//! spaces, and slots given back when a small space ends.

use crate::mapdb::MapFail;
use crate::paging;
use crate::phys::PhysMem;
use crate::tests::{kernel, raw_syscall, spawn, K};
use crate::thread::SpaceRef;
use crate::tlb::TlbMode;
use abi::error::Error;
use abi::kip::Kip;
use abi::sysno::{self, create};
use abi::window::WRPKRU;
use abi::window::{pkey_of_slot, slot_base, KIP_PKEY};
use abi::{Rights, ThreadId, KIP_ADDR, PAGE_SIZE};

fn small_kernel() -> K {
    let mut k = kernel();
    k.set_tlb_mode(TlbMode::Small).unwrap();
    k
}

/// A new space (small in `slot`, or large), its thread's UTCB at `utcb`.
fn space(k: &mut K, slot: Option<u32>, utcb: u64) -> Result<SpaceRef, Error> {
    let flags = create::PRIVILEGED | 100 | slot.map_or(0, create::small_slot);
    let id = k.create_thread(None, ThreadId::NIL, ThreadId::NIL, utcb, flags)?;
    Ok(k.tcb(k.slot_of(id).unwrap()).space)
}

/// Map a fresh frame holding `content` at `va` of `s` as a root mapping.
fn map(k: &mut K, s: SpaceRef, va: u64, content: &[u8], rights: Rights) -> Result<u64, MapFail> {
    let frame = k.frames.alloc(&mut k.mach).unwrap();
    k.mach.mem.write_bytes(frame, content);
    let (db, mut mmu) = k.mmu();
    db.insert_root(&mut mmu, s.slot, va, frame, rights).map(|_| frame)
}

fn kip_word(k: &K, off: usize) -> u32 {
    let w = k.mach.mem.read_u64(k.kip_frame + (off & !7) as u64);
    (w >> (8 * (off & 7))) as u32
}

#[test]
fn every_page_table_shares_the_window_and_the_kip_has_its_own_key() {
    let mut k = small_kernel();
    let server = space(&mut k, Some(1), slot_base(1) + 0x1000_0000).unwrap();
    let process = space(&mut k, None, 0x10_0000).unwrap();
    assert_eq!(kip_word(&k, core::mem::offset_of!(Kip, tlb_mode)), TlbMode::Small as u32);
    assert_eq!(kip_word(&k, core::mem::offset_of!(Kip, small_slots)), 1 << 1);
    let va = slot_base(1) + 0x20_0000;
    let frame = map(&mut k, server, va, b"server data", Rights::RW).unwrap();
    for root in [k.kernel_root, k.space(server).root, k.space(process).root] {
        let leaf = paging::walk(&k.mach, root, va).expect("the window is in every page table");
        assert_eq!((leaf.pte.addr(), leaf.pte.attrs().pkey), (frame, pkey_of_slot(1)));
        let kip = paging::walk(&k.mach, root, KIP_ADDR).expect("the KIP too");
        assert_eq!(kip.pte.attrs().pkey, KIP_PKEY);
        assert!(!kip.pte.attrs().writable);
    }
    // The kernel never reaches the server's page through the process.
    assert_eq!(k.user_pa(process, va, false), None);
    assert_eq!(k.user_pa(server, va, false), Some(frame));
    let mut buf = [0u8; 11];
    assert!(k.copy_from_user(process, va, &mut buf).is_err());
    // The process's own pages carry key 0.
    let low = map(&mut k, process, 0x40_0000, b"x", Rights::RW).unwrap();
    assert_eq!(k.user_pa(process, 0x40_0000, true), Some(low));
    assert_eq!(paging::walk(&k.mach, k.space(process).root, 0x40_0000).unwrap().pte.attrs().pkey, 0);
}

#[test]
fn spaces_map_only_where_they_own() {
    let mut k = small_kernel();
    let server = space(&mut k, Some(1), slot_base(1) + 0x1000_0000).unwrap();
    let process = space(&mut k, None, 0x10_0000).unwrap();
    assert_eq!(map(&mut k, process, slot_base(1) + 0x30_0000, b"", Rights::RW), Err(MapFail::Reserved));
    assert_eq!(map(&mut k, process, slot_base(3), b"", Rights::RW), Err(MapFail::Reserved));
    assert_eq!(map(&mut k, server, 0x40_0000, b"", Rights::RW), Err(MapFail::Reserved));
    assert_eq!(map(&mut k, server, slot_base(2), b"", Rights::RW), Err(MapFail::Reserved));
    assert!(map(&mut k, server, slot_base(1) + 0x30_0000, b"", Rights::RW).is_ok());
    // UTCBs follow the same rule.
    assert_eq!(space(&mut k, None, slot_base(1) + 0x1100_0000), Err(Error::InvalidArgument));
    assert_eq!(space(&mut k, Some(2), 0x10_0000), Err(Error::InvalidArgument));
    // A slot is held once.
    assert_eq!(space(&mut k, Some(1), slot_base(1) + 0x1200_0000), Err(Error::InvalidArgument));
}

#[test]
fn small_spaces_get_w_xor_x_and_no_wrpkru() {
    let mut k = small_kernel();
    let server = space(&mut k, Some(1), slot_base(1) + 0x1000_0000).unwrap();
    let base = slot_base(1) + 0x40_0000;
    let attrs = |k: &K, va: u64| paging::walk(&k.mach, k.space(server).root, va).unwrap().pte.attrs();
    map(&mut k, server, base, b"", Rights::RWX).unwrap();
    assert!(attrs(&k, base).writable && !attrs(&k, base).executable, "writable window pages never execute");
    map(&mut k, server, base + PAGE_SIZE, &[0x90; 16], Rights::RX).unwrap();
    assert!(attrs(&k, base + PAGE_SIZE).executable);
    let mut code = [0x90u8; 64];
    code[10..13].copy_from_slice(&WRPKRU);
    assert_eq!(map(&mut k, server, base + 2 * PAGE_SIZE, &code, Rights::RX), Err(MapFail::Reserved));
    // Straddling: an executable page ending in 0f 01, the next starting with ef.
    let mut end = [0x90u8; PAGE_SIZE as usize];
    end[4094] = 0x0f;
    end[4095] = 0x01;
    map(&mut k, server, base + 3 * PAGE_SIZE, &end, Rights::RX).unwrap();
    assert_eq!(map(&mut k, server, base + 4 * PAGE_SIZE, &[0xef], Rights::RX), Err(MapFail::Reserved));
    // Not executable, the same bytes are data.
    assert!(map(&mut k, server, base + 4 * PAGE_SIZE, &[0xef], Rights::R).is_ok());
    // Writable and executable: it runs once it loses write access — unless
    // what was written meanwhile holds WRPKRU.
    let rwx = base + 6 * PAGE_SIZE;
    map(&mut k, server, rwx, &[0x90; 16], Rights::RWX).unwrap();
    let revoke_w = |k: &mut K| {
        let (db, mut mmu) = k.mmu();
        db.unmap(&mut mmu, server.slot, rwx, Rights::W, true);
    };
    revoke_w(&mut k);
    assert!(attrs(&k, rwx).executable && !attrs(&k, rwx).writable, "harmless code runs");
    let frame2 = map(&mut k, server, rwx + PAGE_SIZE, &[0x90; 16], Rights::RWX).unwrap();
    k.mach.mem.write_bytes(frame2 + 100, &WRPKRU);
    let (db, mut mmu) = k.mmu();
    db.unmap(&mut mmu, server.slot, rwx + PAGE_SIZE, Rights::W, true);
    assert!(!attrs(&k, rwx + PAGE_SIZE).executable, "WRPKRU written while writable stays data");
    // Large spaces are the linux-server's business (it checks their code).
    let process = space(&mut k, None, 0x10_0000).unwrap();
    assert!(map(&mut k, process, 0x40_0000, &code, Rights::RWX).is_ok());
}

#[test]
fn only_free_slots_can_be_asked_for_and_an_ended_small_space_gives_its_slot_back() {
    let mut k = small_kernel();
    let (me, _) = spawn(&mut k, 100);
    let ask = |k: &mut K, slot: u32| {
        let flags = create::PRIVILEGED | 100 | create::small_slot(slot);
        let r = raw_syscall(k, me, sysno::THREAD_CREATE, [0, 0, 0, slot_base(slot) + 0x1000_0000, flags]);
        (r, ThreadId(k.tcb(me).frame.rdi))
    };
    assert_eq!(ask(&mut k, 1).0, Error::InvalidArgument.code(), "an initial server's slot");
    assert_eq!(ask(&mut k, 7).0, Error::InvalidArgument.code(), "the KIP's slot");
    let free_before = k.frames.free_frames();
    let (r, id) = ask(&mut k, 2);
    assert_eq!(r, 0);
    let sref = k.tcb(k.slot_of(id).unwrap()).space;
    assert_eq!(k.space(sref).small_slot, Some(2));
    map(&mut k, sref, slot_base(2) + 0x50_0000, b"", Rights::RW).unwrap();
    assert_eq!(ask(&mut k, 2).0, Error::InvalidArgument.code(), "held");
    k.delete_space_of(k.slot_of(id).unwrap());
    assert_eq!(kip_word(&k, core::mem::offset_of!(Kip, small_slots)), 0);
    assert!(paging::walk(&k.mach, k.kernel_root, slot_base(2) + 0x50_0000).is_none());
    // Everything but the mapped frame came back (the test's frame is a root mapping).
    assert_eq!(k.frames.free_frames(), free_before - 1);
    assert_eq!(ask(&mut k, 2).0, 0, "free again");
}

#[test]
fn outside_small_mode_a_small_request_makes_an_ordinary_space() {
    let mut k = kernel();
    k.set_tlb_mode(TlbMode::Plain).unwrap();
    let s = space(&mut k, Some(1), slot_base(1) + 0x1000_0000).unwrap();
    assert_eq!(k.space(s).small_slot, None);
    assert!(map(&mut k, s, 0x40_0000, b"", Rights::RWX).is_ok());
    let kip = paging::walk(&k.mach, k.space(s).root, KIP_ADDR).unwrap();
    assert_eq!(kip.pte.attrs().pkey, 0);
    assert!(paging::walk(&k.mach, k.kernel_root, KIP_ADDR).is_none(), "no shared window");
}
