//! The Linux x86-64 ABI as the server speaks it: errno values, flags, and the
//! layouts of the structures that cross the syscall boundary. Only facts about
//! Linux live here, no server policy.

pub mod auxv;
pub mod dirent;
pub mod errno;
pub mod fcntl;
pub mod mman;
pub mod signal;
pub mod stat;
pub mod sysno;
pub mod termios;
