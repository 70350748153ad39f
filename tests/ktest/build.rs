//! Links the test task where the second initial server lives.
include!("../../microkernel/rt/src/build_support.rs");

fn main() {
    // abi::window::SERVER_SLOT + 1 MiB
    link_at(0x7f90_0010_0000);
    println!("cargo:rerun-if-changed=../../microkernel/rt/user.ld.in");
}
