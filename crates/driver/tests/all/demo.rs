//! End to end: the sum service in process on 127.0.0.1:0, the driver against it, playing the
//! demo (with and without probing, in shadow mode, in real time through the binary, with
//! metrics), with the service down, and with arguments it refuses.

use std::net::TcpListener;
use std::time::Duration;

use breaker::{ManualClock, Reason, State};
use driver::render::{Change, Line, PROBLEM, Summary, UNAVAILABLE};
use driver::run::{Config, Driver, Pace};
use driver::scenario;

use crate::support::{FAILED, Service, config, response, run_binary};

/// Plays the demo on a manual clock: the breaker's decisions do not depend on the machine's
/// speed, and the pause takes no time.
async fn play_demo(port: u16, half_open: Option<u32>) -> (Vec<Line>, Summary) {
    let driver = Driver::new(&config(port, half_open), Pace::Manual(ManualClock::new())).unwrap();
    let mut lines = Vec::new();
    let summary = driver
        .play(&scenario::demo(Duration::from_secs(5)), &mut |l| {
            lines.push(l)
        })
        .await;
    (lines, summary)
}

fn rejected(wait_secs: u64) -> [Line; 2] {
    [
        Line::Open(Duration::from_secs(wait_secs)),
        Line::Unavailable,
    ]
}

#[actix_web::test]
async fn the_demo_trips_recovers_and_trips_again() {
    let service = Service::spawn();
    let (lines, summary) = play_demo(service.port, None).await;

    let expected: Vec<Line> = [
        response("Number summator healthy."),
        response("The value is: 57"),
        FAILED,
        FAILED,
        FAILED,
        FAILED, // the fourth failure in the window exceeds T = 3
        rejected(5),
        rejected(5),
        rejected(5), // the good sum is not sent either
        // the pause of 6 s: the failures at 0 s left the window at 5 s
        FAILED,
        response("The value is: 133"),
        response("The value is: 68"),
        FAILED,
        FAILED,
        FAILED, // the fourth failure since the pause
        rejected(5),
    ]
    .concat();
    assert_eq!(lines, expected);

    assert_eq!(
        (
            summary.forwarded,
            summary.succeeded,
            summary.failed,
            summary.rejected
        ),
        (12, 4, 8, 4)
    );
    assert_eq!(summary.answered, 12);
    let changes: Vec<(Duration, State, State, Reason)> = summary
        .changes
        .iter()
        .map(|c: &Change| (c.at, c.from, c.to, c.reason))
        .collect();
    assert_eq!(
        changes,
        [
            (
                Duration::ZERO,
                State::Closed,
                State::Open,
                Reason::FailureCount
            ),
            (
                Duration::from_secs(5),
                State::Open,
                State::Closed,
                Reason::WindowEmptied
            ),
            (
                Duration::from_secs(6),
                State::Closed,
                State::Open,
                Reason::FailureCount
            ),
        ]
    );
    // The service saw exactly the forwarded requests: none while the circuit was open.
    assert_eq!(service.requests(), 12);
    service.stop().await;
}

#[actix_web::test]
async fn with_probing_a_failed_probe_reopens_the_circuit() {
    let service = Service::spawn();
    let (lines, summary) = play_demo(service.port, Some(1)).await;

    let expected: Vec<Line> = [
        &response("Number summator healthy.")[..],
        &response("The value is: 57"),
        &FAILED,
        &FAILED,
        &FAILED,
        &FAILED,
        &rejected(5),
        &rejected(5),
        &rejected(5),
        // after the pause the circuit is half-open: the bad sum is the probe, and fails
        &[Line::HalfOpen, Line::Problem],
        &rejected(5),
        &rejected(5),
        &rejected(5),
        &rejected(5),
        &rejected(5),
        &rejected(5),
    ]
    .concat();
    assert_eq!(lines, expected);
    assert_eq!((summary.forwarded, summary.rejected), (7, 9));
    assert_eq!(service.requests(), 7);
    service.stop().await;
}

