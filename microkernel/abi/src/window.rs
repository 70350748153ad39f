//! Layout of the window: 64 GiB slots, one per initial server. Servers are
//! linked at the start of their slot (+1 MiB), so they can run as small spaces.
//!
//! Also the one rule both the kernel and the linux-server enforce under
//! `tlb=small`: no code any space can execute may contain WRPKRU, because
//! protection keys guard data accesses only and a space that executes WRPKRU
//! grants itself every key (the kernel checks window pages, the linux-server
//! Linux processes' pages).

pub const SLOT_SIZE: u64 = 64 << 30;
/// The root pager's slot; its view of physical memory (RAM frame `p` at
/// `PAGER_PHYS_BASE + p`) fills the upper half of the slot.
pub const PAGER_SLOT: u64 = crate::WINDOW_BASE;
pub const PAGER_PHYS_BASE: u64 = PAGER_SLOT + SLOT_SIZE / 2;
/// The second initial server's slot (linux-server, or a kernel test task).
pub const SERVER_SLOT: u64 = crate::WINDOW_BASE + SLOT_SIZE;
/// Number of slots; the last one holds the KIP and is no space's.
pub const SLOTS: u32 = 8;
/// Slots a privileged creator may give a new small space
/// (`create::small_slot`); 0 and 1 are the initial servers'.
pub const FREE_SLOTS: core::ops::Range<u32> = 2..7;

/// The window slot `va` lies in, if it lies in the window.
pub const fn slot_of(va: u64) -> Option<u32> {
    if va >= crate::WINDOW_BASE && va < crate::USER_END {
        Some(((va - crate::WINDOW_BASE) / SLOT_SIZE) as u32)
    } else {
        None
    }
}

/// Start of slot `n`.
pub const fn slot_base(n: u32) -> u64 {
    crate::WINDOW_BASE + n as u64 * SLOT_SIZE
}

/// The protection key of the small space in slot `n` (`tlb=small`):
/// keys 1..=7. Large spaces' pages carry key 0.
pub const fn pkey_of_slot(n: u32) -> u8 {
    n as u8 + 1
}

/// The protection key of the KIP, readable by every space.
pub const KIP_PKEY: u8 = 15;

/// The WRPKRU instruction: whoever executes it sets its own access rights.
pub const WRPKRU: [u8; 3] = [0x0f, 0x01, 0xef];

/// Does executing anywhere in `page` (with the last bytes of the page before
/// and the first bytes of the page after, where those are executable too)
/// run into a WRPKRU? Instruction fetch crosses page boundaries, so the
/// sequence may straddle them.
pub fn contains_wrpkru(before: Option<[u8; 2]>, page: &[u8], after: Option<[u8; 2]>) -> bool {
    // The pattern is unmasked at run time: folded into an immediate
    // (0x00ef010f), it would itself be a WRPKRU in the code of whoever
    // checks — the linux-server runs this and is a small space.
    const MASK: u8 = 0xa5;
    const MASKED: [u8; 3] = [WRPKRU[0] ^ MASK, WRPKRU[1] ^ MASK, WRPKRU[2] ^ MASK];
    let m = core::hint::black_box(MASK);
    let pat = [MASKED[0] ^ m, MASKED[1] ^ m, MASKED[2] ^ m];
    let is_wrpkru = |w: &[u8]| w[0] == pat[0] && w[1] == pat[1] && w[2] == pat[2];
    if page.windows(3).any(is_wrpkru) {
        return true;
    }
    let n = page.len();
    if n < 2 {
        return false;
    }
    let edge = |a: [u8; 2], b: [u8; 2]| [a[0], a[1], b[0], b[1]].windows(3).any(is_wrpkru);
    before.is_some_and(|b| edge(b, [page[0], page[1]])) || after.is_some_and(|a| edge([page[n - 2], page[n - 1]], a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrpkru_is_found_inside_and_across_page_edges() {
        let mut page = [0x90u8; 4096];
        assert!(!contains_wrpkru(None, &page, None));
        page[100..103].copy_from_slice(&WRPKRU);
        assert!(contains_wrpkru(None, &page, None));
        let mut page = [0x90u8; 4096];
        page[4093..].copy_from_slice(&WRPKRU);
        assert!(contains_wrpkru(None, &page, None), "at the very end");
        // Straddling the start: the page before ends 0f 01, or 0f.
        let mut page = [0x90u8; 4096];
        page[0] = 0xef;
        assert!(contains_wrpkru(Some([0x0f, 0x01]), &page, None));
        assert!(!contains_wrpkru(None, &page, None), "the page before is not executable");
        page[0] = 0x01;
        page[1] = 0xef;
        assert!(contains_wrpkru(Some([0x90, 0x0f]), &page, None));
        // Straddling the end.
        let mut page = [0x90u8; 4096];
        page[4095] = 0x0f;
        assert!(contains_wrpkru(None, &page, Some([0x01, 0xef])));
        page[4094] = 0x0f;
        page[4095] = 0x01;
        assert!(contains_wrpkru(None, &page, Some([0xef, 0x90])));
        assert!(!contains_wrpkru(None, &page, Some([0x90, 0xef])));
    }
}
