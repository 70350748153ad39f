//! Robustness: a seeded campaign of random Linux system calls
//! (tests/linux/ours/fuzz_syscalls.c, the program `scripts/fuzz` runs for
//! long campaigns) must leave the kernel, the pager and the linux-server
//! running, the system usable, and the server's memory where it was; and
//! the regressions of what fuzzing found that cannot be compared with
//! native Linux (the rest are in tests/linux/progs/t_fuzzfound.c).

use std::collections::BTreeMap;
use system_tests::linux::{run_command, Outcome, RunOptions, System};
use system_tests::root;

/// The campaign `scripts/test` runs: about a minute of TCG on a 2-core
/// host (1,200-1,800 calls/s), boot included.
const SEED: u64 = 1;
const CALLS: u64 = 50_000;
/// Heap bytes the server may hold more after the campaign than before it
/// (hash tables keep their grown capacity); anything else must be back
/// exactly. A leak of one object per forked child (~100 children) or per
/// call would exceed it.
const HEAP_SLACK: i64 = 64 << 10;

fn fuzz_binary() -> std::path::PathBuf {
    root().join("build/linux-tests/fuzz_syscalls")
}

fn ours_sh(script: &str, timeout: u64) -> Outcome {
    let opts = RunOptions {
        adds: vec![(fuzz_binary(), "/tests/fuzz_syscalls".to_string())],
        timeout,
        ..RunOptions::default()
    };
    run_command(System::Ours, &["/bin/sh", "-c", script], &opts)
}

/// The `key value` lines of the /proc/l4/memory copy after `marker`.
fn memory_after(console: &str, marker: &str) -> BTreeMap<String, i64> {
    let start = console.find(marker).unwrap_or_else(|| panic!("no {marker:?} in the console:\n{console}"));
    console[start + marker.len()..]
        .lines()
        .skip(1)
        .map_while(|l| {
            let mut w = l.split_whitespace();
            let (k, v) = (w.next()?, w.next()?.parse().ok()?);
            Some((k.to_string(), v))
        })
        .collect()
}

/// Text that means a kernel, pager or server failure.
fn failure_lines(console: &str) -> Vec<&str> {
    console
        .lines()
        .filter(|l| {
            l.contains("PANIC") || l.contains("panicked") || l.contains("WARN thread") || l.contains("PARENT ERROR")
        })
        .collect()
}

#[test]
fn seeded_syscall_campaign_leaves_the_system_usable_and_memory_unchanged() {
    // A short warm-up with another seed first: first-use growth (the
    // fuzzer's text in the page cache, tables) is not a leak.
    let script = format!(
        "/tests/fuzz_syscalls {} 2000 >/dev/null\n\
         echo @@@mem before; cat /proc/l4/memory\n\
         /tests/fuzz_syscalls {SEED} {CALLS}; echo \"@@@fuzz status $?\"\n\
         echo @@@mem after; cat /proc/l4/memory\n\
         echo after-fuzz; ls /",
        SEED ^ 1
    );
    let o = ours_sh(&script, 400);
    let console = &o.console;
    let failures = failure_lines(console);
    assert!(failures.is_empty(), "kernel, pager or server failure: {failures:?}\n{}", o.describe());
    assert_eq!(o.status, Some(0), "{}", o.describe());
    // The summary line, with every call issued.
    let summary = console
        .lines()
        .find(|l| l.starts_with("fuzz: seed "))
        .unwrap_or_else(|| panic!("no summary line:\n{}", o.describe()));
    let field = |name: &str| -> u64 {
        let mut w = summary.split_whitespace();
        w.find(|x| *x == name).and_then(|_| w.next()).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            panic!("no {name} in {summary:?}");
        })
    };
    assert_eq!(field("seed"), SEED, "{summary}");
    assert_eq!(field("calls"), CALLS, "{summary}");
    assert_eq!(field("parent_errors"), 0, "{summary}");
    assert!(field("children") >= CALLS / 1000, "{summary}");
    assert!(console.contains("@@@fuzz status 0"), "{}", o.describe());
    // Still usable: a command after the campaign ran and printed.
    let after = &console[console.find("after-fuzz").unwrap_or_else(|| panic!("{}", o.describe()))..];
    for dir in ["bin", "dev", "proc", "tmp"] {
        assert!(after.lines().any(|l| l.split_whitespace().any(|w| w == dir)), "ls / after the fuzzer: {after}");
    }
    // Memory back where it was.
    let before = memory_after(console, "@@@mem before");
    let after = memory_after(console, "@@@mem after");
    for key in ["pool_frames_used", "file_bytes", "inodes", "processes", "threads", "address_spaces"] {
        let (b, a) = (before.get(key), after.get(key));
        assert!(b.is_some() && b == a, "{key}: {b:?} before the campaign, {a:?} after ({summary})");
    }
    let (b, a) = (before["heap_bytes_used"], after["heap_bytes_used"]);
    assert!(a - b <= HEAP_SLACK, "server heap: {b} bytes before, {a} after ({summary})");
    println!("{summary}\nserver heap {b} -> {a} bytes; pool frames {}", after["pool_frames_used"]);
}

/// Found by the fuzzer (truncate to 512 MiB): files live in the server's
/// heap, and one big enough took all of it, so the server's next allocation
/// failed (TASK PANIC). Now files together are limited (ENOSPC past it, as a
/// full tmpfs) and the server survives; the bytes come back on unlink.
#[test]
fn files_cannot_exhaust_the_server() {
    let o = ours_sh(
        "truncate -s 600M /tmp/big; echo \"truncate $?\"; \
         dd if=/dev/zero of=/tmp/big2 bs=1048576 count=400 2>/dev/null; echo \"dd $?\"; \
         ls -l /tmp/big2 | awk '{ print \"size\", $5 }'; rm -f /tmp/big /tmp/big2; \
         grep file_bytes /proc/l4/memory; echo still-alive",
        300,
    );
    assert!(failure_lines(&o.console).is_empty(), "{}", o.describe());
    assert_eq!(o.status, Some(0), "{}", o.describe());
    let out = o.output();
    assert!(out.contains("truncate 1"), "truncate -s 600M must fail (ENOSPC): {}", o.describe());
    assert!(out.contains("dd 1"), "a 400 MiB file must not fit: {}", o.describe());
    let size: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("size ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}", o.describe()));
    assert!(size >= 64 << 20 && size < 400 << 20, "the file filled up to the limit: {size} bytes");
    assert!(out.contains("file_bytes 0\n"), "file bytes back after rm: {}", o.describe());
    assert!(out.contains("still-alive"), "{}", o.describe());
}
