//! Outbound HTTP. Every request this worker makes has a deadline, so a slow identity provider
//! delays a request by at most [`DEADLINE`] instead of holding it until the platform gives up.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use crate::fetch_url::FetchUrl;
use crate::runtime::{self, fetch::AbortController};

/// The longest an outbound request (headers and body) may take.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The largest response body read (a discovery document or key set is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// GETs a JSON document and returns its text; any status but 200 is an error.
pub async fn get_json(url: &FetchUrl) -> Result<String, String> {
    let controller = AbortController::new()?;
    let fetch = async {
        let response = runtime::fetch::get(url.as_str(), "application/json", &controller)
            .await
            .map_err(|err| format!("{url} could not be fetched: {err}"))?;
        if response.status() != 200 {
            return Err(format!("{url} answered HTTP {}", response.status()));
        }
        let body = response
            .text()
            .await
            .map_err(|err| format!("{url} sent an unreadable body: {err}"))?;
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("{url} sent more than {MAX_BODY_BYTES} bytes"));
        }
        Ok(body)
    };
    match first_of(fetch, runtime::sleep(DEADLINE)).await {
        Either::First(result) => result,
        Either::Second(()) => {
            controller.abort();
            Err(format!(
                "{url} did not answer within {} s",
                DEADLINE.as_secs()
            ))
        }
    }
}

/// Which of two raced futures finished first.
enum Either<A, B> {
    First(A),
    Second(B),
}

/// Polls both futures and returns the output of whichever is ready first (the other is dropped).
async fn first_of<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(output) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(output));
        }
        if let Poll::Ready(output) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(output));
        }
        Poll::Pending
    })
    .await
}
