//! The `credvault` binary.
fn main() {}
