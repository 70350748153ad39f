//! Parsing rootfs spec files into directives (the format is described in
//! `main.rs` and `README.md`).
//!
//! Parsing checks everything that can be checked from the text alone (arity,
//! modes, device numbers, guest paths), so that a typo is reported with its
//! line before any host file is read. Host paths are resolved against the
//! spec file's directory, so a spec means the same wherever the tool runs.

use std::path::{Path, PathBuf};

/// One directive, with guest paths already normalized (see [`guest_path`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    Dir { path: String, perm: u32 },
    File { path: String, host: PathBuf, perm: u32 },
    Text { path: String, perm: u32, contents: Vec<u8> },
    Symlink { path: String, target: String },
    Nod { path: String, block: bool, major: u32, minor: u32, perm: u32 },
    Applets { busybox: String, host: PathBuf },
}

/// A problem on a line of the spec (1-based).
#[derive(Debug, PartialEq, Eq)]
pub struct SpecError {
    pub line: usize,
    pub msg: String,
}

/// Parses a whole spec; `base` is the directory host paths are relative to.
pub fn parse(text: &str, base: &Path) -> Result<Vec<(usize, Directive)>, SpecError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&keyword, args)) = words.split_first() else {
            continue;
        };
        if keyword.starts_with('#') {
            continue;
        }
        let err = |msg: String| SpecError { line: n, msg };
        let arity = |usage: &str| {
            if args.len() == usage.split(' ').count() {
                Ok(())
            } else {
                Err(err(format!(
                    "`{keyword}` takes {} argument(s): {keyword} {usage}; got {}",
                    usage.split(' ').count(),
                    args.len()
                )))
            }
        };
        let directive = match keyword {
            "dir" => {
                arity("GUEST_PATH MODE")?;
                Directive::Dir { path: guest_path(args[0]).map_err(err)?, perm: mode(args[1]).map_err(err)? }
            }
            "file" => {
                arity("GUEST_PATH HOST_PATH MODE")?;
                Directive::File {
                    path: guest_path(args[0]).map_err(err)?,
                    host: base.join(args[1]),
                    perm: mode(args[2]).map_err(err)?,
                }
            }
            "text" => {
                arity("GUEST_PATH MODE")?;
                let path = guest_path(args[0]).map_err(err)?;
                let perm = mode(args[1]).map_err(err)?;
                let mut contents = Vec::new();
                loop {
                    match lines.next() {
                        Some((_, "EOF")) => break,
                        Some((_, l)) => {
                            contents.extend_from_slice(l.as_bytes());
                            contents.push(b'\n');
                        }
                        None => return Err(err(format!("`text {}` is not ended by a line `EOF`", args[0]))),
                    }
                }
                Directive::Text { path, perm, contents }
            }
            "symlink" => {
                arity("GUEST_PATH TARGET")?;
                let target = args[1];
                if target.len() >= initrd::cpio::PATH_MAX {
                    return Err(err("symlink target is too long".into()));
                }
                Directive::Symlink { path: guest_path(args[0]).map_err(err)?, target: target.into() }
            }
            "nod" => {
                arity("GUEST_PATH c|b MAJOR MINOR MODE")?;
                let block = match args[1] {
                    "c" => false,
                    "b" => true,
                    t => return Err(err(format!("device type `{t}` is neither `c` nor `b`"))),
                };
                Directive::Nod {
                    path: guest_path(args[0]).map_err(err)?,
                    block,
                    major: number(args[2], "major", 0xfff).map_err(err)?,
                    minor: number(args[3], "minor", 0xf_ffff).map_err(err)?,
                    perm: mode(args[4]).map_err(err)?,
                }
            }
            "applets" => {
                arity("GUEST_BUSYBOX HOST_BUSYBOX")?;
                Directive::Applets { busybox: guest_path(args[0]).map_err(err)?, host: base.join(args[1]) }
            }
            _ => {
                return Err(err(format!(
                    "unknown directive `{keyword}` (expected dir, file, text, symlink, nod or applets)"
                )))
            }
        };
        out.push((n, directive));
    }
    Ok(out)
}

/// Normalizes an absolute guest path to its components joined by `/`,
/// without the leading `/`; the root is the empty string.
pub fn guest_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') {
        return Err(format!("guest path `{s}` is not absolute"));
    }
    let mut parts = Vec::new();
    for part in s.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(format!("guest path `{s}` contains `{part}`"));
        }
        if part.contains('\0') {
            return Err(format!("guest path `{s}` contains a NUL byte"));
        }
        parts.push(part);
    }
    let path = parts.join("/");
    if path.len() >= initrd::cpio::PATH_MAX {
        return Err(format!("guest path `{s}` is too long"));
    }
    Ok(path)
}

