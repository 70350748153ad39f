//! Booting the system in QEMU from tests.
//!
//! Every run goes through `scripts/qemu` (the one place the QEMU command line
//! is written down) with a timeout, so a hung guest fails its test instead of
//! hanging the suite. The guest powers off through `isa-debug-exit`; QEMU then
//! exits with status `2 * code + 1`, which [`Run::exit_code`] decodes.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod linux;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A built artifact in `build/` (run `scripts/build` first; `scripts/test` does).
pub fn artifact(name: &str) -> String {
    let p = root().join("build").join(name);
    assert!(p.exists(), "{} is missing: run scripts/build first", p.display());
    p.to_string_lossy().into_owned()
}

#[derive(Debug)]
pub struct Run {
    /// QEMU's exit status (None if killed by a signal).
    pub status: Option<i32>,
    /// Everything the serial console printed.
    pub output: String,
}

impl Run {
    /// The code the guest powered off with, if it did.
    pub fn exit_code(&self) -> Option<i32> {
        match self.status {
            Some(s) if s % 2 == 1 => Some((s - 1) / 2),
            _ => None,
        }
    }
    pub fn timed_out(&self) -> bool {
        self.status == Some(124) || self.status == Some(137)
    }
    /// Assert the output contains `needle`, showing the output if not.
    pub fn expect(&self, needle: &str) -> &Run {
        assert!(self.output.contains(needle), "expected {needle:?} in the output:\n{}", self.output);
        self
    }
    pub fn expect_not(&self, needle: &str) -> &Run {
        assert!(!self.output.contains(needle), "did not expect {needle:?} in the output:\n{}", self.output);
        self
    }
    pub fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.output.lines().filter(|l| l.contains(needle)).collect()
    }
}

/// How to boot.
pub struct Boot<'a> {
    pub cmdline: &'a str,
    pub modules: Vec<String>,
    pub timeout: Duration,
    pub icount: bool,
    /// Keystrokes: when the output contains `.0` (after the previous step),
    /// type `.1`.
    pub script: Vec<(String, String)>,
    /// For each step of `script`: how long to wait after seeing its text
    /// before typing (zero unless [`Boot::when_after`] set it).
    pub pauses: Vec<Duration>,
    /// Host files or trees copied into the root file system (the module
    /// named `rootfs.cpio` is rebuilt from `rootfs/base.spec` with them, as
    /// `scripts/run --add` does): (host path, guest path).
    pub adds: Vec<(PathBuf, String)>,
    /// Boot Debian's Linux kernel through `scripts/linux` (the root file
    /// system module is its initramfs; `cmdline` is appended to the kernel's
    /// command line) instead of the microkernel.
    pub native_linux: bool,
}

impl<'a> Boot<'a> {
    pub fn new(cmdline: &'a str, modules: &[&str]) -> Boot<'a> {
        Boot {
            cmdline,
            modules: modules.iter().map(|m| artifact(m)).collect(),
            timeout: Duration::from_secs(120),
            icount: false,
            script: Vec::new(),
            pauses: Vec::new(),
            adds: Vec::new(),
            native_linux: false,
        }
    }
    /// Native Linux with the default root file system and no command: its
    /// /init (rootfs/init.c, the same program our system starts) runs an
    /// interactive /bin/sh on the serial console, the console's tty as its
    /// controlling terminal. The same keystroke scripts drive it, so an
    /// interactive test can be checked against Linux.
    pub fn linux() -> Boot<'static> {
        let mut b = Boot::new("", &["rootfs.cpio"]);
        b.native_linux = true;
        b
    }
    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout = Duration::from_secs(secs);
        self
    }
    pub fn icount(mut self) -> Self {
        self.icount = true;
        self
    }
    pub fn when(mut self, seen: &str, type_: &str) -> Self {
        self.script.push((seen.to_string(), type_.to_string()));
        self.pauses.push(Duration::ZERO);
        self
    }
    /// Like [`Boot::when`], but wait `pause` after seeing `seen` before
    /// typing: for keys that must reach a program the shell has yet to start
    /// (a ^C for `sleep 100` must not arrive while the shell still owns the
    /// terminal).
    pub fn when_after(mut self, seen: &str, pause: Duration, type_: &str) -> Self {
        self.script.push((seen.to_string(), type_.to_string()));
        self.pauses.push(pause);
        self
    }
    /// Copy a host file or tree into the root file system (`scripts/run --add`).
    pub fn add(mut self, host: impl AsRef<std::path::Path>, guest: &str) -> Self {
        self.adds.push((host.as_ref().to_path_buf(), guest.to_string()));
        self
    }

    pub fn run(self) -> Run {
        // A root file system with the added files, if any: rebuilt like
        // scripts/run does, in a directory removed when the run ends.
        let scratch = linux::TempDir::new("boot");
        let mut modules = self.modules.clone();
        if !self.adds.is_empty() {
            let image = scratch.path().join("rootfs.cpio");
            let mut build = Command::new(artifact("initrd"));
            build.arg("build").arg("--spec").arg(root().join("rootfs/base.spec")).arg("--out").arg(&image);
            for (host, guest) in &self.adds {
                build.arg("--add").arg(format!("{}:{}", host.display(), guest));
            }
            let out = build.output().expect("starting build/initrd");
            assert!(out.status.success(), "initrd build failed: {}", String::from_utf8_lossy(&out.stderr));
            let image = image.to_string_lossy().into_owned();
            let m = modules.iter_mut().find(|m| m.ends_with("rootfs.cpio"));
            *m.expect("adding files needs a rootfs.cpio module") = image;
        }
        let mut cmd;
        if self.native_linux {
            cmd = Command::new(root().join("scripts/linux"));
            cmd.arg("--timeout").arg(self.timeout.as_secs().to_string());
            if self.icount {
                cmd.arg("--icount");
            }
            if !self.cmdline.is_empty() {
                cmd.arg("--append").arg(self.cmdline);
            }
            cmd.args(&modules);
        } else {
            cmd = Command::new(root().join("scripts/qemu"));
            cmd.arg("--timeout").arg(self.timeout.as_secs().to_string());
            if self.icount {
                cmd.arg("--icount");
            }
            cmd.arg(self.cmdline).args(&modules);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("starting scripts/qemu");
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let sink = out.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let mut stdin = child.stdin.take();
        let deadline = Instant::now() + self.timeout + Duration::from_secs(10);
        let mut step = 0;
        let mut seen_upto = 0;
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for QEMU") {
                break s.code();
            }
            if step < self.script.len() {
                let text = out.lock().unwrap().clone();
                let hay = String::from_utf8_lossy(&text[seen_upto..]).into_owned();
                if let Some(pos) = hay.find(&self.script[step].0) {
                    seen_upto += pos + self.script[step].0.len();
                    let pause = self.pauses.get(step).copied().unwrap_or_default();
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                    if let Some(i) = stdin.as_mut() {
                        let _ = i.write_all(self.script[step].1.as_bytes());
                        let _ = i.flush();
                    }
                    step += 1;
                    continue;
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdin);
        let _ = reader.join();
        let err = err_reader.join().unwrap_or_default();
        let mut output = String::from_utf8_lossy(&out.lock().unwrap()).replace("\r\n", "\n");
        if !err.is_empty() {
            output.push_str("\n[qemu stderr] ");
            output.push_str(&err);
        }
        drop(scratch);
        Run { status, output }
    }
}
