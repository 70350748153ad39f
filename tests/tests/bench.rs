//! `scripts/bench --quick`: the benchmark suite runs on both systems and its
//! output parses into a complete report — every row has a number for native
//! Linux, for ours with trapped system calls and for ours with the libc shim
//! (whose measuring processes made every system call as direct IPC), the
//! pipe table has the shim's row and the kernel's IPC rows, and the chart is
//! written. It judges no speed (timings under QEMU are noise at this size);
//! `scripts/bench` without --quick produces the figures.

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
        // Linux, ours and ours with the shim carry a number, and the ratio
        // was computed.
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        for (i, what) in [(2, "native Linux"), (3, "ours (trap)"), (5, "ours (shim)")] {
            let n: f64 = cells[i].split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(-1.0);
            assert!(n > 0.0, "row {r:?}: no positive value for {what}: {line}");
        }
        assert!(cells[4].ends_with('×'), "row {r:?}: no ratio: {line}");
        assert!(cells[5].ends_with("×)"), "row {r:?}: no ratio for the shim: {line}");
        // Our kernel's address-space switches are reported beside every row.
        assert!(cells[8].parse::<f64>().is_ok(), "row {r:?}: no CR3 loads per operation: {line}");
    }
    for r in [
        "(1) Linux pipe",
        "(1a) our pipe, libc shim",
        "(1b) our pipe",
        "(2) raw IPC pipe",
        "(3) synchronous IPC RPC",
        "(4) synchronous mapping RPC",
    ] {
        let line =
            report.lines().find(|l| l.starts_with(&format!("| {r}"))).unwrap_or_else(|| panic!("no {r:?}:\n{report}"));
        assert!(!line.contains("failed"), "{line}");
        if r.starts_with("(1") {
            // Latency and bandwidth are numbers.
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            for c in &cells[2..4] {
                let n: f64 = c.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(-1.0);
                assert!(n > 0.0, "{r:?}: no number in {c:?}: {line}");
            }
        }
    }
    // The shim suite's own system calls all went direct, the trap suite's
    // all trapped ("shim suite D of N direct (..%); trap suite 0 of M direct").
    let counts = report
        .lines()
        .find(|l| l.starts_with("The system calls of the measuring processes"))
        .unwrap_or_else(|| panic!("no system-call counts in the report:\n{report}"));
    let of = |after: &str| -> (u64, u64) {
        let rest = counts.split(after).nth(1).unwrap_or_else(|| panic!("no {after:?} in {counts:?}"));
        let w: Vec<&str> = rest.split_whitespace().collect();
        match (w.first().and_then(|v| v.parse().ok()), w.get(2).and_then(|v| v.parse().ok())) {
            (Some(d), Some(n)) if w.get(1) == Some(&"of") => (d, n),
            _ => panic!("unexpected counts after {after:?}: {counts:?}"),
        }
    };
    let (direct, n) = of("shim suite ");
    assert!(n > 0 && direct == n, "the shim suite trapped some system calls: {counts}");
    let (direct, n) = of("trap suite ");
    assert!(n > 0 && direct == 0, "the trap suite made direct calls: {counts}");
    // The tagged-TLB comparison: every row measured with tlb=small and
    // tlb=plain (TCG has protection keys), with switch counts.
    let at = report.find("### Tagged TLB: tlb=small against tlb=plain").expect("no tagged-TLB table");
    for r in rows {
        let line = report[at..]
            .lines()
            .find(|l| l.starts_with(&format!("| {r}")))
            .unwrap_or_else(|| panic!("no row {r:?} in the tagged-TLB table:\n{report}"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        for i in [2, 3, 4, 5, 6] {
            let n: f64 = cells[i].split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(-1.0);
            assert!(n >= 0.0, "tagged-TLB row {r:?}: cell {i} is not a number: {line}");
        }
        assert!(cells[7].ends_with('×'), "tagged-TLB row {r:?}: no ratio: {line}");
    }
    let svg = std::fs::read_to_string(out.path().join("benchmarks-linux.svg")).expect("the chart");
    assert!(svg.starts_with("<svg") && svg.contains("fork + exit") && svg.contains(", shim</text>"), "{svg}");
}
