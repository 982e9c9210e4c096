//! Fleet mode against real `redis-server` processes, each test with its own.

mod faults;
mod partition;
mod processes;
#[path = "../support/redis_server.rs"]
mod redis_server;
mod shared;
mod support;
