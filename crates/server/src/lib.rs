//! byok-server (under construction).
