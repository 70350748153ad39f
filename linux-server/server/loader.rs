//! Loading a program into a process (the first process, and execve): the
//! ELF file from the VFS becomes areas of the process (paged in on its
//! faults), a heap, a stack holding argv, envp and the auxiliary vector, and
//! the registers to start with. `#!` scripts run their interpreter.

use crate::process::{Pid, Tid};
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
    /// `tid` is the calling thread; it becomes the process's only thread.
    pub fn exec(&mut self, tid: Tid, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> SysResult<UserRegs> {
        let pid = self.tasks[&tid].pid;
        let cwd = self.procs[&pid].cwd;
        let ino = self.lookup(pid, cwd, path, true)?;
        self.exec_ino(tid, ino, path, argv, envp, 0)
    }

    /// Exec the file `ino`; `path` is its name as the program will see it
    /// (AT_EXECFN, /proc/self/exe, a script's argument).
    pub fn exec_ino(
        &mut self,
        tid: Tid,
        ino: Ino,
        path: &[u8],
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        depth: usize,
    ) -> SysResult<UserRegs> {
        self.exec_depth(tid, ino, path, argv, envp, depth)
    }

    fn exec_depth(
        &mut self,
        tid: Tid,
        ino: Ino,
        path: &[u8],
        mut argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        depth: usize,
    ) -> SysResult<UserRegs> {
        let pid = self.tasks[&tid].pid;
        self.check_exec(ino)?;
        if self.open_for_writing(ino) {
            return Err(ETXTBSY);
        }
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
            let cwd = self.procs[&pid].cwd;
            let interp_ino = self.lookup(pid, cwd, &interp, true)?;
            return self.exec_depth(tid, interp_ino, &interp, new_argv, envp, depth + 1);
        }
        let img = match image::load(bytes, ino) {
            Ok(img) => img,
            // As on Linux, a missing interpreter is ENOENT; one that exists
            // still cannot run here (no dynamic linking yet).
            Err((errno, elfload::ElfError::Dynamic)) => {
                let interp = elfload::interpreter(bytes).map(|p| p.to_vec()).unwrap_or_default();
                let cwd = self.procs[&pid].cwd;
                if self.lookup(pid, cwd, &interp, true).is_err() {
                    return Err(ENOENT);
                }
                rt::println!(
                    "linux-server: exec {}: dynamically linked: not supported",
                    core::str::from_utf8(path).unwrap_or("?")
                );
                return Err(errno);
            }
            Err((errno, why)) => {
                if !self.quiet {
                    rt::println!("linux-server: exec {}: {}", core::str::from_utf8(path).unwrap_or("?"), why);
                }
                return Err(errno);
            }
        };
        for a in &img.areas {
            let name = core::str::from_utf8(path).unwrap_or("?");
            self.wx_allows(pid, a.prot, format_args!("exec {name}: segment at {:#x}", a.start))?;
        }
        self.install_image(tid, path, ino, img, argv, envp)
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
    /// The process keeps its address space if it is its only user; a vfork
    /// child (which shares its parent's) moves to a new one, with a new
    /// kernel thread. Other threads of the process end (Linux's de_thread).
    fn install_image(
        &mut self,
        tid: Tid,
        path: &[u8],
        ino: Ino,
        img: image::Image,
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
    ) -> SysResult<UserRegs> {
        let pid = self.become_single_threaded(tid);
        let old = self.procs[&pid].mm;
        if self.mms[&old].users > 1 {
            let mm = self.new_mm().map_err(|_| ENOMEM)?;
            let kid = match self.new_linux_thread(self.mms[&mm].anchor) {
                Ok(k) => k,
                Err(e) => {
                    self.mm_put(mm);
                    return Err(e);
                }
            };
            let t = self.tasks.get_mut(&pid).expect("the exec'ing thread");
            let old_kid = core::mem::replace(&mut t.kid, kid);
            self.by_kid.remove(&old_kid.0);
            self.by_kid.insert(kid.0, pid);
            let _ = rt::sys::thread_delete(old_kid);
            self.procs.get_mut(&pid).expect("live").mm = mm;
            self.mm_put(old);
        } else {
            // The kernel's mappings of the old image go first, then its frames.
            self.revoke(pid, 0, TASK_END);
            self.clear_mm(old);
            Self::add_signal_area(self.mm_mut(pid));
        }
        if let Some(parent) = self.procs.get_mut(&pid).expect("live").vfork_parent.take() {
            self.vfork_done(parent);
        }
        let mm = self.mm_mut(pid);
        for a in &img.areas {
            mm.vmas.insert(*a);
        }
        mm.brk_start = img.brk_start;
        mm.brk = img.brk_start;
        mm.vmas.insert(Vma {
            start: STACK_TOP - STACK_MAX,
            end: STACK_TOP,
            prot: Prot::RW,
            backing: Backing::Anon,
            shared: false,
            stack: true,
            max_prot: Prot::ALL,
        });
        let p = self.procs.get_mut(&pid).expect("live");
        p.execed = true;
        p.syscalls = Default::default();
        p.exe = path.to_vec();
        p.exe_ino = ino;
        // Handled signals go back to their default action; ignored ones stay.
        for a in p.sigactions.iter_mut() {
            if a.handler != crate::process::SIG_IGN {
                *a = Default::default();
            }
        }
        let (uid, gid) = (p.creds.uid, p.creds.gid);
        let (_, _, _, edx) = rt::port::cpuid(1, 0);
        let aux = stack::AuxInfo {
            phdr: img.plan.phdr_vaddr.unwrap_or(0),
            phent: img.plan.phentsize as u64,
            phnum: img.plan.phnum as u64,
            entry: img.plan.entry,
            hwcap: edx as u64,
            uid: uid as u64,
            gid: gid as u64,
            minsigstksz: 2048,
        };
        let random = self.random_bytes16();
        let st = stack::build(STACK_TOP, &argv, &envp, path, random, &aux)?;
        if self.write_user(pid, st.sp, &st.bytes).is_err() {
            // Nothing to return to: the old image is gone.
            self.exit_process(pid, linux_server::linux::signal::killed(linux_server::linux::signal::SIGKILL));
            return Err(ENOMEM);
        }
        let mm = self.mm_mut(pid);
        mm.arg_start = st.arg_start;
        mm.arg_end = st.env_end;
        self.procs.get_mut(&pid).expect("live").argc = argv.len();
        let t = self.tasks.get_mut(&pid).expect("the exec'ing thread");
        t.comm = crate::process::comm_of(path);
        t.altstack = (0, 2, 0);
        t.clear_child_tid = 0;
        self.close_on_exec(pid);
        Ok(UserRegs { rip: img.plan.entry, rsp: st.sp, rflags: 0x202, ..UserRegs::default() })
    }

    /// Every thread of the caller's process but the caller ends; the caller
    /// becomes the thread-group leader (its TID the PID, as on Linux).
    /// Returns the PID.
    fn become_single_threaded(&mut self, tid: Tid) -> Pid {
        let pid = self.tasks[&tid].pid;
        let others: Vec<Tid> = self.procs[&pid].tasks.iter().copied().filter(|&t| t != tid).collect();
        for t in others {
            self.drop_task(t);
        }
        if tid != pid {
            let mut t = self.tasks.remove(&tid).expect("the caller");
            t.tid = pid;
            self.by_kid.insert(t.kid.0, pid);
            self.tasks.insert(pid, t);
            self.procs.get_mut(&pid).expect("live").tasks = alloc::vec![pid];
        }
        pid
    }

    /// 16 bytes for AT_RANDOM (seeds the C library's stack protector).
    pub fn random_bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        self.fill_random(&mut out);
        out
    }
}
