//! bench_report: turns the raw outputs of one `scripts/bench` run into the
//! report — a Markdown file with, per QEMU mode, the lmbench-style table
//! (native Linux, ours with trapped system calls, ratio, ours with the libc
//! shim, switches per operation), trapped vs direct system calls, the
//! paper's pipe table (Table 4 layout) and the goals; and an SVG chart of the
//! slowdowns (the paper's lmbench figure).
//!
//!   bench_report RAW_DIR OUT.md OUT.svg
//!
//! RAW_DIR holds `meta` (`key: value` lines: date, qemu, host_cpu, modes,
//! and `skipped_<mode>: reason`) and, per mode, `<mode>-linux.txt`,
//! `<mode>-ours.txt` (the musl-gcc binaries: trapped system calls) and
//! `<mode>-ours-shim.txt` (the shim-gcc binaries: direct IPC) — consoles of
//! run-all: `@bench ROW VALUE UNIT ops=N reps=R ctxt=C cr3=X` lines, and on
//! ours `@bench-syscalls PROGRAM trapped=T direct=D` —, and
//! `<mode>-kernel.txt` (the kernel benchmarks: `bench: NAME ops=N cycles=C
//! ns=T cr3=R mbps=M`). Every number in the report is parsed from these
//! files; a row that is missing on one system says so instead of a number.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The lmbench-style rows, in report order: (row, label, higher is better).
const ROWS: &[(&str, &str, bool)] = &[
    ("null_syscall", "null syscall (getppid)", false),
    ("read_dev_zero", "read 1 byte /dev/zero", false),
    ("write_dev_null", "write 1 byte /dev/null", false),
    ("stat", "stat", false),
    ("open_close", "open + close", false),
    ("pipe_latency", "pipe latency (round trip)", false),
    ("pipe_bandwidth", "pipe bandwidth (64 KiB)", true),
    ("ctx_switch_2", "context switch, 2 processes", false),
    ("ctx_switch_8", "context switch, 8 processes", false),
    ("fork_exit", "fork + exit", false),
    ("fork_exec", "fork + execve", false),
    ("fork_sh", "fork + sh -c", false),
    ("sig_install", "signal handler install", false),
    ("sig_catch", "signal catch", false),
    ("page_fault_file", "page fault (mapped file)", false),
    ("mmap_munmap_1m", "mmap + munmap 1 MiB", false),
    ("brk_grow", "brk growth (4 KiB)", false),
];

/// Goals of the benchmarks issue (icount mode): (row, most ours/Linux
/// slowdown allowed).
const GOALS: &[(&str, f64)] = &[
    ("null_syscall", 2.0),
    ("pipe_latency", 1.0),
    ("pipe_bandwidth", 1.0),
    ("ctx_switch_2", 1.2),
    ("fork_exit", 1.5),
    ("fork_exec", 1.5),
    ("page_fault_file", 1.5),
    ("sig_catch", 1.5),
];

#[derive(Clone, Debug)]
struct Row {
    value: f64,
    unit: String,
    ctxt: Option<f64>,
    cr3: Option<f64>,
    /// PKRU writes per operation (ours, `tlb=small`).
    pkru: Option<f64>,
}

/// What one run of run-all printed.
#[derive(Clone, Debug, Default)]
struct Suite {
    /// The `@bench` rows.
    rows: BTreeMap<String, Row>,
    /// `@bench-failed` lines (without the tag).
    failed: Vec<String>,
    /// `@bench-suite end` was printed.
    complete: bool,
    /// `@bench-syscalls`: program -> (trapped, direct) system calls of its
    /// measuring process (ours only).
    syscalls: BTreeMap<String, (u64, u64)>,
}

impl Suite {
    /// Trapped and direct system calls summed over the programs, if any
    /// program reported them.
    fn syscall_totals(&self) -> Option<(u64, u64)> {
        if self.syscalls.is_empty() {
            return None;
        }
        Some(self.syscalls.values().fold((0, 0), |(t, d), (t1, d1)| (t + t1, d + d1)))
    }
}

