//! Magic links: targets supplied per lookup.

use super::*;
use crate::linux::fcntl::S_IFLNK;

const SELF: u32 = 1;
const EXE: u32 = 2;
const GONE: u32 = 3;
const LOOP: u32 = 4;
const ABS: u32 = 5;

/// /proc/self → "42" (a path), /proc/42/exe → jump to `exe`.
fn setup() -> (Vfs, Ino, Ino, Ino) {
    let mut v = fs();
    let proc_ = mkdir(&mut v, "/proc").unwrap();
    let p42 = mkdir(&mut v, "/proc/42").unwrap();
    v.magic_link(proc_, b"self", SELF, t(3)).unwrap();
    v.magic_link(p42, b"exe", EXE, t(3)).unwrap();
    v.magic_link(p42, b"gone", GONE, t(3)).unwrap();
    v.magic_link(p42, b"loop", LOOP, t(3)).unwrap();
    v.magic_link(p42, b"abs", ABS, t(3)).unwrap();
    mkdir(&mut v, "/bin").unwrap();
    let exe = file(&mut v, "/bin/prog", b"\x7fELF");
    (v, p42, exe, proc_)
}

fn resolver(exe: Ino) -> impl Fn(u32) -> Option<MagicTarget> {
    move |id| match id {
        SELF => Some(MagicTarget::Path(b"42".to_vec())),
        EXE => Some(MagicTarget::Jump { ino: exe, text: b"/bin/prog".to_vec() }),
        LOOP => Some(MagicTarget::Path(b"loop".to_vec())),
        ABS => Some(MagicTarget::Path(b"/bin".to_vec())),
        _ => None,
    }
}

#[test]
fn paths_and_jumps() {
    let (mut v, p42, exe, _) = setup();
    let r = resolver(exe);
    assert_eq!(v.lookup(ROOT, b"/proc/self", true, &r), Ok(p42));
    assert_eq!(v.lookup(ROOT, b"/proc/self/exe", true, &r), Ok(exe));
    assert_eq!(v.lookup(ROOT, b"/proc/self/abs/prog", true, &r), Ok(exe));
    // Not following the last component gives the magic link itself.
    let link = v.lookup(ROOT, b"/proc/self/exe", false, &r).unwrap();
    assert_eq!(v.kind(link), Ok(Kind::MagicLink(EXE)));
    let st = v.stat(link).unwrap();
    assert_eq!((st.mode, st.size), (S_IFLNK | 0o777, 0));
    assert_eq!(v.readlink(link, &r), Ok(b"/bin/prog".to_vec()));
    let self_ = v.lookup(ROOT, b"/proc/self", false, &r).unwrap();
    assert_eq!(v.readlink(self_, &r), Ok(b"42".to_vec()));
    // Unknown targets and other resolvers.
    assert_eq!(v.lookup(ROOT, b"/proc/42/gone", true, &r), Err(ENOENT));
    let gone = v.lookup(ROOT, b"/proc/42/gone", false, &r).unwrap();
    assert_eq!(v.readlink(gone, &r), Err(ENOENT));
    assert_eq!(v.lookup(ROOT, b"/proc/self", true, &NoMagic), Err(ENOENT));
    assert_eq!(v.lookup(ROOT, b"/proc/42/loop", true, &r), Err(ELOOP));
    // A jump through a directory-less target cannot continue.
    assert_eq!(v.lookup(ROOT, b"/proc/self/exe/x", true, &r), Err(ENOTDIR));
    // A jump reaches a file that has lost its name while someone holds it.
    v.open_ref(exe).unwrap();
    v.unlink_at(ROOT, b"/bin/prog", t(4), &NoMagic).unwrap();
    assert_eq!(v.lookup(ROOT, b"/proc/self/exe", true, &r), Ok(exe));
    v.close_ref(exe).unwrap();
    assert_eq!(v.lookup(ROOT, b"/proc/self/exe", true, &r), Err(ENOENT));
    check_invariants(&v);
}

#[test]
fn magic_links_are_ordinary_entries_otherwise() {
    let (mut v, p42, exe, proc_) = setup();
    let r = resolver(exe);
    assert_eq!(v.magic_link(proc_, b"self", SELF, t(5)), Err(EEXIST));
    assert_eq!(v.lookup_child(p42, b"exe").map(|i| v.kind(i)), Ok(Ok(Kind::MagicLink(EXE))));
    let recs = records(&v, p42);
    assert!(recs.iter().any(|r| r.name == b"exe" && r.dtype == dirent::DT_LNK));
    // Removing one is an unlink.
    v.unlink(p42, b"exe", t(5)).unwrap();
    assert_eq!(v.lookup(ROOT, b"/proc/self/exe", true, &r), Err(ENOENT));
    // Closures and NoMagic are resolvers; so is any other implementation.
    struct Fixed;
    impl Resolver for Fixed {
        fn magic_link(&self, _: u32) -> Option<MagicTarget> {
            Some(MagicTarget::Path(b"/proc".to_vec()))
        }
    }
    assert_eq!(v.lookup(ROOT, b"/proc/self", true, &Fixed), Ok(proc_));
    check_invariants(&v);
}
