//! Running Linux binaries on our system and on native Linux, for comparison.
//!
//! Both systems boot through `scripts/run` (the user-facing contract, see the
//! README): our system with `scripts/run -- CMD...`, Debian's Linux kernel in
//! the same QEMU machine with `scripts/run --linux -- CMD...`, both with the
//! same rootfs (`rootfs/base.spec` plus the added files plus `/etc/command`).
//! The tests pass `--no-build`: `scripts/test` builds once before the tests
//! run, and a test must not rebuild what a parallel test is booting.
//!
//! - [`run_command`] boots once for one command and returns what
//!   `scripts/run` printed and its exit status ([`Outcome`]). On Linux the
//!   console carries only the command's output and the final
//!   `### exit status S` line (the kernel is told to stay quiet); on our
//!   system it also carries the microkernel's boot log.
//! - [`Batch`] runs many commands in **one** boot (Linux takes ~6 s to boot
//!   under TCG) and returns each command's output and exit status separately
//!   ([`CmdResult`]). It writes a shell script to `/etc/batch` and runs
//!   `/bin/sh /etc/batch` as the command; the script runs each command in a
//!   subshell (`( exec ARGV... </dev/null )`, so a command is always a new
//!   process, never a shell builtin, and never waits for console input; the
//!   shell's own report of a command killed by a signal, such as
//!   "Terminated", is discarded) and brackets its output with marker lines
//!   carrying a per-run nonce:
//!
//!   ```text
//!   @@@batch 1a2b3c begin 0
//!   ...the command's output, stdout and stderr as they reach the console...
//!   @@@batch 1a2b3c end 0 status 0
//!   ```
//!
//!   The end marker is printed as `printf '\n@@@batch ... end'`, and the
//!   parser removes exactly that newline again, so output without a final
//!   newline is reported exactly, and output ending in one keeps it. Console
//!   text is normalized from `\r\n` to `\n` (the tty's output processing)
//!   before parsing. A command that hangs makes the whole boot time out:
//!   the commands before it are still reported, it has `status: None`, and
//!   the ones after it are missing ([`BatchRun::complete`] is false).
//!
//! # Comparing our system with Linux
//!
//! A comparison test builds one [`Batch`], runs it on both systems, and
//! compares command by command:
//!
//! ```no_run
//! use system_tests::linux::{Batch, System};
//! let batch = Batch::new()
//!     .add("/bin/bash-static", "/bin/bash") // host file -> guest path
//!     .cmd(&["/bin/ls", "-l", "/etc"])
//!     .sh("echo $((6 * 7)); exit 3");
//! let linux = batch.run(System::Linux);
//! let ours = batch.run(System::Ours);
//! // Exact comparison; pass a normalizer for what legitimately differs
//! // (uname -r, timings, PIDs, ...).
//! let diffs = system_tests::linux::differences(&ours, &linux, |s| s.to_string());
//! assert!(diffs.is_empty(), "{}", diffs.join("\n"));
//! ```
//!
//! Keep things that differ by nature out of compared outputs: the kernel
//! version and build, timings, PIDs (Linux's command runs as a child of its
//! `/init` and gets PID 2+; ours runs as PID 1 — a `/etc/batch` command is a
//! child of the batch shell on both), `/proc` and `/sys` contents beyond what
//! the server implements, and device numbers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{artifact, root};

/// Which kernel runs the binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// The microkernel, the root pager and the linux-server.
    Ours,
    /// Debian's `linux-image-amd64` kernel in the same QEMU machine.
    Linux,
}

/// What one `scripts/run` invocation did.
#[derive(Debug)]
pub struct Outcome {
    /// `scripts/run`'s exit status: the command's status (0..=255, 128+N for
    /// signal N), 124 on timeout, 125 if the guest reported nothing, 2 for
    /// bad usage. `None` only if `scripts/run` itself was killed by a signal.
    pub status: Option<i32>,
    /// Everything the console printed (`scripts/run`'s stdout), `\r\n`
    /// normalized to `\n`.
    pub console: String,
    /// `scripts/run`'s own messages (timeouts, a missing status line) and
    /// QEMU's.
    pub stderr: String,
    /// Wall-clock time of the whole run, boot included.
    pub elapsed: Duration,
}

impl Outcome {
    /// The console without the final `### exit status S` line: on Linux,
    /// exactly the command's output.
    pub fn output(&self) -> String {
        match self.console.rfind("### exit status ") {
            Some(i) => self.console[..i].to_string(),
            None => self.console.clone(),
        }
    }
    /// The status the guest printed (`### exit status S`), if it did.
    pub fn reported_status(&self) -> Option<i32> {
        let i = self.console.rfind("### exit status ")?;
        let rest = &self.console[i + "### exit status ".len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    }
    /// Everything, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "scripts/run exit status {:?} after {:.1} s\n--- console ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.elapsed.as_secs_f64(),
            self.console,
            self.stderr
        )
    }
}

