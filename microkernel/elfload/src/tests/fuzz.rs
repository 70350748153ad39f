//! The ELF loader's fuzz loop: seeded mutations of valid executables (bit
//! flips, truncation, header and program-header fields overwritten with
//! extreme values, lengths and offsets pointing past the end) and random
//! bytes. Whatever the input, `Plan::parse` returns a plan or one of the
//! defined errors, never panics; every plan it accepts is self-consistent
//! (segments inside the file and the allowed address range, sorted, not
//! overlapping, the entry in an executable segment), and filling its pages
//! copies exactly the file bytes the segments name. `ELF_FUZZ_ITERATIONS`
//! and `ELF_FUZZ_SEED` make longer or different runs.

use super::*;

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Valid executables to start from: the two-segment one, a static PIE, and
/// one with PT_PHDR, PT_TLS and PT_GNU_STACK next to three PT_LOADs.
fn corpus() -> Vec<Vec<u8>> {
    let pie = elf(
        header::ET_DYN,
        0x10,
        &[load(RX, 0x1000, 0, 0x1000, 0x1000), load(RW, 0x2000, 0x1000, 0x100, 0x4000)],
        &[0x90u8; 0x1100],
    );
    let rich = elf(
        header::ET_EXEC,
        0x40_0100,
        &[
            Ph { ty: program_header::PT_PHDR, flags: 4, offset: 64, vaddr: 0x3f_f040, filesz: 5 * 56, memsz: 5 * 56 },
            load(RX, 0x1000, 0x40_0000, 0x800, 0x800),
            load(4, 0x1800, 0x40_1800, 0x400, 0x400),
            load(RW, 0x1c00, 0x40_2c00, 0x200, 0x10000),
            Ph { ty: program_header::PT_TLS, flags: 4, offset: 0x1c00, vaddr: 0x40_2c00, filesz: 0x10, memsz: 0x40 },
        ],
        &[0x5au8; 0xe00],
    );
    vec![good(), pie, rich]
}

/// Values that break arithmetic: zero, all ones, near the top, the file's
/// own length and its neighbours, the limits' edges, random.
fn extreme(r: &mut Rng, len: u64) -> u64 {
    match r.below(14) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => u64::MAX - r.below(0x2000) as u64,
        4 => 1 << 63,
        5 => len,
        6 => len + 1,
        7 => len.saturating_sub(1 + r.below(64) as u64),
        8 => LIMITS.max_addr - r.below(0x2000) as u64,
        9 => LIMITS.min_addr,
        10 => u64::MAX - LIMITS.pie_base + r.below(0x2000) as u64,
        11 => LIMITS.max_total + r.below(2) as u64,
        12 => (r.next() as u32) as u64,
        _ => r.next(),
    }
}

