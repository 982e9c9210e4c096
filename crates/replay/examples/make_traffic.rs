//! Writes a made-up nginx access log (Combined Log Format with `$request_time` at the end) to
//! standard output: the traffic of a client calling one downstream, with a real outage in it.
//!
//! `cargo run -p breaker-replay --example make_traffic > traffic.log` makes the log shipped as
//! `examples/traffic.log` (3,000 requests over 10 minutes); `make_traffic N` makes N requests
//! at the same rate and with the same story, scaled, for benchmarks.
//!
//! The story, as a share of the run: a healthy service (1 % of answers 5xx, 2 % 4xx); two
//! blips, a few seconds each, where a handful of calls fail (a deploy, a GC pause); then an
//! outage from 40 % to 55 % of the run where most calls time out after 1 s (504) or fail fast
//! (503); then health again. A good setting opens the circuit in the outage and not in the
//! blips.

use std::io::{self, BufWriter, Write};

/// A small deterministic generator (xorshift64*), so that the log is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The status and request time (seconds) of a call at `share` of the way through the run.
fn answer(rng: &mut Rng, share: f64) -> (u16, f64) {
    let blip = (0.15..0.155).contains(&share) || (0.72..0.726).contains(&share);
    let outage = (0.40..0.55).contains(&share);
    let roll = rng.unit();
    let quick = 0.020 + 0.060 * rng.unit();
    if outage && roll < 0.55 {
        (504, 1.0 + 0.002 * rng.unit())
    } else if outage && roll < 0.80 {
        (503, 0.003 + 0.004 * rng.unit())
    } else if blip && roll < 0.6 {
        (502, quick)
    } else if roll < 0.01 {
        (500, quick)
    } else if roll < 0.03 {
        (404, quick)
    } else {
        (200, quick)
    }
}

/// Writes `requests` log lines, ten minutes' worth at 5 requests a second for the default 3,000
/// (a longer log keeps the rate and lasts longer). Public for the test that checks the shipped
/// log against it (`tests/all/shipped_log.rs`).
pub fn write_log(requests: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // 2026-12-07 10:00:00 UTC, in seconds since the Unix epoch.
    let origin: u64 = 1_796_637_600;
    let mut t = 0.0_f64;
    for i in 0..requests {
        t += 0.2 * (0.5 + rng.unit()); // about 5 requests a second
        let share = i as f64 / requests as f64;
        let (status, took) = answer(&mut rng, share);
        // nginx logs the end of a request, to the second, and its duration.
        let end = origin + (t + took) as u64;
        let (day, rest) = (end / 86_400, end % 86_400);
        let (year, month, date) = civil(day);
        let month = MONTHS[month as usize - 1];
        let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
        let bytes = if status == 200 { 180 + i % 40 } else { 157 };
        let client = 10 + i % 7;
        writeln!(
            out,
            "192.0.2.{client} - - [{date:02}/{month}/{year}:{h:02}:{m:02}:{s:02} +0000] \
             \"POST /v1/quote HTTP/1.1\" {status} {bytes} \"-\" \"checkout/2.3\" {took:.3}"
        )?;
    }
    Ok(())
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The year, month (1 to 12) and day of the month of a day counted from 1970-01-01
/// (the civil-from-days algorithm of the proleptic Gregorian calendar).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn main() -> io::Result<()> {
    let requests = match std::env::args().nth(1) {
        None => 3_000,
        Some(n) => n.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: make_traffic [REQUESTS]",
            )
        })?,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write_log(requests, &mut out)?;
    out.flush()
}
