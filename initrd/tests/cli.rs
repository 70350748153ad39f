//! Tests of the `initrd` binary: build images from specs, list them back,
//! and check error reporting and reproducibility.

use initrd::cpio::{self, Entry, FileType};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_initrd");
const BUSYBOX: &str = "/bin/busybox";

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("initrd-cli-{}-{}", name, std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn write(&self, rel: &str, data: &str, mode: u32) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Builds `spec` (written to `dir/NAME.spec`) with extra arguments; returns
/// the output of the run and the image path.
fn build(dir: &TempDir, name: &str, spec: &str, extra: &[&str]) -> (Output, PathBuf) {
    let spec_path = dir.write(&format!("{name}.spec"), spec, 0o644);
    let out = dir.path(&format!("{name}.cpio"));
    let mut args = vec!["build", "--spec", spec_path.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    (run(&args), out)
}

fn build_ok(dir: &TempDir, name: &str, spec: &str, extra: &[&str]) -> Vec<u8> {
    let (o, out) = build(dir, name, spec, extra);
    assert!(o.status.success(), "build failed: {}", stderr(&o));
    assert!(o.stdout.is_empty());
    fs::read(out).unwrap()
}

fn list(image: &Path) -> Vec<String> {
    let o = run(&["list", image.to_str().unwrap()]);
    assert!(o.status.success(), "list failed: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap().lines().map(String::from).collect()
}

fn find<'a>(entries: &[Entry<'a>], name: &str) -> Entry<'a> {
    match entries.iter().find(|e| e.name == name) {
        Some(e) => *e,
        None => panic!("{name} is not in the image"),
    }
}

/// Checks what Linux's unpacker needs: each entry's parent came before it.
fn assert_parents_first(entries: &[Entry<'_>]) {
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        if let Some((parent, _)) = e.name.rsplit_once('/') {
            assert!(seen.contains(parent), "{} comes before its parent", e.name);
        }
        seen.insert(e.name);
    }
}

const SPEC: &str = "\
# A rootfs with every directive but applets.

dir /etc 0750
file /etc/motd files/motd 0644
file /usr/local/bin/tool files/tool 4755
text /init 0755
#!/bin/sh
# not a comment: this is file contents

exec /bin/sh
EOF
text /etc/empty 0600
EOF
symlink /sbin bin
symlink /bin/sh busybox
nod /dev/console c 5 1 0600
nod /dev/vda b 254 0 0660
";

#[test]
fn build_with_every_directive_and_list_it_back() {
    let t = TempDir::new("every");
    t.write("files/motd", "welcome\n", 0o600); // the spec's mode wins
    t.write("files/tool", "\x7fELF", 0o755);
    t.write("tree/conf/a.conf", "a=1\n", 0o640);
    t.write("tree/run.sh", "#!/bin/sh\n", 0o750);
    fs::set_permissions(t.path("tree/conf"), fs::Permissions::from_mode(0o700)).unwrap();
    symlink("conf/a.conf", t.path("tree/link")).unwrap();
    let single = t.write("single", "one file\n", 0o444);
    let tree = format!("{}:/opt/app", t.path("tree").display());
    let single = format!("{}:/etc/single", single.display());
    let args = ["--add", &tree, "--add", &single, "--root-mtime", "1700000000"];
    let image = build_ok(&t, "every", SPEC, &args);

    let lines = list(&t.path("every.cpio"));
    for want in [
        "040755 0 bin",
        "120777 7 bin/sh -> busybox",
        "040755 0 dev",
        "020600 0 dev/console [5:1]",
        "060660 0 dev/vda [254:0]",
        "040750 0 etc",
        "100600 0 etc/empty",
        "100644 8 etc/motd",
        "100444 9 etc/single",
        "100755 63 init",
        "040755 0 opt",
        "040755 0 opt/app",
        "040700 0 opt/app/conf",
        "100640 4 opt/app/conf/a.conf",
        "120777 11 opt/app/link -> conf/a.conf",
        "100750 10 opt/app/run.sh",
        "120777 3 sbin -> bin",
        "040755 0 usr",
        "040755 0 usr/local",
        "040755 0 usr/local/bin",
        "104755 4 usr/local/bin/tool",
    ] {
        assert!(lines.iter().any(|l| l == want), "missing `{want}` in:\n{}", lines.join("\n"));
    }
    assert_eq!(lines.len(), 21, "{}", lines.join("\n"));

    let entries: Vec<Entry<'_>> = cpio::entries(&image).map(|e| e.unwrap()).collect();
    assert_parents_first(&entries);
    assert!(entries.iter().all(|e| e.uid == 0 && e.gid == 0 && e.mtime == 1_700_000_000));
    assert_eq!(find(&entries, "init").data, b"#!/bin/sh\n# not a comment: this is file contents\n\nexec /bin/sh\n");
    assert_eq!(find(&entries, "etc/motd").data, b"welcome\n");
    assert_eq!(find(&entries, "usr/local/bin/tool").data, b"\x7fELF");
    assert_eq!(find(&entries, "opt/app/conf/a.conf").data, b"a=1\n");
    assert_eq!(find(&entries, "dev/console").file_type(), FileType::CharDevice);
    // The host's opt/app mode is whatever the temp dir got; only check type.
    assert_eq!(find(&entries, "opt/app").file_type(), FileType::Directory);
}

