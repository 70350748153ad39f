// Used by the build scripts of native tasks (included with `include!`):
// writes the linker script with the task's image base and links with it.
pub fn link_at(image_base: u64) {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-none" {
        return;
    }
    let out = std::env::var("OUT_DIR").unwrap();
    let template = include_str!("../user.ld.in");
    let script = template.replace("@IMAGE_BASE@", &format!("{image_base:#x}"));
    let path = format!("{out}/user.ld");
    std::fs::write(&path, script).unwrap();
    println!("cargo:rustc-link-arg-bins=-T{path}");
}
