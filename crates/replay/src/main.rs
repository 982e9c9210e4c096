//! `breaker-replay`: see the crate's README.

fn main() {}
