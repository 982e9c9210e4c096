//! Answers to `HEAD` with no body at all, so that pipelined requests stay in step.
//!
//! # The bug this works around
//!
//! actix-http's HTTP/1 codec (3.x: 3.19.0 here, and 3.20.0, the latest release, has the same code)
//! keeps one "HEAD" flag per connection. It sets the flag when it *decodes* a request and reads it
//! when it *encodes* a response, to decide whether the response's body goes on the wire. The
//! dispatcher decodes every complete request in its read buffer at once: the first is answered
//! there and then if its handler is ready, and the others wait in a queue until the response before
//! them has been sent. A waiting request's response is therefore encoded under the flag of the
//! *last* request decoded, not its own. With `HEAD, HEAD, GET` in one segment, the second `HEAD` is
//! answered as if it were a `GET`: its body is sent, and a client, which expects none after a
//! `HEAD`, reads it as the start of the next response and loses step. The other way round, a `GET`
//! answered under a `HEAD` flag loses its body while its `Content-Length` still announces it.
//!
//! # The workaround
//!
//! [`bodiless_head`] gives every answer to a `HEAD` the body `body::None`: no bytes, and no
//! `Content-Length` or `Transfer-Encoding` (RFC 9110 lets a `HEAD` answer leave `Content-Length`
//! out; it may not send a wrong one, which `Content-Length: 0` would be). With no bytes to send,
//! the flag has nothing to add or take away. And an answer without a body is complete the moment
//! it is encoded, so the request after it is answered at once, under its own flag, instead of
//! waiting in the queue: `HEAD, HEAD, GET` gets three well-framed answers. (An empty streamed
//! body with an explicit `Content-Length` would also keep a `HEAD` answer bodiless, but it is not
//! complete at once, so the requests behind it wait in the queue, and more orders of requests
//! break: 22 of the 62 orders of up to five `GET`s and `HEAD`s, against 16 with no body. Without
//! the workaround, 44 break.)
//!
//! What no response can mend: a request answered with a body that waits in the queue while the
//! last request decoded is a `HEAD` is still sent without its body. That takes at least two
//! requests answered with a body followed by a `HEAD`, all read at once (`GET, GET, HEAD` in one
//! write); the fix belongs in the codec, which would have to keep the flag per request.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// The middleware (for [`actix_web::middleware::from_fn`]) that answers every `HEAD` with the
/// status and headers its handler chose and no body at all (see the [module docs](self)).
///
/// Other methods pass through untouched. An error from the layers inside passes through too (none
/// of this service's returns one): it becomes a response only in actix itself.
pub async fn bodiless_head(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let head = request.method() == Method::HEAD;
    let response = next.call(request).await?;
    Ok(if head {
        response.map_body(|_, _| BoxBody::new(body::None::new()))
    } else {
        response.map_into_boxed_body()
    })
}
