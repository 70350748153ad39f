//! The linux-server running unmodified static binaries — Debian's busybox
//! and the ABI test programs of tests/linux — compared with native Linux.
//!
//! Native Linux runs every command in one boot (a batch); our system runs
//! each as its own process 1 (processes that start other processes come with
//! the next stage). For each command the output and the exit status must be
//! the same on both.

use std::path::PathBuf;
use system_tests::linux::{compare_variants_with_linux, compare_with_linux, run_command, Outcome, RunOptions, System};
use system_tests::root;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/data")
}

fn tests_dir() -> PathBuf {
    root().join("build/linux-tests")
}

/// The same programs linked with the libc shim (libc-shim/build.sh).
fn shim_tests_dir() -> PathBuf {
    root().join("build/linux-tests-shim")
}

fn ours(argv: &[&str]) -> Outcome {
    ours_with(&tests_dir(), argv)
}

/// `argv` on our system with `tests` (a build of tests/linux) at /tests.
fn ours_with(tests: &std::path::Path, argv: &[&str]) -> Outcome {
    let opts = RunOptions {
        adds: vec![(fixtures(), "/fixtures".to_string()), (tests.to_path_buf(), "/tests".to_string())],
        timeout: 180,
        ..RunOptions::default()
    };
    run_command(System::Ours, argv, &opts)
}

/// Run `cmds` on both systems, with the fixtures and the test programs, and
/// compare each command's output and status.
fn compare(cmds: &[Vec<&str>]) {
    compare_with_linux(cmds, &[(fixtures(), "/fixtures"), (tests_dir(), "/tests")]);
}

#[test]
fn busybox_single_process_commands_match_native_linux() {
    let w = "/fixtures/words.txt";
    let cmds: Vec<Vec<&str>> = vec![
        vec!["echo", "hello", "world"],
        vec!["ls", "-l", "/fixtures"],
        vec!["ls", "-la", "/fixtures/sub"],
        vec!["cat", w],
        vec!["md5sum", "/bin/busybox", w],
        vec!["wc", w],
        vec!["sort", w],
        vec!["sort", "-r", "-k2", w],
        vec!["uniq", "-c", "/fixtures/sorted.txt"],
        vec!["head", "-n", "3", w],
        vec!["tail", "-n", "2", w],
        vec!["grep", "-n", "fox", w],
        vec!["grep", "nothing-matches", w],
        vec!["sed", "-e", "s/fox/cat/g", "-e", "2d", w],
        vec!["awk", "{ print NR \": \" $2, NF }", w],
        vec!["awk", "BEGIN { s = 0; for (i = 1; i <= 100; i++) s += i; print s }"],
        vec!["sh", "-c", "tr a-z A-Z < /fixtures/words.txt"],
        vec!["cut", "-d", " ", "-f", "2,3", w],
        vec!["seq", "1", "10"],
        vec!["seq", "5", "-2", "-5"],
        vec!["printf", "%s=%d %x\\n", "a", "1", "255", "b", "2", "4096"],
        vec!["mkdir", "-p", "/tmp/a/b/c"],
        vec!["cp", w, "/tmp/copy"],
        vec!["mv", "/tmp/does-not-exist", "/tmp/x"],
        vec!["touch", "/tmp/new-file"],
        vec!["stat", "-c", "%n %s %a %F %h", w, "/fixtures", "/bin/sh"],
        vec!["uname", "-s", "-m"],
        vec!["date", "-u", "-d", "@1234567890"],
        vec!["date", "-u", "-d", "@0", "+%Y-%m-%d %H:%M:%S %j %a"],
        vec!["true"],
        vec!["false"],
        vec![
            "sh",
            "-c",
            "x=0; for i in 1 2 3 4 5; do x=$((x + i * i)); done; echo sum=$x; \
             i=0; while [ $i -lt 3 ]; do echo i$i; i=$((i + 1)); done; \
             read a b rest < /fixtures/words.txt; echo \"second=$b rest=$rest\"; \
             case $x in 55) echo fifty-five;; *) echo other;; esac; \
             f() { echo \"f:$1:$#\"; return 4; }; f one two; echo ret=$?; \
             s=hello-world; echo ${#s} ${s%-*} ${s#*-}; exit 7",
        ],
        // Last: the native batch shares one file system between commands.
        vec!["rm", "-r", "/fixtures/sub"],
    ];
    compare(&cmds);
}

