//! Linux dirent definitions (being written).
