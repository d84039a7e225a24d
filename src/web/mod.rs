//! The web log: technicians log in, read the call log and tickets, listen to voicemails, change
//! status and add notes; leads read statistics and export tickets as CSV; a JSON API gives the
//! same to scripts with a bearer token.
//!
//! Server-rendered HTML (no JavaScript needed; two small served scripts announce new calls and
//! transcripts live through `/events`), every page behind a session, every form carrying the
//! session's CSRF token, every response carrying the security headers (`headers`).

mod api;
mod assets;
pub mod auth;
pub mod charts;
pub mod client;
pub mod csv;
pub mod estimate;
mod events;
pub mod export;
pub mod filters;
pub mod headers;
pub mod html;
pub mod i18n;
pub mod limiter;
pub mod oncall;
pub mod ops;
mod pages;
pub mod range;
mod server;
mod softphone;
pub mod stats;

pub use auth::{add_user, new_api_token, AccountError};

use crate::config::HttpConfig;
use crate::store::{Store, StoreError};
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use client::ProxyPolicy;
use limiter::{LoginDelays, LoginLimiter};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub limiter: Arc<LoginLimiter>,
    /// Which peers' forwarded headers are believed, and whether the site is HTTPS.
    pub proxies: Arc<ProxyPolicy>,
    /// Verified against when the account does not exist, so a login takes as long either way.
    pub dummy_hash: Arc<String>,
    /// Turns true at shutdown: ends the `/events` streams, which would otherwise hold the
    /// graceful shutdown open.
    pub shutdown: watch::Receiver<bool>,
    /// The phone line, for actions on calls in progress ("Take call"); `None` when the web log
    /// runs without it (benchmarks).
    pub helpdesk: Option<Arc<crate::helpdesk::Helpdesk>>,
    /// What `/ready` checks and who may read `/metrics`.
    pub ops: Arc<ops::Ops>,
    /// The gateway that makes pages phones (`/phone`); `None` without SIP.
    pub browser_phones: Option<crate::browser::BrowserPhones>,
}

/// Why a request failed. Bad input is a 4xx naming what was wrong; only the database failing is
/// a 500.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("log in first (session cookie or Authorization: Bearer token)")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed, but a field's value is not one we know (a status, a role).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is fine but the call it acts on is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    #[error("too many failed logins; try again later")]
    TooManyAttempts,
    #[error("internal error")]
    Store(#[from] StoreError),
    #[error("internal error")]
    Io(#[from] std::io::Error),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            WebError::Store(_) | WebError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        match self {
            WebError::Store(e) => tracing::error!(error = %e, "web request failed"),
            WebError::Io(e) => tracing::error!(error = %e, "web request failed"),
            _ => {}
        }
    }
}

/// A path parameter refused by its type (`/tickets/not-a-ref`): 400 with the type's message.
impl From<PathRejection> for WebError {
    fn from(e: PathRejection) -> Self {
        WebError::BadRequest(e.body_text())
    }
}

/// A form refused by its fields' types: 422 when a value is unknown (the type's message names
/// the field), 400 when the body is not a form at all.
impl From<FormRejection> for WebError {
    fn from(e: FormRejection) -> Self {
        if e.status() == StatusCode::UNPROCESSABLE_ENTITY {
            WebError::Unprocessable(e.body_text())
        } else {
            WebError::BadRequest(e.body_text())
        }
    }
}

/// The JSON API's errors: `{"error": "..."}`.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (
            self.status(),
            axum::Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if matches!(self, WebError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The HTML pages' errors: not logged in → the login page; others → a short error page.
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, WebError::Unauthorized) {
            return Redirect::to("/login").into_response();
        }
        self.0.log();
        let body = html::page(
            i18n::Lang::En,
            "Error",
            None,
            &format!(
                r#"<p class="error">{}</p><p><a href="/tickets">Back to the call log</a></p>"#,
                html::esc(&self.0.to_string())
            ),
        );
        (self.0.status(), axum::response::Html(body)).into_response()
    }
}

