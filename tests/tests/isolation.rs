//! Isolation of Linux processes from everything but their linux-server,
//! through the microkernel's own calls (tests/linux/ours/t_isolation.c):
//! IPC only to the server's space, no privileged call, no call on other
//! spaces' threads, and — for a Linux-personality thread — no kernel call
//! but IPC and YIELD at all, so it cannot delete itself behind the server's
//! back or unmap its pages. Both builds: the libc-shim build reaches the
//! server by direct IPC, the plain one by trapping.

use system_tests::linux::{run_command, RunOptions, System};
use system_tests::root;

#[test]
fn linux_processes_reach_nothing_but_their_server() {
    for build in ["linux-tests", "linux-tests-shim"] {
        let opts = RunOptions {
            adds: vec![(root().join("build").join(build), "/tests".to_string())],
            timeout: 120,
            ..RunOptions::default()
        };
        let o = run_command(System::Ours, &["/tests/t_isolation"], &opts);
        assert_eq!(o.status, Some(0), "{build}: {}", o.describe());
        let passed = o
            .output()
            .lines()
            .find_map(|l| l.strip_prefix("t_isolation: ")?.strip_suffix(" passed, 0 failed")?.parse::<u32>().ok());
        assert!(passed.is_some_and(|n| n >= 20), "{build}: {}", o.describe());
    }
}