#[test]
fn applets_link_every_busybox_applet() {
    if !Path::new(BUSYBOX).exists() {
        println!("note: {BUSYBOX} is absent; the `applets` directive was not tested");
        return;
    }
    let t = TempDir::new("applets");
    let spec = "\
file /bin/busybox /bin/busybox 0755
text /bin/sh 0755
#!/bin/busybox ash
EOF
applets /bin/busybox /bin/busybox
";
    let image = build_ok(&t, "applets", spec, &[]);
    let entries: Vec<Entry<'_>> = cpio::entries(&image).map(|e| e.unwrap()).collect();
    assert_parents_first(&entries);

    let listed = Command::new(BUSYBOX).arg("--list-full").output().unwrap();
    let applets = String::from_utf8(listed.stdout).unwrap();
    let mut links = 0;
    for path in applets.lines().filter(|l| !l.is_empty()) {
        let e = find(&entries, path);
        if path == "bin/sh" || path == "bin/busybox" {
            // Defined in the spec, so left alone.
            assert_eq!(e.file_type(), FileType::Regular);
            continue;
        }
        assert_eq!(e.symlink_target(), Some("/bin/busybox"), "{path}");
        links += 1;
    }
    assert!(links > 100, "only {links} applets");
    let lines = list(&t.path("applets.cpio"));
    assert!(lines.iter().any(|l| l.starts_with("100755 ") && l.ends_with(" bin/busybox")));
    // Parents made for applets (sbin, usr/bin, ...) are 0755 directories.
    assert_eq!(find(&entries, "usr/bin").mode, 0o040_755);
}

#[test]
fn bad_spec_lines_exit_2_and_name_the_line() {
    let t = TempDir::new("bad");
    t.write("there", "x", 0o644);
    for (name, spec, line, what) in [
        ("unknown", "dir /a 0755\n\n# c\nmkdir /b 0755\n", 4, "unknown directive `mkdir`"),
        ("mode", "dir /a 0755\ndir /b 0799\n", 2, "bad mode `0799`"),
        ("arity", "symlink /a\n", 1, "takes 2 argument(s)"),
        ("missing", "file /a there 0644\nfile /b not-there 0644\n", 2, "not-there"),
        ("hostdir", "file /a . 0644\n", 1, "not a regular file"),
        ("relative", "dir a 0755\n", 1, "not absolute"),
        ("twice", "dir /a 0755\nfile /a there 0644\n", 2, "/a is already defined"),
        ("under-link", "symlink /a b\nfile /a/x there 0644\n", 2, "its parent /a is a symlink"),
        ("noeof", "dir /a 0755\ntext /init 0755\necho hi\n", 2, "not ended by a line `EOF`"),
        ("device", "nod /dev/x q 1 2 0600\n", 1, "neither `c` nor `b`"),
        ("busybox", "applets /bin/busybox /nonexistent/busybox\n", 1, "cannot run /nonexistent/busybox"),
    ] {
        let (o, out) = build(&t, name, spec, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        let prefix = format!("initrd: {}:{line}: ", t.path(&format!("{name}.spec")).display());
        assert!(err.starts_with(&prefix), "{name}: expected `{prefix}` in `{err}`");
        assert!(err.contains(what), "{name}: expected `{what}` in `{err}`");
        assert!(!out.exists(), "{name}: an image was written");
    }
}

#[test]
fn bad_arguments_exit_2() {
    let t = TempDir::new("args");
    let spec = t.write("ok.spec", "dir /a 0755\n", 0o644);
    let spec = spec.to_str().unwrap();
    let out = t.path("o.cpio");
    let out = out.to_str().unwrap();
    for (args, what) in [
        (vec![], "no command"),
        (vec!["frob"], "unknown command"),
        (vec!["build", "--out", out], "--spec"),
        (vec!["build", "--spec", spec], "--out"),
        (vec!["build", "--spec", spec, "--out", out, "--root-mtime", "-1"], "bad --root-mtime"),
        (vec!["build", "--spec", spec, "--out", out, "--add", "nocolon"], "HOST_PATH:GUEST_PATH"),
        (vec!["build", "--spec", spec, "--out", out, "--add", "/etc/hostname:rel"], "not absolute"),
        (vec!["build", "--spec", spec, "--out", out, "--add", "/nonexistent:/x"], "--add /nonexistent:/x: "),
        (vec!["build", "--spec", "/nonexistent.spec", "--out", out], "cannot read spec"),
        (vec!["list"], "exactly one"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(what), "{args:?}: expected `{what}` in `{}`", stderr(&o));
    }
}

#[test]
fn builds_are_reproducible() {
    let t = TempDir::new("repro");
    t.write("files/motd", "welcome\n", 0o644);
    t.write("files/tool", "\x7fELF", 0o755);
    t.write("tree/b", "b", 0o644);
    t.write("tree/a/c", "c", 0o644);
    let tree = format!("{}:/srv", t.path("tree").display());
    let one = build_ok(&t, "one", SPEC, &["--add", &tree]);
    // Host timestamps and the order of host directory entries do not matter.
    std::thread::sleep(std::time::Duration::from_millis(20));
    t.write("files/motd", "welcome\n", 0o644);
    fs::remove_file(t.path("tree/b")).unwrap();
    t.write("tree/b", "b", 0o644);
    let two = build_ok(&t, "two", SPEC, &["--add", &tree]);
    assert_eq!(one, two);
    let dated = build_ok(&t, "three", SPEC, &["--add", &tree, "--root-mtime=86400"]);
    assert_ne!(one, dated);
    assert_eq!(one.len(), dated.len());
}

#[test]
fn list_reports_a_corrupt_archive() {
    let t = TempDir::new("corrupt");
    t.write("files/motd", "welcome\n", 0o644);
    t.write("files/tool", "\x7fELF", 0o755);
    let image = build_ok(&t, "ok", SPEC, &[]);
    let cut = t.path("cut.cpio");
    fs::write(&cut, &image[..image.len() / 2]).unwrap();
    let o = run(&["list", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cut.cpio: offset "), "{}", stderr(&o));
    // The entries before the damage are still listed.
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("040755 0 bin\n"));
}
