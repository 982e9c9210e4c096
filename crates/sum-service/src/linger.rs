//! The lingering close after a 413: answer, read and throw away what the client still sends, within
//! bounds, then close.
//!
//! Many clients write a whole request body before they read a byte of the answer (Python's
//! `urllib` and `http.client` do). Were the server to close as soon as its 413 is written, the
//! kernel would find the rest of the body unread in the socket and answer it with a reset, and
//! such a client would see a broken pipe or a reset connection instead of the 413. nginx calls the
//! cure a lingering close: after the answer, keep reading and discarding for a while, so that the
//! client can finish sending and then read.
//!
//! Here the 413's response body does the reading ([`Lingering`]): once it has handed the answer's
//! bytes to the HTTP layer, which sends them at once, it reads the rest of the request body chunk
//! by chunk and drops each chunk as it comes, so nothing of it is kept. It ends when the request
//! body ends, when it has read [`Linger::bytes`] (by default [`LINGER_BYTES`], 16 MiB), or when
//! [`Linger::time`] has passed since the answer was made (by default [`LINGER_TIME`], 5 s),
//! whichever comes first; then the connection is closed. A body that ended was read to its end,
//! and the close is clean; one cut off by a bound is still unread, and the HTTP layer closes the
//! connection without reading further, so an endless body costs at most the bytes and the time
//! above. A body that declares a `Content-Length` past [`Linger::bytes`] is not read at all: it
//! could not be read to its end, so the close would be no cleaner.
//!
//! A request pipelined behind a body that was read to its end is still answered, after the 413
//! and its `Connection: close`: actix-http answers every request it has read, whatever the answers
//! before it said about the connection. A client that honours the `close` ignores that answer.
//!
//! Why not actix-web's own lingering (`client_disconnect_timeout`): it is bounded in time only,
//! and in that time it reads whatever the client can push, which on loopback is gigabytes a second.
//! It stays off; this lingering is the 413's own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::Bytes;
use futures_core::Stream;

/// The most a 413 reads and throws away of the rest of its request body: 16 MiB, four times the
/// 4 MiB a client might reasonably try to upload by mistake, and seconds of work at most.
pub const LINGER_BYTES: usize = 16 * 1024 * 1024;

/// The longest a 413 keeps reading the rest of its request body, from the answer: 5 s, like the
/// service's other timeouts (nginx lingers up to 5 s between two reads), so that a connection
/// slot held by a client that stops sending is free again within about 5 s.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// How much of a too-large request body is read and thrown away after the 413, and for how long
/// (see the [module docs](self)).
///
/// A zero in either field turns lingering off: the 413 closes the connection at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linger {
    /// The most bytes read (default [`LINGER_BYTES`]).
    pub bytes: usize,
    /// The longest time spent reading, from the answer (default [`LINGER_TIME`]).
    pub time: Duration,
}

impl Default for Linger {
    fn default() -> Self {
        Self {
            bytes: LINGER_BYTES,
            time: LINGER_TIME,
        }
    }
}

impl Linger {
    /// Whether a 413 lingers over a request body that declares `length` bytes, or no length
    /// (`None`, a chunked body): only if lingering is on and the body might end within the bytes
    /// allowed.
    ///
    /// ```
    /// use sum_service::linger::{LINGER_BYTES, Linger};
    ///
    /// let linger = Linger::default();
    /// assert!(linger.lingers_over(None));
    /// assert!(linger.lingers_over(Some(4 << 20)));
    /// assert!(!linger.lingers_over(Some(LINGER_BYTES as u64 + 1)));
    /// ```
    pub fn lingers_over(&self, length: Option<u64>) -> bool {
        let bytes = u64::try_from(self.bytes).unwrap_or(u64::MAX);
        !self.time.is_zero() && bytes > 0 && length.is_none_or(|length| length <= bytes)
    }
}

/// A response body that sends `answer`, then reads and drops the request's `unread` body within
/// the bounds of a [`Linger`].
///
/// While it holds `unread`, the HTTP layer keeps feeding it the request body; when it ends without
/// having seen the end of that body, the HTTP layer finds the body unread and closes the
/// connection rather than read on.
pub struct Lingering {
    answer: BoxBody,
    answered: bool,
    unread: Payload,
    /// The bytes it may still read.
    left: usize,
    deadline: Pin<Box<Sleep>>,
}

impl Lingering {
    /// Sends `answer`, then reads what is left of `unread` within `linger`; the time starts now.
    ///
    /// Must be called within the server's runtime (a handler is), which keeps its timer.
    pub fn new(answer: impl MessageBody + 'static, unread: Payload, linger: Linger) -> Self {
        Self {
            answer: BoxBody::new(answer),
            answered: false,
            unread,
            left: linger.bytes,
            deadline: Box::pin(sleep(linger.time)),
        }
    }
}

impl MessageBody for Lingering {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if !this.answered {
            match Pin::new(&mut this.answer).poll_next(cx) {
                Poll::Ready(None) => this.answered = true,
                sending => return sending,
            }
        }
        // The answer is with the HTTP layer, which writes it out while this waits for more of
        // the request body.
        loop {
            match Pin::new(&mut this.unread).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) if chunk.len() <= this.left => {
                    this.left -= chunk.len();
                }
                // Past the bytes allowed, broken off, or at its end: done either way.
                Poll::Ready(_) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        this.deadline.as_mut().poll(cx).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_in_either_bound_turns_lingering_off() {
        let linger = Linger::default();
        assert!(linger.lingers_over(None));
        assert!(linger.lingers_over(Some(LINGER_BYTES as u64)));
        assert!(!Linger { bytes: 0, ..linger }.lingers_over(None));
        let timeless = Linger {
            time: Duration::ZERO,
            ..linger
        };
        assert!(!timeless.lingers_over(Some(1)));
    }
}