/// `@bench` lines of a console, the programs that failed and the system-call
/// counters.
fn parse_suite(text: &str) -> Suite {
    let mut rows = BTreeMap::new();
    let mut failed = Vec::new();
    let mut syscalls = BTreeMap::new();
    let complete = text.contains("@bench-suite end");
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("@bench") => {
                let (Some(name), Some(value), Some(unit)) = (w.next(), w.next(), w.next()) else { continue };
                let Ok(value) = value.parse::<f64>() else { continue };
                let mut row = Row { value, unit: unit.to_string(), ctxt: None, cr3: None, pkru: None };
                for kv in w {
                    if let Some(v) = kv.strip_prefix("ctxt=") {
                        row.ctxt = v.parse().ok();
                    } else if let Some(v) = kv.strip_prefix("cr3=") {
                        row.cr3 = v.parse().ok();
                    } else if let Some(v) = kv.strip_prefix("pkru=") {
                        row.pkru = v.parse().ok();
                    }
                }
                rows.insert(name.to_string(), row);
            }
            Some("@bench-failed") => failed.push(line.trim_start_matches("@bench-failed").trim().to_string()),
            Some("@bench-syscalls") => {
                let Some(prog) = w.next() else { continue };
                let (mut trapped, mut direct) = (None, None);
                for kv in w {
                    if let Some(v) = kv.strip_prefix("trapped=") {
                        trapped = v.parse::<u64>().ok();
                    } else if let Some(v) = kv.strip_prefix("direct=") {
                        direct = v.parse::<u64>().ok();
                    }
                }
                if let (Some(t), Some(d)) = (trapped, direct) {
                    syscalls.insert(prog.to_string(), (t, d));
                }
            }
            _ => {}
        }
    }
    Suite { rows, failed, complete, syscalls }
}

/// `bench:` lines of the kernel benchmarks: name -> (ns per op, MB/s, CR3 loads per op).
fn parse_kernel(text: &str) -> BTreeMap<String, (f64, f64, f64)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("bench: ") else { continue };
        let mut w = rest.split_whitespace();
        let Some(name) = w.next() else { continue };
        let (mut ns, mut mbps, mut cr3) = (None, 0.0, 0.0);
        for kv in w {
            if let Some((k, v)) = kv.split_once('=') {
                match k {
                    "ns" => ns = v.parse().ok(),
                    "mbps" => mbps = v.parse().unwrap_or(0.0),
                    "cr3" => cr3 = v.parse().unwrap_or(0.0),
                    _ => {}
                }
            }
        }
        if let Some(ns) = ns {
            out.insert(name.to_string(), (ns, mbps, cr3));
        }
    }
    out
}

/// Slowdown of ours against Linux (>1: ours is slower).
fn slowdown(linux: &Row, ours: &Row, higher_better: bool) -> Option<f64> {
    if linux.value <= 0.0 || ours.value <= 0.0 {
        return None;
    }
    Some(if higher_better { linux.value / ours.value } else { ours.value / linux.value })
}

fn fmt_value(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.2}"))
}

/// A value of ours with its slowdown against Linux in brackets
/// (`3.97 us (11.03×)`), or "failed" when ours has no result.
fn with_ratio(linux: Option<&Row>, ours: Option<&Row>, higher_better: bool, unit: &str) -> String {
    let Some(o) = ours else { return "failed".to_string() };
    match linux.and_then(|l| slowdown(l, o, higher_better)) {
        Some(s) => format!("{} {unit} ({s:.2}×)", fmt_value(o.value)),
        None => format!("{} {unit}", fmt_value(o.value)),
    }
}

struct Mode {
    name: String,
    linux: BTreeMap<String, Row>,
    /// Ours, the musl-gcc binaries (trapped system calls).
    ours: BTreeMap<String, Row>,
    /// Ours, the shim-gcc binaries (system calls as direct IPC).
    shim: BTreeMap<String, Row>,
    /// Ours, the musl-gcc binaries under `tlb=plain` (untagged TLB).
    plain: BTreeMap<String, Row>,
    /// The tagged-TLB mode of `ours` and `shim`.
    tlb: String,
    /// Trapped and direct system calls of the measuring processes: (trap
    /// suite, shim suite).
    syscalls: (Option<(u64, u64)>, Option<(u64, u64)>),
    kernel: BTreeMap<String, (f64, f64, f64)>,
    notes: Vec<String>,
}

fn mode_title(m: &str) -> &str {
    match m {
        "tcg" => "plain TCG (host time)",
        "icount" => "-icount shift=0,sleep=off (time = guest instructions)",
        "kvm" => "KVM",
        other => other,
    }
}

