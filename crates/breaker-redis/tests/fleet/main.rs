//! Fleet mode against real `redis-server` processes, each test with its own.

mod faults;
mod partition;
mod processes;
mod shared;
mod support;
