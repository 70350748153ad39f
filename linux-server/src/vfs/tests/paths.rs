//! Path resolution: components, dots, slashes, symlinks, limits.

use super::*;

/// /a/b/c (dirs), /a/f (file), /a/b/c/g (file).
fn tree() -> (Vfs, [Ino; 5]) {
    let mut v = fs();
    let a = mkdir(&mut v, "/a").unwrap();
    let b = mkdir(&mut v, "/a/b").unwrap();
    let c = mkdir(&mut v, "/a/b/c").unwrap();
    let f = file(&mut v, "/a/f", b"f");
    let g = file(&mut v, "/a/b/c/g", b"g");
    (v, [a, b, c, f, g])
}

#[test]
fn absolute_relative_dots_and_slashes() {
    let (v, [a, b, c, f, g]) = tree();
    assert_eq!(look(&v, "/"), Ok(ROOT));
    assert_eq!(look(&v, "///"), Ok(ROOT));
    assert_eq!(look(&v, "/a"), Ok(a));
    assert_eq!(look(&v, "//a///b//c"), Ok(c));
    assert_eq!(look(&v, "/a/./b/../b/c/./g"), Ok(g));
    assert_eq!(look(&v, "/.."), Ok(ROOT));
    assert_eq!(look(&v, "/../../a"), Ok(a));
    assert_eq!(look(&v, "/a/b/c/../../.."), Ok(ROOT));
    assert_eq!(v.lookup(b, b"c/g", true, &NoMagic), Ok(g));
    assert_eq!(v.lookup(b, b"../f", true, &NoMagic), Ok(f));
    assert_eq!(v.lookup(b, b".", true, &NoMagic), Ok(b));
    assert_eq!(v.lookup(b, b"..", true, &NoMagic), Ok(a));
    assert_eq!(v.lookup(c, b"/a/f", true, &NoMagic), Ok(f));
    // An absolute path ignores the start, even a file or a dead inode.
    assert_eq!(v.lookup(f, b"/a", true, &NoMagic), Ok(a));
    assert_eq!(v.lookup(9999, b"/a", true, &NoMagic), Ok(a));
    // A relative one needs a directory to start from.
    assert_eq!(v.lookup(f, b"x", true, &NoMagic), Err(ENOTDIR));
    assert_eq!(v.lookup(f, b".", true, &NoMagic), Err(ENOTDIR));
    assert_eq!(v.lookup(9999, b"x", true, &NoMagic), Err(ENOENT));
}

#[test]
fn missing_and_not_directories() {
    let (v, _) = tree();
    assert_eq!(look(&v, ""), Err(ENOENT));
    assert_eq!(v.lookup(ROOT, b"", false, &NoMagic), Err(ENOENT));
    assert_eq!(look(&v, "/nope"), Err(ENOENT));
    assert_eq!(look(&v, "/nope/x"), Err(ENOENT));
    assert_eq!(look(&v, "/a/f/x"), Err(ENOTDIR));
    assert_eq!(look(&v, "/a/f/.."), Err(ENOTDIR));
    assert_eq!(look(&v, "/a/f/."), Err(ENOTDIR));
}

#[test]
fn trailing_slash_wants_a_directory() {
    let (mut v, [a, _, _, f, _]) = tree();
    assert_eq!(look(&v, "/a/"), Ok(a));
    assert_eq!(look(&v, "/a//"), Ok(a));
    assert_eq!(llook(&v, "/a/"), Ok(a));
    assert_eq!(look(&v, "/a/f"), Ok(f));
    assert_eq!(look(&v, "/a/f/"), Err(ENOTDIR));
    assert_eq!(llook(&v, "/a/f/"), Err(ENOTDIR));
    assert_eq!(look(&v, "/a/nope/"), Err(ENOENT));
    // A symlink before a trailing slash is followed even without follow.
    let l = symlink(&mut v, "a", "/la").unwrap();
    assert_eq!(llook(&v, "/la"), Ok(l));
    assert_eq!(llook(&v, "/la/"), Ok(a));
    symlink(&mut v, "a/f", "/lf").unwrap();
    assert_eq!(llook(&v, "/lf/"), Err(ENOTDIR));
    symlink(&mut v, "nowhere", "/dangling").unwrap();
    assert_eq!(llook(&v, "/dangling/"), Err(ENOENT));
    // A target with a trailing slash also wants a directory.
    symlink(&mut v, "/a/f/", "/lfs").unwrap();
    assert_eq!(look(&v, "/lfs"), Err(ENOTDIR));
    symlink(&mut v, "/a/", "/las").unwrap();
    assert_eq!(look(&v, "/las"), Ok(a));
}

