//! The Linux personality's logic, independent of the microkernel: the Linux
//! ABI, the VFS and ramfs, ELF process images and the initial stack, memory
//! areas, pipe buffers, the terminal line discipline. `no_std`, no `unsafe`, host-tested.
//! The server binary (`main.rs` and the modules it declares) drives it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod entry;
pub mod exec;
pub mod linux;
pub mod mm;
pub mod pipe;
pub mod signal;
pub mod tty;
pub mod vfs;

#[cfg(test)]
mod fuzz;
