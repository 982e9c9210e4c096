//! The driver's trip rules end to end: consecutive failures, the failure rate and slow calls
//! against the sum service in process, on a manual clock that only pauses and a slow proxy move,
//! and the binary listing its rules and the reason of each change.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use breaker::{ManualClock, Reason, State};
use driver::render::{Line, SLOW, Summary};
use driver::run::{Config, Driver, Pace};
use driver::scenario::Step;

use crate::support::{FAILED, Service, config, response, run_binary};

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
