//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760), sans-IO.
//!
//! The server side only: it issues challenges (one per algorithm, SHA-256 first as RFC 8760
//! §2.4 asks, then MD5 for the many desk phones that know nothing else), and checks the
//! `Authorization` a phone answers with against stored HA1 digests — the password itself is
//! never kept. Time is injected (every call takes `now`), and the nonces live in a
//! [`NonceStore`] owned by the caller, so tests drive expiry and replays without a clock or a
//! socket.
//!
//! A scanner must learn nothing: an unknown user is checked against a dummy HA1 with the same
//! work as a known one, and both failures produce the same fresh challenge. Repeated failures
//! are counted per source address and per user name by [`FailureLimiter`].

use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A digest algorithm we accept (RFC 7616 §3.3; the `-sess` variants are not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// The default offer, MD5 first. RFC 8760 §2.4 would put the preferred (SHA-256) first,
    /// but real clients stop at the first challenge (SIPp fails with "authentication must use
    /// MD5" on a leading SHA-256 one), where a client that knows SHA-256 still finds it second. `[registrar] algorithms` changes the order.
    pub const DEFAULT_OFFER: [Algorithm; 2] = [Algorithm::Md5, Algorithm::Sha256];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// `algorithm=` as a phone writes it; absent means MD5 (RFC 7616 §3.3).
    pub fn parse(token: Option<&str>) -> Option<Algorithm> {
        match token {
            None => Some(Algorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    /// The lowercase hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Algorithm::parse(Some(&text)).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown digest algorithm `{text}` (MD5 or SHA-256)"
            ))
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What is stored for a phone account: HA1 = H(user:realm:password) for each algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha1Set {
    pub md5: String,
    pub sha256: String,
}

impl Ha1Set {
    /// The digests of `password` for `user` in `realm`; the password goes no further.
    pub fn from_password(user: &str, realm: &str, password: &str) -> Ha1Set {
        let a1 = format!("{user}:{realm}:{password}");
        Ha1Set {
            md5: Algorithm::Md5.hash(&a1),
            sha256: Algorithm::Sha256.hash(&a1),
        }
    }

    pub fn get(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// Why an `Authorization` header could not be read. Each names the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("Authorization: scheme is not Digest")]
    NotDigest,
    #[error("Authorization: missing parameter `{0}`")]
    Missing(&'static str),
    #[error("Authorization: unsupported algorithm `{0}`")]
    Algorithm(String),
    #[error("Authorization: `nc` is not 8 hex digits: `{0}`")]
    NonceCount(String),
    #[error("Authorization: unsupported qop `{0}` (only auth)")]
    Qop(String),
}

/// The parameters of a `Digest` Authorization (or Proxy-Authorization) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: String,
    /// `nc` as sent (8 hex digits; it is part of the hashed text) and its value.
    pub nc_text: String,
    pub nc: u32,
}

impl Credentials {
    /// Parses a header value such as `Digest username="bob", realm="x", …`. Only `qop=auth` is
    /// accepted: without it there is no nonce count, and replays could not be told apart.
    pub fn parse(value: &str) -> Result<Credentials, DigestError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest);
        }
        let params = parse_params(rest);
        let get = |name: &'static str| -> Result<String, DigestError> {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .ok_or(DigestError::Missing(name))
        };
        let algorithm_token = get("algorithm").ok();
        let algorithm = Algorithm::parse(algorithm_token.as_deref())
            .ok_or_else(|| DigestError::Algorithm(algorithm_token.unwrap_or_default()))?;
        let qop = get("qop")?;
        if !qop.eq_ignore_ascii_case("auth") {
            return Err(DigestError::Qop(qop));
        }
        let nc_text = get("nc")?;
        let nc = (nc_text.len() == 8)
            .then(|| u32::from_str_radix(&nc_text, 16).ok())
            .flatten()
            .ok_or_else(|| DigestError::NonceCount(nc_text.clone()))?;
        Ok(Credentials {
            username: get("username")?,
            realm: get("realm")?,
            nonce: get("nonce")?,
            uri: get("uri")?,
            response: get("response")?.to_ascii_lowercase(),
            algorithm,
            cnonce: get("cnonce")?,
            nc_text,
            nc,
        })
    }

    /// The response a phone knowing the password would send for `method` (RFC 7616 §3.4.1,
    /// qop=auth): H(HA1:nonce:nc:cnonce:auth:H(method:uri)).
    pub fn expected_response(&self, ha1: &str, method: &str) -> String {
        let ha2 = self.algorithm.hash(&format!("{method}:{}", self.uri));
        self.algorithm.hash(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            self.nonce, self.nc_text, self.cnonce
        ))
    }
}

