//! Linux stat definitions (being written).
