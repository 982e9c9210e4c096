//! Plays a scenario against the service through a breaker, and reports each decision.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::http::classify_status;
use breaker::{
    CircuitBreaker, Clock, ConfigError, ManualClock, MonotonicClock, Outcome, Probing, State,
};

use crate::change::Change;
use crate::played::{Decision, Played};
use crate::render::{Line, Rules, Summary};
use crate::scenario::Step;

/// The name of the driver's breaker, in its metrics.
pub const BREAKER_NAME: &str = "sum-service";

/// The most of a response body the driver reads: the sum service's answers are a line. A
/// longer body is a failure, and is not printed.
pub const BODY_CAP: usize = 64 * 1024;

/// How the driver is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The service's host name or address.
    pub host: String,
    /// The service's port.
    pub port: u16,
    /// The breaker's window W.
    pub window: Duration,
    /// The count rule's error threshold T, or `None` for no count rule (then `failure_rate` or
    /// `consecutive` must be set).
    pub threshold: Option<u32>,
    /// The failure-rate rule: the ratio and the fewest calls it judges.
    pub failure_rate: Option<(f64, u32)>,
    /// The consecutive-failures rule.
    pub consecutive: Option<u32>,
    /// The slow-call threshold: a slower success is recorded as a failure.
    pub slow: Option<Duration>,
    /// The request timeout: from sending the request to the last byte of the response's body.
    pub timeout: Duration,
    /// Half-open probing with this many probes, if set.
    pub half_open: Option<u32>,
    /// Shadow mode: the breaker decides as usual but every request is forwarded; those it
    /// would have rejected are said to be.
    pub shadow: bool,
}

/// Fleet mode: the driver's breaker shares one circuit with every driver (or other fleet
/// member) on this Redis under this name, with the same window and threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// The Redis server's URL, `redis://host:port/`.
    pub redis: String,
    /// The shared circuit's name (the breaker's name too).
    pub name: String,
}

/// How pauses pass.
#[derive(Debug, Clone)]
pub enum Pace {
    /// In real time: the driver sleeps, and the breaker reads the monotonic clock.
    Real,
    /// On a manual clock, which the breaker reads and a pause advances: a run whose breaker
    /// decisions do not depend on how fast the machine is.
    Manual(ManualClock),
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The host and port do not make a URL.
    #[error("`{0}` is not a valid host for the service")]
    Address(String),
    /// The breaker refused the configuration.
    #[error("invalid breaker configuration")]
    Breaker(#[from] ConfigError),
    /// No count rule and no other rule: nothing would open the circuit.
    #[error(
        "no trip rule: without the count rule, a failure rate or consecutive failures is needed"
    )]
    NoRule,
    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// Fleet mode could not start (a bad Redis URL or name; never Redis being down).
    #[error("could not set up fleet mode")]
    Fleet(#[from] breaker_redis::FleetError),
}

/// The driver: a reqwest client behind a breaker, pointed at one service.
#[derive(Debug)]
pub struct Driver {
    http: reqwest::Client,
    breaker: CircuitBreaker,
    base: reqwest::Url,
    pace: Pace,
    changes: Arc<Mutex<Vec<Change>>>,
    config: Config,
    fleet: Option<breaker_redis::Fleet>,
}

impl Driver {
    /// Sets up the client and the breaker.
    ///
    /// # Errors
    ///
    /// A [`SetupError`] if the address is not valid, no rule is set, or the breaker refuses the
    /// configuration.
    pub fn new(config: &Config, pace: Pace) -> Result<Self, SetupError> {
        Self::setup(config, pace, None)
    }

    /// Sets up the client and a breaker in fleet mode: every driver on `fleet.redis` under
    /// `fleet.name` shares its circuit. Must be called within a tokio runtime, which runs the
    /// fleet's background task; it returns at once, and the breaker works locally until Redis
    /// answers.
    ///
    /// # Errors
    ///
    /// As [`Driver::new`], and [`SetupError::Fleet`] for a bad Redis URL or name, or no count
    /// rule (the rule the fleet shares).
    pub fn in_fleet(config: &Config, pace: Pace, fleet: &FleetConfig) -> Result<Self, SetupError> {
        Self::setup(config, pace, Some(fleet))
    }

