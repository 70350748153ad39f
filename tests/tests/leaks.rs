//! Fault injection without leaks: t_killstorm (tests/linux/progs) kills
//! processes in every state the server has — blocked in pipes, mid-fork,
//! with copy-on-write children, in futex waits, stopped — and checks that
//! no other process's data suffers. Run three times in one boot, what the
//! system holds must come back: the first round warms the page cache (the
//! programs' text stays cached, as on Linux) and grows tables to their
//! working size, so rounds two and three must end holding the same —
//! the server's pool frames, processes, threads, address spaces and inodes
//! (/proc/l4/memory), the kernel's free frames, threads and spaces
//! (/proc/l4/counters) — and about the same heaps and mapping nodes.

use system_tests::linux::{run_command, RunOptions, System};
use system_tests::root;

#[test]
fn killing_processes_anywhere_leaks_no_memory_and_no_processes() {
    let script = "for i in 1 2 3; do \
                    /tests/t_killstorm >/dev/null || echo round $i: t_killstorm failed; \
                    echo round $i; cat /proc/l4/memory; \
                    grep -E '^(kmem_free_frames|kmem_heap_used|mapping_nodes|live_threads|live_spaces) ' /proc/l4/counters; \
                    echo proc_entries $(ls /proc | grep -c '^[0-9]'); \
                  done";
    let opts = RunOptions {
        adds: vec![(root().join("build/linux-tests"), "/tests".to_string())],
        timeout: 600,
        ..RunOptions::default()
    };
    let o = run_command(System::Ours, &["/bin/sh", "-c", script], &opts);
    let out = o.output();
    assert_eq!(o.status, Some(0), "{}", o.describe());
    assert!(!out.contains("failed"), "{}", o.describe());
    let figures = |name: &str| -> Vec<u64> {
        out.lines().filter_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).collect()
    };
    let exact = [
        "pool_frames_used",
        "processes",
        "threads",
        "address_spaces",
        "inodes",
        "proc_entries",
        "kmem_free_frames",
        "live_threads",
        "live_spaces",
    ];
    for name in exact {
        let v = figures(name);
        assert_eq!(v.len(), 3, "{name}: {}", o.describe());
        println!("{name} {v:?}");
        assert_eq!(v[1], v[2], "{name} after rounds 2 and 3: {v:?}");
    }
    // Heaps keep the capacity their tables grew to, and the shell running
    // the rounds touches a page or two more each time (its mappings are
    // among the kernel's mapping nodes); a leak per killed process (a
    // round kills hundreds) would be far more than these margins.
    for (name, margin) in [("heap_bytes_used", 8192), ("kmem_heap_used", 8192), ("mapping_nodes", 32)] {
        let v = figures(name);
        assert_eq!(v.len(), 3, "{name}: {}", o.describe());
        println!("{name} {v:?}");
        assert!(v[2] <= v[1] + margin, "{name} grew in round 3: {v:?}");
    }
}