/// Options for a `scripts/run` invocation.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `--add HOST:GUEST` pairs.
    pub adds: Vec<(PathBuf, String)>,
    /// `--timeout`, in seconds.
    pub timeout: u64,
    /// `--icount`.
    pub icount: bool,
    /// `--append`: extra kernel command-line arguments.
    pub append: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { adds: Vec::new(), timeout: 300, icount: false, append: None }
    }
}

/// Make sure what `scripts/run --no-build` needs is built, with a clear
/// message if not.
fn check_artifacts(system: System) {
    artifact("initrd");
    artifact("rootfs.cpio");
    artifact("init");
    match system {
        System::Linux => {}
        System::Ours => {
            artifact("microkernel");
            artifact("pager");
            artifact("linux-server");
        }
    }
}

/// `scripts/run [--linux] --no-build [OPTIONS] -- ARGV...`, with stdin
/// empty; waits for it to finish (`scripts/run` enforces the timeout).
pub fn run_command(system: System, argv: &[&str], opts: &RunOptions) -> Outcome {
    check_artifacts(system);
    let mut cmd = Command::new(root().join("scripts/run"));
    cmd.arg("--no-build");
    if system == System::Linux {
        cmd.arg("--linux");
    }
    cmd.arg("--timeout").arg(opts.timeout.to_string());
    if opts.icount {
        cmd.arg("--icount");
    }
    if let Some(a) = &opts.append {
        cmd.arg("--append").arg(a);
    }
    for (host, guest) in &opts.adds {
        cmd.arg("--add").arg(format!("{}:{}", host.display(), guest));
    }
    cmd.arg("--").args(argv);
    cmd.stdin(Stdio::null());
    let start = Instant::now();
    let out = cmd.output().expect("starting scripts/run");
    Outcome {
        status: out.status.code(),
        console: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// One command on our system through `scripts/run`: (console text, exit
/// status). The console includes the boot log; use a [`Batch`] for just the
/// command's output.
pub fn run_ours(argv: &[&str], adds: &[(&str, &str)]) -> (String, i32) {
    let opts = RunOptions {
        adds: adds.iter().map(|(h, g)| (PathBuf::from(h), g.to_string())).collect(),
        ..RunOptions::default()
    };
    let o = run_command(System::Ours, argv, &opts);
    (o.console, o.status.unwrap_or(-1))
}

/// The same on native Linux: (the command's output, exit status).
pub fn run_linux(argv: &[&str], adds: &[(&str, &str)]) -> (String, i32) {
    let opts = RunOptions {
        adds: adds.iter().map(|(h, g)| (PathBuf::from(h), g.to_string())).collect(),
        ..RunOptions::default()
    };
    let o = run_command(System::Linux, argv, &opts);
    (o.output(), o.status.unwrap_or(-1))
}

/// A scratch directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "system-tests-{tag}-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos()
        ));
        std::fs::create_dir_all(&p).expect("creating a temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// Write `name` in the directory; returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("writing a temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Quote one argument for the shell: single quotes, with `'` as `'\''`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Several commands run in one boot. Build with [`Batch::cmd`] / [`Batch::sh`],
/// then [`Batch::run`] on either system.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    cmds: Vec<Vec<String>>,
    opts: RunOptions,
}

