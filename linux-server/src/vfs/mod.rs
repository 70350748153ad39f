//! The VFS and ramfs (being written).
