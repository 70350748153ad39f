//! /proc and /dev, and what runs first.
//!
//! /proc lives in the VFS like everything else: the server creates its
//! directories and files there, and registers which of them are /proc files.
//! A /proc file is empty in the VFS; opening it generates its contents into a
//! snapshot, as Linux's seq_file does at read time. Links that depend on who
//! looks (`/proc/self`, `/proc/<pid>/exe`, `/proc/<pid>/cwd`) are magic links
//! resolved with the calling process's view.

use crate::process::{Pid, Process};
use crate::server::Server;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use linux_server::vfs::{Ino, Kind, MagicTarget, Owner, Resolver, Vfs};

/// What a /proc file shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcFile {
    MemInfo,
    CpuInfo,
    Uptime,
    Version,
    Mounts,
    Filesystems,
    LoadAvg,
    Stat,
    Cmdline(Pid),
    PidStat(Pid),
    Status(Pid),
    Maps(Pid),
    Environ(Pid),
    Limits(Pid),
    /// /proc/l4/counters: the microkernel's event counters and memory gauges.
    KernelCounters,
    /// /proc/l4/tlb: the TLB mode and the W^X figures (wx.rs).
    Tlb,
    /// /proc/l4/memory: what the server holds (for leak checks).
    ServerMemory,
}

/// Magic link numbers: `/proc/self`, and per process `exe` and `cwd`.
const LINK_SELF: u32 = 1;
const LINK_EXE: u32 = 1;
const LINK_CWD: u32 = 2;

fn pid_link(pid: Pid, what: u32) -> u32 {
    ((pid as u32) << 4) | what
}

/// Resolves magic links for one calling process.
pub struct Magic<'a> {
    pub pid: Pid,
    pub procs: &'a BTreeMap<Pid, Process>,
    /// For the text of `cwd` links; absent while the VFS is being changed.
    pub vfs: Option<&'a Vfs>,
}

impl Resolver for Magic<'_> {
    fn magic_link(&self, id: u32) -> Option<MagicTarget> {
        if id == LINK_SELF {
            return Some(MagicTarget::Path(format!("{}", self.pid).into_bytes()));
        }
        let (pid, what) = ((id >> 4) as Pid, id & 0xf);
        let p = self.procs.get(&pid)?;
        match what {
            LINK_EXE => Some(MagicTarget::Jump { ino: p.exe_ino, text: p.exe.clone() }),
            LINK_CWD => {
                let text = self.vfs.and_then(|v| v.path_of(p.cwd).ok()).unwrap_or_default();
                Some(MagicTarget::Jump { ino: p.cwd, text })
            }
            _ => None,
        }
    }
}

/// Where `/proc/self` starts: ids with a zero pid part are global links.
const _: () = assert!(LINK_SELF < 16);