/// Parses octal permissions such as `0755` or `4755` (no file-type bits).
pub fn mode(s: &str) -> Result<u32, String> {
    let bad = || format!("bad mode `{s}`: expected octal permissions such as 0755");
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    let m = u32::from_str_radix(s, 8).map_err(|_| bad())?;
    if m > 0o7777 {
        return Err(format!("bad mode `{s}`: only permission bits (at most 07777) are allowed"));
    }
    Ok(m)
}

/// Parses a decimal number no greater than `max`.
fn number(s: &str, what: &str, max: u32) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n <= max && s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("bad {what} number `{s}`: expected a decimal number up to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Directive, SpecError> {
        parse(text, Path::new("/spec")).map(|mut v| v.remove(0).1)
    }

    fn error(text: &str) -> (usize, String) {
        let e = parse(text, Path::new("/spec")).unwrap_err();
        (e.line, e.msg)
    }

    #[test]
    fn every_directive() {
        let text = "# a comment\n\n  dir /etc 0755\nfile /bin/x rel/x 4755\nfile /y /abs/y 644\n\
                    text /init 0700\n#!/bin/sh\n\n  # kept as is\nEOF\nsymlink /sbin ../bin\n\
                    nod /dev/console c 5 1 0600\nnod /dev/vda b 254 0 0660\napplets /bin/busybox bb\n";
        let got = parse(text, Path::new("/spec")).unwrap();
        let want = vec![
            (3, Directive::Dir { path: "etc".into(), perm: 0o755 }),
            (4, Directive::File { path: "bin/x".into(), host: "/spec/rel/x".into(), perm: 0o4755 }),
            (5, Directive::File { path: "y".into(), host: "/abs/y".into(), perm: 0o644 }),
            (
                6,
                Directive::Text {
                    path: "init".into(),
                    perm: 0o700,
                    contents: b"#!/bin/sh\n\n  # kept as is\n".to_vec(),
                },
            ),
            (11, Directive::Symlink { path: "sbin".into(), target: "../bin".into() }),
            (12, Directive::Nod { path: "dev/console".into(), block: false, major: 5, minor: 1, perm: 0o600 }),
            (13, Directive::Nod { path: "dev/vda".into(), block: true, major: 254, minor: 0, perm: 0o660 }),
            (14, Directive::Applets { busybox: "bin/busybox".into(), host: "/spec/bb".into() }),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn empty_text_and_root_dir() {
        assert_eq!(one("text /e 0644\nEOF\n"), Ok(Directive::Text { path: "e".into(), perm: 0o644, contents: vec![] }));
        assert_eq!(one("dir / 0755"), Ok(Directive::Dir { path: String::new(), perm: 0o755 }));
        assert_eq!(one("dir //a//b/ 0755"), Ok(Directive::Dir { path: "a/b".into(), perm: 0o755 }));
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(error("dir /a 0755\n\nfrob /x\n").0, 3);
        assert!(error("frob /x").1.contains("unknown directive `frob`"));
        assert!(error("dir /a").1.contains("takes 2 argument(s)"));
        assert!(error("dir /a 0755 extra").1.contains("got 3"));
        assert!(error("dir /a 0789").1.contains("bad mode `0789`"));
        assert!(error("dir /a rwx").1.contains("bad mode"));
        assert!(error("dir /a 17777").1.contains("at most 07777"));
        assert!(error("dir a 0755").1.contains("not absolute"));
        assert!(error("dir /a/../b 0755").1.contains("contains `..`"));
        assert!(error("nod /d x 1 2 0600").1.contains("neither `c` nor `b`"));
        assert!(error("nod /d c 4096 0 0600").1.contains("bad major number"));
        assert!(error("nod /d c 1 +2 0600").1.contains("bad minor number"));
        assert_eq!(
            error("dir /a 0755\ntext /init 0755\necho\n"),
            (2, "`text /init` is not ended by a line `EOF`".into())
        );
    }

    #[test]
    fn modes() {
        assert_eq!(mode("0"), Ok(0));
        assert_eq!(mode("755"), Ok(0o755));
        assert_eq!(mode("07777"), Ok(0o7777));
        assert!(mode("").is_err());
        assert!(mode("0o755").is_err());
        assert!(mode("+755").is_err());
        assert!(mode("0000007777").is_err());
    }
}