/// One command of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdResult {
    pub argv: Vec<String>,
    /// Its console output (stdout and stderr interleaved as they arrived).
    pub output: String,
    /// Its exit status as the shell reports it (128+N for signal N); `None`
    /// if it never finished (the boot timed out).
    pub status: Option<i32>,
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchRun {
    pub system: System,
    /// One entry per command that started, in order.
    pub results: Vec<CmdResult>,
    /// Every command finished and the batch script reached its end.
    pub complete: bool,
    /// The whole boot, for diagnostics.
    pub outcome: Outcome,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }
    /// A command: argv[0] (looked up in PATH if it has no `/`) and arguments.
    pub fn cmd(mut self, argv: &[&str]) -> Batch {
        assert!(!argv.is_empty(), "a command needs argv[0]");
        self.cmds.push(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    /// A shell snippet: `/bin/sh -c SCRIPT`.
    pub fn sh(self, script: &str) -> Batch {
        self.cmd(&["/bin/sh", "-c", script])
    }
    /// Copy a host file or tree into the rootfs (`scripts/run --add`).
    pub fn add(mut self, host: impl AsRef<Path>, guest: &str) -> Batch {
        self.opts.adds.push((host.as_ref().to_path_buf(), guest.to_string()));
        self
    }
    /// The limit for the whole boot, in seconds (default 300).
    pub fn timeout(mut self, secs: u64) -> Batch {
        self.opts.timeout = secs;
        self
    }
    pub fn icount(mut self) -> Batch {
        self.opts.icount = true;
        self
    }
    pub fn append(mut self, kernel_args: &str) -> Batch {
        self.opts.append = Some(kernel_args.to_string());
        self
    }

    /// The `/etc/batch` script for marker `nonce`.
    fn script(&self, nonce: &str) -> String {
        // fd 3 keeps the console for the commands' stderr, while the shell's own
        // stderr is /dev/null: that silences its reports of a command killed
        // by a signal ("Terminated", "Segmentation fault"). The redirections
        // are all on `exec` inside the subshell, where busybox sh applies
        // them reliably (it loses a subshell's own `</dev/null` inside a
        // redirected `{ }` group).
        let mut s =
            String::from("# /etc/batch, generated by system_tests::linux::Batch\ncd /\nexec 3>&2 2>/dev/null\n");
        for (i, argv) in self.cmds.iter().enumerate() {
            let words: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
            s += &format!("echo '@@@batch {nonce} begin {i}'\n");
            s += &format!("( exec {} </dev/null 2>&3 3>&- )\n", words.join(" "));
            s += &format!("printf '\\n@@@batch {nonce} end {i} status %d\\n' \"$?\"\n");
        }
        s += &format!("echo '@@@batch {nonce} done'\n");
        s
    }

    /// Boot `system` once and run every command.
    pub fn run(&self, system: System) -> BatchRun {
        let nonce = format!(
            "{:x}{:08x}",
            std::process::id(),
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos()
        );
        let dir = TempDir::new("batch");
        let script = dir.write("batch.sh", self.script(&nonce).as_bytes());
        let mut opts = self.opts.clone();
        opts.adds.push((script, "/etc/batch".to_string()));
        let outcome = run_command(system, &["/bin/sh", "/etc/batch"], &opts);
        let (results, complete) = parse_batch(&outcome.console, &nonce, &self.cmds);
        BatchRun { system, results, complete, outcome }
    }
}

/// Split a batch's console text into per-command results.
fn parse_batch(console: &str, nonce: &str, cmds: &[Vec<String>]) -> (Vec<CmdResult>, bool) {
    let mut results = Vec::new();
    let mut rest = console;
    for (i, argv) in cmds.iter().enumerate() {
        let begin = format!("@@@batch {nonce} begin {i}\n");
        let Some(b) = rest.find(&begin) else { return (results, false) };
        rest = &rest[b + begin.len()..];
        let end = format!("\n@@@batch {nonce} end {i} status ");
        match rest.find(&end) {
            Some(e) => {
                let output = rest[..e].to_string();
                let after = &rest[e + end.len()..];
                let status = after.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok());
                results.push(CmdResult { argv: argv.clone(), output, status });
                rest = after;
            }
            None => {
                // Never finished: whatever it printed before the end of the boot.
                let output = rest.rfind("### exit status ").map_or(rest, |x| &rest[..x]);
                results.push(CmdResult { argv: argv.clone(), output: output.to_string(), status: None });
                return (results, false);
            }
        }
    }
    let complete = rest.contains(&format!("@@@batch {nonce} done"));
    (results, complete)
}

impl BatchRun {
    /// The result of command `i`, failing the test (with the whole console)
    /// if it did not finish.
    pub fn get(&self, i: usize) -> &CmdResult {
        match self.results.get(i) {
            Some(r) if r.status.is_some() => r,
            _ => panic!("command {i} of the batch on {:?} did not finish:\n{}", self.system, self.outcome.describe()),
        }
    }
    /// Fail the test, showing the console, unless every command finished.
    pub fn assert_complete(&self) -> &BatchRun {
        assert!(self.complete, "the batch on {:?} did not complete:\n{}", self.system, self.outcome.describe());
        self
    }
}

/// Run `cmds` on both systems and compare each command's output and exit
/// status, failing the test with every command that differs. Native Linux
/// runs them all in one boot (a [`Batch`]: each command a child of the batch
/// shell, stdin `/dev/null`); our system runs each as its own process 1
/// (`scripts/run -- CMD`, whose console then carries just the command's
/// output). `adds` (host path, guest path) go into both root file systems.
pub fn compare_with_linux(cmds: &[Vec<&str>], adds: &[(PathBuf, &str)]) {
    compare_variants_with_linux(cmds, adds, &[("", adds)]);
}