#[test]
fn symlinks_relative_absolute_chains() {
    let (mut v, [a, b, c, f, g]) = tree();
    let rel = symlink(&mut v, "b/c", "/a/rel").unwrap();
    assert_eq!(look(&v, "/a/rel"), Ok(c));
    assert_eq!(llook(&v, "/a/rel"), Ok(rel));
    assert_eq!(look(&v, "/a/rel/g"), Ok(g));
    assert_eq!(llook(&v, "/a/rel/g"), Ok(g));
    // Relative to the link's directory, not the start.
    symlink(&mut v, "../f", "/a/b/up").unwrap();
    assert_eq!(look(&v, "/a/b/up"), Ok(f));
    assert_eq!(v.lookup(c, b"../up", true, &NoMagic), Ok(f));
    // Absolute targets restart at the root.
    symlink(&mut v, "/a/b", "/a/b/c/abs").unwrap();
    assert_eq!(look(&v, "/a/b/c/abs"), Ok(b));
    assert_eq!(look(&v, "/a/b/c/abs/c/abs/c/g"), Ok(g));
    // `..` after a link is relative to where the link led.
    assert_eq!(look(&v, "/a/rel/.."), Ok(b));
    // Chains.
    symlink(&mut v, "/a/rel", "/l1").unwrap();
    symlink(&mut v, "l1", "/l2").unwrap();
    assert_eq!(look(&v, "/l2"), Ok(c));
    assert_eq!(look(&v, "/l2/g"), Ok(g));
    // Dangling.
    symlink(&mut v, "/nowhere", "/dl").unwrap();
    assert_eq!(look(&v, "/dl"), Err(ENOENT));
    assert!(llook(&v, "/dl").is_ok());
    assert_eq!(look(&v, "/dl/x"), Err(ENOENT));
    let _ = a;
}

#[test]
fn symlink_limits() {
    let mut v = fs();
    let d = mkdir(&mut v, "/d").unwrap();
    // A chain of 40 links resolves; 41 is ELOOP.
    symlink(&mut v, "/d", "/l0").unwrap();
    for i in 1..=40 {
        symlink(&mut v, &format!("/l{}", i - 1), &format!("/l{i}")).unwrap();
    }
    assert_eq!(look(&v, "/l39"), Ok(d));
    assert_eq!(look(&v, "/l40"), Err(ELOOP));
    assert!(llook(&v, "/l40").is_ok());
    assert_eq!(look(&v, "/l39/"), Ok(d));
    assert_eq!(look(&v, "/l40/"), Err(ELOOP));
    // The count is per resolution: two 20-link chains in one path are 40.
    assert_eq!(look(&v, "/l19/../l19"), Ok(d));
    assert_eq!(look(&v, "/l20/../l19"), Err(ELOOP));
    // Cycles.
    symlink(&mut v, "/self", "/self").unwrap();
    assert_eq!(look(&v, "/self"), Err(ELOOP));
    assert_eq!(look(&v, "/self/x"), Err(ELOOP));
    symlink(&mut v, "pong", "/ping").unwrap();
    symlink(&mut v, "ping", "/pong").unwrap();
    assert_eq!(look(&v, "/ping"), Err(ELOOP));
    check_invariants(&v);
}