    fn setup(config: &Config, pace: Pace, fleet: Option<&FleetConfig>) -> Result<Self, SetupError> {
        if config.threshold.is_none()
            && config.failure_rate.is_none()
            && config.consecutive.is_none()
        {
            // The breaker would fall back to its default count rule: say so rather than surprise.
            return Err(SetupError::NoRule);
        }
        let host = if config.host.contains(':') && !config.host.starts_with('[') {
            format!("[{}]", config.host) // an IPv6 address
        } else {
            config.host.clone()
        };
        let address = format!("http://{host}:{}/", config.port);
        let base = reqwest::Url::parse(&address)
            .ok()
            // Only a host: no path, query, fragment or user smuggled in through `--host`.
            .filter(|url| {
                url.path() == "/"
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.username().is_empty()
                    && url.host_str().is_some_and(|h| !h.is_empty())
            })
            .ok_or_else(|| SetupError::Address(config.host.clone()))?;

        let changes = Arc::new(Mutex::new(Vec::new()));
        let log = changes.clone();
        let mut builder = CircuitBreaker::builder()
            .name(BREAKER_NAME)
            .window(config.window)
            .on_state_change(move |c| {
                if let Ok(mut log) = log.lock() {
                    log.push(Change::from(c));
                }
            });
        // The count rule is named whenever it is on: the breaker would turn it off by itself
        // once another rule is named.
        if let Some(threshold) = config.threshold {
            builder = builder.error_threshold(threshold);
        }
        if let Some((ratio, min_calls)) = config.failure_rate {
            builder = builder.failure_rate(ratio, min_calls);
        }
        if let Some(n) = config.consecutive {
            builder = builder.consecutive_failures(n);
        }
        if let Some(slow) = config.slow {
            builder = builder.slow_call(slow);
        }
        if let Some(probes) = config.half_open {
            builder = builder.probing(Probing::new(probes).probe_timeout(config.timeout));
        }
        builder = builder.shadow(config.shadow);
        if let Pace::Manual(clock) = &pace {
            builder = builder.clock(clock.clone());
        }
        let (breaker, fleet) = match fleet {
            None => (builder.build()?, None),
            Some(f) => {
                let fleet = breaker_redis::Fleet::builder(f.redis.as_str())
                    .build(builder.name(f.name.as_str()))?;
                (fleet.breaker().clone(), Some(fleet))
            }
        };
        if config.timeout.is_zero() {
            return Err(SetupError::Breaker(ConfigError::ZeroRequestTimeout));
        }
        // The request's timeout is the driver's own (see `exchange`), around the whole
        // exchange, body included.
        let http = reqwest::Client::builder()
            .build()
            .map_err(SetupError::Client)?;
        Ok(Self {
            http,
            breaker,
            base,
            pace,
            changes,
            config: config.clone(),
            fleet,
        })
    }

    /// The fleet the breaker belongs to, in fleet mode.
    pub fn fleet(&self) -> Option<&breaker_redis::Fleet> {
        self.fleet.as_ref()
    }

    /// The trip rules in force, the count rule as the breaker reports it.
    pub fn rules(&self) -> Rules {
        Rules {
            window: self.breaker().window(),
            threshold: self.breaker().error_threshold(),
            failure_rate: self.config.failure_rate,
            consecutive: self.config.consecutive,
            slow: self.config.slow,
        }
    }

