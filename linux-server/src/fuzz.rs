//! Host-side fuzz loops over the linux-server's decoders of untrusted data:
//! the `rt_sigreturn` frame decoder and the signal-frame builder (wild
//! registers, alternate stacks and flags), `siginfo` from user memory, the
//! executable-image planner (mutated ELF files) and the initrd unpacker
//! (random cpio archives). Seeded and deterministic; `LX_FUZZ_ITERATIONS`
//! and `LX_FUZZ_SEED` make longer or different runs. Each loop asserts that
//! nothing panics, that errors are the defined ones, and that what is
//! accepted is self-consistent.

use crate::exec::image;
use crate::linux::errno::*;
use crate::linux::signal::{SIGKILL, SIGSTOP};
use crate::linux::stat::Timespec;
use crate::signal::action::{SA_ONSTACK, SA_RESTORER, SA_SIGINFO};
use crate::signal::frame::*;
use crate::signal::info::{known_layout, SigInfo, KERNEL_SIGINFO_SIZE, SIGINFO_SIZE};
use crate::vfs::{LoadError, Vfs};
use abi::exception::UserRegs;
use std::collections::BTreeMap;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// An address-like value: 0, tiny, near the top, canonical edges, random.
    fn addr(&mut self) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => self.below(0x1000),
            2 => u64::MAX - self.below(0x1000),
            3 => 0x0000_8000_0000_0000 - self.below(0x2000),
            4 => 0x7fff_ffff_0000 + self.below(0x10000),
            5 => 0x9999_9999_9999_9999,
            _ => self.next(),
        }
    }
}

