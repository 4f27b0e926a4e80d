//! byok-translate (under construction).
