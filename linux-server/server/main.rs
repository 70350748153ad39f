//! The linux-server (not yet implemented): the foundation build boots it to
//! show the boot chain works, and it powers the machine off.

#![no_std]
#![no_main]

rt::entry!(main);
rt::declare_heap!(64 << 10);

fn main() {
    rt::println!("linux-server: not implemented yet; powering off");
    let _ = rt::sys::shutdown(0);
}
