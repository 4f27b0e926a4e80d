//! byok-auth (under construction).
