//! Turning an ELF file into a process image: the address-space layout, the
//! areas of the program's segments, and the initial stack exactly as Linux
//! builds it (argc, argv, envp, auxv, and the strings above them).

pub mod image;
pub mod layout;
pub mod stack;
