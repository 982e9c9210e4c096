//! breaker-replay's integration tests, one binary: the `breaker-replay` binary end to end
//! (`cli`), the readers on any input (`read`), the replay against a reference model (`model`),
//! and the shipped example log against its generator (`shipped_log`).

mod cli;
mod model;
mod read;
mod shipped_log;
