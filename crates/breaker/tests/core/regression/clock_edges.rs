//! The edges of the clock: a breaker idle for billions of bucket widths, the clock at its
//! maximum, durations the clock cannot hold. None of them loses a failure, loops, overflows or
//! reaches a call.

use std::time::Duration;

use breaker::{CircuitBreaker, EXACT_MAX_THRESHOLD, ManualClock, Probing, State};

use super::fail;

/// The bug: in bucketed mode (T above [`EXACT_MAX_THRESHOLD`]) each bucket is tagged with its
/// bucket index modulo 2^32, and a bucket whose tag was "ahead" of the current bucket by
/// anything under 2^31 was taken for a later bucket (written by a caller that read the clock
/// later) and left alone. Once the index had moved on by more than 2^31 widths since a bucket
/// was last written, every bucket looked ahead: each failure was dropped and the breaker never
/// tripped again.
#[test]
fn bucketed_mode_keeps_counting_after_the_bucket_index_advances_past_2_pow_31() {
    const WIDTH: Duration = Duration::from_micros(1); // W = 64 µs: 64 buckets of 1 µs
    let t = EXACT_MAX_THRESHOLD + 1;
    for widths in [(1u64 << 31) + 1, 3 << 30] {
        let clock = ManualClock::new();
        let cb = CircuitBreaker::builder()
            .window(WIDTH * 64)
            .error_threshold(t)
            .clock(clock.clone())
            .build()
            .unwrap();
        for _ in 0..64 {
            fail(&cb); // leaves a tag in every bucket word
            clock.advance(WIDTH);
        }
        assert_eq!(cb.errors_in_window(), 63);
        clock.advance(WIDTH * 64); // the old failures expire
        assert_eq!(cb.errors_in_window(), 0);
        clock.advance(Duration::from_micros(widths) - WIDTH * 64);

        for _ in 0..t {
            fail(&cb);
        }
        assert_eq!(
            cb.errors_in_window(),
            t,
            "{widths} widths later: failures were dropped"
        );
        assert_eq!(cb.state(), State::Closed, "{widths} widths later");
        fail(&cb);
        assert_eq!(
            cb.state(),
            State::Open,
            "{widths} widths later: T + 1 failures in one bucket must trip"
        );
        assert_eq!(cb.errors_in_window(), t + 1);
    }
}

/// The same guarantee, just short of a full turn of the index. The bug: a bucket whose tag was
/// up to 2^16 buckets "ahead" was taken for a later caller's, so a bucket last written between
/// 2^32 - 2^16 and 2^32 - 1 widths earlier, whose tag is by then that little ahead modulo 2^32,
/// was taken for one too, and every failure landing in it was dropped (at W = 64 µs, a breaker
/// idle for about 72 minutes). Only one turn of the ring (64 buckets) ahead may be a later
/// caller's, as the window module documents.
#[test]
fn bucketed_mode_keeps_counting_just_short_of_a_full_turn_of_the_bucket_index() {
    const WIDTH: Duration = Duration::from_micros(1); // W = 64 µs: 64 buckets of 1 µs
    let t = EXACT_MAX_THRESHOLD + 1;
    // Only a slot untouched for 2^32 widths give or take one turn of the ring (64 widths) is
    // ambiguous, as the window module documents; 128 widths short of it is not.
    for widths in [(1u64 << 32) - 1_000, (1u64 << 32) - 128] {
        let clock = ManualClock::new();
        let cb = CircuitBreaker::builder()
            .window(WIDTH * 64)
            .error_threshold(t)
            .clock(clock.clone())
            .build()
            .unwrap();
        for _ in 0..64 {
            fail(&cb); // leaves a tag in every bucket word
            clock.advance(WIDTH);
        }
        clock.advance(Duration::from_micros(widths) - WIDTH * 64);
        for _ in 0..=t {
            if let Ok(p) = cb.try_acquire() {
                p.failure();
            }
        }
        assert_eq!(
            (cb.state(), cb.errors_in_window()),
            (State::Open, t + 1),
            "2^32 - {} widths later: T + 1 failures in one bucket must trip",
            (1u64 << 32) - widths
        );
    }
}

/// The bug: the bucketed window (T above [`EXACT_MAX_THRESHOLD`]) with a window under 128 ns
/// and the clock at its maximum looped forever in release and overflowed in debug: the walk over
/// the buckets began at the bucket after the current one, whose index wrapped. So did the
/// failure-rate rule's walk, with any window.
#[test]
fn bucketed_windows_at_the_end_of_the_clock_neither_overflow_nor_loop() {
    let clock = ManualClock::new();
    let count = CircuitBreaker::builder()
        .window(Duration::from_nanos(10))
        .error_threshold(EXACT_MAX_THRESHOLD + 904)
        .clock(clock.clone())
        .build()
        .unwrap();
    let rate = CircuitBreaker::builder()
        .window(Duration::from_nanos(10))
        .failure_rate(1.0, 2)
        .clock(clock.clone())
        .build()
        .unwrap();
    clock.advance(Duration::MAX);
    for cb in [&count, &rate] {
        cb.try_acquire().unwrap().failure();
        assert_eq!(cb.errors_in_window(), 1);
        assert_eq!(cb.state(), State::Closed);
    }
}

/// The bug: probing accepted an open time, a probe timeout or a backoff cap of
/// `Duration::MAX`, while the same window was refused. Every duration the clock cannot hold is
/// refused when the breaker is built.
#[test]
fn probing_durations_beyond_the_clock_are_refused_at_build() {
    let too_long = Duration::MAX;
    for probing in [
        Probing::new(1).open_time(too_long),
        Probing::new(1).probe_timeout(too_long),
        Probing::new(1).backoff(2.0, too_long),
    ] {
        let built = CircuitBreaker::builder().probing(probing.clone()).build();
        assert!(
            matches!(built, Err(breaker::ConfigError::TooLong { .. })),
            "{probing:?}: {built:?}"
        );
    }
    let slow = CircuitBreaker::builder().slow_call(too_long).build();
    assert!(matches!(slow, Err(breaker::ConfigError::TooLong { .. })));
}
