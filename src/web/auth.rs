//! Who is asking: passwords (Argon2id), login sessions in an HttpOnly SameSite=Lax cookie with a
//! per-session CSRF token, and bearer API tokens. (Failed logins are slowed by `limiter`.)

use super::{AppState, WebError};
use crate::accounts::{Role, User};
use crate::store::Store;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const SESSION_COOKIE: &str = "hotline_session";
/// The login form's own CSRF token (double-submit: cookie and form field must match), since
/// there is no session yet to hold it.
pub const LOGIN_COOKIE: &str = "hotline_login";
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user name must be 1 to 64 letters, digits, '.', '-' or '_' (got `{0}`)")]
    BadName(String),
    #[error("password must be at least 8 characters")]
    ShortPassword,
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Creates an account (or resets its password and role). Used by `hotline user add`.
pub async fn add_user(
    store: &Store,
    name: &str,
    role: Role,
    password: &str,
) -> Result<User, AccountError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(AccountError::BadName(name.into()));
    }
    if password.chars().count() < 8 {
        return Err(AccountError::ShortPassword);
    }
    let hash = hash_password(password)?;
    Ok(store.upsert_user(name, &hash, role).await?)
}

/// Issues a new API token for `name`; only its hash is stored, so it is shown once.
pub async fn new_api_token(store: &Store, name: &str) -> Result<Option<String>, AccountError> {
    let Some((user, _)) = store.user_with_hash(name).await? else {
        return Ok(None);
    };
    let token = format!("hl_{}", random_token());
    store.create_api_token(&token_hash(&token), user.id).await?;
    Ok(Some(token))
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Checks a password against a stored PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// 256 random bits, hex.
pub fn random_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets without an early exit, so timing does not reveal how much matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<Duration>) -> String {
    let age = max_age
        .map(|a| format!("; Max-Age={}", a.as_secs()))
        .unwrap_or_default();
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax{age}")
}

/// The logged-in user of a request. `csrf` is the session's token; None for bearer-token
/// requests, which a browser cannot forge cross-site and so need none.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub csrf: Option<String>,
}

impl Auth {
    /// Refuses a state-changing request whose CSRF token is missing or wrong.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), WebError> {
        match &self.csrf {
            None => Ok(()),
            Some(expected) if given.is_some_and(|g| same_secret(g, expected)) => Ok(()),
            Some(_) => Err(WebError::Forbidden("missing or wrong CSRF token")),
        }
    }

    pub fn csrf_value(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }

    pub fn is_lead(&self) -> bool {
        self.user.is_lead()
    }

    /// Exports of the whole log (callers' names and numbers, transcripts) are for leads.
    pub fn require_lead(&self) -> Result<(), WebError> {
        if self.is_lead() {
            Ok(())
        } else {
            Err(WebError::Forbidden("only a lead may do this"))
        }
    }

    /// Leads dispatch tickets to anyone; a technician takes a ticket for themself, or gives
    /// back one that is theirs (or nobody's), but cannot hand work to, or take it from, others.
    pub fn check_assignment(
        &self,
        current: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), WebError> {
        let me = self.user.name.as_str();
        let allowed = self.is_lead()
            || match new {
                Some(name) => name == me && current.is_none_or(|c| c == me),
                None => current.is_none_or(|c| c == me),
            };
        if allowed {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "only a lead may assign a ticket to someone else or take it from them",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, WebError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(WebError::Unauthorized)?;
            let user = state
                .store
                .api_token_user(&token_hash(token.trim()))
                .await?
                .ok_or(WebError::Unauthorized)?;
            return Ok(Auth { user, csrf: None });
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::Unauthorized)?;
        let (user, csrf) = state
            .store
            .session(&token_hash(token))
            .await?
            .ok_or(WebError::Unauthorized)?;
        Ok(Auth {
            user,
            csrf: Some(csrf),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; hotline_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
