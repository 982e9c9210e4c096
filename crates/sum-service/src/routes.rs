//! The HTTP surface: routes, bodies, texts and statuses, as the original service had them.
//!
//! `POST /sum` reads its body as raw bytes and parses it itself, because actix's `Form` and `Json`
//! extractors answer 400 on bad input and the original service, which clients and the breaker
//! demo depend on, answers 500.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ResponseHead, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentType};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_core::Stream;
use serde::Serialize;

use crate::linger::{Linger, Lingering};
use crate::metrics::{self, Metrics};
use crate::sum::{self, SumError};

/// The largest request body `POST /sum` reads, in bytes (64 KiB); a larger one gets 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long `POST /sum` waits for its whole body, from the request reaching the app (5 s); a
/// body still unfinished then gets 408 and the connection is closed.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The body deadline in force, in the app data ([`BODY_TIMEOUT`] if there is none).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// The text of `GET /`, the original's health check.
pub const HEALTHY: &str = "Number summator healthy.";

/// The text of every failed form sum: the original's, word for word.
pub const FORM_ERROR: &str = "An error occurred, please try again later.";

/// Registers every route on an [`actix_web::App`].
///
/// Unknown paths get 404; a known path with the wrong method gets 405 with an `Allow` header.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(index))
            .route(web::head().to(index))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    )
    .service(
        web::resource("/health")
            .route(web::get().to(health))
            .route(web::head().to(health))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    )
    .service(
        web::resource("/sum")
            .route(web::post().to(sum))
            .default_service(web::to(|| method_not_allowed("POST"))),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(metrics_text))
            .route(web::head().to(metrics_text))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    )
    .default_service(web::to(not_found));
}

/// `GET /`: the original service's health check.
async fn index() -> HttpResponse {
    text(HttpResponse::Ok(), HEALTHY)
}

/// `GET /health`: a machine-readable health check.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// `GET /metrics`: the server's own [`Metrics`] in the Prometheus text format.
///
/// An app without [`Metrics`] in its app data (one that uses [`configure`] but not
/// [`crate::run_with`]) has nothing to show, and serves an empty exposition.
async fn metrics_text(request: HttpRequest) -> HttpResponse {
    let body = request
        .app_data::<Metrics>()
        .map(Metrics::render)
        .unwrap_or_default();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, metrics::CONTENT_TYPE))
        .body(body)
}

/// `POST /sum`: a JSON body if the Content-Type says so, otherwise a form.
async fn sum(request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let json = is_json(&request);
    let deadline = request
        .app_data::<BodyTimeout>()
        .map_or(BODY_TIMEOUT, |timeout| timeout.0);
    let declared = declared_length(&request);
    let mut payload = payload;
    let status =
        match actix_web::rt::time::timeout(deadline, read_body(declared, &mut payload)).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
        };
    let body = match status {
        Ok(body) => body,
        Err(status) => {
            // Only a 413 lingers: a body cut off or malformed (400) has nothing more to read, and
            // a client too slow to send 64 KiB in time (408) would only be given more time.
            let linger = request.app_data::<Linger>().copied().unwrap_or_default();
            let linger = (status == StatusCode::PAYLOAD_TOO_LARGE && linger.lingers_over(declared))
                .then_some(linger);
            return body_error(json, status, payload, linger);
        }
    };
    if json {
        match sum::sum_json(&body) {
            // N is written as a JSON number with every digit, never through `f64` or `i64`: a
            // `BigInt`'s decimal text (`-?[0-9]+`) is already a valid JSON number.
            Ok(n) => HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(format!(r#"{{"sum":{n}}}"#)),
            Err(error) => json_error(&error),
        }
    } else {
        // Only a urlencoded body (what the original demo's client sends) has form fields, so any
        // other content type (text/plain, none at all, multipart) fails the "exactly two fields"
        // rule. Flask would also have read a multipart form; this service does not.
        let result = if is_content_type(&request, "application/x-www-form-urlencoded") {
            sum::sum_form(&body)
        } else {
            Err(SumError::FormFields)
        };
        match result {
            Ok(n) => text(HttpResponse::Ok(), &format!("The value is: {n}")),
            Err(_) => text(HttpResponse::InternalServerError(), FORM_ERROR),
        }
    }
}

/// Whether the request says its body is JSON.
fn is_json(request: &HttpRequest) -> bool {
    is_content_type(request, "application/json")
}

/// Compares the request's media type, ignoring case and parameters such as `charset`.
fn is_content_type(request: &HttpRequest, wanted: &str) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(wanted))
}

/// The body length the request declares in its `Content-Length`, if it declares one.
fn declared_length(request: &HttpRequest) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
}

