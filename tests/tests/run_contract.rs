//! The `scripts/run` command-line contract (README, "Two commands"), checked
//! on native Linux (`--linux`), where the whole path works today, and as far
//! as the linux-server gets on our system.
//!
//! Every boot of Linux costs ~6 s of TCG, so each test below is one boot and
//! checks everything it can from it. Needs `scripts/build` (`scripts/test`
//! runs it first).

use std::time::Duration;

use system_tests::linux::{run_command, Batch, Outcome, RunOptions, System, TempDir};
use system_tests::root;

fn linux(argv: &[&str], opts: &RunOptions) -> Outcome {
    let o = run_command(System::Linux, argv, opts);
    eprintln!("{argv:?} on Linux: {:.1} s", o.elapsed.as_secs_f64());
    o
}

#[test]
fn echo_prints_only_its_output_and_exits_0() {
    let o = linux(&["/bin/echo", "hello"], &RunOptions::default());
    assert_eq!(o.status, Some(0), "{}", o.describe());
    // The kernel stays quiet: the console is the command's output and the
    // status line, nothing else.
    assert_eq!(o.console, "hello\n### exit status 0\n", "{}", o.describe());
    assert_eq!(o.output(), "hello\n");
    assert_eq!(o.reported_status(), Some(0));
}

#[test]
fn exit_status_arguments_environment_and_added_files() {
    let t = TempDir::new("contract");
    let note = t.write("note.txt", b"a note from the host\n");
    std::fs::create_dir(t.path().join("tree")).unwrap();
    t.write("tree/inner.txt", b"inside a tree\n");
    let opts = RunOptions {
        adds: vec![(note, "/srv/note.txt".into()), (t.path().join("tree"), "/srv/tree".into())],
        ..RunOptions::default()
    };
    // argv reaches the command exactly: spaces, quotes and an empty argument.
    let script = r#"cat /srv/note.txt /srv/tree/inner.txt; printf '<%s>' "$0" "$@"; echo;
        echo "PATH=$PATH HOME=$HOME TERM=$TERM"; echo "pwd=$(pwd)"; exit 7"#;
    let o = linux(&["/bin/sh", "-c", script, "zero arg", "it's", "", "two  spaces"], &opts);
    assert_eq!(o.status, Some(7), "{}", o.describe());
    assert_eq!(
        o.output(),
        "a note from the host\ninside a tree\n<zero arg><it's><><two  spaces>\n\
         PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=linux\npwd=/\n",
        "{}",
        o.describe()
    );
}

#[test]
fn a_command_killed_by_a_signal_exits_128_plus_n() {
    // Relative argv[0] is looked up in PATH, too.
    let o = linux(&["sh", "-c", "echo before; kill -SEGV $$; echo after"], &RunOptions::default());
    assert_eq!(o.status, Some(128 + 11), "{}", o.describe());
    assert_eq!(o.output(), "before\n", "{}", o.describe());
}

#[test]
fn a_hang_ends_at_the_timeout_with_a_message() {
    let opts = RunOptions { timeout: 15, ..RunOptions::default() };
    let o = linux(&["/bin/sh", "-c", "echo waiting; sleep 1000"], &opts);
    assert_eq!(o.status, Some(124), "{}", o.describe());
    assert!(o.stderr.contains("run: timed out after 15 seconds"), "{}", o.describe());
    assert!(o.elapsed < Duration::from_secs(15 + 10), "{}", o.describe());
}

#[test]
fn a_batch_reports_each_commands_output_and_status() {
    let batch = Batch::new()
        .cmd(&["/bin/echo", "one"])
        .sh("echo two; echo to-stderr >&2; printf no-newline; exit 3")
        .sh("echo three; kill -TERM $$")
        .cmd(&["no-such-command"])
        .cmd(&["cat"]); // stdin is /dev/null: ends at once instead of hanging
    let run = batch.run(System::Linux);
    eprintln!("batch on Linux: {:.1} s", run.outcome.elapsed.as_secs_f64());
    run.assert_complete();
    assert_eq!(run.outcome.status, Some(0), "{}", run.outcome.describe());
    assert_eq!(run.results.len(), 5);
    let r = |i: usize| (run.get(i).output.as_str(), run.get(i).status.unwrap());
    assert_eq!(r(0), ("one\n", 0));
    assert_eq!(r(1), ("two\nto-stderr\nno-newline", 3));
    assert_eq!(r(2), ("three\n", 128 + 15));
    assert_eq!(r(3).1, 127);
    assert!(r(3).0.contains("no-such-command"), "{:?}", r(3));
    assert_eq!(r(4), ("", 0));
    assert_eq!(run.results[0].argv, vec!["/bin/echo", "one"]);
}

#[test]
fn our_system_boots_the_rootfs_as_the_third_module() {
    // The command comes from the rootfs (boot module 2): its output and
    // status are the evidence that the archive arrived and was unpacked.
    let o = run_command(System::Ours, &["/bin/echo", "hello"], &RunOptions { timeout: 120, ..RunOptions::default() });
    assert_eq!(o.reported_status(), Some(0), "{}", o.describe());
    assert_eq!(o.status, Some(0), "{}", o.describe());
    assert_eq!(o.output(), "hello\n", "{}", o.describe());
}

#[test]
fn bad_usage_exits_2_before_booting() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(root().join("scripts/run")).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for args in [
        &["--no-build", "--bogus"][..],
        &["--no-build", "--"],
        &["--no-build", "--add", "no-colon", "--", "true"],
        &["--no-build", "--timeout", "soon", "--", "true"],
        &["--no-build", "--add", "/no/such/host/file:/x", "--", "true"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?} printed no message");
    }
}
