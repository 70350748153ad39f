//! Load plans for static x86-64 ELF executables.
//!
//! Three programs load ELF files: the kernel (the root pager, eagerly, at
//! boot), the root pager (the second initial server, page by page as it
//! faults) and the linux-server (Linux processes). All of them must treat the
//! file as hostile: a truncated header, a segment that points outside the
//! file, overlapping segments, a huge `p_memsz` or an entry point outside the
//! code must give a clear error, never a crash or an out-of-bounds copy. This
//! crate turns the bytes into a validated [`Plan`] once; loaders then only ask
//! it what belongs in a given page ([`Plan::fill_page`]).
//!
//! Header parsing uses `goblin`; the checks are ours.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{self, ProgramHeader};

pub const PAGE: u64 = 4096;
/// Most program headers we accept.
pub const MAX_PHDRS: usize = 64;

/// Access rights of a segment (and of the pages it touches).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Rights {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Rights {
    pub fn union(self, o: Rights) -> Rights {
        Rights { read: self.read | o.read, write: self.write | o.write, exec: self.exec | o.exec }
    }
}

/// A loadable segment, with its final address (PIE already relocated).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub rights: Rights,
}

impl Segment {
    pub fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ElfError {
    /// Too short, or not starting with the ELF magic.
    NotElf,
    /// Not a 64-bit little-endian x86-64 file.
    WrongArch,
    /// Not an executable (a relocatable object, a core file, ...).
    NotExecutable,
    /// Needs a program interpreter (dynamically linked).
    Dynamic,
    /// The program header table is malformed or lies outside the file.
    BadProgramHeaders,
    /// Segment `n` is malformed (file range outside the file, filesz > memsz,
    /// address overflow, or outside the allowed address range).
    BadSegment(usize),
    /// Two loadable segments overlap.
    Overlap,
    /// The image needs more memory than allowed.
    TooBig,
    /// The entry point is not inside an executable segment.
    EntryOutside,
    /// No loadable segment at all.
    NoSegments,
}

impl core::fmt::Display for ElfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ElfError::NotElf => write!(f, "not an ELF file"),
            ElfError::WrongArch => write!(f, "not a 64-bit x86-64 ELF file"),
            ElfError::NotExecutable => write!(f, "not an executable"),
            ElfError::Dynamic => write!(f, "dynamically linked (has a program interpreter)"),
            ElfError::BadProgramHeaders => write!(f, "malformed program header table"),
            ElfError::BadSegment(n) => write!(f, "malformed segment {n}"),
            ElfError::Overlap => write!(f, "overlapping segments"),
            ElfError::TooBig => write!(f, "image too large"),
            ElfError::EntryOutside => write!(f, "entry point outside the executable segments"),
            ElfError::NoSegments => write!(f, "no loadable segments"),
        }
    }
}

/// Where an image may be placed and how big it may be.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Lowest address a segment may use.
    pub min_addr: u64,
    /// End (exclusive) of the addresses segments may use.
    pub max_addr: u64,
    /// Largest total `p_memsz`.
    pub max_total: u64,
    /// Where a position-independent (ET_DYN) image is placed.
    pub pie_base: u64,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub entry: u64,
    /// Loadable segments in ascending address order.
    pub segments: Vec<Segment>,
    /// Position-independent: addresses already include `load_bias`.
    pub pie: bool,
    pub load_bias: u64,
    /// Address of the program headers in memory (for AT_PHDR), if mapped.
    pub phdr_vaddr: Option<u64>,
    pub phnum: u16,
    pub phentsize: u16,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
    /// The TLS template (PT_TLS): address, file size, memory size, alignment.
    pub tls: Option<(u64, u64, u64, u64)>,
}

fn checked_end(a: u64, len: u64) -> Option<u64> {
    a.checked_add(len)
}