/// Commands whose output names the system or the moment (a kernel version,
/// boot-time directories, the date) cannot equal native Linux's byte for
/// byte; their form and their facts are checked instead.
#[test]
fn system_dependent_commands_look_right() {
    let ls = ours(&["ls", "-l", "/"]);
    assert_eq!(ls.status, Some(0), "{}", ls.describe());
    for dir in ["bin", "dev", "etc", "proc", "tmp"] {
        assert!(
            ls.output().lines().any(|l| l.starts_with('d') && l.ends_with(&format!(" {dir}"))),
            "no directory {dir} in ls -l /: {}",
            ls.describe()
        );
    }
    let uname = ours(&["uname", "-a"]);
    let out = uname.output();
    assert!(out.starts_with("Linux ") && out.trim_end().ends_with("x86_64 GNU/Linux"), "{}", uname.describe());
    let date = ours(&["date", "+%s"]);
    let guest: i64 = date.output().trim().parse().unwrap_or_else(|_| panic!("{}", date.describe()));
    let host = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((host - guest).abs() < 300, "guest clock {guest} vs host {host}");
}

/// Every program of tests/linux (build/linux-tests/MANIFEST) — the
/// single-process ABI programs and the process programs (fork, exec, wait,
/// signals, threads, a fork bomb, a kill storm) — gives the same output and
/// exit status as on native Linux, in one Linux boot; on our system both
/// as built (trapping every syscall) and linked with the libc shim (direct
/// IPC), each compared with the plain build on Linux.
#[test]
fn test_programs_match_native_linux() {
    let manifest = std::fs::read_to_string(tests_dir().join("MANIFEST")).expect("build/linux-tests/MANIFEST");
    let programs: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| *p != "t_hog") // the OOM outcome is Linux's overcommit policy's call
        .map(|p| format!("/tests/{p}"))
        .collect();
    let cmds: Vec<Vec<&str>> = programs.iter().map(|p| vec![p.as_str()]).collect();
    let plain = [(fixtures(), "/fixtures"), (tests_dir(), "/tests")];
    let shim = [(fixtures(), "/fixtures"), (shim_tests_dir(), "/tests")];
    compare_variants_with_linux(&cmds, &plain, &[("", &plain), (" (libc shim)", &shim)]);
}

/// The counters of /proc/<pid>/status ("SyscallsTrapped", "SyscallsDirect")
/// in tests/linux/ours/syscall_counts, which calls into every syscall family
/// (and forks, vforks, starts a thread, catches a signal, execs): built
/// plainly, every call traps; linked with the libc shim, not one does — in
/// the process, its forked child and the image it execs.
#[test]
fn libc_shim_programs_make_no_trapped_syscalls() {
    let counts = |tests: PathBuf| -> Vec<(String, u64, u64)> {
        let o = ours_with(&tests, &["/tests/syscall_counts"]);
        assert_eq!(o.status, Some(0), "{}", o.describe());
        let parsed: Vec<(String, u64, u64)> = o
            .output()
            .lines()
            .filter_map(|l| {
                let mut w = l.strip_prefix("counts ")?.split_whitespace();
                let who = w.next()?.to_string();
                let t = w.next()?.strip_prefix("trapped=")?.parse().ok()?;
                let d = w.next()?.strip_prefix("direct=")?.parse().ok()?;
                Some((who, t, d))
            })
            .collect();
        let who: Vec<&str> = parsed.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(who, ["child", "exec", "main"], "{}", o.describe());
        parsed
    };
    for (who, trapped, direct) in counts(shim_tests_dir()) {
        assert_eq!(trapped, 0, "{who}: a shim-linked program trapped {trapped} syscalls");
        assert!(direct >= 3, "{who}: only {direct} direct calls counted");
        if who == "main" {
            assert!(direct >= 80, "main made {direct} direct calls, expected every family");
        }
    }
    for (who, trapped, direct) in counts(tests_dir()) {
        assert_eq!(direct, 0, "{who}: a plain build made {direct} direct calls");
        assert!(trapped >= 3, "{who}: only {trapped} trapped calls counted");
    }
}

#[test]
fn faults_end_the_process_with_the_signal_status() {
    let o = ours(&["/tests/t_segv"]);
    assert_eq!(o.status, Some(139), "{}", o.describe());
    assert!(o.console.contains("about to fault"), "{}", o.describe());
}

#[test]
fn memory_exhaustion_kills_the_hog_not_the_server() {
    let o = ours(&["/tests/t_hog"]);
    // The server survived to report the process's end.
    assert!(o.console.contains("### exit status"), "{}", o.describe());
    assert!(o.status == Some(137) || o.status == Some(0), "{}", o.describe());
}