    /// The service's base URL.
    pub fn target(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The breaker in use.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Plays `steps`, handing each output line to `emit` as it happens, and returns the totals.
    pub async fn play(&self, steps: &[Step], emit: &mut dyn FnMut(Line)) -> Summary {
        // The breaker reports changes on its own clock; the summary counts from this start.
        let start = self.now();
        let mut summary = Summary::default();
        for step in steps {
            match step {
                Step::Pause(d) => self.pause(*d).await,
                request => self.request(request, start, &mut summary, emit).await,
            }
        }
        summary.changes = self
            .changes
            .lock()
            .map(|changes| {
                changes
                    .iter()
                    .map(|c| Change {
                        at: c.at.saturating_sub(start),
                        ..*c
                    })
                    .collect()
            })
            .unwrap_or_default();
        summary
    }

    /// The time on the breaker's clock.
    fn now(&self) -> Duration {
        match &self.pace {
            Pace::Real => MonotonicClock::new().now(),
            Pace::Manual(clock) => clock.now(),
        }
    }

    async fn pause(&self, d: Duration) {
        match &self.pace {
            Pace::Real => tokio::time::sleep(d).await,
            Pace::Manual(clock) => clock.advance(d),
        }
    }

    async fn request(
        &self,
        step: &Step,
        run_start: Duration,
        summary: &mut Summary,
        emit: &mut dyn FnMut(Line),
    ) {
        // The driver is the breaker's only user, so the state now is the one the request meets:
        // the status line can be shown before the request goes out.
        let before = self.breaker().state();
        let shown = status_line(before);
        if let Some(line) = &shown {
            emit(line.clone());
        }
        let request = match self.build(step) {
            Ok(r) => r,
            Err(_) => {
                // Only a bad URL can fail here, and the base URL was checked at setup.
                emit(Line::Problem);
                return;
            }
        };
        // The slow-call rule times a call from its permit to its outcome on the breaker's
        // clock; this times it from just before to just after, on the same clock: a hair
        // longer in real time (a success within that hair of the threshold could be told
        // apart differently), the same on a manual clock.
        let started = self.now();
        let permit = match self.breaker.try_acquire() {
            Ok(permit) => permit,
            Err(open) => {
                summary.rejected += 1;
                emit(if open.is_forced() {
                    Line::ForcedOpen
                } else {
                    Line::Open(open.retry_after())
                });
                emit(Line::Unavailable);
                summary.played.push(Played {
                    start: started.saturating_sub(run_start),
                    duration: Duration::ZERO,
                    decision: Decision::Rejected,
                    outcome: step.expected_outcome(),
                    failures_in_window: self.breaker.errors_in_window(),
                });
                return;
            }
        };
        let shadow_rejected = permit.is_shadow_rejected();
        if shadow_rejected {
            summary.shadow_rejected += 1;
            emit(Line::ShadowOpen);
        } else if shown.is_none() {
            // The open period ended between the look and the call: with probing the request
            // is a probe, else the circuit closed.
            let probing = self.config.half_open.is_some() && before == State::Open;
            emit(if probing {
                Line::HalfOpen
            } else {
                Line::Closed
            });
        }
        // The permit is held until the body is read, or the timeout ends the exchange: a
        // body that stalls, breaks off or runs past the cap makes the call a failure.
        let mut answered = false;
        let exchange = exchange(&self.http, request, &mut answered);
        let result = tokio::time::timeout(self.config.timeout, exchange).await;
        let took = self.now().saturating_sub(started);
        summary.forwarded += 1;
        if answered {
            summary.answered += 1;
        }
        let (outcome, text) = match result {
            Ok(Ok((status, text))) => (classify_status(status), text),
            Ok(Err(_)) | Err(_) => (Outcome::Failure, String::new()),
        };
        permit.record(outcome);
        summary.played.push(Played {
            start: started.saturating_sub(run_start),
            duration: took,
            decision: if shadow_rejected {
                Decision::ShadowRejected
            } else {
                Decision::Forwarded
            },
            outcome,
            failures_in_window: self.breaker.errors_in_window(),
        });
        match outcome {
            Outcome::Failure => {
                summary.failed += 1;
                emit(Line::Problem);
            }
            Outcome::Success if self.config.slow.is_some_and(|slow| took > slow) => {
                summary.failed += 1;
                summary.slow += 1;
                emit(Line::Slow(text));
            }
            Outcome::Success => {
                summary.succeeded += 1;
                emit(Line::Response(text));
            }
            Outcome::Ignored => {
                summary.ignored += 1;
                emit(Line::Response(text));
            }
        }
    }

    fn build(&self, step: &Step) -> Result<reqwest::Request, reqwest::Error> {
        let http = &self.http;
        match step {
            Step::Sum { value1, value2 } => {
                let url = self.base.join("sum").expect("a fixed relative path joins");
                http.post(url)
                    .form(&[("value1", value1), ("value2", value2)])
                    .build()
            }
            _ => http.get(self.base.clone()).build(),
        }
    }
}

/// Why an exchange brought no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExchangeError {
    /// No response, or its body broke off.
    Http,
    /// The body ran past [`BODY_CAP`].
    TooLong,
}

