//! End to end: the sum service in process on 127.0.0.1:0, the driver against it.

use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use breaker::{ManualClock, Reason, State};
use driver::render::{Change, Line, PROBLEM, SLOW, Summary, UNAVAILABLE};
use driver::run::{Config, Driver, Pace};
use driver::scenario::{self, Step};
use sum_service::{RequestLog, Settings};

/// The service, running on a free port of 127.0.0.1, with its request log captured.
struct Service {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    handle: ServerHandle,
}

impl Service {
    fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let settings = Settings {
            workers: 1,
            log: RequestLog::Capture(log.clone()),
            shutdown_timeout: Duration::from_secs(1),
            ..Settings::default()
        };
        let server = sum_service::run_with(listener, settings).expect("start the service");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { port, log, handle }
    }

    /// The requests the service has answered.
    fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

fn config(port: u16, half_open: Option<u32>) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port,
        window: Duration::from_secs(5),
        threshold: Some(3),
        failure_rate: None,
        consecutive: None,
        slow: None,
        timeout: Duration::from_secs(5),
        half_open,
        shadow: false,
    }
}

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

fn response(text: &str) -> [Line; 2] {
    [Line::Closed, Line::Response(text.into())]
}

const FAILED: [Line; 2] = [Line::Closed, Line::Problem];

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

/// Runs the driver binary with `args`, without colour.
async fn run_binary(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    actix_web::rt::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driver"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run the driver")
    })
    .await
    .expect("join")
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

/// A proxy in front of the service that moves the breaker's manual clock forward by `delay`
/// while each request is in flight (before it forwards it): every call takes exactly `delay` on
/// the breaker's clock, however fast the machine is.
struct SlowProxy {
    port: u16,
    handle: ServerHandle,
}

