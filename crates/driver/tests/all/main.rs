//! The driver's integration tests, one binary: the demo end to end (`demo`), its trip rules
//! (`rules`), services that misbehave (`faults`), and fleet mode over a real `redis-server`
//! (`fleet`, skipped with a line saying so when there is none), all sharing `support`.

mod demo;
mod faults;
mod fleet;
mod rules;
mod support;