/// `name=value, name="quoted, value"` → pairs, unquoted (backslash escapes honoured).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((name.trim().to_string(), value.trim().to_string()));
    }
    out
}

/// A nonce we issued: when, and the highest nonce count seen with it.
#[derive(Debug, Clone, Copy)]
struct NonceState {
    issued: Instant,
    last_nc: u32,
}

/// The nonces in flight. Bounded: a scanner asking for millions of challenges evicts the oldest
/// ones, whose phones then simply get a fresh (stale) challenge.
#[derive(Debug)]
pub struct NonceStore {
    lifetime: Duration,
    capacity: usize,
    nonces: HashMap<String, NonceState>,
    order: VecDeque<String>,
}

impl NonceStore {
    pub fn new(lifetime: Duration, capacity: usize) -> NonceStore {
        NonceStore {
            lifetime,
            capacity: capacity.max(1),
            nonces: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A fresh nonce: 128 random bits, hex.
    pub fn issue(&mut self, now: Instant) -> String {
        self.prune(now);
        while self.nonces.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.nonces.remove(&old);
                }
                None => break,
            }
        }
        let nonce = hex(&rand::random::<[u8; 16]>());
        self.nonces.insert(
            nonce.clone(),
            NonceState {
                issued: now,
                last_nc: 0,
            },
        );
        self.order.push_back(nonce.clone());
        nonce
    }

    /// Forgets nonces older than their lifetime.
    fn prune(&mut self, now: Instant) {
        while let Some(front) = self.order.front() {
            let expired = self
                .nonces
                .get(front)
                .is_none_or(|s| now.saturating_duration_since(s.issued) >= self.lifetime);
            if !expired {
                break;
            }
            let front = self.order.pop_front().expect("peeked");
            self.nonces.remove(&front);
        }
    }

    /// Whether `nonce` is live and `nc` is higher than any count seen with it; records `nc`.
    fn accept(&mut self, nonce: &str, nc: u32, now: Instant) -> NonceCheck {
        self.prune(now);
        match self.nonces.get_mut(nonce) {
            None => NonceCheck::Unknown,
            Some(state) if nc <= state.last_nc => NonceCheck::Replayed,
            Some(state) => {
                state.last_nc = nc;
                NonceCheck::Fresh
            }
        }
    }

    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }
}

enum NonceCheck {
    Fresh,
    Unknown,
    Replayed,
}

/// The result of checking a request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The user knows the password and the nonce is live and not replayed.
    Authenticated { user: String },
    /// Right password, but the nonce expired (or was never ours): challenge again with
    /// `stale=true`, the phone retries without asking its user (RFC 7616 §3.3).
    Stale,
    /// Wrong password, unknown user, a replayed nonce count or a realm that is not ours: a
    /// fresh challenge, identical whatever the reason.
    Failed,
}

/// Challenges and checks: the realm, and where the HA1 of each user comes from.
#[derive(Debug, Clone)]
pub struct DigestAuthenticator {
    realm: String,
    /// The challenges offered, in this order; answers with another algorithm fail.
    offer: Vec<Algorithm>,
    /// Checked in place of a missing user's HA1, so an unknown user costs the same hashing and
    /// comparison as a known one.
    decoy: Ha1Set,
}

