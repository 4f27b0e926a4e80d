//! Benchmarks of byok-translate (filled in below).
fn main() {}
