//! The metrics a breaker emits (feature `metrics`), read back through `metrics-util`'s
//! debugging recorder.

use breaker::{CircuitBreaker, ManualClock, State};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};

use crate::support::secs;

/// One snapshot of the recorder, by kind, name and sorted labels. Taking it resets the
/// recorder's values (`metrics-util`'s debugging recorder consumes what it reports), so a
/// test takes one per moment it checks.
struct Metrics(Vec<Series>);

/// One series: its kind, name, sorted labels and value.
type Series = (MetricKind, String, Vec<(String, String)>, DebugValue);

impl Metrics {
    fn take(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value): (CompositeKey, _, _, _)| {
                    let mut labels: Vec<(String, String)> = key
                        .key()
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    labels.sort();
                    (key.kind(), key.key().name().to_owned(), labels, value)
                })
                .collect(),
        )
    }

    /// The value of the metric `name` of `kind` whose labels are exactly `labels`.
    fn get(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        want.sort();
        self.0
            .iter()
            .find(|(k, n, l, _)| *k == kind && n == name && *l == want)
            .map(|(_, _, _, v)| v)
    }

    fn state(&self, breaker: &str) -> Option<&DebugValue> {
        self.get(MetricKind::Gauge, "breaker_state", &[("breaker", breaker)])
    }

    fn calls(&self, breaker: &str, outcome: &str) -> Option<&DebugValue> {
        self.get(
            MetricKind::Counter,
            "breaker_calls_total",
            &[("breaker", breaker), ("outcome", outcome)],
        )
    }

    fn changes(&self, breaker: &str, from: &str, to: &str, why: &str) -> Option<&DebugValue> {
        self.get(
            MetricKind::Counter,
            "breaker_state_changes_total",
            &[
                ("breaker", breaker),
                ("from", from),
                ("to", to),
                ("reason", why),
            ],
        )
    }
}

fn gauge(v: f64) -> DebugValue {
    DebugValue::Gauge(v.into())
}

#[test]
fn metrics_count_calls_by_outcome_the_state_and_its_changes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let clock = ManualClock::new();
    metrics::with_local_recorder(&recorder, || {
        let cb = CircuitBreaker::builder()
            .name("payments")
            .window(secs(5))
            .error_threshold(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        let built = Metrics::take(&snapshotter);
        assert_eq!(built.state("payments"), Some(&gauge(0.0)), "set when built");
        assert_eq!(
            built.calls("payments", "success"),
            Some(&DebugValue::Counter(0))
        );

        cb.try_acquire().unwrap().success();
        cb.try_acquire().unwrap().ignore();
        cb.try_acquire_owned().unwrap().failure();
        cb.try_acquire().unwrap().failure(); // trips
        for _ in 0..3 {
            assert!(cb.try_acquire().is_err());
        }
        assert!(cb.try_acquire_owned().is_err()); // rejected too
        drop(cb.try_acquire()); // an untold permit is no call: nothing counted

        let open = Metrics::take(&snapshotter);
        assert_eq!(open.state("payments"), Some(&gauge(1.0)));
        assert_eq!(
            open.calls("payments", "success"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            open.calls("payments", "ignored"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            open.calls("payments", "failure"),
            Some(&DebugValue::Counter(2))
        );
        assert_eq!(
            open.calls("payments", "rejected"),
            Some(&DebugValue::Counter(5))
        );
        assert_eq!(
            open.changes("payments", "closed", "open", "failure_count"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            open.changes("payments", "open", "closed", "window_emptied"),
            None
        );

        clock.advance(secs(5));
        assert_eq!(cb.state(), State::Closed);
        let closed = Metrics::take(&snapshotter);
        assert_eq!(
            closed.changes("payments", "open", "closed", "window_emptied"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            closed.changes("payments", "closed", "open", "failure_count"),
            Some(&DebugValue::Counter(0))
        );
    });
}

#[test]
fn forcing_and_resetting_are_changes_with_their_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let cb = CircuitBreaker::builder().name("ops").build().unwrap();
        cb.force_open();
        assert!(cb.try_acquire().is_err());
        let m = Metrics::take(&snapshotter);
        assert_eq!(m.state("ops"), Some(&gauge(3.0)));
        assert_eq!(
            m.changes("ops", "closed", "forced_open", "forced"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(m.calls("ops", "rejected"), Some(&DebugValue::Counter(1)));
        cb.force_closed();
        cb.reset();
        let m = Metrics::take(&snapshotter);
        assert_eq!(m.state("ops"), Some(&gauge(0.0)));
        assert_eq!(
            m.changes("ops", "forced_open", "forced_closed", "forced"),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            m.changes("ops", "forced_closed", "closed", "reset"),
            Some(&DebugValue::Counter(1))
        );
    });
}

#[test]
fn an_unnamed_breaker_has_an_empty_label() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let cb = CircuitBreaker::new(secs(5), 3);
        cb.try_acquire().unwrap().success();
        let m = Metrics::take(&snapshotter);
        assert_eq!(m.calls("", "success"), Some(&DebugValue::Counter(1)));
        assert_eq!(m.state(""), Some(&gauge(0.0)));
    });
}

#[test]
fn shadow_mode_counts_shadow_rejected_in_place_of_rejected() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let clock = ManualClock::new();
    metrics::with_local_recorder(&recorder, || {
        let cb = CircuitBreaker::builder()
            .name("rollout")
            .error_threshold(0)
            .shadow(true)
            .clock(clock.clone())
            .build()
            .unwrap();
        let plain = CircuitBreaker::builder().name("plain").build().unwrap();
        cb.try_acquire().unwrap().failure(); // trips
        cb.try_acquire().unwrap().failure(); // would have been rejected
        cb.try_acquire_owned().unwrap().success(); // so would this
        plain.try_acquire().unwrap().success();
        let m = Metrics::take(&snapshotter);
        assert_eq!(m.state("rollout"), Some(&gauge(1.0)));
        assert_eq!(
            m.calls("rollout", "shadow_rejected"),
            Some(&DebugValue::Counter(2))
        );
        assert_eq!(
            m.calls("rollout", "rejected"),
            Some(&DebugValue::Counter(0))
        );
        assert_eq!(
            m.calls("rollout", "failure"),
            Some(&DebugValue::Counter(1)),
            "a shadow-rejected call has no outcome to count"
        );
        assert_eq!(m.calls("rollout", "success"), Some(&DebugValue::Counter(0)));
        assert_eq!(
            m.calls("plain", "shadow_rejected"),
            None,
            "only a breaker in shadow mode has the series"
        );
        assert_eq!(
            m.changes("rollout", "closed", "open", "failure_count"),
            Some(&DebugValue::Counter(1))
        );
    });
}