impl DigestAuthenticator {
    /// An authenticator for `realm` offering `offer` (in that order; empty means the default).
    pub fn new(realm: &str, offer: &[Algorithm]) -> DigestAuthenticator {
        let decoy_password = hex(&rand::random::<[u8; 16]>());
        let mut unique = Vec::new();
        for a in offer {
            if !unique.contains(a) {
                unique.push(*a);
            }
        }
        if unique.is_empty() {
            unique = Algorithm::DEFAULT_OFFER.to_vec();
        }
        DigestAuthenticator {
            realm: realm.to_string(),
            offer: unique,
            decoy: Ha1Set::from_password("decoy", realm, &decoy_password),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `WWW-Authenticate` (or `Proxy-Authenticate`) values for a new challenge, one per
    /// offered algorithm, all on one fresh nonce.
    pub fn challenge(&self, nonces: &mut NonceStore, now: Instant, stale: bool) -> Vec<String> {
        let nonce = nonces.issue(now);
        self.offer
            .iter()
            .map(|algorithm| {
                format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={algorithm}, qop=\"auth\"{}",
                    self.realm,
                    if stale { ", stale=true" } else { "" }
                )
            })
            .collect()
    }

    /// Checks `credentials` sent with a `method` request, given the stored HA1 digests of the
    /// user it names (`None`: no such user — checked against the decoy all the same).
    pub fn verify(
        &self,
        method: &str,
        credentials: &Credentials,
        stored: Option<&Ha1Set>,
        nonces: &mut NonceStore,
        now: Instant,
    ) -> Verdict {
        let ha1 = stored.unwrap_or(&self.decoy).get(credentials.algorithm);
        let expected = credentials.expected_response(ha1, method);
        let matches = constant_time_eq(expected.as_bytes(), credentials.response.as_bytes())
            & stored.is_some()
            & (credentials.realm == self.realm)
            & self.offer.contains(&credentials.algorithm);
        let nonce = nonces.accept(&credentials.nonce, credentials.nc, now);
        match (matches, nonce) {
            (true, NonceCheck::Fresh) => Verdict::Authenticated {
                user: credentials.username.clone(),
            },
            (true, NonceCheck::Unknown) => Verdict::Stale,
            _ => Verdict::Failed,
        }
    }
}

/// Equal length and bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How many failures are tolerated, and over how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimits {
    /// Failed attempts from one source address within `window` before it is refused.
    pub per_source: u32,
    /// Failed attempts for one user name (from anywhere) within `window` before it is refused.
    pub per_user: u32,
    pub window: Duration,
}

/// Counts failed authentications per source address and per user name over a sliding window.
/// Blocking by user name too means a guesser spread over many addresses is slowed as well; the
/// price (someone can lock a technician's phone out for one window) is the usual trade-off.
#[derive(Debug)]
pub struct FailureLimiter {
    limits: FailureLimits,
    by_source: HashMap<IpAddr, VecDeque<Instant>>,
    by_user: HashMap<String, VecDeque<Instant>>,
}

impl FailureLimiter {
    pub fn new(limits: FailureLimits) -> FailureLimiter {
        FailureLimiter {
            limits,
            by_source: HashMap::new(),
            by_user: HashMap::new(),
        }
    }

    /// Whether a request from `source` for `user` must be refused without checking it.
    pub fn is_blocked(&mut self, source: IpAddr, user: Option<&str>, now: Instant) -> bool {
        let window = self.limits.window;
        let source_count = recent(self.by_source.get_mut(&source), window, now);
        let user_count = user.map_or(0, |u| recent(self.by_user.get_mut(u), window, now));
        source_count >= self.limits.per_source || user_count >= self.limits.per_user
    }

    /// Records a failed attempt.
    pub fn failed(&mut self, source: IpAddr, user: Option<&str>, now: Instant) {
        crate::metrics::SIP_AUTH_FAILURES.inc();
        // Keep the maps bounded: a flood of addresses or names must not grow them forever.
        if self.by_source.len() > 100_000 || self.by_user.len() > 100_000 {
            self.forget_idle(now);
        }
        self.by_source.entry(source).or_default().push_back(now);
        if let Some(user) = user {
            self.by_user
                .entry(user.to_string())
                .or_default()
                .push_back(now);
        }
    }

    /// When the block on `source`/`user` lifts (for a Retry-After), if blocked.
    pub fn retry_after(&self, source: IpAddr, user: Option<&str>, now: Instant) -> Duration {
        let oldest = |q: Option<&VecDeque<Instant>>| q.and_then(|q| q.front().copied());
        [
            oldest(self.by_source.get(&source)),
            user.and_then(|u| oldest(self.by_user.get(u))),
        ]
        .into_iter()
        .flatten()
        .map(|t| (t + self.limits.window).saturating_duration_since(now))
        .max()
        .unwrap_or_default()
    }

    fn forget_idle(&mut self, now: Instant) {
        let window = self.limits.window;
        self.by_source
            .retain(|_, q| recent(Some(q), window, now) > 0);
        self.by_user.retain(|_, q| recent(Some(q), window, now) > 0);
    }
}

/// Drops attempts older than `window` and counts the rest.
fn recent(queue: Option<&mut VecDeque<Instant>>, window: Duration, now: Instant) -> u32 {
    let Some(queue) = queue else { return 0 };
    while queue
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        queue.pop_front();
    }
    u32::try_from(queue.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