fn table(out: &mut String, m: &Mode) {
    let _ = writeln!(out, "| test | native Linux | ours (trap) | ratio | ours (shim) | ctxt/op Linux | ctxt/op ours | CR3 loads/op ours |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (row, label, higher) in ROWS {
        let l = m.linux.get(*row);
        let o = m.ours.get(*row);
        let sh = m.shim.get(*row);
        let unit = l.or(o).or(sh).map_or("", |r| r.unit.as_str());
        let show = |r: Option<&Row>| r.map_or("failed".to_string(), |r| fmt_value(r.value));
        let ratio = match (l, o) {
            (Some(l), Some(o)) => slowdown(l, o, *higher).map_or("–".into(), |s| format!("{s:.2}×")),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {label} [{}] | {} {unit} | {} {unit} | {ratio} | {} | {} | {} | {} |",
            if *higher { "bw⁻¹" } else { "lat" },
            show(l),
            show(o),
            with_ratio(l, sh, *higher, unit),
            opt(l.and_then(|r| r.ctxt)),
            opt(o.and_then(|r| r.ctxt)),
            opt(o.and_then(|r| r.cr3)),
        );
    }
}

/// `a − b` with its sign and relative to b: `−0.66 us (−14%)`.
fn signed_diff(a: f64, b: f64, unit: &str) -> String {
    let d = a - b;
    let sign = |v: f64| if v < 0.0 { "−" } else { "+" };
    let pct = d / b * 100.0;
    format!("{}{} {unit} ({}{:.0}%)", sign(d), fmt_value(d.abs()), sign(pct), pct.abs())
}

/// The L4Linux paper's getpid (133 MHz Pentium): native Linux, L4Linux
/// with the modified libc, L4Linux with the trampoline (µs).
const PAPER_GETPID_US: (f64, f64, f64) = (1.68, 3.95, 5.66);

