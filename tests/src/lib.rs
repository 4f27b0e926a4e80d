//! Helpers for byok's end-to-end tests (stand-in upstreams on 127.0.0.1).
