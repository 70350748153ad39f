//! `initrd`: the host tool that builds root file system images (newc cpio
//! archives, Linux's initramfs format) from a small text spec, and lists
//! them back.
//!
//! ```text
//! initrd build --spec SPEC_FILE --out OUT.cpio [--add HOST_PATH:GUEST_PATH]... [--root-mtime SECONDS]
//! initrd list ARCHIVE
//! ```
//!
//! A spec names every file of the image explicitly, so an image is a
//! reviewable text file plus the host files it points at, rather than
//! whatever happened to be in a staging directory. One directive a line;
//! blank lines and lines starting with `#` are ignored; fields are separated
//! by white space (so paths cannot contain spaces). Guest paths are absolute;
//! modes are octal permission bits (`0755`, `4755`).
//!
//! ```text
//! dir GUEST_PATH MODE                      a directory
//! file GUEST_PATH HOST_PATH MODE           a copy of a host file; a relative
//!                                          HOST_PATH is relative to the spec's directory
//! text GUEST_PATH MODE                     a file with the lines that follow,
//! ...                                      up to a line that is exactly `EOF`
//! EOF                                      (each line ends with a newline)
//! symlink GUEST_PATH TARGET                a symlink (TARGET taken literally)
//! nod GUEST_PATH c|b MAJOR MINOR MODE      a character or block device node
//! applets GUEST_BUSYBOX HOST_BUSYBOX       a symlink to GUEST_BUSYBOX for every
//!                                          applet `HOST_BUSYBOX --list-full` prints
//! ```
//!
//! How the image is put together:
//! - Missing parent directories are created with mode 0755; an explicit
//!   `dir` line overrides that mode wherever it appears in the spec.
//! - `--add HOST:GUEST` copies a host file, or a directory tree, with its
//!   host permissions (symlinks inside a tree stay symlinks). GUEST is what
//!   follows the last `:`. Directories that already exist are merged.
//! - `applets` lines are applied last, after every other line and `--add`:
//!   an applet path that already exists is skipped, symlinks among its
//!   parents are followed (so `symlink /bin usr/bin` works), and
//!   GUEST_BUSYBOX must be a file in the image.
//! - Defining a path twice, or something below a file or symlink, is an error.
//! - Entries are written sorted by path, so parents precede children (Linux
//!   creates entries as it unpacks them); all are owned by root (uid and gid
//!   0) and dated `--root-mtime` (default 0). The same inputs therefore give
//!   a byte-identical image.
//!
//! Errors are reported as `initrd: SPEC:LINE: what is wrong` (or
//! `initrd: --add HOST:GUEST: ...`), with exit status 2 for bad usage, a bad
//! spec or a missing host file, and 1 for a corrupt archive given to `list`
//! or a failure to write the output.
//!
//! `list` prints one line per entry: octal mode, size, name (as stored,
//! without a leading `/`), then `-> TARGET` for a symlink or `[MAJOR:MINOR]`
//! for a device node.

#![forbid(unsafe_code)]

mod image;
mod spec;

use image::{BuildError, Image, Kind, Node, Origin};
use initrd::cpio::{self, FileType};
use spec::Directive;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: initrd build --spec SPEC_FILE --out OUT.cpio [--add HOST_PATH:GUEST_PATH]... [--root-mtime SECONDS]
       initrd list ARCHIVE

Builds a root file system image (a newc cpio archive, Linux's initramfs
format) from a spec file, or lists one. See initrd/README.md for the spec format.
";

/// A failure: what to print after `initrd: `, and the exit status.
struct Fail(u8, String);

fn main() -> ExitCode {
    let args: Result<Vec<String>, OsString> = std::env::args_os().skip(1).map(OsString::into_string).collect();
    let result = match args {
        Err(a) => Err(Fail(2, format!("argument {a:?} is not UTF-8"))),
        Ok(args) => match args.first().map(String::as_str) {
            Some("build") => build(&args[1..]),
            Some("list") => list(&args[1..]),
            Some("-h" | "--help" | "help") => {
                print!("{USAGE}");
                Ok(())
            }
            Some(other) => Err(usage(&format!("unknown command `{other}`"))),
            None => Err(usage("no command given")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(status, msg)) => {
            eprintln!("initrd: {msg}");
            ExitCode::from(status)
        }
    }
}

fn usage(msg: &str) -> Fail {
    Fail(2, format!("{msg}\n{USAGE}"))
}

struct BuildArgs {
    spec: PathBuf,
    out: PathBuf,
    /// (the argument as given, host path, normalized guest path)
    adds: Vec<(String, PathBuf, String)>,
    mtime: u32,
}

fn parse_build_args(args: &[String]) -> Result<BuildArgs, Fail> {
    let (mut spec, mut out, mut adds, mut mtime) = (None, None, Vec::new(), 0);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if !matches!(flag, "--spec" | "--out" | "--add" | "--root-mtime") {
            return Err(usage(&format!("unknown argument `{arg}`")));
        }
        let value = match inline.or_else(|| it.next().cloned()) {
            Some(v) => v,
            None => return Err(usage(&format!("{flag} needs a value"))),
        };
        match flag {
            "--spec" => spec = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            "--add" => {
                let Some((host, guest)) = value.rsplit_once(':') else {
                    return Err(usage(&format!("--add {value}: expected HOST_PATH:GUEST_PATH")));
                };
                let guest = spec::guest_path(guest).map_err(|e| Fail(2, format!("--add {value}: {e}")))?;
                adds.push((value.clone(), PathBuf::from(host), guest));
            }
            _ => {
                mtime = value.parse().map_err(|_| {
                    usage(&format!("bad --root-mtime `{value}`: expected seconds since 1970, at most {}", u32::MAX))
                })?
            }
        }
    }
    Ok(BuildArgs {
        spec: spec.ok_or_else(|| usage("build needs --spec SPEC_FILE"))?,
        out: out.ok_or_else(|| usage("build needs --out OUT.cpio"))?,
        adds,
        mtime,
    })
}

