//! HTTP/1.1 on the wire: raw TCP clients against the service in process, and the responses read
//! byte by byte as a client would frame them.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod pipelining;
mod response;
