//! The calling thread's UTCB: message registers beyond MR6, the receive
//! window for mappings, the string receive buffer, and the thread's own ID.

use abi::utcb::offset;
use abi::{Fpage, ThreadId};

/// The UTCB of one thread (the kernel maps it; its address is in GS:0).
#[derive(Clone, Copy)]
pub struct Utcb {
    base: u64,
}

impl Utcb {
    /// The UTCB of the calling thread.
    pub fn current() -> Utcb {
        Utcb { base: abi::syscall::utcb_addr() }
    }

    fn word(&self, off: usize) -> *mut u64 {
        (self.base + off as u64) as *mut u64
    }

    fn read(&self, off: usize) -> u64 {
        // SAFETY: `off` is inside the UTCB page (offsets below UTCB_USED),
        // which the kernel keeps mapped read-write for this thread's lifetime.
        unsafe { core::ptr::read_volatile(self.word(off)) }
    }

    fn write(&self, off: usize, v: u64) {
        // SAFETY: as for `read`.
        unsafe { core::ptr::write_volatile(self.word(off), v) }
    }

    pub fn my_id(&self) -> ThreadId {
        ThreadId(self.read(offset::MY_ID))
    }
    /// Message register `i` (7..=63 are only in the UTCB).
    pub fn mr(&self, i: usize) -> u64 {
        assert!(i <= abi::msg::MAX_MR);
        self.read(offset::MRS + 8 * i)
    }
    pub fn set_mr(&self, i: usize, v: u64) {
        assert!(i <= abi::msg::MAX_MR);
        self.write(offset::MRS + 8 * i, v)
    }
    /// Accept map and grant items into `window` (nil: accept none).
    pub fn set_acceptor(&self, window: Fpage) {
        self.write(offset::ACCEPTOR, window.0)
    }
    pub fn set_string_buffer(&self, addr: u64, len: u64) {
        self.write(offset::STRING_BUF_ADDR, addr);
        self.write(offset::STRING_BUF_LEN, len);
    }
    pub fn string_received(&self) -> u64 {
        self.read(offset::STRING_RECEIVED)
    }
    /// One of the eight words free for the thread's own use.
    pub fn user_word(&self, i: usize) -> u64 {
        assert!(i < 8);
        self.read(offset::USER_WORDS + 8 * i)
    }
    pub fn set_user_word(&self, i: usize, v: u64) {
        assert!(i < 8);
        self.write(offset::USER_WORDS + 8 * i, v)
    }
}
