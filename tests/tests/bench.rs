//! `scripts/bench --quick`: the benchmark suite runs on both systems and its
//! output parses into a complete report — every row has a number for native
//! Linux and for ours, the pipe table has the kernel's IPC rows, and the
//! chart is written. It judges no speed (timings under QEMU are noise at
//! this size); `scripts/bench` without --quick produces the figures.

use std::process::Command;
use system_tests::linux::TempDir;
use system_tests::root;

#[test]
fn quick_benchmark_runs_and_parses_on_both_systems() {
    let out = TempDir::new("bench");
    let run = Command::new(root().join("scripts/bench"))
        .arg("--quick")
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("starting scripts/bench");
    let log = format!("{}\n{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "scripts/bench --quick failed:\n{log}");
    let report = std::fs::read_to_string(out.path().join("benchmarks-linux.md")).expect("the report");
    let rows = [
        "null syscall",
        "read 1 byte /dev/zero",
        "write 1 byte /dev/null",
        "stat",
        "open + close",
        "pipe latency",
        "pipe bandwidth",
        "context switch, 2 processes",
        "context switch, 8 processes",
        "fork + exit",
        "fork + execve",
        "fork + sh -c",
        "signal handler install",
        "signal catch",
        "page fault (mapped file)",
        "mmap + munmap 1 MiB",
        "brk growth",
    ];
    for r in rows {
        let line = report
            .lines()
            .find(|l| l.starts_with(&format!("| {r} ")))
            .unwrap_or_else(|| panic!("no row {r:?} in the report:\n{report}"));
        assert!(!line.contains("failed"), "row {r:?} has no result on one system: {line}\n{report}");
        // Linux and ours both carry a number, and the ratio was computed.
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        for (i, what) in [(2, "native Linux"), (3, "ours")] {
            let n: f64 = cells[i].split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(-1.0);
            assert!(n > 0.0, "row {r:?}: no positive value for {what}: {line}");
        }
        assert!(cells[4].ends_with('×'), "row {r:?}: no ratio: {line}");
        // Our kernel's address-space switches are reported beside every row.
        assert!(cells[8].parse::<f64>().is_ok(), "row {r:?}: no CR3 loads per operation: {line}");
    }
    for r in [
        "(1) Linux pipe",
        "(1b) our pipe",
        "(2) raw IPC pipe",
        "(3) synchronous IPC RPC",
        "(4) synchronous mapping RPC",
    ] {
        let line =
            report.lines().find(|l| l.starts_with(&format!("| {r}"))).unwrap_or_else(|| panic!("no {r:?}:\n{report}"));
        assert!(!line.contains("failed"), "{line}");
    }
    let svg = std::fs::read_to_string(out.path().join("benchmarks-linux.svg")).expect("the chart");
    assert!(svg.starts_with("<svg") && svg.contains("fork + exit"), "{svg}");
}
