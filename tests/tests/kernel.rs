//! The microkernel booted in QEMU: the foundation (boot, a user task, the
//! timer, fault isolation) and every kernel test of the `ktest` task.

use system_tests::{Boot, Run};

/// Boot with the kernel test task running `test=NAME`, under `tlb=plain`:
/// most kernel tests run *mirrored* children (spaces that run this task's
/// pages at this task's addresses, in the window), which `tlb=small` rules
/// out by design; the TLB tests below run under the other modes.
fn ktest(name: &str) -> Run {
    ktest_in(name, "plain")
}

/// Boot with the kernel test task running `test=NAME` under `tlb=MODE`.
fn ktest_in(name: &str, mode: &str) -> Run {
    let cmdline = format!("test={name} tlb={mode}");
    let run = Boot::new(&cmdline, &["pager", "ktest"]).timeout(300).run();
    assert!(!run.timed_out(), "ktest {name} hung:\n{}", run.output);
    assert!(
        run.output.contains(&format!("; tlb={mode}\n")) || run.output.contains(&format!("; tlb={mode}\r")),
        "the kernel did not run with tlb={mode}:\n{}",
        run.output
    );
    run.expect(&format!("ktest: {name}: ok")).expect_not("FAILED").expect_not("PANIC");
    assert_eq!(run.exit_code(), Some(0), "ktest {name} did not power off cleanly:\n{}", run.output);
    run
}

#[test]
fn boot_reaches_the_user_task_and_the_timer_ticks() {
    let run = Boot::new("", &["pager"]).timeout(60).run();
    run.expect("kernel: module 0 'pager'")
        .expect("root pager 64.1 started")
        .expect("pager: root pager running")
        .expect("pager: no root server to page; exiting")
        .expect("thread 64.1 of a privileged space exited")
        .expect("kernel: all threads have ended");
    // The kernel reports the ticks of its periodic timer at the end.
    let line = run.lines_with("all threads have ended")[0].to_string();
    let ticks: u64 = line
        .split("; ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tick count in {line:?}"));
    assert!(ticks >= 1, "the timer never ticked: {line}");
    assert_eq!(run.exit_code(), Some(0));
}

#[test]
fn faulting_tasks_are_reported_and_ended_while_another_completes() {
    let run = ktest("fault_isolation");
    // The kernel's diagnostics: vector, error code, RIP, CR2, the task.
    let nul = run.lines_with("unhandled page fault (no handler); vector 14");
    assert!(
        nul.iter().any(|l| l.contains("cr2 0x0;") && l.contains("rip 0x")),
        "no null-deref report:\n{}",
        run.output
    );
    let ud = run.lines_with("unhandled exception (no handler); vector 6");
    assert_eq!(ud.len(), 1, "no #UD report:\n{}", run.output);
    run.expect("the healthy one finished");
}

macro_rules! ktests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                ktest(stringify!($name));
            }
        )*
    };
}

ktests!(
    pingpong,
    open_receive,
    timeouts,
    exregs_cancel,
    exception_ipc,
    linux_syscall,
    restriction,
    preemption,
    priorities,
    user_pager,
    recursive_unmap,
    grant,
    rights,
    no_theft,
    out_of_memory,
    random_syscalls,
    tlb_unmap,
);

/// The stateful kernel fuzzer's short campaign (30,000 operations, seed 1;
/// `scripts/run --ktest fuzz_mem --append "kfuzz_ops=N kfuzz_seed=S"` runs
/// others): no panic or hang, revoked pages fault, and the kernel's memory
/// gauges are back where they started once everything is deleted.
#[test]
fn fuzz_mem_keeps_the_kernel_alive_and_leak_free() {
    let run = ktest("fuzz_mem");
    let summary = run.lines_with("ktest: fuzz_mem: 30000 ops (seed 1)");
    assert_eq!(summary.len(), 1, "no campaign summary:\n{}", run.output);
    let leak = run.lines_with("ktest: fuzz_mem: leak check")[0].to_string();
    for gauge in ["free frames", "mapping nodes", "threads", "spaces"] {
        let part = leak.split(", ").find(|p| p.contains(gauge)).unwrap_or_else(|| panic!("no {gauge} in {leak}"));
        let nums: Vec<&str> = part.rsplit(' ').collect();
        assert_eq!(nums[0], nums[2], "{gauge} leaked: {leak}");
    }
    assert!(summary[0].contains("probes checked") && !summary[0].contains(" 0 probes checked"), "{}", summary[0]);
    eprintln!("{}\n{leak}", summary[0]);
}

