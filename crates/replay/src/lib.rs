//! Replays recorded traffic through the real circuit breaker, to choose W and T from it.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod draw;
pub mod read;
mod record;
mod replay;
mod report;
mod settings;
mod sweep;
pub mod timeline;

pub use crate::record::Record;