/// Sends `request` and reads the whole body, at most [`BODY_CAP`] bytes of it, setting
/// `answered` once the response's head has arrived. A body that is not UTF-8 is read lossily.
async fn exchange(
    http: &reqwest::Client,
    request: reqwest::Request,
    answered: &mut bool,
) -> Result<(reqwest::StatusCode, String), ExchangeError> {
    let mut response = http
        .execute(request)
        .await
        .map_err(|_| ExchangeError::Http)?;
    *answered = true;
    let status = response.status();
    if response
        .content_length()
        .is_some_and(|n| n > BODY_CAP as u64)
    {
        return Err(ExchangeError::TooLong);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ExchangeError::Http)? {
        if chunk.len() > BODY_CAP - body.len() {
            return Err(ExchangeError::TooLong);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The status line shown before a request, when the state says what will happen to it:
/// none while open (the rejection, or the call's admission, says it afterwards), nor for a
/// state this driver does not know.
fn status_line(state: State) -> Option<Line> {
    match state {
        State::Closed => Some(Line::Closed),
        State::HalfOpen => Some(Line::HalfOpen),
        State::ForcedClosed => Some(Line::ForcedClosed),
        State::Open | State::ForcedOpen => None,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    #[test]
    fn each_state_has_its_status_line() {
        assert_eq!(status_line(State::Closed), Some(Line::Closed));
        assert_eq!(status_line(State::HalfOpen), Some(Line::HalfOpen));
        assert_eq!(status_line(State::ForcedClosed), Some(Line::ForcedClosed));
        assert_eq!(status_line(State::Open), None);
        assert_eq!(status_line(State::ForcedOpen), None);
    }

    #[test]
    fn without_the_count_rule_another_rule_is_needed() {
        let config = Config {
            host: "127.0.0.1".into(),
            port: 8080,
            window: Duration::from_secs(5),
            threshold: None,
            failure_rate: None,
            consecutive: None,
            slow: Some(Duration::from_secs(1)),
            timeout: Duration::from_secs(2),
            half_open: None,
            shadow: false,
        };
        let error = Driver::new(&config, Pace::Real).unwrap_err();
        assert!(matches!(error, SetupError::NoRule), "{error}");
        let by_rate = Config {
            failure_rate: Some((0.5, 4)),
            ..config
        };
        let driver = Driver::new(&by_rate, Pace::Real).unwrap();
        assert_eq!(driver.breaker().error_threshold(), None);
        assert_eq!(driver.rules().threshold, None);
        assert_eq!(driver.rules().failure_rate, Some((0.5, 4)));
    }

    #[test]
    fn the_demo_sends_the_originals_requests_byte_for_byte() {
        let config = Config {
            host: "127.0.0.1".into(),
            port: 8080,
            window: Duration::from_secs(5),
            threshold: Some(3),
            failure_rate: None,
            consecutive: None,
            slow: None,
            timeout: Duration::from_secs(2),
            half_open: None,
            shadow: false,
        };
        let driver = Driver::new(&config, Pace::Manual(ManualClock::new())).unwrap();
        let sent: Vec<(String, String, String)> = scenario::demo(config.window)
            .iter()
            .filter(|step| step.is_request())
            .map(|step| {
                let request = driver.build(step).unwrap();
                let body = request
                    .body()
                    .and_then(|b| b.as_bytes())
                    .unwrap_or_default();
                (
                    request.method().to_string(),
                    request.url().to_string(),
                    String::from_utf8(body.to_vec()).unwrap(),
                )
            })
            .collect();
        let sum = |body: &str| {
            (
                "POST".into(),
                "http://127.0.0.1:8080/sum".into(),
                body.into(),
            )
        };
        let expected: Vec<(String, String, String)> = vec![
            ("GET".into(), "http://127.0.0.1:8080/".into(), String::new()),
            sum("value1=44&value2=13"),
            sum("value1=gg&value2=g"),
            sum("value1=gg&value2=f3"),
            sum("value1=gg&value2=53"),
            sum("value1=gg&value2=19"),
            sum("value1=gg&value2=23"),
            sum("value1=gg&value2=78"),
            sum("value1=44&value2=10"),
            // the pause
            sum("value1=gg&value2=hh"),
            sum("value1=88&value2=45"),
            sum("value1=56&value2=12"),
            sum("value1=gg&value2=hh"),
            sum("value1=gg&value2=hg"),
            sum("value1=gg&value2=hg"),
            sum("value1=gg&value2=hg"),
        ];
        assert_eq!(sent, expected);
    }
}
