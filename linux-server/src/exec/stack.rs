//! The initial stack of a new program, laid out as Linux's `execve` does
//! (fs/exec.c copies the strings, fs/binfmt_elf.c `create_elf_tables` the
//! tables). From the top of the stack down:
//!
//! ```text
//!   8 bytes of zero                      (end marker)
//!   the executable's file name           (AT_EXECFN points here)
//!   envp strings, argv strings           (argv[0] lowest)
//!   "x86_64"                             (AT_PLATFORM)
//!   16 random bytes                      (AT_RANDOM)
//!   padding to 16 bytes
//!   auxv pairs, AT_NULL last
//!   NULL, envp pointers
//!   NULL, argv pointers
//!   argc                                 <- rsp (16-byte aligned)
//! ```

use crate::linux::auxv::*;
use crate::linux::errno::{Errno, E2BIG};
use alloc::vec;
use alloc::vec::Vec;

/// Linux's limit on argv + envp (a quarter of the 8 MiB default stack).
pub const ARG_MAX: usize = 2 << 20;

/// The stack's contents and where they go.
pub struct InitialStack {
    /// Bytes to place at `[sp, top)`.
    pub bytes: Vec<u8>,
    /// The initial stack pointer (address of `bytes[0]`).
    pub sp: u64,
    /// Where argv and envp strings start and end (for /proc/<pid>/cmdline).
    pub arg_start: u64,
    pub env_end: u64,
}

/// What the auxiliary vector says about the program.
pub struct AuxInfo {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
    pub hwcap: u64,
    pub uid: u64,
    pub gid: u64,
    pub minsigstksz: u64,
}