#[actix_web::test]
async fn in_shadow_mode_every_request_is_forwarded_and_the_four_it_would_reject_are_said() {
    let service = Service::spawn();
    let config = Config {
        shadow: true,
        ..config(service.port, None)
    };
    let driver = Driver::new(&config, Pace::Manual(ManualClock::new())).unwrap();
    let mut lines = Vec::new();
    let summary = driver
        .play(&scenario::demo(Duration::from_secs(5)), &mut |l| {
            lines.push(l)
        })
        .await;
    let shadowed = |text: &str| [Line::ShadowOpen, Line::Response(text.into())];
    let shadow_failed = [Line::ShadowOpen, Line::Problem];
    let expected: Vec<Line> = [
        response("Number summator healthy."),
        response("The value is: 57"),
        FAILED,
        FAILED,
        FAILED,
        FAILED,
        shadow_failed.clone(),
        shadow_failed.clone(),
        shadowed("The value is: 54"), // forwarded this time, and answered
        FAILED,
        response("The value is: 133"),
        response("The value is: 68"),
        FAILED,
        FAILED,
        FAILED,
        shadow_failed,
    ]
    .concat();
    assert_eq!(lines, expected);
    assert_eq!(
        (summary.forwarded, summary.rejected, summary.shadow_rejected),
        (16, 0, 4)
    );
    // The states are those of the enforcing demo: the shadowed calls were not counted.
    assert_eq!(
        summary
            .changes
            .iter()
            .map(|c| (c.at, c.to))
            .collect::<Vec<_>>(),
        [
            (Duration::ZERO, State::Open),
            (Duration::from_secs(5), State::Closed),
            (Duration::from_secs(6), State::Open),
        ]
    );
    assert_eq!(service.requests(), 16);
    service.stop().await;
}

