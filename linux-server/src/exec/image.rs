//! The areas an executable's segments occupy. Like Linux, segments are
//! mapped page-granular in program-header order, so where two segments share a
//! page the later one's protection wins, and the file offset of every
//! segment must be congruent to its address modulo the page size.

use super::layout;
use crate::linux::errno::{Errno, ENOEXEC};
use crate::mm::vma::{Backing, Prot, Vma};
use crate::mm::{page_down, page_up, PAGE};
use alloc::vec::Vec;
use elfload::{Limits, Plan};

pub const LIMITS: Limits = Limits {
    min_addr: layout::MMAP_MIN,
    max_addr: layout::MMAP_BASE,
    max_total: layout::IMAGE_MAX,
    pie_base: layout::PIE_BASE,
};

/// The validated plan and the areas for an executable of inode `ino`.
pub struct Image {
    pub plan: Plan,
    pub areas: Vec<Vma>,
    /// First address after the image: where the heap (brk) starts.
    pub brk_start: u64,
}

pub fn load(bytes: &[u8], ino: u64) -> Result<Image, (Errno, elfload::ElfError)> {
    let plan = Plan::parse(bytes, &LIMITS).map_err(|e| (ENOEXEC, e))?;
    let mut areas: Vec<Vma> = Vec::new();
    for (i, s) in plan.segments.iter().enumerate() {
        if (s.vaddr.wrapping_sub(s.offset)) % PAGE != 0 {
            return Err((ENOEXEC, elfload::ElfError::BadSegment(i)));
        }
        let start = page_down(s.vaddr);
        let end = page_up(s.end()).ok_or((ENOEXEC, elfload::ElfError::BadSegment(i)))?;
        let vma = Vma {
            start,
            end,
            prot: Prot { read: s.rights.read, write: s.rights.write, exec: s.rights.exec },
            backing: Backing::File { ino, offset: s.offset - (s.vaddr - start), data_end: s.vaddr + s.filesz },
            shared: false,
            stack: false,
            max_prot: Prot::ALL,
        };
        // A later segment takes over pages it shares with earlier ones.
        let mut kept = Vec::new();
        for a in areas.drain(..) {
            if a.end <= vma.start || a.start >= vma.end {
                kept.push(a);
            } else {
                if a.start < vma.start {
                    kept.push(Vma { end: vma.start, ..a });
                }
                if a.end > vma.end {
                    let mut hi = a;
                    hi.start = vma.end;
                    if let Backing::File { ino, offset, data_end } = a.backing {
                        hi.backing = Backing::File { ino, offset: offset + (vma.end - a.start), data_end };
                    }
                    kept.push(hi);
                }
            }
        }
        kept.push(vma);
        areas = kept;
    }
    areas.sort_by_key(|a| a.start);
    let brk_start = areas.iter().map(|a| a.end).max().unwrap_or(layout::MMAP_MIN);
    Ok(Image { plan, areas, brk_start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busybox_areas_when_available() {
        let Ok(bytes) = std::fs::read("/bin/busybox") else { return };
        let img = load(&bytes, 42).unwrap();
        assert!(img.areas.iter().any(|a| a.prot.exec));
        assert!(img.areas.windows(2).all(|w| w[0].end <= w[1].start));
        assert_eq!(img.brk_start % PAGE, 0);
        for a in &img.areas {
            let Backing::File { ino, .. } = a.backing else { panic!("segments are file-backed") };
            assert_eq!(ino, 42);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(load(b"not an elf", 1), Err((ENOEXEC, _))));
    }
}