/// Build the stack for a program whose stack ends at `top`.
pub fn build(
    top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    random: [u8; 16],
    aux: &AuxInfo,
) -> Result<InitialStack, Errno> {
    let strings: usize = argv.iter().chain(envp).map(|s| s.len() + 1).sum::<usize>() + execfn.len() + 1;
    if strings > ARG_MAX {
        return Err(E2BIG);
    }
    // Work downwards in a buffer that represents [top - cap, top).
    let pointers = (argv.len() + envp.len() + 3) * 8 + 24 * 16;
    // A multiple of 16, so offsets aligned in the buffer are aligned addresses.
    let cap = (strings + 8 + 7 + 16 + 32 + pointers + 64).next_multiple_of(16);
    let mut buf = vec![0u8; cap];
    let mut pos = cap; // offset in buf; address = top - cap + pos
    let addr = |pos: usize| top - cap as u64 + pos as u64;
    let push = |buf: &mut Vec<u8>, pos: &mut usize, data: &[u8]| {
        *pos -= data.len();
        buf[*pos..*pos + data.len()].copy_from_slice(data);
        addr(*pos)
    };
    pos -= 8; // end marker
    push(&mut buf, &mut pos, &[0]);
    let execfn_addr = push(&mut buf, &mut pos, execfn);
    let env_end = execfn_addr;
    let mut env_ptrs = Vec::with_capacity(envp.len());
    for s in envp.iter().rev() {
        push(&mut buf, &mut pos, &[0]);
        env_ptrs.push(push(&mut buf, &mut pos, s));
    }
    env_ptrs.reverse();
    let mut arg_ptrs = Vec::with_capacity(argv.len());
    for s in argv.iter().rev() {
        push(&mut buf, &mut pos, &[0]);
        arg_ptrs.push(push(&mut buf, &mut pos, s));
    }
    arg_ptrs.reverse();
    let arg_start = arg_ptrs.first().copied().unwrap_or(env_end);
    push(&mut buf, &mut pos, &[0]);
    let platform = push(&mut buf, &mut pos, b"x86_64");
    pos &= !15;
    let random_addr = push(&mut buf, &mut pos, &random);
    pos &= !15;

    let auxv: [(u64, u64); 19] = [
        (AT_MINSIGSTKSZ, aux.minsigstksz),
        (AT_HWCAP, aux.hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, aux.phent),
        (AT_PHNUM, aux.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, aux.uid),
        (AT_EUID, aux.uid),
        (AT_GID, aux.gid),
        (AT_EGID, aux.gid),
        (AT_SECURE, 0),
        (AT_RANDOM, random_addr),
        (AT_HWCAP2, 0),
        (AT_EXECFN, execfn_addr),
        (AT_PLATFORM, platform),
    ];
    // Words below the strings: argc, argv.., NULL, envp.., NULL, auxv.., AT_NULL pair.
    let words = 1 + argv.len() + 1 + envp.len() + 1 + (auxv.len() + 1) * 2;
    // The final stack pointer must be 16-byte aligned.
    let mut sp_pos = pos - words * 8;
    sp_pos &= !15;
    let mut w = sp_pos;
    let mut put = |buf: &mut Vec<u8>, v: u64| {
        buf[w..w + 8].copy_from_slice(&v.to_le_bytes());
        w += 8;
    };
    put(&mut buf, argv.len() as u64);
    for &p in &arg_ptrs {
        put(&mut buf, p);
    }
    put(&mut buf, 0);
    for &p in &env_ptrs {
        put(&mut buf, p);
    }
    put(&mut buf, 0);
    for &(k, v) in auxv.iter() {
        put(&mut buf, k);
        put(&mut buf, v);
    }
    put(&mut buf, AT_NULL);
    put(&mut buf, 0);
    Ok(InitialStack { sp: addr(sp_pos), bytes: buf[sp_pos..].to_vec(), arg_start, env_end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(s: &InitialStack, addr: u64) -> u64 {
        let o = (addr - s.sp) as usize;
        u64::from_le_bytes(s.bytes[o..o + 8].try_into().unwrap())
    }
    fn cstr(s: &InitialStack, addr: u64) -> Vec<u8> {
        let o = (addr - s.sp) as usize;
        let n = s.bytes[o..].iter().position(|&b| b == 0).unwrap();
        s.bytes[o..o + n].to_vec()
    }

    #[test]
    fn layout_matches_linux() {
        let top = 0x7f7f_ffff_f000;
        let argv = vec![b"/bin/echo".to_vec(), b"hello".to_vec()];
        let envp = vec![b"PATH=/bin".to_vec()];
        let aux = AuxInfo {
            phdr: 0x400040,
            phent: 56,
            phnum: 9,
            entry: 0x401000,
            hwcap: 0x178bfbff,
            uid: 0,
            gid: 0,
            minsigstksz: 2048,
        };
        let s = build(top, &argv, &envp, b"/bin/echo", [7; 16], &aux).unwrap();
        assert_eq!(s.sp % 16, 0, "rsp 16-byte aligned at entry");
        assert_eq!(s.sp + s.bytes.len() as u64, top);
        assert_eq!(word(&s, s.sp), 2, "argc");
        assert_eq!(cstr(&s, word(&s, s.sp + 8)), b"/bin/echo");
        assert_eq!(cstr(&s, word(&s, s.sp + 16)), b"hello");
        assert_eq!(word(&s, s.sp + 24), 0);
        assert_eq!(cstr(&s, word(&s, s.sp + 32)), b"PATH=/bin");
        assert_eq!(word(&s, s.sp + 40), 0);
        // auxv
        let mut a = s.sp + 48;
        let mut seen = std::collections::HashMap::new();
        loop {
            let (k, v) = (word(&s, a), word(&s, a + 8));
            a += 16;
            if k == AT_NULL {
                break;
            }
            seen.insert(k, v);
        }
        assert_eq!(seen[&AT_PHDR], 0x400040);
        assert_eq!(seen[&AT_ENTRY], 0x401000);
        assert_eq!(seen[&AT_PAGESZ], 4096);
        assert_eq!(cstr(&s, seen[&AT_EXECFN]), b"/bin/echo");
        assert_eq!(cstr(&s, seen[&AT_PLATFORM]), b"x86_64");
        let r = seen[&AT_RANDOM];
        assert_eq!(&s.bytes[(r - s.sp) as usize..][..16], &[7; 16]);
        // strings are above the tables, argv[0] lowest, the file name highest
        assert!(word(&s, s.sp + 8) < word(&s, s.sp + 32));
        assert!(seen[&AT_EXECFN] > word(&s, s.sp + 32));
        assert_eq!(s.arg_start, word(&s, s.sp + 8));
    }

    #[test]
    fn too_many_arguments() {
        let big = vec![vec![b'x'; 1 << 20]; 3];
        let aux = AuxInfo { phdr: 0, phent: 56, phnum: 0, entry: 0, hwcap: 0, uid: 0, gid: 0, minsigstksz: 2048 };
        assert_eq!(build(0x10000000, &big, &[], b"x", [0; 16], &aux).err(), Some(E2BIG));
    }
}