/// The tuning loop on the demo: the binary in shadow mode, tracing and drawing its run, then
/// the trace replayed through the real breaker with the same settings.
#[actix_web::test]
async fn a_shadow_trace_replayed_shows_the_demos_changes_and_its_4_rejected() {
    let service = Service::spawn();
    let port = service.port.to_string();
    let dir = std::env::temp_dir().join(format!("driver-shadow-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (trace, svg) = (dir.join("trace.jsonl"), dir.join("run.svg"));
    let out = run_binary(&[
        &port,
        "--window",
        "1",
        "--timeout",
        "2",
        "--shadow",
        "--trace",
        trace.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "Summary: 16 requests: 16 forwarded (5 succeeded, 11 failed), 0 rejected; \
             shadow mode: 4 forwarded that it would have rejected."
        ),
        "{stdout}"
    );
    assert_eq!(stdout.matches(driver::render::SHADOW_OPEN).count(), 4);
    assert_eq!(service.requests(), 16, "shadow mode forwards every request");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
    assert!(picture.contains("failure_count"));

    let settings = breaker_replay::Settings {
        window: Duration::from_secs(1),
        ..breaker_replay::Settings::default()
    };
    let mut replay = breaker_replay::Replay::new(&settings).unwrap();
    let records = breaker_replay::read::open(&trace, &Default::default()).unwrap();
    let mut read = 0;
    for record in records {
        replay.push(&record.unwrap());
        read += 1;
    }
    assert_eq!(read, 16);
    let (report, _) = replay.finish();
    assert_eq!((report.admitted, report.rejected), (12, 4));
    let moves: Vec<(State, State, Reason)> = report
        .changes
        .iter()
        .map(|c| (c.from, c.to, c.reason))
        .collect();
    // The demo's three changes, then the close that comes after its last request.
    assert_eq!(
        moves,
        [
            (State::Closed, State::Open, Reason::FailureCount),
            (State::Open, State::Closed, Reason::WindowEmptied),
            (State::Closed, State::Open, Reason::FailureCount),
            (State::Open, State::Closed, Reason::WindowEmptied),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
    service.stop().await;
}

#[actix_web::test]
async fn the_binary_plays_the_demo_in_real_time_with_a_short_window() {
    let service = Service::spawn();
    let port = service.port.to_string();
    let out = run_binary(&[&port, "--window", "1", "--timeout", "2"]).await;
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();

    // Real time makes the waits vary; the shape of the run does not.
    let kinds: Vec<&str> = stdout
        .lines()
        .take(32)
        .map(|l| {
            if l.starts_with("CIRCUIT CLOSED") {
                "closed"
            } else if l.starts_with("CIRCUIT OPEN: Please wait ") {
                "open"
            } else if l == PROBLEM {
                "problem"
            } else if l == UNAVAILABLE {
                "unavailable"
            } else {
                "response"
            }
        })
        .collect();
    let mut expected = vec!["closed", "response", "closed", "response"];
    expected.extend(["closed", "problem"].repeat(4));
    expected.extend(["open", "unavailable"].repeat(3));
    expected.extend(["closed", "problem"]);
    expected.extend(["closed", "response"].repeat(2));
    expected.extend(["closed", "problem"].repeat(3));
    expected.extend(["open", "unavailable"]);
    assert_eq!(kinds, expected, "output:\n{stdout}");
    assert!(
        stdout.contains("Summary: 16 requests: 12 forwarded (4 succeeded, 8 failed), 4 rejected.")
    );
    assert!(
        stdout.contains("\nRules: more than 3 failures in 1 s.\nState changes:\n"),
        "{stdout}"
    );
    assert!(stdout.contains("closed -> open  (failure_count)\n"));
    assert!(stdout.contains("open -> closed  (window_emptied)\n"));
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR was set");
    assert_eq!(service.requests(), 12);
    service.stop().await;
}

#[actix_web::test]
async fn with_the_service_down_the_circuit_opens_and_the_summary_says_so() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let out = run_binary(&[&port, "--window", "0.2"]).await;
    // The scenario ran, but no request reached the service.
    assert_eq!(out.status.code(), Some(1), "exit status {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("CIRCUIT OPEN: Please wait"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "No request reached the service at http://127.0.0.1:{port}: is it running?"
        )),
        "{stdout}"
    );
}

#[actix_web::test]
async fn bad_arguments_exit_non_zero_with_one_line() {
    let command_line = "driver: reading the command line: ";
    let setup = "driver: setting up the client of the service at ";
    for (args, start) in [
        (&["notaport"][..], command_line),
        (&["ruby", "main.rb", "8080"], command_line),
        (&["python", "other.py", "8080"], command_line),
        (&["--bogus"], command_line),
        (&["--window", "0"], command_line),
        (&["--threshold", "x"], command_line),
        (&["--threshold", "none"], command_line),
        (&["--failure-rate", "0"], command_line),
        (&["--failure-rate", "1.01"], command_line),
        (&["--min-calls", "4"], command_line),
        (&["--failure-rate", "0.5", "--min-calls", "0"], command_line),
        (&["--consecutive", "0"], command_line),
        (&["--consecutive", "two"], command_line),
        (&["--slow", "0"], command_line),
        (&["--slow", "x"], command_line),
        (&["--slow", "1e12"], setup), // past what the breaker's clock can hold
        (&["--host", "bad/host"], setup),
        (&["--host", "user@host"], setup),
    ] {
        let out = run_binary(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with(start), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // The breaker's own refusal, said once.
    for (flag, says) in [
        ("--window", "the window must be at most"),
        ("--slow", "the slow-call threshold must be at most"),
    ] {
        let out = run_binary(&[flag, "1e12"]).await;
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.matches(says).count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("invalid breaker configuration: {says}")),
            "{stderr}"
        );
    }
}

#[actix_web::test]
async fn with_metrics_the_breaker_counts_what_the_summary_says() {
    let service = Service::spawn();
    let port = service.port.to_string();
    // A timeout of its own: the default for W = 1 s (0.2 s) is tight for a loaded machine.
    let out = run_binary(&[&port, "--window", "1", "--timeout", "2", "--metrics"]).await;
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("Summary: 16 requests: 12 forwarded (4 succeeded, 8 failed), 4 rejected."),
        "{stdout}"
    );
    let (_, metrics) = stdout
        .split_once("The breaker's metrics:\n")
        .unwrap_or_else(|| panic!("no metrics in:\n{stdout}"));
    let value = |series: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    };
    let calls = |outcome: &str| {
        value(&format!(
            "breaker_calls_total{{breaker=\"sum-service\",outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(calls("success"), Some(4.0), "{metrics}");
    assert_eq!(calls("failure"), Some(8.0), "{metrics}");
    assert_eq!(calls("rejected"), Some(4.0), "{metrics}");
    assert_eq!(
        value(
            "breaker_state_changes_total{breaker=\"sum-service\",from=\"closed\",to=\"open\",reason=\"failure_count\"}"
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        value("breaker_state{breaker=\"sum-service\"}"),
        Some(1.0),
        "{metrics}"
    );
    service.stop().await;
}
