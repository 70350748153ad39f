//! Linux fcntl definitions (being written).
