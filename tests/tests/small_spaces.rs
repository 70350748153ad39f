//! Linux processes and the small address spaces (`tlb=small`): the root
//! pager and the linux-server sit in the window of every process's page
//! table, kept apart by protection keys, so the linux-server enforces W^X
//! and refuses executable WRPKRU for Linux processes (linux-server/src/mm/wx.rs).
//! The same checks run under `tlb=plain`, where the window is simply absent
//! and Linux's RWX rules apply.

use std::path::PathBuf;
use system_tests::linux::{run_command, Outcome, RunOptions, System, TempDir};
use system_tests::root;

fn run(mode: &str, argv: &[&str], adds: Vec<(PathBuf, String)>) -> Outcome {
    let opts = RunOptions { adds, append: Some(format!("tlb={mode}")), timeout: 180, ..RunOptions::default() };
    run_command(System::Ours, argv, &opts)
}

/// `name value` lines of /proc/l4/tlb as printed in `text`.
fn tlb_figure(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn linux_processes_cannot_reach_the_small_spaces_nor_run_wrpkru() {
    let tests = vec![(root().join("build/linux-tests"), "/tests".to_string())];
    for mode in ["small", "plain"] {
        let o = run(mode, &["/bin/sh", "-c", "/tests/t_window; s=$?; cat /proc/l4/tlb; exit $s"], tests.clone());
        let out = o.output();
        assert_eq!(o.status, Some(0), "tlb={mode}: {}", o.describe());
        assert!(out.contains(&format!("mode {mode}\n")), "tlb={mode}: {}", o.describe());
        let passed = out
            .lines()
            .find_map(|l| l.strip_prefix("t_window: ")?.strip_suffix(" passed, 0 failed")?.parse::<u32>().ok());
        assert!(passed.is_some_and(|n| n >= 24), "tlb={mode}: {}", o.describe());
        let figure = |name| tlb_figure(&out, name).unwrap_or_else(|| panic!("no {name} in {}", o.describe()));
        if mode == "small" {
            assert_eq!(figure("wx_enforced"), 1);
            // The file mapped executable, and the two pages rewritten under
            // an executable mapping, were refused at their execute faults.
            assert!(figure("wrpkru_pages") >= 3, "{}", o.describe());
            // mmap RWX, mprotect RWX, and three mprotects of WRPKRU code.
            assert!(figure("refused_calls") >= 5, "{}", o.describe());
            assert!(figure("revocations") >= 2, "{}", o.describe());
        } else {
            for name in ["wx_enforced", "wrpkru_pages", "refused_calls", "revocations"] {
                assert_eq!(figure(name), 0, "{name} under tlb=plain: {}", o.describe());
            }
        }
    }
}

/// An executable whose code segment is also writable (as `ld -N` makes
/// them): refused with EACCES under `tlb=small`, run as on Linux otherwise.
#[test]
fn writable_code_segments_are_refused_under_small_spaces_only() {
    let dir = TempDir::new("rwx-elf");
    // Busybox, named after the applet it is to run.
    let mut elf = std::fs::read("/bin/busybox").unwrap();
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(&elf, 54), u16_at(&elf, 56));
    let mut patched = 0;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap());
        let flags = u32::from_le_bytes(elf[ph + 4..ph + 8].try_into().unwrap());
        if p_type == 1 && flags & 1 != 0 {
            elf[ph + 4..ph + 8].copy_from_slice(&(flags | 2).to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 1, "busybox has one code segment");
    let path = dir.write("echo", &elf);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let adds = vec![(dir.path().to_path_buf(), "/rwx".to_string())];

    let o = run("small", &["/rwx/echo", "ran"], adds.clone());
    assert_eq!(o.status, Some(126), "{}", o.describe());
    assert!(o.console.contains("init: cannot run /rwx/echo: Permission denied"), "{}", o.describe());

    let o = run("plain", &["/rwx/echo", "ran"], adds);
    assert_eq!(o.status, Some(0), "{}", o.describe());
    assert!(o.output().contains("ran\n"), "{}", o.describe());
}
