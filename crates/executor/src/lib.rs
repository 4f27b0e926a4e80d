//! byok-executor (under construction).
