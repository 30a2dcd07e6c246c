//! Converting between `worker` requests and responses and the core's neutral ones.

use futures::StreamExt;
use latch_core::http::{Method, Request, Response, MAX_BODY_BYTES};

/// Reads a Worker request into a core request. The body is read up to
/// [`MAX_BODY_BYTES`] + 1 bytes and no further: the core answers 413 for anything
/// longer, and the rest of a large body is never buffered.
pub async fn from_worker(req: &mut worker::Request) -> worker::Result<Request> {
    let url = req.url()?;
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let method = Method::parse(req.method().as_ref());
    let mut body = Vec::new();
    let declared = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        // Known too large: one byte past the limit is all the core needs to refuse it.
        body = vec![0; MAX_BODY_BYTES + 1];
    } else if !matches!(method, Method::Get | Method::Head) || declared.is_some_and(|n| n > 0) {
        // A request without a body has no stream: that is an empty body.
        if let Ok(mut stream) = req.stream() {
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk?);
                if body.len() > MAX_BODY_BYTES {
                    body.truncate(MAX_BODY_BYTES + 1);
                    break;
                }
            }
        }
    }
    Ok(Request {
        method,
        path: url.path().to_owned(),
        query: url.query().map(str::to_owned),
        // Cloudflare sets CF-Connecting-IP to the visitor's address (a client cannot
        // set it through Cloudflare's edge).
        peer: headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("cf-connecting-ip"))
            .and_then(|(_, v)| v.trim().parse().ok()),
        headers: headers.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect(),
        body,
    })
}

/// Renders a core response (no body for HEAD), with the request id.
///
/// A header the runtime refuses turns the whole answer into a 500, logged: never a
/// response with a header missing (the core checks every header before this).
pub fn to_worker(r: Response, request_id: &str, head: bool) -> worker::Result<worker::Response> {
    let headers = worker::Headers::new();
    for (name, value) in &r.headers {
        // `append`: several `set-cookie` headers must all go out.
        if headers.append(name, value).is_err() {
            worker::console_error!("the response header {name:?} cannot be encoded; answering 500");
            let e = latch_core::Error::server(format!("the response header {name:?} cannot be encoded"));
            return to_worker(Response::error(&e, false), request_id, head);
        }
    }
    if !request_id.is_empty() {
        headers.set("x-request-id", request_id)?;
    }
    let builder = worker::Response::builder().with_status(r.status).with_headers(headers);
    // A JavaScript Response refuses any body, even an empty one, with 204 or 304.
    Ok(if head || r.body.is_empty() { builder.empty() } else { builder.fixed(r.body) })
}
