//! HTTP/1.1 on the wire: raw TCP clients against the service (in process, and the binary where
//! its memory is measured), and the responses read byte by byte as a client would frame them.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod linger;
mod pipelining;
mod response;
