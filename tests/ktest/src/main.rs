//! The kernel test task. Booted as the second initial server with
//! `test=NAME[,NAME...]` (or `test=all`) on the kernel command line, it runs
//! each test, prints `ktest: NAME: ok` or `ktest: NAME: FAILED: why`, and
//! powers off with status 0 if everything passed, 1 otherwise. The host side
//! (`tests/`, scripts/test) boots it and checks the output.
//!
//! `test=bench` runs the kernel microbenchmarks instead.

#![no_std]
#![no_main]

extern crate alloc;

mod bench;
mod fuzz;
mod fuzz_mem;
mod harness;
mod insn;
mod ipc_tests;
mod mem_tests;
mod sched_tests;
mod tlb_tests;

use alloc::string::String;
use core::sync::atomic::Ordering;
use harness::Ctx;
use rt::println;

rt::entry!(main);
rt::declare_heap!(4 << 20);

type TestFn = fn(&Ctx) -> Result<(), String>;

const TESTS: &[(&str, TestFn)] = &[
    ("pingpong", ipc_tests::pingpong),
    ("open_receive", ipc_tests::open_receive),
    ("timeouts", ipc_tests::timeouts),
    ("exregs_cancel", ipc_tests::exregs_cancel),
    ("exception_ipc", ipc_tests::exception_ipc),
    ("linux_syscall", ipc_tests::linux_syscall),
    ("restriction", ipc_tests::restriction),
    ("preemption", sched_tests::preemption),
    ("priorities", sched_tests::priorities),
    ("fault_isolation", sched_tests::fault_isolation),
    ("user_pager", mem_tests::user_pager),
    ("recursive_unmap", mem_tests::recursive_unmap),
    ("grant", mem_tests::grant),
    ("rights", mem_tests::rights),
    ("no_theft", mem_tests::no_theft),
    ("out_of_memory", mem_tests::out_of_memory),
    ("tlb_unmap", tlb_tests::tlb_unmap),
    ("random_syscalls", |c| fuzz::random_syscalls(c, fuzz_calls(), fuzz_seed())),
    ("fuzz_mem", |c| fuzz_mem::fuzz_mem(c, kfuzz_ops(), kfuzz_seed())),
];

/// Tests not in `all`: they need input, or measure instead of test.
const EXTRA: &[(&str, TestFn)] = &[
    ("serial_irq", sched_tests::serial_irq),
    // Needs tlb=small (the others, with mirrored children, tlb=plain or pcid).
    ("small_spaces", tlb_tests::small_spaces),
    ("trace_ipc", bench::trace),
    ("bench", |c| {
        bench::ipc(c)?;
        bench::memory(c)
    }),
];

fn fuzz_calls() -> u64 {
    rt::kip::kip().cmdline_arg("fuzz_calls").and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn fuzz_seed() -> u64 {
    rt::kip::kip().cmdline_arg("fuzz_seed").and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// Operations of the `fuzz_mem` campaign (`kfuzz_ops=N`; the default is
/// the short campaign scripts/test runs).
fn kfuzz_ops() -> u64 {
    rt::kip::kip().cmdline_arg("kfuzz_ops").and_then(|v| v.parse().ok()).unwrap_or(30_000)
}

fn kfuzz_seed() -> u64 {
    rt::kip::kip().cmdline_arg("kfuzz_seed").and_then(|v| v.parse().ok()).unwrap_or(1)
}

fn main() {
    let kip = rt::kip::kip();
    let me = rt::utcb::Utcb::current().my_id();
    harness::MAIN.store(me.0, Ordering::Release);
    let (mirror, _mirror_stack) = harness::start_mirror(me);
    let ctx = Ctx { me, mirror };
    let wanted = kip.cmdline_arg("test").unwrap_or("all");
    let mut selected: alloc::vec::Vec<(&str, TestFn)> = alloc::vec::Vec::new();
    for name in wanted.split(',') {
        if name == "all" {
            selected.extend_from_slice(TESTS);
        } else if let Some(t) = TESTS.iter().chain(EXTRA).find(|t| t.0 == name) {
            selected.push(*t);
        } else {
            println!("ktest: unknown test '{name}'");
            let _ = rt::sys::shutdown(1);
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in selected {
        println!("ktest: running {name}");
        match f(&ctx) {
            Ok(()) => {
                println!("ktest: {name}: ok");
                passed += 1;
            }
            Err(why) => {
                println!("ktest: {name}: FAILED: {why}");
                failed += 1;
            }
        }
        mem_tests::release_all();
    }
    println!("ktest: summary: {passed} passed, {failed} failed");
    let _ = rt::sys::shutdown(if failed == 0 { 0 } else { 1 });
}