fn build(args: &[String]) -> Result<(), Fail> {
    let args = parse_build_args(args)?;
    let spec_name = args.spec.display().to_string();
    let at = |origin: &Origin| match origin {
        Origin::Line(n) => format!("{spec_name}:{n}"),
        Origin::Add(a) => format!("--add {a}"),
        Origin::Parent => spec_name.clone(),
    };
    let text = fs::read_to_string(&args.spec).map_err(|e| Fail(2, format!("{spec_name}: cannot read spec: {e}")))?;
    let base = args.spec.parent().unwrap_or(Path::new("."));
    let directives = spec::parse(&text, base).map_err(|e| Fail(2, format!("{spec_name}:{}: {}", e.line, e.msg)))?;

    let mut img = Image::new();
    let mut applets = Vec::new();
    for (line, d) in directives {
        let origin = Origin::Line(line);
        let fail = |msg: String| Fail(2, format!("{}: {msg}", at(&origin)));
        let node = |kind, perm| Node { kind, perm, origin: origin.clone() };
        let (path, node) = match d {
            Directive::Dir { path, perm } => (path, node(Kind::Dir, perm)),
            Directive::File { path, host, perm } => {
                (path, node(Kind::File(read_host_file(&host).map_err(fail)?), perm))
            }
            Directive::Text { path, perm, contents } => (path, node(Kind::File(contents), perm)),
            Directive::Symlink { path, target } => (path, node(Kind::Symlink(target), 0o777)),
            Directive::Nod { path, block, major, minor, perm } => {
                (path, node(Kind::Device { block, major, minor }, perm))
            }
            Directive::Applets { busybox, host } => {
                applets.push((line, busybox, host));
                continue;
            }
        };
        img.insert(&path, node, false).map_err(fail)?;
    }
    for (raw, host, guest) in &args.adds {
        let origin = Origin::Add(raw.clone());
        img.add_host(host, guest, &origin).map_err(|e| Fail(2, format!("{}: {e}", at(&origin))))?;
    }
    for (line, busybox, host) in applets {
        let origin = Origin::Line(line);
        let fail = |msg: String| Fail(2, format!("{}: {msg}", at(&origin)));
        let list = applet_list(&host).map_err(fail)?;
        img.add_applets(&busybox, &list, &origin).map_err(fail)?;
    }

    let archive =
        img.to_cpio(args.mtime).map_err(|BuildError { origin, msg }| Fail(2, format!("{}: {msg}", at(&origin))))?;
    write_atomically(&args.out, &archive)
        .map_err(|e| Fail(1, format!("{}: cannot write image: {e}", args.out.display())))
}

fn read_host_file(host: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(host).map_err(|e| format!("host file {}: {e}", host.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file (use --add HOST:GUEST to copy a directory tree)", host.display()));
    }
    fs::read(host).map_err(|e| format!("host file {}: {e}", host.display()))
}

/// Runs `HOST_BUSYBOX --list-full` and returns what it printed.
fn applet_list(host: &Path) -> Result<String, String> {
    let out =
        Command::new(host).arg("--list-full").output().map_err(|e| format!("cannot run {}: {e}", host.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`{} --list-full` failed ({}): {}",
            host.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| format!("`{} --list-full` printed something that is not UTF-8", host.display()))
}

/// Writes `OUT.tmp` and renames it, so a failed build never leaves a
/// truncated image behind under the real name.
fn write_atomically(out: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, data)?;
    fs::rename(&tmp, out).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn list(args: &[String]) -> Result<(), Fail> {
    let [path] = args else {
        return Err(usage("list takes exactly one ARCHIVE"));
    };
    let archive = fs::read(path).map_err(|e| Fail(2, format!("{path}: {e}")))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = (|| -> io::Result<Option<cpio::CpioError>> {
        for entry in cpio::entries(&archive) {
            let e = match entry {
                Ok(e) => e,
                Err(err) => return Ok(Some(err)),
            };
            write!(out, "{:06o} {} {}", e.mode, e.data.len(), printable(e.name))?;
            match e.file_type() {
                FileType::Symlink => write!(out, " -> {}", printable(&String::from_utf8_lossy(e.data)))?,
                FileType::CharDevice | FileType::BlockDevice => write!(out, " [{}:{}]", e.rdev.0, e.rdev.1)?,
                _ => {}
            }
            writeln!(out)?;
        }
        out.flush()?;
        Ok(None)
    })();
    match written {
        Ok(None) => Ok(()),
        Ok(Some(err)) => {
            let _ = out.flush();
            Err(Fail(1, format!("{path}: {err}")))
        }
        // A closed pipe (`initrd list x | head`) is not worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fail(1, format!("writing the listing: {e}"))),
    }
}

/// Escapes control characters, so that one entry stays one line.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}
