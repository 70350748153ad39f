//! Links the kernel binary with its own linker script (higher-half kernel,
//! multiboot header in the first page of the file).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let target = std::env::var("TARGET").unwrap();
    if target == "x86_64-unknown-none" {
        println!("cargo:rustc-link-arg-bins=-T{dir}/machine/link.ld");
    }
    println!("cargo:rerun-if-changed=machine/link.ld");
}
