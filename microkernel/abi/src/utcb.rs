//! The user thread control block: one page per thread, mapped read-write into
//! the thread's space at the address given when the thread was created. It
//! holds the message registers beyond the ones passed in CPU registers, and the
//! receive-side buffer registers. Native threads find it through their GS base,
//! which the kernel sets to the UTCB address; word 0 holds that address too.

/// Byte offsets inside the UTCB page.
pub mod offset {
    /// The UTCB's own user address.
    pub const SELF: usize = 0x000;
    /// Receive window for map/grant items (an `Fpage`; nil accepts none).
    pub const ACCEPTOR: usize = 0x008;
    /// Receive buffer for string items: address and length in the receiver's space.
    pub const STRING_BUF_ADDR: usize = 0x010;
    pub const STRING_BUF_LEN: usize = 0x018;
    /// The thread's own global ID (written by the kernel at creation).
    pub const MY_ID: usize = 0x028;
    /// Bytes written into the string buffer by the last received string item.
    pub const STRING_RECEIVED: usize = 0x020;
    /// Eight words the thread may use as it likes (thread-local storage).
    pub const USER_WORDS: usize = 0x040;
    /// Message registers: MR i lives at `MRS + 8 * i` (MR0..MR6 are only here
    /// when the user code puts them here; the kernel uses registers for them).
    pub const MRS: usize = 0x100;
}

/// Size of the area the kernel reads and writes (the rest of the page is free).
pub const UTCB_USED: usize = offset::MRS + 8 * 64;
