//! The fleet's window, kept by one script on the Redis server, and the names it lives under.
//!
//! Why a script: one round trip per batch of failures, run atomically, with every stamp taken
//! from the server's own clock (`TIME`), so that no two hosts' clocks are ever compared. The
//! server keeps, per breaker, the T + 1 most recent stamps in a sorted set (scored by stamp, so
//! that a batch flushed late, whose failures are older than ones already stored, still lands in
//! order), and answers whether they all fall within W and, if so, for how long the circuit
//! stays open. A trip is published as that *remaining* time: receivers apply it on their own
//! monotonic clock.

use std::time::Duration;

/// The Lua source.
///
/// `KEYS[1]`: the sorted set of failure stamps (microseconds on the server's clock).
/// `KEYS[2]`: a counter that gives each stored failure a member of its own.
/// `ARGV[1]`: W in microseconds. `ARGV[2]`: T. `ARGV[3]`: the channel trips are published on.
/// `ARGV[4..]`: each failure's age in microseconds when the batch was sent (measured on the
/// sender's monotonic clock): the stamp is the server's `TIME` less that age.
///
/// Returns the microseconds the circuit stays open from now (0: not tripped). Publishes that
/// number on the channel when the batch added a failure and the window exceeds T. An empty
/// batch is a query: it publishes nothing. Numbers go to Redis through `string.format('%d')`:
/// Lua's default conversion keeps only 14 digits, and a stamp has 16.
pub(crate) const LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local keep = tonumber(ARGV[2]) + 1
local added = 0
for i = 4, #ARGV do
  local age = tonumber(ARGV[i])
  if age and age >= 0 and age < window then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('ZADD', KEYS[1], string.format('%d', now - age), seq)
    added = added + 1
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1))
if added > 0 then
  local ttl = string.format('%d', math.ceil(window / 1000))
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local remaining = 0
if redis.call('ZCARD', KEYS[1]) >= keep then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  remaining = tonumber(oldest[2]) + window - now
  if remaining < 0 then remaining = 0 end
  if remaining > 0 and added > 0 then
    redis.call('PUBLISH', ARGV[3], string.format('%d', remaining))
  end
end
return remaining
";

/// The most failures sent in one script call.
pub(crate) const MAX_BATCH: usize = 256;

/// The longest payload a trip message may have: a `u64` in decimal. Anything longer is not
/// one of ours and is ignored without being parsed.
const MAX_PAYLOAD: usize = 20;

/// The Redis names one fleet circuit lives under.
///
/// They hold the name, W and T: processes that share a name but not W and T do not share a
/// circuit (each configuration is its own fleet), rather than mixing stamps kept for one W with
/// a threshold meant for another. The name sits in braces, a Redis Cluster hash tag, so that
/// both keys of a circuit live on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The sorted set of failure stamps.
    pub failures: String,
    /// The counter that numbers the stored failures.
    pub sequence: String,
    /// The pub/sub channel trips are published on.
    pub trips: String,
}

impl Names {
    /// The names for the breaker `name` with window `window` and threshold `threshold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker_redis::Names;
    ///
    /// let names = Names::new("payments", Duration::from_secs(5), 3);
    /// assert_eq!(names.failures, "breaker:{payments}:w5000000us:t3:failures");
    /// assert_eq!(names.trips, "breaker:{payments}:w5000000us:t3:trips");
    /// ```
    pub fn new(name: &str, window: Duration, threshold: u32) -> Self {
        let base = format!("breaker:{{{name}}}:w{}us:t{threshold}", window.as_micros());
        Self {
            failures: format!("{base}:failures"),
            sequence: format!("{base}:seq"),
            trips: format!("{base}:trips"),
        }
    }
}

/// The remaining open time a trip message carries, if it is one: a decimal number of
/// microseconds, at most `window` (a longer one, which only a server clock stepping back could
/// give, is cut to W). Anything else is `None`.
pub(crate) fn parse_trip(payload: &[u8], window: Duration) -> Option<Duration> {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD || !payload.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let micros: u64 = std::str::from_utf8(payload).ok()?.parse().ok()?;
    Some(Duration::from_micros(micros).min(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(5);

    #[test]
    fn a_trip_message_is_a_bounded_number_of_microseconds() {
        assert_eq!(parse_trip(b"1500", W), Some(Duration::from_micros(1500)));
        assert_eq!(parse_trip(b"0", W), Some(Duration::ZERO));
        // Longer than W: cut to W.
        assert_eq!(parse_trip(b"99000000", W), Some(W));
        for junk in [
            &b""[..],
            b"-5",
            b"1.5",
            b"12 ",
            b"abc",
            b"184467440737095516150",
            b"99999999999999999999",
            &[b'1'; 4096],
        ] {
            assert_eq!(parse_trip(junk, W), None, "{junk:?}");
        }
    }

    #[test]
    fn names_differ_by_window_and_threshold() {
        let a = Names::new("svc", W, 3);
        assert_ne!(a, Names::new("svc", W, 4));
        assert_ne!(a, Names::new("svc", Duration::from_secs(6), 3));
        assert_ne!(a, Names::new("other", W, 3));
        assert_ne!(a.failures, a.sequence);
    }
}
