//! The tracing events (feature `tracing`): each state change at target `breaker` with `name`,
//! `from`, `to` and `reason`; a rejection at debug.
//!
//! A binary of its own, where every thread that emits an event has a subscriber: tracing
//! caches, for each callsite and for the whole process, whether any subscriber wants its
//! events. A callsite first reached on a thread with no subscriber (another test's breaker)
//! while a test here installs its own can stay cached as unwanted, and the test misses the
//! event.

mod support;

use std::sync::{Arc, Mutex};

use breaker::{CircuitBreaker, ManualClock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use support::secs;

/// What one event said: its target, level and fields.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    target: String,
    level: Level,
    fields: Vec<(String, String)>,
}

/// A subscriber that keeps every event.
#[derive(Default, Clone)]
struct Collect(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().into(), value.into()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().into(), format!("{value:?}")));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().into(),
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn field<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn state_changes_and_rejections_are_events_at_target_breaker() {
    let collect = Collect::default();
    let clock = ManualClock::new();
    tracing::subscriber::with_default(collect.clone(), || {
        let cb = CircuitBreaker::builder()
            .name("payments")
            .window(secs(5))
            .error_threshold(0)
            .clock(clock.clone())
            .build()
            .unwrap();
        cb.try_acquire().unwrap().failure();
        assert!(cb.try_acquire().is_err());
        clock.advance(secs(5));
        cb.try_acquire().unwrap().success();
    });
    let seen = collect.0.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.target == "breaker"), "{seen:?}");
    let changes: Vec<[Option<&str>; 4]> = seen
        .iter()
        .filter(|s| field(s, "from").is_some())
        .map(|s| ["name", "from", "to", "reason"].map(|f| field(s, f)))
        .collect();
    assert_eq!(
        changes,
        [
            ["payments", "closed", "open", "failure_count"].map(Some),
            ["payments", "open", "closed", "window_emptied"].map(Some),
        ]
    );
    let rejections: Vec<&Seen> = seen.iter().filter(|s| s.level == Level::DEBUG).collect();
    assert_eq!(rejections.len(), 1, "{seen:?}");
    assert_eq!(field(rejections[0], "name"), Some("payments"));
}

#[test]
fn a_shadow_rejection_is_a_debug_event_that_says_so() {
    let collect = Collect::default();
    tracing::subscriber::with_default(collect.clone(), || {
        let cb = CircuitBreaker::builder()
            .name("rollout")
            .error_threshold(0)
            .shadow(true)
            .build()
            .unwrap();
        cb.try_acquire().unwrap().failure();
        cb.try_acquire().unwrap().success();
    });
    let seen = collect.0.lock().unwrap().clone();
    let debug: Vec<&Seen> = seen.iter().filter(|s| s.level == Level::DEBUG).collect();
    assert_eq!(debug.len(), 1, "{seen:?}");
    assert_eq!(field(debug[0], "name"), Some("rollout"));
    assert_eq!(
        field(debug[0], "message"),
        Some("call would have been rejected (shadow mode)")
    );
}
