//! The Linux personality's logic, independent of the microkernel: host-tested.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;