/// Files that are not loadable executables: execve fails as on Linux —
/// ENOEXEC ("Exec format error", status 126 from /init) for garbage,
/// truncated headers (a few bytes of the ELF header, or 100 bytes), a
/// program header table past the end or crossing it, no program headers at
/// all and a foreign machine;
/// ENOENT (127) for a dynamically linked program whose interpreter is not
/// there. Each is also run from sh, which retries ENOEXEC as a script.
#[test]
fn unloadable_executables_fail_as_on_linux() {
    let dir = system_tests::linux::TempDir::new("bad-elf");
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"this is not an executable at all".to_vec()),
        ("truncated", busybox[..100].to_vec()),
        ("phdrs-past-end", {
            let mut b = busybox[..4096].to_vec();
            b[32..40].copy_from_slice(&0xffff_fff0u64.to_le_bytes());
            b
        }),
        ("arm64", {
            let mut b = busybox.clone();
            b[18..20].copy_from_slice(&183u16.to_le_bytes());
            b
        }),
        ("truncated-ehdr", busybox[..40].to_vec()),
        ("phdrs-cross-end", {
            let mut b = busybox.clone();
            let at = (b.len() - 3 * 56) as u64;
            b[32..40].copy_from_slice(&at.to_le_bytes());
            b
        }),
        ("no-phdrs", {
            let mut b = busybox.clone();
            b[56..58].copy_from_slice(&0u16.to_le_bytes());
            b
        }),
    ];
    // A dynamically linked executable: its interpreter (ld-linux) is not in
    // the root file system.
    if let Ok(dynamic) = std::fs::read("/usr/bin/ls") {
        files.push(("dynamic", dynamic));
    }
    for (name, bytes) in &files {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // From sh, compared with Linux (a batch runs its commands from a shell
    // script, so the direct execs below are checked against what Linux's
    // /init says for them instead: "Exec format error", 126; "No such file
    // or directory", 127).
    let scripts: Vec<String> =
        files.iter().map(|(name, _)| format!("/bad/{name} </dev/null; echo \"status $?\"")).collect();
    let cmds: Vec<Vec<&str>> = scripts.iter().map(|s| vec!["/bin/sh", "-c", s.as_str()]).collect();
    compare_with_linux(&cmds, &[(dir.path().to_path_buf(), "/bad")]);
    let opts = RunOptions { adds: vec![(dir.path().to_path_buf(), "/bad".into())], ..RunOptions::default() };
    for (name, _) in &files {
        let o = run_command(System::Ours, &[&format!("/bad/{name}")], &opts);
        let (status, message) =
            if *name == "dynamic" { (127, "No such file or directory") } else { (126, "Exec format error") };
        assert_eq!(o.status, Some(status), "{name}: {}", o.describe());
        assert!(o.console.contains(&format!("init: cannot run /bad/{name}: {message}")), "{name}: {}", o.describe());
    }
}