/// Like [`compare_with_linux`], but our system runs each command once per
/// variant — (name, its own `adds`), e.g. the test programs built plainly
/// and linked with the libc shim, put at the same guest paths — and every
/// run must match native Linux's (which gets `linux_adds`).
pub fn compare_variants_with_linux(
    cmds: &[Vec<&str>],
    linux_adds: &[(PathBuf, &str)],
    variants: &[(&str, &[(PathBuf, &str)])],
) {
    let mut batch = Batch::new().timeout(900);
    for (host, guest) in linux_adds {
        batch = batch.add(host, guest);
    }
    for c in cmds {
        batch = batch.cmd(c);
    }
    let linux = batch.run(System::Linux);
    linux.assert_complete();
    let mut failures = Vec::new();
    for (variant, adds) in variants {
        let opts = RunOptions {
            adds: adds.iter().map(|(host, guest)| (host.clone(), guest.to_string())).collect(),
            timeout: 180,
            ..RunOptions::default()
        };
        for (i, c) in cmds.iter().enumerate() {
            let want = linux.get(i);
            let got = run_command(System::Ours, c, &opts);
            let out = got.output();
            if got.status != want.status || out != want.output {
                // The differing lines first: CI logs keep only the start of a failure.
                failures.push(format!(
                    "{c:?}{variant}\n  lines only on linux (-) or only on ours (+):\n{}\n  linux: status {:?}\n{}\n  ours: status {:?}\n{}",
                    line_differences(&want.output, &out),
                    want.status,
                    want.output,
                    got.status,
                    got.describe()
                ));
            }
        }
    }
    let runs = cmds.len() * variants.len();
    assert!(failures.is_empty(), "{} of {runs} runs differ:\n{}", failures.len(), failures.join("\n\n"));
}

/// The lines of `a` missing from `b` ("- line") and of `b` missing from `a`
/// ("+ line"), each in its own order: a short summary of two outputs that
/// should be equal.
fn line_differences(a: &str, b: &str) -> String {
    let only = |x: &str, y: &str, mark: char| -> Vec<String> {
        let ys: Vec<&str> = y.lines().collect();
        x.lines().filter(|l| !ys.contains(l)).map(|l| format!("{mark} {l}")).collect()
    };
    let mut d = only(a, b, '-');
    d.extend(only(b, a, '+'));
    d.join("\n")
}

/// Per-command differences between two runs of the same batch (an empty list
/// means they agree), after `normalize` is applied to both outputs.
pub fn differences(a: &BatchRun, b: &BatchRun, normalize: impl Fn(&str) -> String) -> Vec<String> {
    let mut diffs = Vec::new();
    let n = a.results.len().max(b.results.len());
    for i in 0..n {
        match (a.results.get(i), b.results.get(i)) {
            (Some(x), Some(y)) => {
                if x.status != y.status {
                    diffs.push(format!(
                        "command {i} {:?}: status {:?} on {:?}, {:?} on {:?}",
                        x.argv, x.status, a.system, y.status, b.system
                    ));
                }
                let (ox, oy) = (normalize(&x.output), normalize(&y.output));
                if ox != oy {
                    diffs.push(format!(
                        "command {i} {:?}: output differs\n--- {:?} ---\n{ox}\n--- {:?} ---\n{oy}",
                        x.argv, a.system, b.system
                    ));
                }
            }
            (x, y) => diffs.push(format!(
                "command {i}: ran on {:?}: {}, on {:?}: {}",
                a.system,
                x.is_some(),
                b.system,
                y.is_some()
            )),
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(n: usize) -> Vec<Vec<String>> {
        (0..n).map(|i| vec![format!("c{i}")]).collect()
    }

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn parses_outputs_statuses_and_missing_newlines() {
        let console = "boot noise\n@@@batch N begin 0\nhello\n\n@@@batch N end 0 status 0\n\
                       @@@batch N begin 1\nno newline\n@@@batch N end 1 status 139\n\
                       @@@batch N begin 2\n\n@@@batch N end 2 status 7\n@@@batch N done\n### exit status 0\n";
        let (r, complete) = parse_batch(console, "N", &cmds(3));
        assert!(complete);
        assert_eq!(r[0].output, "hello\n");
        assert_eq!(r[0].status, Some(0));
        assert_eq!(r[1].output, "no newline");
        assert_eq!(r[1].status, Some(139));
        assert_eq!(r[2].output, "");
        assert_eq!(r[2].status, Some(7));
    }

    #[test]
    fn a_hung_command_keeps_its_partial_output() {
        let console = "@@@batch N begin 0\nok\n\n@@@batch N end 0 status 0\n@@@batch N begin 1\npartial\n";
        let (r, complete) = parse_batch(console, "N", &cmds(3));
        assert!(!complete);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].output, "partial\n");
        assert_eq!(r[1].status, None);
    }
}