#[test]
fn name_limits() {
    let mut v = fs();
    let long = "x".repeat(255);
    let d = mkdir(&mut v, &format!("/{long}")).unwrap();
    assert_eq!(look(&v, &format!("/{long}")), Ok(d));
    let too_long = "x".repeat(256);
    assert_eq!(look(&v, &format!("/{too_long}")), Err(ENAMETOOLONG));
    assert_eq!(mkdir(&mut v, &format!("/{too_long}")), Err(ENAMETOOLONG));
    assert_eq!(mkdir(&mut v, &format!("/{too_long}/x")), Err(ENAMETOOLONG));
    // 4095 bytes is a path; 4096 is not.
    let mut p = String::from("/");
    while p.len() < 4095 {
        p.push_str("./");
    }
    p.truncate(4095);
    assert_eq!(p.len(), 4095);
    assert_eq!(look(&v, &p), Ok(ROOT));
    p.push('.');
    assert_eq!(look(&v, &p), Err(ENAMETOOLONG));
    assert_eq!(v.lookup_parent(ROOT, p.as_bytes(), &NoMagic), Err(ENAMETOOLONG));
    // Symlink targets have the same limit.
    let t4095 = "/".repeat(4095);
    assert!(symlink(&mut v, &t4095, "/okl").is_ok());
    assert_eq!(look(&v, "/okl"), Ok(ROOT));
    assert_eq!(symlink(&mut v, &"/".repeat(4096), "/bad"), Err(ENAMETOOLONG));
    assert_eq!(symlink(&mut v, "", "/bad"), Err(ENOENT));
}

#[test]
fn parents() {
    let (mut v, [a, b, _, f, _]) = tree();
    let p = |v: &Vfs, s: &str| v.lookup_parent(ROOT, s.as_bytes(), &NoMagic);
    let name = |s: &str| Last::Name(s.as_bytes().to_vec());
    assert_eq!(p(&v, "/"), Ok(Parent { dir: ROOT, last: Last::Root, trailing_slash: false }));
    assert_eq!(p(&v, "//"), Ok(Parent { dir: ROOT, last: Last::Root, trailing_slash: false }));
    assert_eq!(p(&v, "/x"), Ok(Parent { dir: ROOT, last: name("x"), trailing_slash: false }));
    assert_eq!(p(&v, "x"), Ok(Parent { dir: ROOT, last: name("x"), trailing_slash: false }));
    assert_eq!(p(&v, "/a/b/new/"), Ok(Parent { dir: b, last: name("new"), trailing_slash: true }));
    assert_eq!(p(&v, "/a//b//new//"), Ok(Parent { dir: b, last: name("new"), trailing_slash: true }));
    assert_eq!(p(&v, "/a/."), Ok(Parent { dir: a, last: Last::Dot, trailing_slash: false }));
    assert_eq!(p(&v, "."), Ok(Parent { dir: ROOT, last: Last::Dot, trailing_slash: false }));
    assert_eq!(p(&v, "/a/b/.."), Ok(Parent { dir: b, last: Last::DotDot, trailing_slash: false }));
    assert_eq!(p(&v, "/a/f/x"), Err(ENOTDIR));
    assert_eq!(p(&v, "/nope/x"), Err(ENOENT));
    assert_eq!(p(&v, ""), Err(ENOENT));
    assert_eq!(p(&v, &format!("/{}", "y".repeat(256))), Err(ENAMETOOLONG));
    assert_eq!(v.lookup_parent(b, b"x", &NoMagic).unwrap().dir, b);
    assert_eq!(v.lookup_parent(f, b"x", &NoMagic), Err(ENOTDIR));
    // Symlinks in the directory part are followed; the last one is not.
    symlink(&mut v, "/a/b", "/lb").unwrap();
    assert_eq!(p(&v, "/lb/x").unwrap().dir, b);
    assert_eq!(p(&v, "/lb").unwrap(), Parent { dir: ROOT, last: name("lb"), trailing_slash: false });
    assert_eq!(p(&v, "/lb/x").unwrap().name(), Some(&b"x"[..]));
    assert_eq!(p(&v, "/").unwrap().name(), None);
}
