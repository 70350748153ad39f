//! Tests with hand-built ELF images (every error path) and, where the host
//! has them, real static binaries.

use super::*;
use alloc::vec;

const LIMITS: Limits =
    Limits { min_addr: 0x1000, max_addr: 0x7f80_0000_0000, max_total: 1 << 30, pie_base: 0x5555_0000_0000 };

struct Ph {
    ty: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph { ty: program_header::PT_LOAD, flags, offset, vaddr, filesz, memsz }
}

/// A minimal ELF64 file: header, program headers at 64, then `body` at 0x1000.
fn elf(e_type: u16, entry: u64, phs: &[Ph], body: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 0x1000];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little endian
    f[6] = 1;
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
    f[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
    f[56..58].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, p) in phs.iter().enumerate() {
        let o = 64 + i * 56;
        f[o..o + 4].copy_from_slice(&p.ty.to_le_bytes());
        f[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
        f[o + 8..o + 16].copy_from_slice(&p.offset.to_le_bytes());
        f[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
        f[o + 24..o + 32].copy_from_slice(&p.vaddr.to_le_bytes());
        f[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
        f[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
        f[o + 48..o + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    f.extend_from_slice(body);
    f
}

const RX: u32 = 5;
const RW: u32 = 6;

fn good() -> Vec<u8> {
    let mut body = vec![0xccu8; 0x1800];
    body[0x1000..0x1010].copy_from_slice(b"data-section....");
    elf(
        header::ET_EXEC,
        0x40_0010,
        &[load(RX, 0x1000, 0x40_0000, 0x1000, 0x1000), load(RW, 0x2000, 0x40_1000, 0x800, 0x3000)],
        &body,
    )
}

#[test]
fn parses_segments_entry_and_rights() {
    let p = Plan::parse(&good(), &LIMITS).unwrap();
    assert_eq!(p.entry, 0x40_0010);
    assert!(!p.pie);
    assert_eq!(p.segments.len(), 2);
    assert_eq!(p.extent(), (0x40_0000, 0x40_4000));
    assert_eq!(p.page_rights(0x40_0000), Some(Rights { read: true, write: false, exec: true }));
    assert_eq!(p.page_rights(0x40_3fff), Some(Rights { read: true, write: true, exec: false }));
    assert_eq!(p.page_rights(0x40_4000), None);
}

#[test]
fn fills_pages_with_file_data_and_zeroed_bss() {
    let f = good();
    let p = Plan::parse(&f, &LIMITS).unwrap();
    let mut page = [0xffu8; 4096];
    p.fill_page(&f, 0x40_0000, &mut page).unwrap();
    assert!(page.iter().all(|&b| b == 0xcc));
    p.fill_page(&f, 0x40_1000, &mut page).unwrap();
    assert_eq!(&page[..16], b"data-section....");
    assert!(page[0x800..].iter().all(|&b| b == 0), "bss after filesz is zero");
    p.fill_page(&f, 0x40_2000, &mut page).unwrap();
    assert!(page.iter().all(|&b| b == 0));
    assert!(p.fill_page(&f, 0x50_0000, &mut page).is_none());
}

#[test]
fn shared_page_gets_union_of_rights_and_both_contents() {
    // Text ends mid-page and data starts in the same page (older linkers).
    let mut body = vec![0x11u8; 0x800];
    body.extend_from_slice(&[0x22u8; 0x100]);
    let f = elf(
        header::ET_EXEC,
        0x40_0000,
        &[load(RX, 0x1000, 0x40_0000, 0x800, 0x800), load(RW, 0x1800, 0x40_0800, 0x100, 0x200)],
        &body,
    );
    let p = Plan::parse(&f, &LIMITS).unwrap();
    let mut page = [0u8; 4096];
    let r = p.fill_page(&f, 0x40_0000, &mut page).unwrap();
    assert_eq!(r, Rights { read: true, write: true, exec: true });
    assert_eq!(page[0x7ff], 0x11);
    assert_eq!(page[0x800], 0x22);
    assert_eq!(page[0x900], 0);
}

#[test]
fn static_pie_is_relocated() {
    let f = elf(header::ET_DYN, 0x10, &[load(RX, 0x1000, 0, 0x1000, 0x1000)], &[0u8; 0x1000]);
    let p = Plan::parse(&f, &LIMITS).unwrap();
    assert!(p.pie);
    assert_eq!(p.entry, LIMITS.pie_base + 0x10);
    assert_eq!(p.segments[0].vaddr, LIMITS.pie_base);
}

#[test]
fn malformed_files_give_defined_errors() {
    let g = good();
    let cases: Vec<(&str, Vec<u8>, ElfError)> = vec![
        ("empty", vec![], ElfError::NotElf),
        ("truncated header", g[..40].to_vec(), ElfError::NotElf),
        (
            "bad magic",
            {
                let mut f = g.clone();
                f[0] = 0;
                f
            },
            ElfError::NotElf,
        ),
        (
            "32-bit",
            {
                let mut f = g.clone();
                f[4] = 1;
                f
            },
            ElfError::WrongArch,
        ),
        (
            "big endian",
            {
                let mut f = g.clone();
                f[5] = 2;
                f
            },
            ElfError::WrongArch,
        ),
        (
            "arm64",
            {
                let mut f = g.clone();
                f[18..20].copy_from_slice(&183u16.to_le_bytes());
                f
            },
            ElfError::WrongArch,
        ),
        (
            "relocatable",
            {
                let mut f = g.clone();
                f[16..18].copy_from_slice(&1u16.to_le_bytes());
                f
            },
            ElfError::NotExecutable,
        ),
        (
            "phoff past end",
            {
                let mut f = g.clone();
                f[32..40].copy_from_slice(&0xffff_ffffu64.to_le_bytes());
                f
            },
            ElfError::BadProgramHeaders,
        ),
        (
            "phoff overflow",
            {
                let mut f = g.clone();
                f[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
                f
            },
            ElfError::BadProgramHeaders,
        ),
        (
            "phentsize",
            {
                let mut f = g.clone();
                f[54..56].copy_from_slice(&32u16.to_le_bytes());
                f
            },
            ElfError::BadProgramHeaders,
        ),
        (
            "too many phdrs",
            {
                let mut f = g.clone();
                f[56..58].copy_from_slice(&60000u16.to_le_bytes());
                f
            },
            ElfError::BadProgramHeaders,
        ),
        (
            "file range past end",
            elf(header::ET_EXEC, 0x40_0000, &[load(RX, 0x1000, 0x40_0000, 0x10_0000, 0x10_0000)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "filesz > memsz",
            elf(header::ET_EXEC, 0x40_0000, &[load(RX, 0x1000, 0x40_0000, 0x10, 0x8)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "offset overflow",
            elf(header::ET_EXEC, 0x40_0000, &[load(RX, u64::MAX - 4, 0x40_0000, 0x10, 0x10)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "vaddr overflow",
            elf(header::ET_EXEC, 0x40_0000, &[load(RX, 0x1000, u64::MAX - 0xfff, 0x10, 0x10000)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "in kernel half",
            elf(
                header::ET_EXEC,
                0xffff_ffff_8100_0000,
                &[load(RX, 0x1000, 0xffff_ffff_8100_0000, 0x10, 0x10)],
                &[0; 16],
            ),
            ElfError::BadSegment(0),
        ),
        (
            "in the window",
            elf(header::ET_EXEC, 0x7f90_0000_0000, &[load(RX, 0x1000, 0x7f90_0000_0000, 0x10, 0x10)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "at page zero",
            elf(header::ET_EXEC, 0x10, &[load(RX, 0x1000, 0, 0x10, 0x10)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
        (
            "huge memsz",
            elf(header::ET_EXEC, 0x40_0000, &[load(RX, 0x1000, 0x40_0000, 0x10, 1 << 40)], &[0; 16]),
            ElfError::TooBig,
        ),
        (
            "overlap",
            elf(
                header::ET_EXEC,
                0x40_0000,
                &[load(RX, 0x1000, 0x40_0000, 0x10, 0x2000), load(RW, 0x1000, 0x40_1000, 0x10, 0x10)],
                &[0; 16],
            ),
            ElfError::Overlap,
        ),
        (
            "entry outside",
            elf(header::ET_EXEC, 0x90_0000, &[load(RX, 0x1000, 0x40_0000, 0x10, 0x10)], &[0; 16]),
            ElfError::EntryOutside,
        ),
        (
            "entry in data",
            elf(
                header::ET_EXEC,
                0x40_1000,
                &[load(RX, 0x1000, 0x40_0000, 0x10, 0x10), load(RW, 0x1000, 0x40_1000, 0x10, 0x10)],
                &[0; 16],
            ),
            ElfError::EntryOutside,
        ),
        (
            "no segments",
            elf(header::ET_EXEC, 0x40_0000, &[Ph { ty: 4, flags: 0, offset: 0, vaddr: 0, filesz: 0, memsz: 0 }], &[]),
            ElfError::NoSegments,
        ),
        (
            "dynamic",
            elf(
                header::ET_EXEC,
                0x40_0000,
                &[
                    Ph {
                        ty: program_header::PT_INTERP,
                        flags: 4,
                        offset: 0x1000,
                        vaddr: 0x40_0000,
                        filesz: 8,
                        memsz: 8,
                    },
                    load(RX, 0x1000, 0x40_0000, 0x10, 0x10),
                ],
                &[0; 16],
            ),
            ElfError::Dynamic,
        ),
        (
            "pie overflow",
            elf(header::ET_DYN, 0x10, &[load(RX, 0x1000, u64::MAX - 0x5555_0000_0000, 0x10, 0x10)], &[0; 16]),
            ElfError::BadSegment(0),
        ),
    ];
    for (what, bytes, want) in cases {
        assert_eq!(Plan::parse(&bytes, &LIMITS).err(), Some(want), "{what}");
    }
}

#[test]
fn random_corruption_never_panics() {
    let base = good();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut f = base.clone();
        for _ in 0..(rnd() % 8 + 1) {
            let i = (rnd() % 0x200) as usize; // headers live here
            f[i] = rnd() as u8;
        }
        if rnd() % 4 == 0 {
            f.truncate((rnd() % f.len() as u64) as usize);
        }
        if let Ok(p) = Plan::parse(&f, &LIMITS) {
            accepted += 1;
            let mut page = [0u8; 4096];
            let (lo, hi) = p.extent();
            let mut va = lo;
            while va < hi.min(lo + 64 * 4096) {
                p.fill_page(&f, va, &mut page);
                va += 4096;
            }
        }
    }
    assert!(accepted > 0, "some mutations stay valid");
}

/// Real static binaries from the host, when present.
#[test]
fn real_static_binaries_parse() {
    let mut checked = 0;
    for path in ["/bin/busybox", "/bin/bash-static"] {
        let Ok(bytes) = std::fs::read(path) else { continue };
        let p = Plan::parse(&bytes, &LIMITS).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(p.phdr_vaddr.is_some(), "{path}: AT_PHDR must be derivable");
        assert!(p.segments.iter().any(|s| s.rights.exec));
        checked += 1;
    }
    eprintln!("checked {checked} host binaries");
}

#[test]
fn the_interpreter_of_a_dynamic_executable_is_found() {
    let interp =
        Ph { ty: program_header::PT_INTERP, flags: 4, offset: 0x1000, vaddr: 0x40_0000, filesz: 12, memsz: 12 };
    let bytes = elf(header::ET_EXEC, 0x40_0000, &[interp, load(RX, 0x1000, 0x40_0000, 0x10, 0x10)], b"/lib/ld.so\0\0");
    assert_eq!(interpreter(&bytes), Some(&b"/lib/ld.so"[..]));
    assert_eq!(interpreter(&good()), None, "a static executable has none");
    let mut cut = bytes.clone();
    cut.truncate(0x1004);
    assert_eq!(interpreter(&cut), None, "a path past the end of the file is none");
}

mod fuzz;