/// Overwrite field `at` (width 8) of program header `i` of an ELF64 file.
fn set_phdr(b: &mut [u8], i: usize, at: usize, v: u64) {
    let o = 64 + 56 * i + at;
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

/// Executables whose header and program-header table are fine but whose
/// segments are not: overlapping PT_LOADs, a huge p_memsz, the entry point
/// outside every segment, a PIE whose load address overflows, p_offset +
/// p_filesz overflowing. Linux checks only the header and the table before
/// execve's point of no return: it starts mapping the new image and then
/// kills the process with SIGSEGV (status 139). Our server validates the
/// whole image first and fails the execve with ENOEXEC, so the caller lives
/// on (a deliberate difference, docs/robustness.md). Both runs are real:
/// Linux must not run any of them either; ours must refuse each with
/// ENOEXEC, reported by /init, with no panic anywhere.
#[test]
fn executables_with_bad_segments_are_refused_before_execve_commits() {
    let dir = system_tests::linux::TempDir::new("bad-segments");
    let busybox = std::fs::read("/bin/busybox").unwrap();
    // busybox's PT_LOADs are program headers 0..=3: r--, r-x, r--, rw-.
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("overlapping-load", {
            let mut b = busybox.clone();
            set_phdr(&mut b, 2, 16, 0x40_2000); // p_vaddr: inside the text segment
            set_phdr(&mut b, 2, 24, 0x40_2000);
            b
        }),
        ("huge-memsz", {
            let mut b = busybox.clone();
            set_phdr(&mut b, 3, 40, 1 << 40);
            b
        }),
        ("entry-outside", {
            let mut b = busybox.clone();
            b[24..32].copy_from_slice(&0x10u64.to_le_bytes());
            b
        }),
        ("pie-overflow", {
            let mut b = busybox.clone();
            b[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
            for i in 0..4 {
                set_phdr(&mut b, i, 16, 0xffff_ffff_ffff_0000 + i as u64 * 0x1000);
            }
            b
        }),
        ("offset-overflow", {
            let mut b = busybox.clone();
            set_phdr(&mut b, 1, 8, 0xffff_ffff_ffff_f000);
            b
        }),
    ];
    for (name, bytes) in &files {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Linux, in one boot: sh runs each (it would retry an ENOEXEC file as a
    // script; Linux gets past that point and kills the new image instead).
    let mut batch = system_tests::linux::Batch::new().add(dir.path(), "/bad").timeout(300);
    for (name, _) in &files {
        batch = batch.sh(&format!("/bad/{name}"));
    }
    let linux = batch.run(System::Linux);
    linux.assert_complete();
    // Ours: /init execs each file itself and reports the execve error.
    let opts = RunOptions { adds: vec![(dir.path().to_path_buf(), "/bad".into())], ..RunOptions::default() };
    for (i, (name, _)) in files.iter().enumerate() {
        let l = linux.get(i);
        assert_ne!(l.status, Some(0), "{name}: Linux ran it:\n{}", l.output);
        let o = run_command(System::Ours, &[&format!("/bad/{name}")], &opts);
        assert_eq!(o.status, Some(126), "{name}: {}", o.describe());
        assert!(
            o.console.contains(&format!("init: cannot run /bad/{name}: Exec format error")),
            "{name}: {}",
            o.describe()
        );
        assert!(!o.console.contains("PANIC"), "{name}: {}", o.describe());
        eprintln!("{name}: Linux status {:?}; ours ENOEXEC", l.status);
    }
}

#[test]
fn interactive_shell_on_the_console() {
    // No command: /init starts an interactive busybox sh on the console.
    let run = system_tests::Boot::new("", &["pager", "linux-server", "rootfs.cpio"])
        .timeout(120)
        .when("# ", "echo $((6 * 7))\r")
        .when("42", "echo abc\x7fd\r")
        .when("abd", "exit 3\r")
        .run();
    run.expect("42").expect("abd").expect("### exit status 3");
    assert_eq!(run.exit_code(), Some(3), "{}", run.output);
}

/// A damaged initrd stops the boot with a clear message naming the problem
/// and its offset, and a clean power-off (status 125 through isa-debug-exit):
/// never a hang or a panic. Cases, made from the default rootfs image: cut in
/// half, a bad magic, a name length past the end, a file size past the end.
#[test]
fn a_corrupted_initrd_stops_the_boot_with_a_clear_error() {
    let image = std::fs::read(system_tests::artifact("rootfs.cpio")).unwrap();
    let dir = system_tests::linux::TempDir::new("bad-initrd");
    // The header of the entry named `name`: offset of its magic.
    let header_of = |name: &str| -> usize {
        let needle = format!("{name}\0");
        let at = image.windows(needle.len()).position(|w| w == needle.as_bytes()).expect("entry in the image");
        at - 110
    };
    let with_field = |header: usize, field: usize, value: u32| -> Vec<u8> {
        let mut b = image.clone();
        let at = header + 6 + 8 * field;
        b[at..at + 8].copy_from_slice(format!("{value:08x}").as_bytes());
        b
    };
    let busybox = header_of("bin/busybox");
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("truncated", image[..image.len() / 2].to_vec(), "runs past the end of the archive".to_string()),
        (
            "bad-magic",
            {
                let mut b = image.clone();
                b[..6].copy_from_slice(b"070799");
                b
            },
            "offset 0: bad magic".to_string(),
        ),
        (
            "name-past-end",
            with_field(busybox, 11, 0xffff_ffff),
            format!("offset {}: name of 4294967295 bytes runs past the end", busybox + 110),
        ),
        ("huge-file", with_field(busybox, 6, 0xffff_fff0), "data of 4294967280 bytes runs past the end".to_string()),
    ];
    for (name, bytes, want) in &cases {
        let path = dir.write(&format!("{name}.cpio"), bytes);
        let mut boot = system_tests::Boot::new("", &["pager", "linux-server", "rootfs.cpio"]).timeout(60);
        boot.modules[2] = path.to_string_lossy().into_owned();
        let run = boot.run();
        assert!(!run.timed_out(), "{name}: the boot hung:\n{}", run.output);
        let line = run.lines_with("linux-server: the initrd is not a valid cpio archive: ");
        assert_eq!(line.len(), 1, "{name}: no initrd error:\n{}", run.output);
        assert!(line[0].contains(want.as_str()), "{name}: {:?} does not say {want:?}", line[0]);
        run.expect_not("PANIC");
        assert_eq!(run.exit_code(), Some(125), "{name}: {:?}\n{}", run.status, run.output);
        eprintln!("{name}: {}", line[0]);
    }
}
