//! The pages' own style sheet and scripts, served as files so the Content-Security-Policy can
//! forbid every inline script and style (see `headers`). Anonymous: the login page needs the
//! style sheet, and they hold no data.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::WebError;

const FILES: [(&str, &str, &str); 6] = [
    (
        "hotline.css",
        "text/css; charset=utf-8",
        include_str!("assets/hotline.css"),
    ),
    (
        "call_log.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/call_log.js"),
    ),
    (
        "ticket.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/ticket.js"),
    ),
    (
        "home.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/home.js"),
    ),
    (
        "phone.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/phone.js"),
    ),
    (
        "softphone.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/softphone.js"),
    ),
];

pub(super) async fn asset(Path(name): Path<String>) -> Result<Response, WebError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| WebError::NotFound(format!("no asset {name}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            // Short: a new version's files are picked up within minutes without renaming them.
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        *body,
    )
        .into_response())
}
