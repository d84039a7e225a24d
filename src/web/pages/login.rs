//! The login page, logging in (CSRF double-submit, growing delays after failures, Argon2
//! check) and logging out.

use super::CsrfForm;
use crate::web::auth::{self, Auth, LOGIN_COOKIE, SESSION_COOKIE, SESSION_LIFETIME};
use crate::web::client::Client;
use crate::web::html::{esc, page};
use crate::web::i18n::Lang;
use crate::web::limiter::Admission;
use crate::web::{AppState, PageError, WebError};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::time::Instant;

/// `error` is already in `lang`.
fn login_page(lang: Lang, csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error">{}</p>"#, esc(e)))
        .unwrap_or_default();
    page(
        lang,
        lang.t("Log in"),
        None,
        &format!(
            r#"{error}<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}">
<p><label>{name} <input name="name" autocomplete="username" required autofocus></label></p>
<p><label>{password} <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>{login}</button></p></form>"#,
            csrf = esc(csrf),
            name = lang.t("Name"),
            password = lang.t("Password"),
            login = lang.t("Log in"),
        ),
    )
}

/// A fresh login form with its double-submit CSRF cookie.
fn login_response(lang: Lang, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = auth::random_token();
    (
        status,
        [(
            header::SET_COOKIE,
            auth::set_cookie(LOGIN_COOKIE, &csrf, "/login", None),
        )],
        Html(login_page(lang, &csrf, error)),
    )
        .into_response()
}

pub(crate) async fn login_form(lang: Lang) -> Response {
    login_response(lang, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    client: Client,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::same_secret(expected, &form.csrf) {
        return Err(
            WebError::Forbidden("missing or wrong CSRF token; reload the login page").into(),
        );
    }
    match state.limiter.admit(client.ip, &form.name, Instant::now()) {
        Admission::Refuse { retry_after } => {
            // Whole seconds, rounded up, so a client waiting that long is admitted.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let message = lang
                .t("Too many failed logins from your address; wait {} s and try again.")
                .replace("{}", &secs.to_string());
            let mut response = login_response(lang, StatusCode::TOO_MANY_REQUESTS, Some(&message));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            return Ok(response);
        }
        // Failures for this name slow its logins down, never refuse them: a colleague's name
        // typed wrong by someone else does not lock her out.
        Admission::Check { hold } if !hold.is_zero() => tokio::time::sleep(hold).await,
        Admission::Check { .. } => {}
    }
    let found = state.store.user_with_hash(&form.name).await?;
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = match (ok, found) {
        (true, Some((user, _))) => user,
        _ => {
            state.limiter.fail(client.ip, &form.name, Instant::now());
            tracing::warn!(name = %form.name, client = %client.ip, "failed web login");
            return Ok(login_response(
                lang,
                StatusCode::UNAUTHORIZED,
                Some(lang.t("Wrong name or password.")),
            ));
        }
    };
    state.limiter.succeed(client.ip, &form.name);
    let token = auth::random_token();
    state
        .store
        .create_session(
            &auth::token_hash(&token),
            user.id,
            &auth::random_token(),
            SESSION_LIFETIME,
        )
        .await?;
    Ok((
        // Appended: a plain header array would keep only the last Set-Cookie.
        AppendHeaders([
            (
                header::SET_COOKIE,
                auth::set_cookie(SESSION_COOKIE, &token, "/", Some(SESSION_LIFETIME)),
            ),
            (
                header::SET_COOKIE,
                auth::set_cookie(LOGIN_COOKIE, "", "/login", Some(Default::default())),
            ),
        ]),
        Redirect::to("/"),
    )
        .into_response())
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let auth = auth?;
    auth.check_csrf(form.csrf.as_deref())?;
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::token_hash(token)).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            auth::set_cookie(SESSION_COOKIE, "", "/", Some(Default::default())),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}