/// Trapped against direct system calls: the null system call and the pipe
/// rows on Linux, ours with the libc shim and ours trapped, the paper's
/// getpid beside them, and how the measuring processes' calls went.
fn syscall_path_table(out: &mut String, m: &Mode) {
    let _ = writeln!(out, "| test | native Linux | ours, libc shim (1a) | ours, trapped (1b) | shim − trapped |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for row in ["null_syscall", "pipe_latency", "pipe_bandwidth"] {
        let Some((_, label, higher)) = ROWS.iter().find(|r| r.0 == row) else { continue };
        let (l, o, sh) = (m.linux.get(row), m.ours.get(row), m.shim.get(row));
        let unit = l.or(o).or(sh).map_or("", |r| r.unit.as_str());
        let diff = match (sh, o) {
            (Some(sh), Some(o)) if o.value > 0.0 => signed_diff(sh.value, o.value, unit),
            _ => "–".to_string(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {diff} |",
            l.map_or("failed".to_string(), |r| format!("{} {unit}", fmt_value(r.value))),
            with_ratio(l, sh, *higher, unit),
            with_ratio(l, o, *higher, unit),
        );
    }
    let (n, libc, tramp) = PAPER_GETPID_US;
    let _ = writeln!(
        out,
        "| *the paper: getpid, 133 MHz Pentium* | *{n:.2} us* | *{libc:.2} us ({:.2}×)* | *{tramp:.2} us ({:.2}×)* | *{}* |",
        libc / n,
        tramp / n,
        signed_diff(libc, tramp, "us")
    );
    let share = |t: Option<(u64, u64)>| match t {
        Some((t, d)) if t + d > 0 => format!("{d} of {} direct ({:.1}%)", t + d, d as f64 * 100.0 / (t + d) as f64),
        Some(_) => "none counted".to_string(),
        None => "no counters printed".to_string(),
    };
    let _ = writeln!(
        out,
        "\nThe system calls of the measuring processes (/proc/self/status, children not counted): shim suite {}; \
         trap suite {}. The shim binaries' children run shim binaries too, except `sh` (busybox) in fork + sh -c.",
        share(m.syscalls.1),
        share(m.syscalls.0)
    );
}

/// What one address-space switch costs in this mode, from the kernel rows:
/// half the difference between a round trip across spaces and one within a
/// space (µs).
fn switch_cost_us(m: &Mode) -> Option<f64> {
    let inter = m.kernel.get("ipc_fastpath_inter_space")?.0;
    let intra = m.kernel.get("ipc_fastpath_intra_space")?.0;
    Some(((inter - intra) / 2.0).max(0.0) / 1000.0)
}

/// The arithmetic of the switches: per latency row, the time our CR3 loads
/// account for at the measured cost per switch, and the ratio that is left.
fn switch_table(out: &mut String, m: &Mode) {
    let Some(cost) = switch_cost_us(m) else {
        let _ = writeln!(out, "(no kernel rows: the cost of a switch is unknown)");
        return;
    };
    let _ = writeln!(
        out,
        "One address-space switch costs {cost:.2} µs here (half the difference between the kernel's register-only \
         IPC round trip across two spaces and within one). Latency rows, with the switches our design adds taken out:\n"
    );
    let _ = writeln!(out, "| test | ours | CR3 loads/op | × cost = switches | ours − switches | ratio left |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (row, label, higher) in ROWS {
        if *higher {
            continue;
        }
        let (Some(l), Some(o)) = (m.linux.get(*row), m.ours.get(*row)) else { continue };
        let Some(cr3) = o.cr3 else { continue };
        let sw = cr3 * cost;
        let rest = (o.value - sw).max(0.0);
        let _ = writeln!(
            out,
            "| {label} | {} µs | {cr3:.2} | {} µs | {} µs | {:.2}× |",
            fmt_value(o.value),
            fmt_value(sw),
            fmt_value(rest),
            rest / l.value.max(1e-9)
        );
    }
}

/// The same trapping binaries on ours with the tagged TLB (`m.tlb`) and
/// untagged (`tlb=plain`): value, address-space switches (CR3 loads) and
/// protection-key switches (PKRU writes) per operation, and the speedup.
fn tlb_table(out: &mut String, m: &Mode) {
    let t = &m.tlb;
    let _ = writeln!(
        out,
        "| test | tlb=plain | CR3/op | tlb={t} | CR3/op | PKRU/op | plain / {t} |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (row, label, higher) in ROWS {
        let (p, o) = (m.plain.get(*row), m.ours.get(*row));
        let unit = p.or(o).map_or("", |r| r.unit.as_str());
        let show = |r: Option<&Row>| r.map_or("failed".to_string(), |r| format!("{} {unit}", fmt_value(r.value)));
        // > 1: the tagged mode is faster.
        let gain = match (p, o) {
            (Some(p), Some(o)) => slowdown(o, p, *higher).map_or("–".into(), |s| format!("{s:.2}×")),
            _ => "–".to_string(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {gain} |",
            show(p),
            opt(p.and_then(|r| r.cr3)),
            show(o),
            opt(o.and_then(|r| r.cr3)),
            opt(o.and_then(|r| r.pkru)),
        );
    }
}

fn pipe_table(out: &mut String, m: &Mode) {
    let k = |name: &str| m.kernel.get(name).copied();
    let us = |ns: f64| format!("{:.1} µs", ns / 1000.0);
    let lat = |r: Option<&Row>| r.map_or("failed".to_string(), |r| format!("{} µs", fmt_value(r.value)));
    let bw = |r: Option<&Row>| r.map_or("failed".to_string(), |r| format!("{} MB/s", fmt_value(r.value)));
    let _ = writeln!(out, "| system | latency | bandwidth |");
    let _ = writeln!(out, "|---|---:|---:|");
    let _ = writeln!(
        out,
        "| (1) Linux pipe | {} | {} |",
        lat(m.linux.get("pipe_latency")),
        bw(m.linux.get("pipe_bandwidth"))
    );
    let _ = writeln!(
        out,
        "| (1a) our pipe, libc shim | {} | {} |",
        lat(m.shim.get("pipe_latency")),
        bw(m.shim.get("pipe_bandwidth"))
    );
    let _ = writeln!(
        out,
        "| (1b) our pipe, trapped syscalls | {} | {} |",
        lat(m.ours.get("pipe_latency")),
        bw(m.ours.get("pipe_bandwidth"))
    );
    let kb = |name: &str| k(name).map_or("failed".to_string(), |v| format!("{:.0} MB/s", v.1));
    let kl = |name: &str| k(name).map_or("failed".to_string(), |v| us(v.0));
    let _ = writeln!(
        out,
        "| (2) raw IPC pipe (\"L4 pipe\") | {} | {} |",
        kl("l4_pipe_latency"),
        kb("l4_pipe_bandwidth_64k")
    );
    let _ =
        writeln!(out, "| (3) synchronous IPC RPC | {} | {} |", kl("ipc_fastpath_inter_space"), kb("string_rpc_64k"));
    let _ = writeln!(out, "| (4) synchronous mapping RPC | {} | {} |", kl("map_rpc_4k"), kb("map_rpc_2048k"));
    let _ = writeln!(
        out,
        "\nLatencies are round trips (1 byte each way). (2) sends string items the kernel copies; (3) is a register-only \
         call/reply, its bandwidth a 64 KiB string item per call; (4) maps 4 KiB (latency) or 2 MiB (bandwidth) per call."
    );
}

fn goals(out: &mut String, m: &Mode) {
    let _ = writeln!(out, "| goal | ratio | met |");
    let _ = writeln!(out, "|---|---:|---|");
    for (row, max) in GOALS {
        let higher = ROWS.iter().find(|r| r.0 == *row).is_some_and(|r| r.2);
        let s = match (m.linux.get(*row), m.ours.get(*row)) {
            (Some(l), Some(o)) => slowdown(l, o, higher),
            _ => None,
        };
        let (ratio, met) = match s {
            Some(s) => (format!("{s:.2}×"), if s <= *max { "yes" } else { "no" }),
            None => ("–".into(), "no result"),
        };
        let _ = writeln!(out, "| {row} ≤ {max}× | {ratio} | {met} |");
    }
    let map = m.kernel.get("map_rpc_2048k").map(|v| v.1);
    let pipe = m.ours.get("pipe_bandwidth").map(|r| r.value);
    if let (Some(map), Some(pipe)) = (map, pipe) {
        let x = map / pipe.max(1e-9);
        let _ = writeln!(
            out,
            "| mapping RPC bandwidth ≥ 50× our pipe bandwidth | {x:.0}× | {} |",
            if x >= 50.0 { "yes" } else { "no" }
        );
    }
}

/// The slowdown chart: one group of bars per test, two bars per mode (ours
/// trapped, solid; ours with the libc shim, pale).
fn svg(modes: &[Mode]) -> String {
    let colors = ["#4477aa", "#ee6677", "#228833"];
    // (mode index, variant, its rows)
    let series: Vec<(usize, &str, &BTreeMap<String, Row>)> =
        modes.iter().enumerate().flat_map(|(i, m)| [(i, "trap", &m.ours), (i, "shim", &m.shim)]).collect();
    let (left, bar, gap, width) = (230.0, 7.0, 8.0, 420.0);
    let per_group = bar * series.len() as f64 + gap;
    let height = 60.0 + per_group * ROWS.len() as f64 + 45.0;
    let max = series
        .iter()
        .flat_map(|(i, _, ours)| {
            let linux = &modes[*i].linux;
            ROWS.iter().filter_map(move |(r, _, h)| match (linux.get(*r), ours.get(*r)) {
                (Some(l), Some(o)) => slowdown(l, o, *h),
                _ => None,
            })
        })
        .fold(2.0f64, f64::max);
    // A log scale: slowdowns range from below 1 to ~100.
    let (lo, hi) = (0.25f64, max.max(2.0) * 1.2);
    let x = |v: f64| left + ((v.clamp(lo, hi) / lo).ln() / (hi / lo).ln()) * width;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">",
        left + width + 40.0
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"18\" font-size=\"13\">Slowdown against native Linux (same QEMU; shorter is better); pale: with the libc shim</text>"
    );
    let opacity = |variant: &str| if variant == "shim" { 0.45 } else { 1.0 };
    for (k, (i, variant, _)) in series.iter().enumerate() {
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\" fill-opacity=\"{}\"/><text x=\"{}\" y=\"37\">{}, {variant}</text>",
            10.0 + k as f64 * 110.0,
            colors[i % 3],
            opacity(variant),
            24.0 + k as f64 * 110.0,
            modes[*i].name
        );
    }
    let top = 50.0;
    for (gi, (row, label, higher)) in ROWS.iter().enumerate() {
        let y0 = top + gi as f64 * per_group;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label} [{}]</text>",
            left - 6.0,
            y0 + per_group / 2.0,
            if *higher { "bw⁻¹" } else { "lat" }
        );
        for (k, (i, variant, ours)) in series.iter().enumerate() {
            let y = y0 + k as f64 * bar;
            match (modes[*i].linux.get(*row), ours.get(*row)) {
                (Some(l), Some(o)) => {
                    if let Some(v) = slowdown(l, o, *higher) {
                        let _ = writeln!(
                            s,
                            "<rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"7\">{v:.2}</text>",
                            x(v) - left,
                            bar - 1.0,
                            colors[i % 3],
                            opacity(variant),
                            x(v) + 3.0,
                            y + bar - 1.5
                        );
                    }
                }
                _ => {
                    let _ =
                        writeln!(s, "<text x=\"{}\" y=\"{}\" font-size=\"7\">failed</text>", left + 3.0, y + bar - 1.5);
                }
            }
        }
    }
    let bottom = top + per_group * ROWS.len() as f64;
    for t in [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0] {
        if t > hi {
            break;
        }
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"{1}\" stroke-width=\"{2}\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\">{t}×</text>",
            x(t),
            if t == 1.0 { "black" } else { "#ccc" },
            if t == 1.0 { 1.5 } else { 0.5 },
            bottom + 14.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{}\" font-size=\"10\">log scale; bars start at 0.25×, the line marks 1× (as fast as Linux)</text>",
        bottom + 28.0
    );
    s.push_str("</svg>\n");
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: bench_report RAW_DIR OUT.md OUT.svg");
        std::process::exit(2);
    }
    let raw = Path::new(&args[1]);
    let read = |name: &str| std::fs::read_to_string(raw.join(name)).unwrap_or_default();
    let meta: BTreeMap<String, String> =
        read("meta").lines().filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    let mut modes = Vec::new();
    let mut incomplete = false;
    for name in meta.get("modes").map_or("", |s| s.as_str()).split_whitespace() {
        let linux = parse_suite(&read(&format!("{name}-linux.txt")));
        let ours = parse_suite(&read(&format!("{name}-ours.txt")));
        let shim = parse_suite(&read(&format!("{name}-ours-shim.txt")));
        let plain = parse_suite(&read(&format!("{name}-ours-plain.txt")));
        let kernel = parse_kernel(&read(&format!("{name}-kernel.txt")));
        let mut notes = Vec::new();
        for (sys, file, suite) in [
            ("native Linux", "linux", &linux),
            ("ours (trap)", "ours", &ours),
            ("ours (shim)", "ours-shim", &shim),
            ("ours (tlb=plain)", "ours-plain", &plain),
        ] {
            if !suite.complete {
                notes.push(format!("the {sys} run did not complete (see {name}-{file}.txt)"));
                incomplete = true;
            }
            for f in &suite.failed {
                notes.push(format!("on {sys}, {f}"));
            }
        }
        // The shim suite is only worth its name if its calls went direct.
        if let Some((t, d)) = shim.syscall_totals() {
            if t > 0 {
                notes.push(format!(
                    "the shim suite's measuring processes trapped {t} of {} system calls (see {name}-ours-shim.txt)",
                    t + d
                ));
            }
        }
        if kernel.is_empty() {
            notes.push("the kernel benchmarks gave no results".into());
            incomplete = true;
        }
        modes.push(Mode {
            name: name.to_string(),
            syscalls: (ours.syscall_totals(), shim.syscall_totals()),
            linux: linux.rows,
            ours: ours.rows,
            shim: shim.rows,
            plain: plain.rows,
            tlb: meta.get(&format!("tlb_{name}")).cloned().unwrap_or_else(|| "?".into()),
            kernel,
            notes,
        });
    }
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks against native Linux\n");
    let _ = writeln!(
        md,
        "Generated by `scripts/bench` on {} — {}; host CPU: {}; guest machine: `-m 512M`, `-cpu max` (TCG) / \
         `-cpu host` (KVM); Linux: Debian's {} with `mitigations=off`. The same static binaries \
         (tests/bench/progs, musl-gcc) run on both systems in one run — on ours every system call traps \
         (*ours (trap)*, the paper's row 1b) —, and the same sources linked with the libc shim (shim-gcc) \
         run on ours in a boot of their own (*ours (shim)*: system calls as direct IPC to the linux-server, \
         the paper's row 1a). Each value is the median of the repetitions its program printed. Not edited by \
         hand.\n",
        meta.get("date").map_or("?", |s| s.as_str()),
        meta.get("qemu").map_or("?", |s| s.as_str()),
        meta.get("host_cpu").map_or("?", |s| s.as_str()),
        meta.get("linux").map_or("?", |s| s.as_str()),
    );
    for (k, v) in &meta {
        if let Some(m) = k.strip_prefix("skipped_") {
            let _ = writeln!(md, "- Mode **{m}** skipped: {v}\n");
        }
    }
    let _ = writeln!(
        md,
        "Ratio: ours / Linux for latencies, Linux / ours for bandwidths (a slowdown: > 1 means ours is slower); \
         the *ours (shim)* cells give theirs in brackets. \
         *ctxt/op*: context switches per operation from /proc/stat (ours: kernel thread switches, which include \
         the switches into the linux-server). *CR3 loads/op*: our kernel's address-space switches; under plain \
         TCG each costs a flush of QEMU's software TLB.\n"
    );
    let _ = writeln!(md, "![slowdown chart](benchmarks-linux.svg)\n");
    for m in &modes {
        let _ = writeln!(md, "## {}\n", mode_title(&m.name));
        for n in &m.notes {
            let _ = writeln!(md, "- {n}");
        }
        if !m.notes.is_empty() {
            md.push('\n');
        }
        table(&mut md, m);
        let _ = writeln!(md, "\n### Trapped against direct system calls\n");
        syscall_path_table(&mut md, m);
        let _ = writeln!(md, "\n### Tagged TLB: tlb={} against tlb=plain\n", m.tlb);
        tlb_table(&mut md, m);
        let _ = writeln!(md, "\n### Pipes and IPC (the paper's Table 4 layout)\n");
        pipe_table(&mut md, m);
        if m.name != "icount" {
            let _ = writeln!(md, "\n### Where the address-space switches go\n");
            switch_table(&mut md, m);
        }
        let _ = writeln!(md, "\n### Goals\n");
        goals(&mut md, m);
        md.push('\n');
    }
    std::fs::write(&args[2], md).expect("writing the report");
    std::fs::write(&args[3], svg(&modes)).expect("writing the chart");
    if incomplete {
        eprintln!("bench_report: some runs were incomplete (the report says which)");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "@bench-suite begin\n\
                         @bench null_syscall 0.500 us ops=100 reps=3 ctxt=0.00 cr3=-\n\
                         @bench pipe_latency 10.000 us ops=10 reps=3 ctxt=2.00 cr3=-\n\
                         @bench pipe_bandwidth 300.000 MB/s ops=10 reps=3 ctxt=2.00 cr3=-\n\
                         @bench-suite end\n";
    const TRAP: &str = "@bench-suite begin\n\
                        @bench null_syscall 5.000 us ops=100 reps=3 ctxt=2.00 cr3=2.00\n\
                        @bench-syscalls lat_syscall trapped=1000 direct=0\n\
                        @bench pipe_latency 30.000 us ops=10 reps=3 ctxt=8.00 cr3=8.00\n\
                        @bench pipe_bandwidth 600.000 MB/s ops=10 reps=3 ctxt=4.00 cr3=4.00\n\
                        @bench-syscalls lat_pipe trapped=50 direct=0\n\
                        @bench-suite end\n";
    const SHIM: &str = "boot noise\n@bench-suite begin\n\
                        @bench null_syscall 4.000 us ops=100 reps=3 ctxt=2.00 cr3=2.00\n\
                        @bench-syscalls lat_syscall trapped=0 direct=1000\n\
                        lat_pipe: read failed: Bad address (errno 14)\n\
                        @bench-failed lat_pipe status 1\n\
                        @bench pipe_bandwidth 500.000 MB/s ops=10 reps=3 ctxt=4.00 cr3=4.00\n\
                        @bench-syscalls bw_pipe trapped=2 direct=48\n\
                        @bench-suite end\n";

    fn mode() -> Mode {
        let (linux, ours, shim) = (parse_suite(LINUX), parse_suite(TRAP), parse_suite(SHIM));
        Mode {
            name: "icount".into(),
            syscalls: (ours.syscall_totals(), shim.syscall_totals()),
            linux: linux.rows,
            ours: ours.rows,
            shim: shim.rows,
            plain: parse_suite(PLAIN).rows,
            tlb: "small".into(),
            kernel: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    const PLAIN: &str = "@bench-suite begin\n\
                         @bench null_syscall 6.000 us ops=100 reps=3 ctxt=2.00 cr3=2.00 pkru=0.00\n\
                         @bench pipe_bandwidth 400.000 MB/s ops=10 reps=3 ctxt=4.00 cr3=4.00 pkru=0.00\n\
                         @bench-suite end\n";

    #[test]
    fn tlb_table_compares_the_tagged_mode_with_plain() {
        let mut m = mode();
        m.ours.get_mut("null_syscall").unwrap().pkru = Some(2.0);
        let mut md = String::new();
        tlb_table(&mut md, &m);
        assert!(md.starts_with("| test | tlb=plain | CR3/op | tlb=small |"), "{md}");
        assert_eq!(
            line(&md, "| null syscall"),
            "| null syscall (getppid) | 6.00 us | 2.00 | 5.00 us | 2.00 | 2.00 | 1.20× |"
        );
        // Bandwidth: tagged 600 against plain 400 MB/s is 1.5× better.
        assert!(line(&md, "| pipe bandwidth").ends_with("| 1.50× |"), "{md}");
        assert!(line(&md, "| pipe latency").contains("| failed |"), "{md}");
    }

    fn line<'a>(text: &'a str, start: &str) -> &'a str {
        text.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no line {start:?} in:\n{text}"))
    }

    #[test]
    fn parses_rows_failures_and_syscall_counters() {
        let s = parse_suite(SHIM);
        assert!(s.complete);
        assert_eq!(s.rows["null_syscall"].value, 4.0);
        assert_eq!(s.rows["null_syscall"].cr3, Some(2.0));
        assert!(!s.rows.contains_key("pipe_latency"));
        assert_eq!(s.failed, ["lat_pipe status 1"]);
        assert_eq!(s.syscalls["bw_pipe"], (2, 48));
        assert_eq!(s.syscall_totals(), Some((2, 1048)));
        assert_eq!(parse_suite(LINUX).syscall_totals(), None);
        assert!(!parse_suite("@bench-suite begin\n@bench null_syscall 1.0 us\n").complete);
    }

    #[test]
    fn shim_column_has_value_and_ratio_or_says_failed() {
        let mut md = String::new();
        table(&mut md, &mode());
        let null = line(&md, "| null syscall ");
        let cells: Vec<&str> = null.split('|').map(str::trim).collect();
        assert_eq!(cells[3], "5.00 us");
        assert_eq!(cells[4], "10.00×");
        assert_eq!(cells[5], "4.00 us (8.00×)");
        let pipe = line(&md, "| pipe latency ");
        assert_eq!(pipe.split('|').map(str::trim).nth(5), Some("failed"));
        // Bandwidth: the ratio is Linux / ours.
        let bw = line(&md, "| pipe bandwidth ");
        assert_eq!(bw.split('|').map(str::trim).nth(5), Some("500.0 MB/s (0.60×)"));
        assert!(!md.contains("not yet"), "{md}");
    }

    #[test]
    fn pipe_table_and_syscall_table_carry_the_shim() {
        let m = mode();
        let mut md = String::new();
        pipe_table(&mut md, &m);
        assert_eq!(line(&md, "| (1a) our pipe, libc shim"), "| (1a) our pipe, libc shim | failed | 500.0 MB/s |");
        assert_eq!(line(&md, "| (1b) our pipe"), "| (1b) our pipe, trapped syscalls | 30.0 µs | 600.0 MB/s |");
        let mut md = String::new();
        syscall_path_table(&mut md, &m);
        assert_eq!(
            line(&md, "| null syscall"),
            "| null syscall (getppid) | 0.50 us | 4.00 us (8.00×) | 5.00 us (10.00×) | −1.00 us (−20%) |"
        );
        assert!(line(&md, "| pipe latency").contains("| failed | 30.0 us (3.00×) | – |"), "{md}");
        assert!(line(&md, "| *the paper").contains("*3.95 us (2.35×)*"), "{md}");
        assert!(md.contains("shim suite 1048 of 1050 direct (99.8%); trap suite 0 of 1050 direct (0.0%)"), "{md}");
    }

    #[test]
    fn chart_has_a_bar_per_mode_and_variant() {
        let svg = svg(&[mode()]);
        assert!(svg.contains(">icount, trap</text>") && svg.contains(">icount, shim</text>"), "{svg}");
        // null syscall: 10× trapped, 8× shim; pipe latency: the shim failed.
        assert!(svg.contains(">10.00</text>") && svg.contains(">8.00</text>"), "{svg}");
        assert!(svg.contains(">failed</text>"), "{svg}");
    }
}
