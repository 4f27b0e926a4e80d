//! The `byok` command (under construction).

fn main() {}
