//! Security headers on every response of the web log, and the `Secure` flag on its cookies
//! when the browser's connection is HTTPS.
//!
//! The pages carry no inline script or style (they load `/assets/…`), so the policy allows
//! only this origin's files: an injected `<script>` in a caller's name would not run even if
//! escaping ever failed.

use super::client::{client_of, Client};
use super::AppState;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Only our own files; no plugins, no framing by other sites (clickjacking of the status
/// buttons), forms post only here, and `<base>` cannot redirect relative links.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A year, as browsers' HSTS preload lists expect.
pub const HSTS: &str = "max-age=31536000";

/// Adds the headers after the handler ran, whatever it returned (errors and 404s included).
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let client = client_of(request.extensions(), request.headers(), &state.proxies);
    let mut response = next.run(request).await;
    secure(&mut response, client);
    response
}

fn secure(response: &mut Response, client: Client) {
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        // For browsers older than `frame-ancestors`.
        (header::X_FRAME_OPTIONS, "DENY"),
        // Same-origin only: the language switch returns to the referring page, and nothing
        // (ticket references in URLs) leaks to other sites.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Pages show callers' names and transcripts: not kept in shared or back-button caches
        // after logout. Assets set their own.
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        if name == header::CACHE_CONTROL && headers.contains_key(&name) {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
    // hyper writes no Server header; make sure nothing else does either.
    headers.remove(header::SERVER);
    if client.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
        // Here rather than in each handler that sets a cookie (login, logout, language), so no
        // cookie can be sent without `Secure` over HTTPS.
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|c| match c.to_str() {
                Ok(text) if !text.contains("; Secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| c.clone())
                }
                _ => c.clone(),
            })
            .collect();
        headers.remove(header::SET_COOKIE);
        for c in cookies {
            headers.append(header::SET_COOKIE, c);
        }
    }
}