fn iterations(default: u64) -> u64 {
    std::env::var("LX_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rng(salt: u64) -> Rng {
    let seed = std::env::var("LX_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x11_f022);
    Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
}

fn regs(r: &mut Rng) -> UserRegs {
    UserRegs {
        rax: r.next(),
        rbx: r.next(),
        rcx: r.next(),
        rdx: r.next(),
        rsi: r.next(),
        rdi: r.next(),
        rbp: r.next(),
        rsp: r.addr(),
        r8: r.next(),
        r9: r.next(),
        r10: r.next(),
        r11: r.next(),
        r12: r.next(),
        r13: r.next(),
        r14: r.next(),
        r15: r.next(),
        rip: r.addr(),
        rflags: r.next(),
        fs_base: r.addr(),
        gs_base: r.addr(),
    }
}

fn altstack(r: &mut Rng, rsp: u64) -> AltStack {
    match r.below(5) {
        0 => AltStack::DISABLED,
        1 => AltStack { sp: rsp.wrapping_sub(r.below(0x10000)), flags: 0, size: r.below(0x20000) },
        _ => AltStack {
            sp: r.addr(),
            flags: [0, SS_ONSTACK, SS_DISABLE, SS_AUTODISARM, r.next() as u32][r.below(5) as usize],
            size: [0, MINSIGSTKSZ, SIGSTKSZ, u64::MAX, r.next()][r.below(5) as usize],
        },
    }
}

/// rt_sigreturn on arbitrary frame bytes: no panic, and only what Linux
/// restores comes from the frame (FIX_EFLAGS bits, never SIGKILL/SIGSTOP in
/// the mask, fs/gs bases kept); the alternate stack it installs is either
/// the old one or one `sigaltstack` would accept.
#[test]
fn fuzz_sigreturn_decoder() {
    let mut r = rng(1);
    let n = iterations(100_000);
    let fpu = init_fpstate();
    let (mut changed_stack, mut restorable) = (0, 0);
    for i in 0..n {
        let current = regs(&mut r);
        let mut bytes = [0u8; SIGRETURN_READ_LEN];
        if i % 2 == 0 {
            r.next();
            for b in bytes.iter_mut() {
                *b = r.next() as u8;
            }
        } else {
            // A real frame, then damaged.
            let d = Delivery {
                regs: regs(&mut r),
                fpu: &fpu,
                info: SigInfo::kernel(1 + r.below(64) as u32),
                saved_mask: r.next(),
                handler: r.addr(),
                sa_flags: SA_RESTORER | (r.next() & (SA_SIGINFO | SA_ONSTACK)),
                restorer: r.addr(),
                altstack: altstack(&mut r, 0),
                trapno: r.below(32),
                err: r.next(),
                cr2: r.addr(),
            };
            if let Ok(f) = build(&d) {
                bytes.copy_from_slice(&f.bytes[..SIGRETURN_READ_LEN]);
            }
            for _ in 0..r.below(8) {
                let at = r.below(SIGRETURN_READ_LEN as u64) as usize;
                bytes[at] = r.next() as u8;
            }
        }
        let got = parse(&bytes, &current);
        assert_eq!(got.regs.rflags & !FIX_EFLAGS, current.rflags & !FIX_EFLAGS);
        assert_eq!((got.regs.fs_base, got.regs.gs_base), (current.fs_base, current.gs_base));
        assert_eq!(got.mask & (1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)), 0);
        let cur = altstack(&mut r, current.rsp);
        let after = cur.restored(&got.stack, got.regs.rsp);
        if after != cur {
            changed_stack += 1;
            let mode = got.stack.flags & !SS_FLAG_BITS;
            assert!(mode == 0 || mode == SS_ONSTACK || mode == SS_DISABLE, "{after:?}");
            assert!(mode == SS_DISABLE || after.size >= MINSIGSTKSZ, "{after:?}");
            assert!(!cur.on_stack(got.regs.rsp), "changed while on it");
        }
        let mut image = [0u8; FPSTATE_SIZE];
        let mxcsr = if r.below(2) == 0 { MXCSR_DEFAULT | (r.next() as u32 & 0x3f) } else { r.next() as u32 };
        image[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        if fpstate_restorable(got.fpstate, &image, [0, DEFAULT_MXCSR_MASK, r.next() as u32][r.below(3) as usize]) {
            restorable += 1;
        }
        let _ = frame_address_for_sigreturn(current.rsp);
    }
    eprintln!(
        "sigreturn fuzz: {n} frames; {changed_stack} changed the alternate stack, {restorable} FPU images restorable"
    );
    assert!(changed_stack > 0 && restorable > 0);
}

/// Signal delivery with wild registers and alternate stacks: a frame or one
/// of the defined errors; a frame lies below the red zone (or on the
/// alternate stack), aligned as Linux aligns it, without wrapping, and
/// `rt_sigreturn` from it gives back the interrupted registers.
#[test]
fn fuzz_signal_frame_builder() {
    let mut r = rng(2);
    let n = iterations(100_000);
    let fpu = init_fpstate();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..n {
        let regs = regs(&mut r);
        let alt = altstack(&mut r, regs.rsp);
        let sa_flags =
            r.next() & (SA_RESTORER | SA_SIGINFO | SA_ONSTACK) | if r.below(8) != 0 { SA_RESTORER } else { 0 };
        let d = Delivery {
            regs,
            fpu: &fpu,
            info: SigInfo::fault(11, 1, r.addr()),
            saved_mask: r.next(),
            handler: r.addr(),
            sa_flags,
            restorer: r.addr(),
            altstack: alt,
            trapno: r.below(32),
            err: r.next(),
            cr2: r.addr(),
        };
        match build(&d) {
            Ok(f) => {
                *outcomes.entry("ok".into()).or_default() += 1;
                assert!(sa_flags & SA_RESTORER != 0);
                let end = f.write_at.checked_add(f.bytes.len() as u64).expect("frame wraps");
                assert_eq!((f.write_at + 8) % 16, 0);
                assert_eq!(f.fpstate_at % FPSTATE_ALIGN, 0);
                assert_eq!(f.fpstate_at + FPSTATE_SIZE as u64, end);
                let on_alt = alt.contains(f.write_at) && !(end <= regs.rsp - REDZONE && !alt.on_stack(regs.rsp));
                assert!(
                    end <= regs.rsp - REDZONE || on_alt,
                    "frame {:#x}..{end:#x} for rsp {:#x}",
                    f.write_at,
                    regs.rsp
                );
                assert_eq!(f.handler_regs.rsp, f.write_at);
                // Back from the handler: rsp is past the popped return address.
                let mut at_return = f.handler_regs;
                at_return.rsp = f.write_at + 8;
                let back = parse(f.bytes[..SIGRETURN_READ_LEN].try_into().unwrap(), &at_return);
                let mut want = regs;
                want.rflags = (at_return.rflags & !FIX_EFLAGS) | (regs.rflags & FIX_EFLAGS);
                want.fs_base = at_return.fs_base;
                want.gs_base = at_return.gs_base;
                assert_eq!(back.regs, want);
                assert_eq!(back.fpstate, f.fpstate_at);
                assert_eq!(frame_address_for_sigreturn(at_return.rsp), f.write_at);
            }
            Err(e) => {
                *outcomes.entry(format!("{e:?}")).or_default() += 1;
                assert_eq!(e == FrameError::NoRestorer, sa_flags & SA_RESTORER == 0);
            }
        }
    }
    eprintln!("signal frame fuzz: {n} deliveries: {outcomes:?}");
    assert_eq!(outcomes.len(), 4, "every outcome reached: {outcomes:?}");
}

/// rt_sigqueueinfo's siginfo decoder: E2BIG exactly for an unknown layout
/// with bytes past the kernel's part, else the kernel's 48 bytes come back
/// unchanged (signo replaced, the padding at 12..16 zeroed) and the rest is
/// zero.
#[test]
fn fuzz_siginfo_from_user() {
    let mut r = rng(3);
    let n = iterations(100_000);
    let (mut ok, mut e2big) = (0, 0);
    for i in 0..n {
        let mut b = [0u8; SIGINFO_SIZE];
        let fill = if i % 3 == 0 { SIGINFO_SIZE } else { KERNEL_SIGINFO_SIZE };
        for x in b[..fill].iter_mut() {
            *x = r.next() as u8;
        }
        let code: i32 = [0, 1, 2, 3, 4, 5, 6, -1, -2, -6, 0x80, r.next() as i32][r.below(12) as usize];
        b[8..12].copy_from_slice(&code.to_le_bytes());
        let signo = [r.below(70) as i32, r.next() as i32][r.below(2) as usize];
        match SigInfo::from_user(&b, signo) {
            Ok(info) => {
                ok += 1;
                let out = info.to_bytes();
                let mut want = b;
                want[..4].copy_from_slice(&signo.to_le_bytes());
                // Bytes 12..16 (padding before the union) come back as
                // zeros; Linux would copy them through (docs/robustness.md).
                want[12..16].fill(0);
                assert_eq!(out[..KERNEL_SIGINFO_SIZE], want[..KERNEL_SIGINFO_SIZE]);
                assert!(out[KERNEL_SIGINFO_SIZE..].iter().all(|&x| x == 0));
            }
            Err(e) => {
                e2big += 1;
                assert_eq!(e, E2BIG);
                assert!(!known_layout(signo, code) && b[KERNEL_SIGINFO_SIZE..].iter().any(|&x| x != 0));
            }
        }
    }
    eprintln!("siginfo fuzz: {n}: {ok} decoded, {e2big} E2BIG");
    assert!(ok > 0 && e2big > 0);
}

/// A small static executable: header, `phs` at 64, body at 0x1000.
fn elf(e_type: u16, entry: u64, phs: &[(u32, u32, u64, u64, u64, u64)]) -> Vec<u8> {
    let mut f = vec![0u8; 0x3000];
    f[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, &(ty, flags, off, va, filesz, memsz)) in phs.iter().enumerate() {
        let o = 64 + i * 56;
        for (at, v) in [(8, off), (16, va), (24, va), (32, filesz), (40, memsz), (48, 0x1000)] {
            f[o + at..o + at + 8].copy_from_slice(&v.to_le_bytes());
        }
        f[o..o + 4].copy_from_slice(&ty.to_le_bytes());
        f[o + 4..o + 8].copy_from_slice(&flags.to_le_bytes());
    }
    f
}

/// The exec image planner on mutated executables: ENOEXEC or areas that
/// are sorted, disjoint, page-aligned, inside the allowed range, file-backed
/// from inside the file, with the heap after all of them.
#[test]
fn fuzz_exec_images() {
    let mut r = rng(4);
    let n = iterations(50_000);
    let corpus = [
        elf(2, 0x40_0010, &[(1, 5, 0x1000, 0x40_0000, 0x1000, 0x1000), (1, 6, 0x2000, 0x40_1000, 0x800, 0x3000)]),
        elf(3, 0x20, &[(1, 5, 0x1000, 0, 0x800, 0x800), (1, 6, 0x1800, 0x1800, 0x800, 0x2000)]),
        elf(2, 0x40_0800, &[(1, 5, 0x1000, 0x40_0000, 0x900, 0x900), (1, 6, 0x1900, 0x40_0900, 0x100, 0x200)]),
    ];
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..n {
        let mut f = corpus[r.below(corpus.len() as u64) as usize].clone();
        for _ in 0..1 + r.below(2) {
            let field = [16, 24, 32, 56, 64 + 8, 64 + 16, 64 + 32, 64 + 40, 120 + 8, 120 + 16, 120 + 32, 120 + 40];
            let at = field[r.below(field.len() as u64) as usize];
            let v = match r.below(6) {
                0 => r.next(),
                1 => u64::MAX - r.below(0x2000),
                2 => r.below(0x4000),
                3 => 0x40_0000 + r.below(0x4000),
                4 => image::LIMITS.max_addr - r.below(0x4000),
                _ => (r.next() as u16) as u64,
            };
            let width = if at == 16 || at == 56 { 2 } else { 8 };
            if let Some(slot) = f.get_mut(at..at + width) {
                slot.copy_from_slice(&v.to_le_bytes()[..width]);
            }
            if r.below(16) == 0 {
                f.truncate(r.below(f.len() as u64 + 1) as usize);
            }
        }
        match image::load(&f, 7) {
            Ok(img) => {
                ok += 1;
                for (k, a) in img.areas.iter().enumerate() {
                    assert!(a.start < a.end && a.start % 4096 == 0 && a.end % 4096 == 0, "{a:?}");
                    assert!(a.start >= image::LIMITS.min_addr & !4095 && a.end <= image::LIMITS.max_addr + 4095);
                    if k > 0 {
                        assert!(img.areas[k - 1].end <= a.start, "{:?}", img.areas);
                    }
                    if let crate::mm::vma::Backing::File { offset, .. } = a.backing {
                        assert!(offset <= f.len() as u64, "{a:?}");
                    }
                    assert!(a.end <= img.brk_start);
                }
            }
            Err((e, _)) => {
                bad += 1;
                assert_eq!(e, ENOEXEC);
            }
        }
    }
    eprintln!("exec image fuzz: {n}: {ok} loaded, {bad} ENOEXEC");
    assert!(ok > 0 && bad > 0);
}

/// One raw newc entry.
fn entry(buf: &mut Vec<u8>, name: &[u8], fields: [u32; 13], data: &[u8]) {
    buf.extend_from_slice(b"070701");
    for f in fields {
        buf.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    buf.extend_from_slice(name);
    buf.push(0);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
    buf.extend_from_slice(data);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// The initrd unpacker on random archives of tricky names (`.`, `..`,
/// nested, through symlinks), every file type, hard links, odd modes: a
/// tree or a defined error, never a panic.
#[test]
fn fuzz_initrd_unpacking() {
    let mut r = rng(5);
    let n = iterations(20_000);
    let comps: [&[u8]; 8] = [b"a", b"b", b"..", b".", b"", b"c", b"lnk", b"d"];
    let types = [0o040_000u32, 0o100_000, 0o120_000, 0o020_000, 0o060_000, 0o010_000, 0o140_000, 0, 0o170_000];
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..n {
        let mut buf = Vec::new();
        for _ in 0..r.below(12) {
            let mut name = Vec::new();
            for k in 0..1 + r.below(4) {
                if k > 0 || r.below(4) == 0 {
                    name.push(b'/');
                }
                name.extend_from_slice(comps[r.below(comps.len() as u64) as usize]);
            }
            if name.is_empty() {
                name.push(b'.');
            }
            let mode = types[r.below(types.len() as u64) as usize] | (r.next() as u32 & 0o7777);
            let data: Vec<u8> = match mode & 0o170_000 {
                0o120_000 => {
                    let t = [&b"a"[..], b"/a/b", b"..", b"lnk", b"", b"a/../../b", b"/"][r.below(7) as usize];
                    t.to_vec()
                }
                _ => (0..r.below(20)).map(|_| r.next() as u8).collect(),
            };
            let nlink = [1, 2, 3, 0][r.below(4) as usize];
            let ino = r.below(4) as u32;
            let fields = [
                ino,
                mode,
                r.below(3) as u32,
                0,
                nlink,
                r.next() as u32,
                data.len() as u32,
                0,
                0,
                1,
                3,
                name.len() as u32 + 1,
                0,
            ];
            entry(&mut buf, &name, fields, &data);
        }
        entry(&mut buf, b"TRAILER!!!", [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0], b"");
        let archive: &'static [u8] = Box::leak(buf.into_boxed_slice());
        let key = match Vfs::from_cpio(archive, Timespec::new(1, 0)) {
            Ok(_) => "ok".to_string(),
            Err(LoadError::Cpio(e)) => format!("cpio {e:?}").split(' ').take(2).collect::<Vec<_>>().join(" "),
            Err(LoadError::Entry { errno, .. }) => format!("errno {errno}"),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    eprintln!("initrd unpack fuzz: {n} archives: {outcomes:?}");
    assert!(outcomes.get("ok").copied().unwrap_or(0) > n / 10, "{outcomes:?}");
}
