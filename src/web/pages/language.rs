//! The FR / EN switch: remembers the interface language in a cookie.

use crate::web::auth;
use crate::web::i18n::{Lang, LANG_COOKIE};
use crate::web::{PageError, WebError};
use axum::extract::Path;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};

/// Remembers the interface language for a year and goes back to the page the link was on.
pub(crate) async fn set_language(
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::parse(&code).ok_or_else(|| {
        WebError::BadRequest(format!("unknown interface language `{code}` (en or fr)"))
    })?;
    // Only the path of the referring page is kept, so the redirect never leaves this site.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|path| {
            !path.starts_with("//") && !path.starts_with("/\\") && !path.starts_with("/lang/")
        })
        .unwrap_or("/tickets")
        .to_string();
    Ok((
        [(
            header::SET_COOKIE,
            auth::set_cookie(
                LANG_COOKIE,
                lang.code(),
                "/",
                Some(std::time::Duration::from_secs(365 * 24 * 3600)),
            ),
        )],
        Redirect::to(&back),
    )
        .into_response())
}
