//! Initial RAM file systems: the archive format they travel in, shared by the
//! tool that builds them on the host and the linux-server that unpacks one at
//! boot.
//!
//! The format is Linux's own initramfs format, the SVR4 "newc" cpio archive
//! (see [`cpio`]). Using it rather than something of our own means one image
//! boots both our system and a native Linux kernel, which is what comparison
//! runs need, and that standard tools (`cpio`, `bsdtar`, the kernel's
//! `gen_init_cpio`) can make and inspect images.
//!
//! The library is `no_std` + `alloc` and free of `unsafe`: the reader runs
//! inside a server on data the server did not make, so it must only ever fail
//! with an error, never panic or read out of bounds. The host-side build tool
//! (`src/main.rs`, with the spec format described there and in `README.md`) is
//! the only part that uses `std`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cpio;