/// The program interpreter a dynamically linked executable names (its
/// PT_INTERP path, without the NUL), if it is a well-formed x86-64 ELF that
/// has one.
pub fn interpreter(bytes: &[u8]) -> Option<&[u8]> {
    let h: Header = goblin::elf::Elf::parse_header(bytes).ok()?;
    if h.e_phentsize as usize != program_header::program_header64::SIZEOF_PHDR || h.e_phnum as usize > MAX_PHDRS {
        return None;
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let phdrs = ProgramHeader::parse(bytes, h.e_phoff as usize, h.e_phnum as usize, ctx).ok()?;
    let p = phdrs.iter().find(|p| p.p_type == program_header::PT_INTERP)?;
    let start = usize::try_from(p.p_offset).ok()?;
    let path = bytes.get(start..start.checked_add(usize::try_from(p.p_filesz).ok()?)?)?;
    Some(path.split(|&b| b == 0).next().unwrap_or(path))
}

impl Plan {
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Plan, ElfError> {
        if bytes.len() < header::header64::SIZEOF_EHDR || &bytes[..4] != header::ELFMAG {
            return Err(ElfError::NotElf);
        }
        if bytes[header::EI_CLASS] != header::ELFCLASS64 || bytes[header::EI_DATA] != header::ELFDATA2LSB {
            return Err(ElfError::WrongArch);
        }
        let h: Header = goblin::elf::Elf::parse_header(bytes).map_err(|_| ElfError::NotElf)?;
        if h.e_machine != header::EM_X86_64 {
            return Err(ElfError::WrongArch);
        }
        let pie = match h.e_type {
            header::ET_EXEC => false,
            header::ET_DYN => true,
            _ => return Err(ElfError::NotExecutable),
        };
        let phnum = h.e_phnum as usize;
        if h.e_phentsize as usize != program_header::program_header64::SIZEOF_PHDR || phnum == 0 || phnum > MAX_PHDRS {
            return Err(ElfError::BadProgramHeaders);
        }
        let table_len = phnum * h.e_phentsize as usize;
        let table_end = (h.e_phoff as usize).checked_add(table_len).ok_or(ElfError::BadProgramHeaders)?;
        if h.e_phoff > bytes.len() as u64 || table_end > bytes.len() {
            return Err(ElfError::BadProgramHeaders);
        }
        let ctx = Ctx::new(Container::Big, Endian::Little);
        let phdrs =
            ProgramHeader::parse(bytes, h.e_phoff as usize, phnum, ctx).map_err(|_| ElfError::BadProgramHeaders)?;
        if phdrs.iter().any(|p| p.p_type == program_header::PT_INTERP) {
            return Err(ElfError::Dynamic);
        }

        let bias = if pie { limits.pie_base } else { 0 };
        let mut segments = Vec::new();
        let mut total: u64 = 0;
        for (i, p) in phdrs.iter().enumerate().filter(|(_, p)| p.p_type == program_header::PT_LOAD) {
            if p.p_memsz == 0 {
                continue;
            }
            let bad = ElfError::BadSegment(i);
            let file_end = checked_end(p.p_offset, p.p_filesz).ok_or(bad)?;
            if p.p_filesz > p.p_memsz || file_end > bytes.len() as u64 {
                return Err(bad);
            }
            let vaddr = p.p_vaddr.checked_add(bias).ok_or(bad)?;
            let end = checked_end(vaddr, p.p_memsz).ok_or(bad)?;
            if vaddr < limits.min_addr || end > limits.max_addr {
                return Err(bad);
            }
            total = total.checked_add(p.p_memsz).ok_or(ElfError::TooBig)?;
            if total > limits.max_total {
                return Err(ElfError::TooBig);
            }
            segments.push(Segment {
                vaddr,
                memsz: p.p_memsz,
                offset: p.p_offset,
                filesz: p.p_filesz,
                rights: Rights { read: p.is_read(), write: p.is_write(), exec: p.is_executable() },
            });
        }
        if segments.is_empty() {
            return Err(ElfError::NoSegments);
        }
        segments.sort_by_key(|s| s.vaddr);
        if segments.windows(2).any(|w| w[0].end() > w[1].vaddr) {
            return Err(ElfError::Overlap);
        }
        let entry = h.e_entry.checked_add(bias).ok_or(ElfError::EntryOutside)?;
        if !segments.iter().any(|s| s.rights.exec && entry >= s.vaddr && entry < s.end()) {
            return Err(ElfError::EntryOutside);
        }
        // The program headers' address: from PT_PHDR, else found through the
        // segment that maps file offset e_phoff.
        let phdr_vaddr = phdrs
            .iter()
            .find(|p| p.p_type == program_header::PT_PHDR)
            .and_then(|p| p.p_vaddr.checked_add(bias))
            .or_else(|| {
                segments
                    .iter()
                    .find(|s| h.e_phoff >= s.offset && table_end as u64 <= s.offset + s.filesz)
                    .map(|s| s.vaddr + (h.e_phoff - s.offset))
            });
        let exec_stack = phdrs.iter().any(|p| p.p_type == program_header::PT_GNU_STACK && p.is_executable());
        let tls = phdrs
            .iter()
            .find(|p| p.p_type == program_header::PT_TLS)
            .map(|p| (p.p_vaddr.wrapping_add(bias), p.p_filesz, p.p_memsz, p.p_align));
        Ok(Plan {
            entry,
            segments,
            pie,
            load_bias: bias,
            phdr_vaddr,
            phnum: h.e_phnum,
            phentsize: h.e_phentsize,
            exec_stack,
            tls,
        })
    }

    /// Lowest and highest (exclusive, page-rounded) address of the image.
    pub fn extent(&self) -> (u64, u64) {
        let lo = self.segments[0].vaddr & !(PAGE - 1);
        let hi = self.segments.iter().map(|s| s.end()).max().unwrap_or(lo);
        (lo, hi.div_ceil(PAGE) * PAGE)
    }

    /// Rights of the page at `page_va` (union over the segments touching it),
    /// or `None` if no segment touches it.
    pub fn page_rights(&self, page_va: u64) -> Option<Rights> {
        let page_va = page_va & !(PAGE - 1);
        self.segments
            .iter()
            .filter(|s| s.vaddr < page_va + PAGE && s.end() > page_va)
            .map(|s| s.rights)
            .reduce(Rights::union)
    }

    /// Fill `out` with the initial contents of the page at `page_va`: file
    /// bytes where a segment has them, zeros elsewhere (bss and gaps).
    /// Returns the page's rights, or `None` (and leaves `out` zeroed) if no
    /// segment touches the page.
    pub fn fill_page(&self, file: &[u8], page_va: u64, out: &mut [u8; PAGE as usize]) -> Option<Rights> {
        let page_va = page_va & !(PAGE - 1);
        out.fill(0);
        let rights = self.page_rights(page_va)?;
        for s in &self.segments {
            let file_lo = s.vaddr.max(page_va);
            let file_hi = (s.vaddr + s.filesz).min(page_va + PAGE);
            if file_lo < file_hi {
                let src = (s.offset + (file_lo - s.vaddr)) as usize;
                let dst = (file_lo - page_va) as usize;
                let n = (file_hi - file_lo) as usize;
                out[dst..dst + n].copy_from_slice(&file[src..src + n]);
            }
        }
        Some(rights)
    }
}

#[cfg(test)]
mod tests;
