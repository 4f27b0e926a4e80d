//! Benchmarks (under construction).
fn main() {}
