//! The kernel interface page, mapped read-only at `abi::KIP_ADDR` in every space.

use abi::kip::{Kip, KIP_MAGIC};

/// The KIP.
pub fn kip() -> &'static Kip {
    // SAFETY: the kernel maps the KIP read-only at KIP_ADDR in every space for
    // the space's whole life; `Kip` is plain data. The clock word changes
    // under us, so it is read with `clock_us()` (volatile) only.
    let k = unsafe { &*(abi::KIP_ADDR as *const Kip) };
    assert_eq!(k.magic, KIP_MAGIC, "no kernel interface page");
    k
}

/// Microseconds since boot (updated by the kernel every tick).
pub fn clock_us() -> u64 {
    let k = kip();
    // SAFETY: an aligned word inside the mapped KIP.
    unsafe { core::ptr::read_volatile(&k.clock_us) }
}
