//! A process's memory as the server keeps it: the areas it may use (VMAs)
//! and the logical page table — the authority of which page of the server's
//! pool backs which page of the process. The kernel's page table of the
//! process is only a cache of the latter, filled by map items on page faults.

pub mod pages;
pub mod vma;
pub mod wx;

pub const PAGE: u64 = 4096;

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(page_down)
}
