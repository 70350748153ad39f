//! Loading a program into a process (the first process, and execve): the
//! ELF file from the VFS becomes areas of the process (paged in on its
//! faults), a heap, a stack holding argv, envp and the auxiliary vector, and
//! the registers to start with. `#!` scripts run their interpreter.

use crate::process::Pid;
use crate::server::Server;
use abi::exception::UserRegs;
use alloc::vec::Vec;
use linux_server::exec::layout::{STACK_MAX, STACK_TOP, TASK_END};
use linux_server::exec::{image, stack};
use linux_server::linux::errno::*;
use linux_server::mm::vma::{Backing, Prot, Vma};
use linux_server::vfs::Ino;

/// How many `#!` interpreters may follow one another (Linux: 4 levels).
const MAX_INTERP_DEPTH: usize = 4;

impl Server {
    /// Replace the image of process `pid` with the program at `path`.
    /// Returns the registers the process starts with. On error the old image
    /// is untouched (the point of no return is after the file is validated).
    pub fn exec(&mut self, pid: Pid, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> SysResult<UserRegs> {
        self.exec_depth(pid, path, argv, envp, 0)
    }

    fn exec_depth(
        &mut self,
        pid: Pid,
        path: &[u8],
        mut argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        depth: usize,
    ) -> SysResult<UserRegs> {
        let cwd = self.procs[&pid].cwd;
        let ino = self.lookup(pid, cwd, path, true)?;
        self.check_exec(ino)?;
        self.cache_flush(ino);
        let bytes = self.vfs.data(ino)?;
        if bytes.starts_with(b"#!") {
            if depth >= MAX_INTERP_DEPTH {
                return Err(ELOOP);
            }
            let line_end = bytes.iter().take(256).position(|&b| b == b'\n').unwrap_or(bytes.len().min(256));
            let line = &bytes[2..line_end];
            let trimmed: Vec<u8> = line.iter().copied().skip_while(|b| *b == b' ' || *b == b'\t').collect();
            let split = trimmed.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(trimmed.len());
            let interp = trimmed[..split].to_vec();
            let arg: Vec<u8> = trimmed[split..].iter().copied().skip_while(|b| *b == b' ' || *b == b'\t').collect();
            let arg: Vec<u8> = arg
                .into_iter()
                .rev()
                .skip_while(|b| b.is_ascii_whitespace())
                .collect::<Vec<u8>>()
                .into_iter()
                .rev()
                .collect();
            if interp.is_empty() {
                return Err(ENOEXEC);
            }
            let mut new_argv = Vec::with_capacity(argv.len() + 2);
            new_argv.push(interp.clone());
            if !arg.is_empty() {
                new_argv.push(arg);
            }
            new_argv.push(path.to_vec());
            new_argv.extend(argv.drain(..).skip(1));
            return self.exec_depth(pid, &interp, new_argv, envp, depth + 1);
        }
        let img = image::load(bytes, ino).map_err(|(errno, why)| {
            rt::println!("linux-server: exec {}: {}", core::str::from_utf8(path).unwrap_or("?"), why);
            errno
        })?;
        self.install_image(pid, path, ino, img, argv, envp)
    }

    fn check_exec(&self, ino: Ino) -> SysResult<()> {
        let st = self.vfs.stat(ino)?;
        if st.mode & 0o170000 != 0o100000 {
            return Err(EACCES);
        }
        if st.mode & 0o111 == 0 {
            return Err(EACCES);
        }
        Ok(())
    }

    /// Past the point of no return: tear down the old image, set up the new.
    fn install_image(
        &mut self,
        pid: Pid,
        path: &[u8],
        ino: Ino,
        img: image::Image,
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
    ) -> SysResult<UserRegs> {
        // The kernel's mappings of the old image go first, then its frames.
        self.revoke(pid, 0, TASK_END);
        self.release_mm(pid);
        let p = self.procs.get_mut(&pid).expect("live");
        for a in &img.areas {
            p.mm.vmas.insert(*a);
        }
        p.mm.brk_start = img.brk_start;
        p.mm.brk = img.brk_start;
        p.mm.vmas.insert(Vma {
            start: STACK_TOP - STACK_MAX,
            end: STACK_TOP,
            prot: Prot::RW,
            backing: Backing::Anon,
            shared: false,
            stack: true,
            max_prot: Prot::ALL,
        });
        p.exe = path.to_vec();
        p.exe_ino = ino;
        let (_, _, _, edx) = rt::port::cpuid(1, 0);
        let aux = stack::AuxInfo {
            phdr: img.plan.phdr_vaddr.unwrap_or(0),
            phent: img.plan.phentsize as u64,
            phnum: img.plan.phnum as u64,
            entry: img.plan.entry,
            hwcap: edx as u64,
            uid: 0,
            gid: 0,
            minsigstksz: 2048,
        };
        let random = self.random_bytes16();
        let st = stack::build(STACK_TOP, &argv, &envp, path, random, &aux)?;
        self.write_user(pid, st.sp, &st.bytes).map_err(|_| ENOMEM)?;
        let p = self.procs.get_mut(&pid).expect("live");
        p.mm.arg_start = st.arg_start;
        p.mm.arg_end = st.env_end;
        p.argc = argv.len();
        let comm = crate::process::comm_of(path);
        for t in p.tasks.clone() {
            if let Some(task) = self.tasks.get_mut(&t) {
                task.comm = comm;
            }
        }
        self.close_on_exec(pid);
        Ok(UserRegs { rip: img.plan.entry, rsp: st.sp, rflags: 0x202, ..UserRegs::default() })
    }

    /// 16 bytes for AT_RANDOM (seeds the C library's stack protector).
    pub fn random_bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        self.fill_random(&mut out);
        out
    }
}