/// Reads the request body, up to [`BODY_LIMIT`] bytes.
///
/// A `declared` length over the limit is refused before a byte is read; otherwise the body is
/// read until it ends or passes the limit, whichever comes first.
async fn read_body(declared: Option<u64>, payload: &mut web::Payload) -> Result<Bytes, StatusCode> {
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx)).await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= BODY_LIMIT => body.extend_from_slice(&chunk),
            Ok(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE),
            Err(_) => return Err(StatusCode::BAD_REQUEST),
        }
    }
    Ok(body.freeze())
}

/// The body could not be read: too large (413), broken off or malformed (400), or not finished
/// before the deadline (408).
///
/// The response closes the connection. With a `linger`, it first reads and throws away the rest of
/// the body within its bounds (see [`crate::linger`]); without, the rest is never read (see
/// [`HoldingUnread`]).
fn body_error(
    json: bool,
    status: StatusCode,
    payload: web::Payload,
    linger: Option<Linger>,
) -> HttpResponse {
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
        StatusCode::REQUEST_TIMEOUT => "the request body took too long",
        _ => "the request body could not be read",
    };
    let (content_type, text) = if json {
        let text = serde_json::to_string(&ErrorBody { error: message }).unwrap_or_default();
        (ContentType::json(), text)
    } else {
        (ContentType::plaintext(), message.to_owned())
    };
    let response = HttpResponse::build(status)
        .content_type(content_type)
        .body(text);
    let unread = payload.into_inner();
    match linger {
        Some(linger) => response
            .map_body(|head, body| {
                head.set_connection_type(ConnectionType::Close);
                Lingering::new(body, unread, linger)
            })
            .map_into_boxed_body(),
        None => response
            .map_body(|head, body| closing(head, body, unread))
            .map_into_boxed_body(),
    }
}

/// A response body that holds the request's unread payload until the body has been sent.
///
/// While the payload is alive the HTTP layer sees a request body still unread, and closes the
/// connection once the response is out; a payload already dropped would instead be read to its
/// end (forever, for an endless chunked body) to keep the connection alive.
struct HoldingUnread {
    body: BoxBody,
    _unread: Payload,
}

impl MessageBody for HoldingUnread {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// A response's head and body, made to close the connection without reading the rest of the
/// request body, `unread`.
fn closing<B: MessageBody + 'static>(
    head: &mut ResponseHead,
    body: B,
    unread: Payload,
) -> HoldingUnread {
    head.set_connection_type(ConnectionType::Close);
    HoldingUnread {
        body: BoxBody::new(body),
        _unread: unread,
    }
}

/// Whether the request says it has a body: a non-zero `Content-Length`, or any
/// `Transfer-Encoding`.
fn declares_body(request: &HttpRequest) -> bool {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .map(|value| value.to_str().map_or(true, |value| value.trim() != "0"));
    headers.contains_key(header::TRANSFER_ENCODING) || length.unwrap_or(false)
}

/// The middleware (for [`actix_web::middleware::from_fn`]) that keeps every route but
/// `POST /sum` from reading a request body: none of them needs one, so a request that brings one
/// is answered as usual and its connection closed, the body unread. (The payload is held by the
/// response body until it is sent, which makes the HTTP layer close the connection rather than
/// read the body to its end.) `POST /sum` reads its body itself, with a limit and a deadline.
pub async fn close_on_unread_body(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let reads_body = request.method() == Method::POST && request.path() == "/sum";
    if reads_body || !declares_body(request.request()) {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let unread = request.take_payload();
    let response = next.call(request).await?;
    Ok(response
        .map_body(|head, body| closing(head, body, unread))
        .map_into_boxed_body())
}

/// A failed JSON sum: 500 with `{"error": "..."}`.
fn json_error(error: &SumError) -> HttpResponse {
    HttpResponse::InternalServerError().json(ErrorBody {
        error: &error.to_string(),
    })
}

/// 404 for any path this service does not have.
async fn not_found() -> HttpResponse {
    text(HttpResponse::NotFound(), "Not Found")
}

/// 405 for a known path with the wrong method.
async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = HttpResponse::MethodNotAllowed();
    response.insert_header((header::ALLOW, allow));
    text(response, "Method Not Allowed")
}

/// A plain-text response.
fn text(mut response: actix_web::HttpResponseBuilder, body: &str) -> HttpResponse {
    response
        .content_type(ContentType::plaintext())
        .body(body.to_owned())
}

/// `{"status": "ok"}`
#[derive(Serialize)]
struct Status {
    status: &'static str,
}

/// `{"error": "..."}`
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn content_type_matching_ignores_case_and_parameters() {
        let request = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "Application/JSON; charset=utf-8"))
            .to_http_request();
        assert!(is_json(&request));
        let request = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/jsonx"))
            .to_http_request();
        assert!(!is_json(&request));
        assert!(!is_json(&TestRequest::default().to_http_request()));
    }
}
