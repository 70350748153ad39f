//! Links the pager at the start of its slot of the reserved window.
include!("../microkernel/rt/src/build_support.rs");

fn main() {
    // abi::window::PAGER_SLOT + 1 MiB
    link_at(0x7f80_0010_0000);
    println!("cargo:rerun-if-changed=../microkernel/rt/user.ld.in");
}