fn put(f: &mut [u8], at: usize, v: u64, width: usize) {
    if at + width <= f.len() {
        f[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

/// One random mutation.
fn mutate(r: &mut Rng, f: &mut Vec<u8>) {
    let len = f.len() as u64;
    let phnum = f.get(56..58).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize).min(8);
    match r.below(10) {
        0 => {
            if !f.is_empty() {
                let i = r.below(f.len().min(0x400));
                f[i] ^= 1 << r.below(8);
            }
        }
        1 => {
            if !f.is_empty() {
                let i = r.below(f.len());
                f[i] = r.next() as u8;
            }
        }
        2 => f.truncate(r.below(f.len() + 1)),
        3 => {
            // An ELF header field.
            let (at, width) = [(16, 2), (18, 2), (24, 8), (32, 8), (54, 2), (56, 2), (4, 1), (5, 1)][r.below(8)];
            let v = if width == 2 { r.below(0x10000) as u64 } else { extreme(r, len) };
            put(f, at, v, width);
        }
        4..=7 => {
            // A program-header field (of a header that is there, mostly).
            let i = r.below(phnum.max(1) + 1);
            let base = 64 + i * 56;
            let (at, width) = [(0, 4), (4, 4), (8, 8), (16, 8), (32, 8), (40, 8), (48, 8)][r.below(7)];
            let v = match at {
                0 => [1u64, 2, 3, 6, 7, 0x6474_e551, r.next()][r.below(7)],
                4 => r.below(8) as u64,
                _ => extreme(r, len),
            };
            put(f, base + at, v, width);
        }
        8 => {
            // A segment whose file range ends just past the file.
            let i = r.below(phnum.max(1));
            let base = 64 + i * 56;
            let off = f.get(base + 8..base + 16).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
            put(f, base + 32, (len - off.min(len)) + r.below(3) as u64, 8);
        }
        _ => {
            // More program headers than the table holds.
            put(f, 56, phnum as u64 + 1 + r.below(4) as u64, 2);
        }
    }
}

/// The properties every accepted plan must have.
fn check_plan(f: &[u8], p: &Plan) {
    assert!(!p.segments.is_empty());
    let mut total = 0u64;
    for (k, s) in p.segments.iter().enumerate() {
        assert!(s.filesz <= s.memsz && s.memsz > 0, "{s:?}");
        assert!(s.offset.checked_add(s.filesz).is_some_and(|e| e <= f.len() as u64), "segment outside the file: {s:?}");
        assert!(s.vaddr >= LIMITS.min_addr && s.vaddr.checked_add(s.memsz).is_some_and(|e| e <= LIMITS.max_addr));
        if k > 0 {
            assert!(p.segments[k - 1].end() <= s.vaddr, "overlap or unsorted: {:?}", p.segments);
        }
        total += s.memsz;
    }
    assert!(total <= LIMITS.max_total);
    assert!(p.segments.iter().any(|s| s.rights.exec && s.vaddr <= p.entry && p.entry < s.end()));
    assert_eq!(p.load_bias, if p.pie { LIMITS.pie_base } else { 0 });
    let (lo, hi) = p.extent();
    assert!(lo % PAGE == 0 && hi % PAGE == 0 && lo < hi);
    assert_eq!(p.page_rights(hi), None);
    assert_eq!(p.page_rights(lo.wrapping_sub(PAGE)), None);
    // Pages: the first and last of each segment; file bytes land where the
    // segment says, and only there.
    let mut page = [0u8; PAGE as usize];
    for s in &p.segments {
        for va in [s.vaddr, s.end() - 1] {
            let pva = va & !(PAGE - 1);
            assert!(p.fill_page(f, pva, &mut page).is_some());
            if s.filesz > 0 {
                let probe = s.vaddr.max(pva);
                if probe < s.vaddr + s.filesz && probe < pva + PAGE {
                    let want = f[(s.offset + (probe - s.vaddr)) as usize];
                    // A later segment in the same page may overwrite it.
                    let shared = p.segments.iter().filter(|o| o.vaddr <= probe && probe < o.vaddr + o.filesz).count();
                    if shared == 1 {
                        assert_eq!(page[(probe - pva) as usize], want);
                    }
                }
            }
        }
    }
}

#[test]
fn fuzz_mutated_executables() {
    let iterations = env("ELF_FUZZ_ITERATIONS", 100_000);
    let mut r = Rng(env("ELF_FUZZ_SEED", 0x5eed_e1f0) | 1);
    let corpus = corpus();
    for c in &corpus {
        check_plan(c, &Plan::parse(c, &LIMITS).expect("the corpus is valid"));
    }
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..iterations {
        let mut f = corpus[r.below(corpus.len())].clone();
        for _ in 0..1 + r.below(4) {
            mutate(&mut r, &mut f);
        }
        let _ = interpreter(&f);
        let key = match Plan::parse(&f, &LIMITS) {
            Ok(p) => {
                check_plan(&f, &p);
                "ok".to_string()
            }
            Err(e) => {
                let _ = e.to_string();
                if let ElfError::BadSegment(n) = e {
                    let phnum = u16::from_le_bytes([f[56], f[57]]) as usize;
                    assert!(n < phnum, "segment {n} of {phnum}");
                }
                if f.len() < 64 || f[..4] != *b"\x7fELF" {
                    assert_eq!(e, ElfError::NotElf);
                }
                format!("{e:?}").split('(').next().unwrap().to_string()
            }
        };
        *outcomes.entry(key).or_insert(0u64) += 1;
    }
    eprintln!("elf fuzz: {iterations} files: {outcomes:?}");
    if iterations >= 30_000 {
        // The mutations must reach acceptance and every kind of error, or the loop tests little.
        for k in ["ok", "NotElf", "WrongArch", "NotExecutable", "BadProgramHeaders", "BadSegment", "Overlap", "TooBig"]
        {
            assert!(outcomes.contains_key(k), "never reached {k}: {outcomes:?}");
        }
        for k in ["EntryOutside", "NoSegments", "Dynamic"] {
            assert!(outcomes.contains_key(k), "never reached {k}: {outcomes:?}");
        }
    }
}

#[test]
fn fuzz_random_bytes() {
    let iterations = env("ELF_FUZZ_ITERATIONS", 30_000);
    let mut r = Rng(env("ELF_FUZZ_SEED", 0xb17e5) | 1);
    let mut accepted = 0;
    for _ in 0..iterations {
        let n = r.below(600);
        let mut f: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
        if r.below(2) == 0 && f.len() >= 64 {
            // A plausible header with random contents after it.
            f[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
            f[18] = 62;
            f[19] = 0;
            f[16] = [2, 3][r.below(2)];
            f[17] = 0;
            f[54] = 56;
            f[55] = 0;
            f[56] = r.below(9) as u8;
            f[57] = 0;
            f[32..40].copy_from_slice(&64u64.to_le_bytes());
        }
        let _ = interpreter(&f);
        if let Ok(p) = Plan::parse(&f, &LIMITS) {
            check_plan(&f, &p);
            accepted += 1;
        }
    }
    eprintln!("elf fuzz: {iterations} random files, {accepted} accepted");
}