impl Server {
    /// The resolver for process `pid`'s lookups.
    pub fn magic(&self, pid: Pid) -> Magic<'_> {
        Magic { pid, procs: &self.procs, vfs: Some(&self.vfs) }
    }

    fn now_ts(&self) -> linux_server::linux::stat::Timespec {
        crate::files::timespec(self.clock.realtime_ns())
    }

    /// Create /dev's nodes (if the initrd lacks them) and /proc's files.
    pub fn setup_devices(&mut self) {
        let now = self.now_ts();
        let root = self.vfs.root();
        let dir = |vfs: &mut Vfs, parent: Ino, name: &[u8], perm: u32| -> Option<Ino> {
            match vfs.lookup_child(parent, name) {
                Ok(i) => Some(i),
                Err(_) => vfs.mkdir(parent, name, perm, Owner::ROOT, now).ok(),
            }
        };
        if let Some(dev) = dir(&mut self.vfs, root, b"dev", 0o755) {
            let nodes: [(&[u8], u32, u32, u32); 9] = [
                (b"console", 5, 1, 0o600),
                (b"tty", 5, 0, 0o666),
                (b"ttyS0", 4, 64, 0o660),
                (b"null", 1, 3, 0o666),
                (b"zero", 1, 5, 0o666),
                (b"full", 1, 7, 0o666),
                (b"random", 1, 8, 0o666),
                (b"urandom", 1, 9, 0o666),
                (b"kmsg", 1, 11, 0o644),
            ];
            for (name, maj, min, perm) in nodes {
                if self.vfs.lookup_child(dev, name).is_err() {
                    let _ = self.vfs.mknod(dev, name, Kind::CharDevice(maj, min), perm, Owner::ROOT, now);
                }
            }
            if self.vfs.lookup_child(dev, b"fd").is_err() {
                let _ = self.vfs.symlink(dev, b"fd", b"/proc/self/fd", Owner::ROOT, now);
            }
            for (name, fd) in [
                (&b"stdin"[..], &b"/proc/self/fd/0"[..]),
                (b"stdout", b"/proc/self/fd/1"),
                (b"stderr", b"/proc/self/fd/2"),
            ] {
                if self.vfs.lookup_child(dev, name).is_err() {
                    let _ = self.vfs.symlink(dev, name, fd, Owner::ROOT, now);
                }
            }
        }
        if let Some(proc_) = dir(&mut self.vfs, root, b"proc", 0o555) {
            self.proc_dir = Some(proc_);
            let _ = self.vfs.magic_link(proc_, b"self", LINK_SELF, now);
            let files: [(&[u8], ProcFile); 8] = [
                (b"meminfo", ProcFile::MemInfo),
                (b"cpuinfo", ProcFile::CpuInfo),
                (b"uptime", ProcFile::Uptime),
                (b"version", ProcFile::Version),
                (b"mounts", ProcFile::Mounts),
                (b"filesystems", ProcFile::Filesystems),
                (b"loadavg", ProcFile::LoadAvg),
                (b"stat", ProcFile::Stat),
            ];
            for (name, pf) in files {
                if let Ok(ino) = self.vfs.create(proc_, name, 0o444, Owner::ROOT, now) {
                    self.proc_files.insert(ino, pf);
                }
            }
            // Not in Linux: the kernel's counters, so that benchmarks can
            // report address-space switches per operation.
            if let Some(l4) = dir(&mut self.vfs, proc_, b"l4", 0o555) {
                if let Ok(ino) = self.vfs.create(l4, b"counters", 0o444, Owner::ROOT, now) {
                    self.proc_files.insert(ino, ProcFile::KernelCounters);
                }
                if let Ok(ino) = self.vfs.create(l4, b"tlb", 0o444, Owner::ROOT, now) {
                    self.proc_files.insert(ino, ProcFile::Tlb);
                }
                // And what the server holds, so that a test can check that
                // a workload gave everything back.
                if let Ok(ino) = self.vfs.create(l4, b"memory", 0o444, Owner::ROOT, now) {
                    self.proc_files.insert(ino, ProcFile::ServerMemory);
                }
            }
        }
        if let Ok(h) = self.vfs.lookup(root, b"/etc/hostname", true, &linux_server::vfs::NoMagic) {
            if let Ok(data) = self.vfs.data(h) {
                let name: Vec<u8> = data.iter().copied().take_while(|&b| b != b'\n').take(64).collect();
                if !name.is_empty() {
                    self.hostname = name;
                }
            }
        }
    }

    /// What runs as process 1: `init=PATH` from the kernel command line, or
    /// /init (rootfs/init.c, the same program native Linux runs first).
    pub fn initial_command(&mut self) -> (Vec<u8>, Vec<Vec<u8>>) {
        let init = rt::kip::kip().cmdline_arg("init").unwrap_or("/init").as_bytes().to_vec();
        (init.clone(), alloc::vec![init])
    }

    /// /proc/<pid>: created with the process.
    pub fn proc_add(&mut self, pid: Pid) {
        let Some(proc_) = self.proc_dir else { return };
        let now = self.now_ts();
        let name = format!("{pid}");
        let Ok(d) = self.vfs.mkdir(proc_, name.as_bytes(), 0o555, Owner::ROOT, now) else { return };
        let _ = self.vfs.magic_link(d, b"exe", pid_link(pid, LINK_EXE), now);
        let _ = self.vfs.magic_link(d, b"cwd", pid_link(pid, LINK_CWD), now);
        for (n, f) in [
            (&b"cmdline"[..], ProcFile::Cmdline(pid)),
            (b"stat", ProcFile::PidStat(pid)),
            (b"status", ProcFile::Status(pid)),
            (b"maps", ProcFile::Maps(pid)),
            (b"environ", ProcFile::Environ(pid)),
            (b"limits", ProcFile::Limits(pid)),
        ] {
            if let Ok(ino) = self.vfs.create(d, n, 0o444, Owner::ROOT, now) {
                self.proc_files.insert(ino, f);
            }
        }
    }

    /// /proc/<pid> goes with the process.
    pub fn proc_remove(&mut self, pid: Pid) {
        let Some(proc_) = self.proc_dir else { return };
        let now = self.now_ts();
        let name = format!("{pid}");
        let Ok(d) = self.vfs.lookup_child(proc_, name.as_bytes()) else { return };
        // Every entry proc_add made: one left behind keeps the directory
        // (and its inodes) alive for good.
        for n in [&b"exe"[..], b"cwd", b"cmdline", b"stat", b"status", b"maps", b"environ", b"limits"] {
            if let Ok(ino) = self.vfs.lookup_child(d, n) {
                self.proc_files.remove(&ino);
            }
            let _ = self.vfs.unlink(d, n, now);
        }
        let _ = self.vfs.rmdir(proc_, name.as_bytes(), now);
    }

    /// The contents of a /proc file, generated now.
    pub fn proc_contents(&mut self, f: ProcFile) -> Vec<u8> {
        let mut s = String::new();
        use core::fmt::Write;
        match f {
            ProcFile::MemInfo => {
                let (free, total) = rt::pager::stats(rt::kip::kip().root_pager)
                    .map(|st| (st.free_pages * 4, st.total_pages * 4))
                    .unwrap_or((0, 0));
                let (used, pool) = self.pool.usage();
                let free = free + (pool - used) * 4;
                let _ = write!(
                    s,
                    "MemTotal:       {total:8} kB\nMemFree:        {free:8} kB\nMemAvailable:   {free:8} kB\n\
                     Buffers:               0 kB\nCached:                0 kB\nSwapCached:            0 kB\n\
                     SwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:                 0 kB\n"
                );
            }
            ProcFile::CpuInfo => {
                let _ = write!(
                    s,
                    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: QEMU TCG CPU\ncpu MHz\t\t: {}\n\
                     cache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\n\
                     fpu\t\t: yes\nflags\t\t: fpu tsc sse sse2\nbogomips\t: {}\n\n",
                    rt::kip::kip().tsc_hz / 1_000_000,
                    rt::kip::kip().tsc_hz / 500_000
                );
            }
            ProcFile::Uptime => {
                let ns = self.clock.now_ns();
                let _ = writeln!(s, "{}.{:02} 0.00", ns / 1_000_000_000, (ns / 10_000_000) % 100);
            }
            ProcFile::Version => {
                let _ = writeln!(s, "Linux version 6.1.0-l4linux (linux-server on a microkernel) #1 SMP");
            }
            ProcFile::Mounts => s.push_str("rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\n"),
            ProcFile::Filesystems => s.push_str("nodev\trootfs\nnodev\tproc\nnodev\ttmpfs\n"),
            ProcFile::LoadAvg => {
                let _ = writeln!(s, "0.00 0.00 0.00 1/{} {}", self.procs.len(), self.next_pid - 1);
            }
            ProcFile::Stat => {
                let ticks = self.clock.now_ns() / 10_000_000;
                let _ = write!(
                    s,
                    "cpu  {ticks} 0 0 0 0 0 0 0 0 0\ncpu0 {ticks} 0 0 0 0 0 0 0 0 0\nctxt {}\nbtime {}\nprocesses {}\n",
                    rt::sys::counters().thread_switches,
                    rt::kip::kip().boot_epoch_secs,
                    self.next_pid - 1
                );
            }
            ProcFile::Cmdline(pid) => return self.proc_cmdline(pid, false),
            ProcFile::Environ(pid) => return self.proc_cmdline(pid, true),
            ProcFile::PidStat(pid) => {
                if let Some(p) = self.procs.get(&pid) {
                    let comm = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
                    let comm = core::str::from_utf8(comm).unwrap_or("?");
                    let rss = self.mms.get(&p.mm).map_or(0, |m| m.pt.len());
                    let state = Self::state_letter(p);
                    // Times in clock ticks (USER_HZ = 100), as Linux reports them.
                    let tick = |ns: u64| ns / 10_000_000;
                    let (u, c) = (self.usage_of(pid), p.children_usage);
                    let _ = writeln!(
                        s,
                        "{pid} ({comm}) {state} {} {} {} 0 -1 4194304 {} 0 0 0 {} {} {} {} 20 0 {} 0 {} {} {rss} 18446744073709551615",
                        p.ppid,
                        p.pgid,
                        p.sid,
                        u.minflt,
                        tick(u.utime_ns),
                        tick(u.stime_ns),
                        tick(c.utime_ns),
                        tick(c.stime_ns),
                        p.tasks.len().max(1),
                        tick(p.start_ns),
                        rss * 4096
                    );
                }
            }
            ProcFile::Status(pid) => {
                if let Some(p) = self.procs.get(&pid) {
                    let comm = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
                    let c = &p.creds;
                    let state = match Self::state_letter(p) {
                        'Z' => "Z (zombie)",
                        'T' => "T (stopped)",
                        'S' => "S (sleeping)",
                        _ => "R (running)",
                    };
                    let _ = write!(
                        s,
                        "Name:\t{}\nState:\t{state}\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{}\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\n\
                         VmRSS:\t{} kB\nThreads:\t{}\nSigBlk:\t{:016x}\nSyscallsTrapped:\t{}\nSyscallsDirect:\t{}\n",
                        core::str::from_utf8(comm).unwrap_or("?"),
                        p.ppid,
                        c.uid,
                        c.euid,
                        c.suid,
                        c.euid,
                        c.gid,
                        c.egid,
                        c.sgid,
                        c.egid,
                        self.mms.get(&p.mm).map_or(0, |m| m.pt.len() * 4),
                        p.tasks.len(),
                        p.tasks.first().and_then(|t| self.tasks.get(t)).map_or(0, |t| t.sigmask),
                        p.syscalls.trapped,
                        p.syscalls.direct,
                    );
                }
            }
            ProcFile::KernelCounters => {
                let c = rt::sys::counters().as_words();
                for (name, v) in abi::counters::COUNTER_NAMES.iter().zip(c) {
                    let _ = writeln!(s, "{name} {v}");
                }
            }
            ProcFile::Tlb => self.tlb_report(&mut s),
            ProcFile::ServerMemory => {
                // Frames of the pool in use (process memory, page tables'
                // shadows, the page cache), bytes of the server's heap in
                // use, bytes of file contents in the heap, and how many
                // inodes, processes, threads and address spaces there are.
                let (used, total) = self.pool.usage();
                let (heap_used, heap_free) = crate::ALLOCATOR.usage();
                let (files, files_max) = self.vfs.data_usage();
                let _ = write!(
                    s,
                    "pool_frames_used {used}\npool_frames {total}\nheap_bytes_used {heap_used}\n\
                     heap_bytes_free {heap_free}\nfile_bytes {files}\nfile_bytes_max {files_max}\ninodes {}\n\
                     processes {}\nthreads {}\naddress_spaces {}\n",
                    self.vfs.inode_count(),
                    self.procs.len(),
                    self.tasks.len(),
                    self.mms.len()
                );
            }
            ProcFile::Limits(pid) => {
                if let Some(p) = self.procs.get(&pid) {
                    Self::write_limits(&mut s, &p.rlimits);
                }
            }
            ProcFile::Maps(pid) => {
                if let Some(mm) = self.procs.get(&pid).and_then(|p| self.mms.get(&p.mm)) {
                    for v in mm.vmas.iter() {
                        let _ = writeln!(
                            s,
                            "{:08x}-{:08x} {}{}{}{} 00000000 00:00 0 {}",
                            v.start,
                            v.end,
                            if v.prot.read { 'r' } else { '-' },
                            if v.prot.write { 'w' } else { '-' },
                            if v.prot.exec { 'x' } else { '-' },
                            if v.shared { 's' } else { 'p' },
                            if v.stack {
                                "[stack]"
                            } else if v.backing == linux_server::mm::vma::Backing::Signal {
                                "[vdso]"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
        s.into_bytes()
    }

    /// /proc/<pid>/limits, in Linux's layout (fs/proc/base.c).
    fn write_limits(s: &mut String, r: &[crate::process::Rlimit]) {
        use core::fmt::Write;
        const ROWS: [(&str, &str); 16] = [
            ("Max cpu time", "seconds"),
            ("Max file size", "bytes"),
            ("Max data size", "bytes"),
            ("Max stack size", "bytes"),
            ("Max core file size", "bytes"),
            ("Max resident set", "bytes"),
            ("Max processes", "processes"),
            ("Max open files", "files"),
            ("Max locked memory", "bytes"),
            ("Max address space", "bytes"),
            ("Max file locks", "locks"),
            ("Max pending signals", "signals"),
            ("Max msgqueue size", "bytes"),
            ("Max nice priority", ""),
            ("Max realtime priority", ""),
            ("Max realtime timeout", "us"),
        ];
        let _ = writeln!(s, "{:<25} {:<20} {:<20} {:<10}", "Limit", "Soft Limit", "Hard Limit", "Units");
        let show = |v: u64| if v == crate::process::RLIM_INFINITY { String::from("unlimited") } else { format!("{v}") };
        for ((name, unit), l) in ROWS.iter().zip(r) {
            let _ = write!(s, "{name:<25} {:<20} {:<20} ", show(l.cur), show(l.max));
            let _ = if unit.is_empty() { writeln!(s) } else { writeln!(s, "{unit:<10}") };
        }
    }

    /// The state letter of /proc/<pid>/stat.
    fn state_letter(p: &Process) -> char {
        if p.zombie.is_some() {
            'Z'
        } else if p.stopped {
            'T'
        } else {
            'R'
        }
    }

    /// argv (or envp) as NUL-separated strings, read from the process's stack.
    fn proc_cmdline(&mut self, pid: Pid, env: bool) -> Vec<u8> {
        let Some(mm) = self.procs.get(&pid).and_then(|p| self.mms.get(&p.mm)) else { return Vec::new() };
        let (start, end) = (mm.arg_start, mm.arg_end);
        if end <= start || end - start > (1 << 20) {
            return Vec::new();
        }
        let all = self.read_user(pid, start, (end - start) as usize).unwrap_or_default();
        // argv strings come first, then envp: split after argc strings.
        let argc = self.procs[&pid].argc;
        let mut at = 0;
        for _ in 0..argc {
            match all[at..].iter().position(|&b| b == 0) {
                Some(n) => at += n + 1,
                None => at = all.len(),
            }
        }
        if env {
            all[at.min(all.len())..].to_vec()
        } else {
            all[..at.min(all.len())].to_vec()
        }
    }
}
