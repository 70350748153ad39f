//! The root pager's logic that does not need the kernel: the pool of
//! physical memory it hands out.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod pool;
