//! The microkernel booted in QEMU: the foundation (boot, a user task, the
//! timer, fault isolation) and every kernel test of the `ktest` task.

use system_tests::{Boot, Run};

/// Boot with the kernel test task running `test=NAME`.
fn ktest(name: &str) -> Run {
    let cmdline = format!("test={name}");
    let run = Boot::new(&cmdline, &["pager", "ktest"]).timeout(300).run();
    assert!(!run.timed_out(), "ktest {name} hung:\n{}", run.output);
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
);

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