/// Every route of the web log.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/presence", post(pages::set_presence))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/lang/{code}", get(pages::set_language))
        .route("/logout", post(pages::logout))
        .route("/tickets", get(pages::call_log))
        .route("/tickets.csv", get(export::tickets_csv))
        .route("/stats", get(stats::stats_page))
        .route("/events", get(events::events))
        .route("/phone", get(softphone::softphone))
        .route("/tickets/{reference}", get(pages::ticket_page))
        .route("/tickets/{reference}/status", post(pages::change_status))
        .route(
            "/tickets/{reference}/assignee",
            post(pages::change_assignee),
        )
        .route("/tickets/{reference}/notes", post(pages::add_note))
        .route("/tickets/{reference}/take", post(pages::take_call))
        .route("/tickets/{reference}/callback", post(pages::call_back))
        .route("/tickets/{reference}/recording", get(pages::recording))
        .route(
            "/tickets/{reference}/conversation",
            get(pages::conversation),
        )
        .route("/oncall", get(pages::oncall_page))
        .route(
            "/oncall/teams",
            get(pages::teams_page).post(pages::save_team),
        )
        .route("/oncall/teams/{team}", get(pages::team_page))
        .route("/oncall/teams/{team}/delete", post(pages::delete_team))
        .route("/oncall/teams/{team}/rotations", post(pages::save_rotation))
        .route(
            "/oncall/teams/{team}/rotations/{rotation}/delete",
            post(pages::delete_rotation),
        )
        .route("/oncall/teams/{team}/overrides", post(pages::add_override))
        .route(
            "/oncall/teams/{team}/overrides/{id}/delete",
            post(pages::remove_override),
        )
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/tickets", get(api::list))
        .route("/api/tickets/{reference}", get(api::show).patch(api::patch))
        .route("/api/tickets/{reference}/recording", get(api::recording))
        .route("/api/oncall", get(api::oncall))
        .route("/api/phones", get(api::phones))
        .route("/api/stats", get(stats::stats_json))
        .route("/assets/{name}", get(assets::asset))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { WebError::NotFound("no such page".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .with_state(state)
}

/// Binds the web log's listener (port 0 picks a free one).
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves the web log over HTTP on `listener` until `shutdown` turns true. `sip` is the SIP
/// address `/ready` checks (None for a web log without SIP).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    helpdesk: Option<Arc<crate::helpdesk::Helpdesk>>,
    config: HttpConfig,
    sip: Option<SocketAddr>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let plain = Serving::default();
    serve_over(listener, plain, store, helpdesk, config, sip, shutdown).await
}

/// What the server adds to a plain web log.
#[derive(Default)]
pub struct Serving {
    /// HTTPS with this configuration (from [`crate::tls::server_config`]). Served over HTTPS,
    /// every browser is on HTTPS: cookies are Secure and HSTS is sent, as with `[http] https =
    /// true` behind a proxy.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The browser phone gateway: `/phone` makes the home page a phone.
    pub browser_phones: Option<crate::browser::BrowserPhones>,
}

/// Serves the web log like [`serve`], with what `serving` adds.
pub async fn serve_over(
    listener: TcpListener,
    serving: Serving,
    store: Store,
    helpdesk: Option<Arc<crate::helpdesk::Helpdesk>>,
    config: HttpConfig,
    sip: Option<SocketAddr>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    crate::metrics::mark_start();
    let dummy_hash = tokio::task::spawn_blocking(|| {
        auth::hash_password("no such user, no such password").unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    let state = AppState {
        store,
        limiter: Arc::new(LoginLimiter::new(LoginDelays::default())),
        proxies: Arc::new(ProxyPolicy {
            trusted_proxies: config.trusted_proxies.clone(),
            https: config.https || serving.tls.is_some(),
        }),
        dummy_hash: Arc::new(dummy_hash),
        shutdown: shutdown.clone(),
        helpdesk,
        ops: Arc::new(ops::Ops {
            metrics: config.metrics,
            sip,
        }),
        browser_phones: serving.browser_phones,
    };
    server::run(
        listener,
        serving.tls.map(tokio_rustls::TlsAcceptor::from),
        router(state),
        Duration::from_millis(config.header_read_timeout_ms.max(1)),
        shutdown,
    )
    .await;
    Ok(())
}