impl SlowProxy {
    fn spawn(service: u16, clock: ManualClock, delay: Duration) -> Self {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let server = HttpServer::new(move || {
            let clock = clock.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let clock = clock.clone();
                async move {
                    clock.advance(delay);
                    let url = format!("http://127.0.0.1:{service}{}", req.uri());
                    let mut forward = reqwest::Client::new()
                        .request(req.method().as_str().parse().unwrap(), url)
                        .body(body.to_vec());
                    if let Some(kind) = req.headers().get("content-type") {
                        forward = forward.header("content-type", kind.as_bytes());
                    }
                    let answer = forward.send().await.expect("the service answers");
                    let status = answer.status().as_u16();
                    let text = answer.text().await.unwrap_or_default();
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .body(text)
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { port, handle }
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Plays `steps` with `config` on a manual clock that only pauses (and a [`SlowProxy`]) move.
async fn play(config: &Config, clock: ManualClock, steps: &[Step]) -> (Vec<Line>, Summary) {
    let driver = Driver::new(config, Pace::Manual(clock)).unwrap();
    let mut lines = Vec::new();
    let summary = driver.play(steps, &mut |l| lines.push(l)).await;
    (lines, summary)
}

/// The lines with the waits of the rejections left out.
fn without_waits(lines: Vec<Line>) -> Vec<Line> {
    lines
        .into_iter()
        .map(|l| match l {
            Line::Open(_) => Line::Open(Duration::ZERO),
            other => other,
        })
        .collect()
}

/// A rejection, its wait left out.
const REJECTED: [Line; 2] = [Line::Open(Duration::ZERO), Line::Unavailable];

/// The changes of a run, without their times.
fn changes(summary: &Summary) -> Vec<(State, State, Reason)> {
    summary
        .changes
        .iter()
        .map(|c| (c.from, c.to, c.reason))
        .collect()
}

#[actix_web::test]
async fn consecutive_2_trips_on_the_second_bad_sum_in_a_row() {
    let service = Service::spawn();
    let config = Config {
        consecutive: Some(2),
        ..config(service.port, None)
    };
    // A good sum between two bad ones breaks the row; two bad sums in a row open the circuit,
    // long before the count rule's four failures.
    let steps = [
        Step::good(1, 2),
        Step::bad(),
        Step::good(3, 4),
        Step::bad(),
        Step::bad(),
        Step::good(5, 6),
    ];
    let (lines, summary) = play(&config, ManualClock::new(), &steps).await;
    let expected: Vec<Line> = [
        response("The value is: 3"),
        FAILED,
        response("The value is: 7"),
        FAILED,
        FAILED,
        REJECTED,
    ]
    .concat();
    assert_eq!(without_waits(lines), expected);
    assert_eq!(
        changes(&summary),
        [(State::Closed, State::Open, Reason::ConsecutiveFailures)]
    );
    assert_eq!((summary.forwarded, summary.rejected), (5, 1));
    assert_eq!(service.requests(), 5);
    service.stop().await;
}

#[actix_web::test]
async fn failure_rate_half_over_4_calls_trips_as_the_rule_says() {
    let service = Service::spawn();
    // The rate alone: the count rule off.
    let config = Config {
        threshold: None,
        failure_rate: Some((0.5, 4)),
        ..config(service.port, None)
    };

    // Three failures are 3 of 3, but under 4 calls the rule says nothing; the good sum that
    // makes 4 calls brings the rate to 3/4 and opens the circuit.
    let steps = [
        Step::bad(),
        Step::bad(),
        Step::bad(),
        Step::good(1, 1),
        Step::good(2, 2),
    ];
    let (lines, summary) = play(&config, ManualClock::new(), &steps).await;
    let expected: Vec<Line> = [
        FAILED,
        FAILED,
        FAILED,
        response("The value is: 2"),
        REJECTED,
    ]
    .concat();
    assert_eq!(without_waits(lines), expected);
    assert_eq!(
        changes(&summary),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );

    // 1 of 4 and 2 of 5 are under a half; 3 of 6 is a half, and opens it.
    let steps = [
        Step::good(1, 1),
        Step::good(2, 2),
        Step::good(3, 3),
        Step::bad(),
        Step::bad(),
        Step::bad(),
        Step::good(4, 4),
    ];
    let (lines, summary) = play(&config, ManualClock::new(), &steps).await;
    let expected: Vec<Line> = [
        response("The value is: 2"),
        response("The value is: 4"),
        response("The value is: 6"),
        FAILED,
        FAILED,
        FAILED,
        REJECTED,
    ]
    .concat();
    assert_eq!(without_waits(lines), expected);
    assert_eq!(
        changes(&summary),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );
    assert_eq!((summary.forwarded, summary.rejected), (6, 1));
    assert_eq!(service.requests(), 4 + 6);
    service.stop().await;
}

#[actix_web::test]
async fn slow_makes_a_slow_success_a_failure() {
    let service = Service::spawn();
    let clock = ManualClock::new();
    // Every call takes 1 s on the breaker's clock.
    let proxy = SlowProxy::spawn(service.port, clock.clone(), Duration::from_secs(1));
    let steps = [Step::good(1, 2), Step::good(3, 4), Step::good(5, 6)];
    let slow = |threshold| Config {
        consecutive: Some(2),
        slow: Some(threshold),
        ..config(proxy.port, None)
    };

    // A threshold of 2 s: 1 s is not slow, every sum is a success.
    let (lines, summary) = play(&slow(Duration::from_secs(2)), clock.clone(), &steps).await;
    let expected: Vec<Line> = [
        response("The value is: 3"),
        response("The value is: 7"),
        response("The value is: 11"),
    ]
    .concat();
    assert_eq!(lines, expected);
    assert_eq!((summary.succeeded, summary.failed, summary.slow), (3, 0, 0));
    assert!(summary.changes.is_empty());

    // A threshold of 0.5 s: each good sum is slow, so a failure; two in a row open the circuit.
    let (lines, summary) = play(&slow(Duration::from_millis(500)), clock, &steps).await;
    let expected: Vec<Line> = [
        &[Line::Closed, Line::Slow("The value is: 3".into())][..],
        &[Line::Closed, Line::Slow("The value is: 7".into())],
        &REJECTED,
    ]
    .concat();
    assert_eq!(without_waits(lines), expected);
    assert_eq!(
        (
            summary.succeeded,
            summary.failed,
            summary.slow,
            summary.rejected
        ),
        (0, 2, 2, 1)
    );
    assert_eq!(
        changes(&summary),
        [(State::Closed, State::Open, Reason::ConsecutiveFailures)]
    );
    assert_eq!(service.requests(), 5);
    proxy.stop().await;
    service.stop().await;
}

#[actix_web::test]
async fn the_binary_lists_its_rules_and_the_reason_of_each_change() {
    let service = Service::spawn();
    let port = service.port.to_string();
    let args = [
        &port,
        "--window",
        "1",
        "--timeout",
        "2",
        "--consecutive",
        "2",
    ];
    let out = run_binary(&args).await;
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(SLOW), "{stdout}");
    // Two bad sums in a row open the circuit before the fourth failure would, for 1 s (W);
    // after the pause, a bad sum, two good ones, and two bad ones open it again.
    assert!(
        stdout.contains(
            "Summary: 16 requests: 9 forwarded (4 succeeded, 5 failed), 7 rejected.\n\
             Rules: more than 3 failures in 1 s; 2 consecutive failures.\n\
             State changes:\n"
        ),
        "{stdout}"
    );
    let reasons: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "State changes:")
        .skip(1)
        .map(|l| l.split_once("s  ").map_or(l, |(_, change)| change))
        .collect();
    assert_eq!(
        reasons,
        [
            "closed -> open  (consecutive_failures)",
            "open -> closed  (open_time_elapsed)",
            "closed -> open  (consecutive_failures)",
        ],
        "{stdout}"
    );
    assert_eq!(service.requests(), 9);
    service.stop().await;
}