/// A shorter campaign under `kcheck`: the kernel cross-checks its mapping
/// database and every page table after each operation (and panics if they
/// disagree), which catches a wrong page-table entry the probes miss.
#[test]
fn fuzz_mem_under_the_kernel_self_check() {
    let run =
        Boot::new("test=fuzz_mem kfuzz_ops=1500 kfuzz_seed=3 kcheck tlb=plain", &["pager", "ktest"]).timeout(300).run();
    assert!(!run.timed_out(), "fuzz_mem under kcheck hung:\n{}", run.output);
    run.expect("kcheck: checking the mapping database")
        .expect("ktest: fuzz_mem: 1500 ops (seed 3)")
        .expect("ktest: fuzz_mem: ok")
        .expect_not("FAILED")
        .expect_not("PANIC");
    assert_eq!(run.exit_code(), Some(0), "{}", run.output);
}

#[test]
fn small_spaces_are_isolated_and_switch_without_cr3_loads() {
    let run = ktest_in("small_spaces", "small");
    // The figures behind the check, for the log.
    let line = run.lines_with("100 exception round trips")[0].to_string();
    eprintln!("{line}");
}

#[test]
fn unmap_takes_effect_under_small_spaces() {
    ktest_in("tlb_unmap", "small");
}

/// Under `tlb=small` the kernel refuses to map a window page executable if
/// it holds WRPKRU (0f 01 ef), also across an edge with an executable
/// neighbour — and the root pager and the linux-server are small spaces, so
/// such bytes anywhere in their code (an unlucky immediate, say) would stop
/// the boot at the first fault there. This finds them in the build instead.
#[test]
fn small_space_images_hold_no_wrpkru() {
    let limits =
        elfload::Limits { min_addr: 0, max_addr: abi::USER_END, max_total: 1 << 30, pie_base: abi::WINDOW_BASE };
    for name in ["pager", "linux-server", "ktest"] {
        let path = system_tests::root().join("build").join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let plan = elfload::Plan::parse(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let (lo, hi) = plan.extent();
        let mut page = [0u8; 4096];
        let mut before: Option<[u8; 2]> = None;
        let mut found = Vec::new();
        for va in (lo..hi).step_by(4096) {
            let exec = plan.fill_page(&bytes, va, &mut page).is_some_and(|r| r.exec);
            if !exec {
                before = None;
                continue;
            }
            // The edge with the next page is seen when that page is scanned.
            if abi::window::contains_wrpkru(before, &page, None) {
                found.push(format!("{va:#x}"));
            }
            before = Some([page[4094], page[4095]]);
        }
        assert!(found.is_empty(), "{name}: WRPKRU in executable page(s) {found:?}; change the code there");
    }
}

#[test]
fn a_tlb_mode_the_cpu_lacks_falls_back_with_a_warning() {
    // QEMU's TCG offers protection keys but no PCID.
    let run = Boot::new("test=tlb_unmap tlb=pcid", &["pager", "ktest"]).timeout(120).run();
    run.expect("tlb=pcid: the CPU has no PCID; using tlb=small").expect("ktest: tlb_unmap: ok");
    let run = Boot::new("test=tlb_unmap tlb=fast", &["pager", "ktest"]).timeout(120).run();
    run.expect("tlb=fast: unknown tlb= value").expect("ktest: tlb_unmap: ok");
}

#[test]
fn serial_interrupts_arrive_as_ipc() {
    let run =
        Boot::new("test=serial_irq", &["pager", "ktest"]).timeout(120).when("ready for input", "hello-irq\n").run();
    run.expect("ktest: serial_irq: ok");
    let got = run.lines_with("read \"hello-irq\"");
    assert_eq!(got.len(), 1, "the typed line did not arrive through IRQ 4:\n{}", run.output);
}

#[test]
fn a_hung_guest_fails_instead_of_hanging() {
    // The kernel test task waits 30 s for serial input nobody types; the
    // harness's timeout must end QEMU first.
    let run = Boot::new("test=serial_irq", &["pager", "ktest"]).timeout(3).run();
    assert!(run.timed_out(), "expected a timeout, got {:?}:\n{}", run.status, run.output);
}
