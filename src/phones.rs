//! Technicians' phones: the registrar task they REGISTER with (RFC 3261 §10), authenticated by
//! digest (§22), and are kept an eye on with OPTIONS keep-alives.
//!
//! The rules live in the sans-IO cores (`sip::digest`, `sip::registrar`); this task feeds them
//! the REGISTER requests the endpoint hands up, the stored digests and bindings, and the time,
//! and sends their answers back. It owns the nonces and the failure counts (process memory: a
//! restart only costs phones one extra challenge) and the TCP flows phones registered on (a
//! flow is a connection of this process, so it cannot be stored; the binding itself is).
//!
//! The same challenge recognises a technician who calls from their phone (`identify`): an
//! INVITE for a feature code, or from where a technician's phone registered, gets 407 and is
//! the technician's once answered with their password.

use crate::call::answer::Caller;
use crate::call::local_ip::local_ip_towards;
use crate::call::IncomingCall;
use crate::config::RegistrarConfig;
use crate::sip::dialog::{new_branch, random_token};
use crate::sip::digest::{Credentials, DigestAuthenticator, FailureLimiter, NonceStore, Verdict};
use crate::sip::endpoint::{EndpointHandle, NewCall, OutOfDialogRequest};
use crate::sip::message;
use crate::sip::registrar::{aor_user, process_register, BindingChange, Transport};
use crate::sip::transport::Flow;
use crate::store::{Store, StoreError};
use chrono::Utc;
use rsip::{Header, Request, SipMessage, StatusCode};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A phone Hotline can ring now: where to send the INVITE, and on which flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneRoute {
    pub user: String,
    /// The Contact it registered (the Request-URI of an INVITE to it).
    pub contact: String,
    /// Where its REGISTER came from (rport/received): where it is reached behind NAT.
    pub source: SocketAddr,
    /// The TCP connection it registered on, or UDP.
    pub flow: Flow,
}

/// Who placed a call, as the technicians' phones know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerIs {
    /// Not a technician's phone: a helpdesk caller.
    Caller,
    /// A technician, authenticated by digest.
    Technician(String),
    /// The INVITE was answered here (challenged, refused): nothing more to do with it.
    Answered,
}

/// A binding as this node knows it: keyed by (user, contact).
type BindingKey = (String, String);

/// The technicians' phones as routing sees them: the stored bindings and this process's flows.
#[derive(Clone)]
pub struct Phones {
    store: Store,
    endpoint: EndpointHandle,
    flows: Arc<Mutex<HashMap<BindingKey, Flow>>>,
    /// Where each phone registered from (on this node): INVITEs from there are challenged.
    sources: Arc<Mutex<HashMap<BindingKey, SocketAddr>>>,
    guard: Arc<Mutex<Guard>>,
}

/// How a challenge is carried: REGISTER is a registrar's (401), INVITE a proxy's (407, as
/// Asterisk and Kamailio do), so a phone answers with the matching header.
#[derive(Debug, Clone, Copy)]
enum Challenge {
    Register,
    Invite,
}

impl Challenge {
    fn status(self) -> StatusCode {
        match self {
            Challenge::Register => StatusCode::Unauthorized,
            Challenge::Invite => StatusCode::ProxyAuthenticationRequired,
        }
    }

    fn credentials_header(self) -> &'static str {
        match self {
            Challenge::Register => "Authorization",
            Challenge::Invite => "Proxy-Authorization",
        }
    }

    fn header(self, value: String) -> Header {
        match self {
            Challenge::Register => Header::WwwAuthenticate(value.into()),
            Challenge::Invite => Header::ProxyAuthenticate(value.into()),
        }
    }
}

/// The result of checking a request's credentials.
enum Authentication {
    Authenticated(String),
    /// The answer to send instead: a challenge, or 403 when rate limited.
    Refused(rsip::Response),
}

impl Phones {
    /// Tells a technician's call from a helpdesk caller's. An INVITE for a feature code
    /// (`feature_code`), from where a technician's phone registered, or already carrying
    /// credentials is challenged (407); answered with the right password, it is that
    /// technician's. Any other INVITE is a caller's, with no lookup at all.
    pub async fn identify(&self, call: &NewCall, feature_code: bool) -> CallerIs {
        let from_a_phone = self.registered_at(call.source, &call.caller().number);
        let has_credentials =
            message::header_value(&call.invite.headers, "Proxy-Authorization").is_some();
        if !(feature_code || from_a_phone || has_credentials) {
            return CallerIs::Caller;
        }
        let response = match self
            .authenticate(&call.invite, call.source, Challenge::Invite)
            .await
        {
            Ok(Authentication::Authenticated(user)) => return CallerIs::Technician(user),
            Ok(Authentication::Refused(response)) => response,
            Err(e) => {
                tracing::error!(error = %e, "cannot check a technician's credentials");
                message::response(
                    &call.invite,
                    StatusCode::ServerInternalError,
                    Some(&random_token()),
                )
            }
        };
        self.endpoint.respond(&call.transaction, response).await;
        // The phone answers the challenge with a new INVITE in the same Call-ID: a new call.
        self.endpoint
            .forget(&call.call_id(), &call.caller_tag())
            .await;
        CallerIs::Answered
    }

    /// Whether `user` has a phone registered (on this node) at `source`.
    fn registered_at(&self, source: SocketAddr, user: &str) -> bool {
        self.sources
            .lock()
            .expect("sources lock")
            .iter()
            .any(|((u, _), s)| *s == source && u == user)
    }

    /// Checks the digest credentials of `request` against the stored HA1s: the rate limit
    /// first, then the nonce and the response. Every failure gets the same fresh challenge.
    async fn authenticate(
        &self,
        request: &Request,
        source: SocketAddr,
        how: Challenge,
    ) -> Result<Authentication, StoreError> {
        let now = Instant::now().into_std();
        let authorization = message::header_value(&request.headers, how.credentials_header());
        let credentials = authorization.as_deref().map(Credentials::parse);
        let claimed = match &credentials {
            Some(Ok(c)) => Some(c.username.clone()),
            _ => match how {
                Challenge::Register => aor_user(request),
                Challenge::Invite => Some(Caller::of(request).number),
            },
        };
        let realm = {
            let mut guard = self.guard.lock().expect("guard lock");
            if guard
                .failures
                .is_blocked(source.ip(), claimed.as_deref(), now)
            {
                let wait = guard
                    .failures
                    .retry_after(source.ip(), claimed.as_deref(), now);
                tracing::warn!(%source, user = claimed.as_deref().unwrap_or("-"), method = %request.method, "refused: too many failed authentications");
                let mut response =
                    message::response(request, StatusCode::Forbidden, Some(&random_token()));
                push_before_length(
                    &mut response,
                    Header::Other("Retry-After".into(), wait.as_secs().max(1).to_string()),
                );
                return Ok(Authentication::Refused(response));
            }
            guard.auth.realm().to_string()
        };
        let credentials = match credentials {
            None => return Ok(Authentication::Refused(self.challenge(request, how, false))),
            Some(Err(e)) => {
                self.failed(source, claimed.as_deref(), &e.to_string());
                return Ok(Authentication::Refused(self.challenge(request, how, false)));
            }
            Some(Ok(c)) => c,
        };
        let stored = self
            .store
            .sip_credentials(&credentials.username, &realm)
            .await?;
        let verdict = {
            let guard = &mut *self.guard.lock().expect("guard lock");
            guard.auth.verify(
                request.method.to_string().as_str(),
                &credentials,
                stored.as_ref(),
                &mut guard.nonces,
                Instant::now().into_std(),
            )
        };
        Ok(match verdict {
            Verdict::Authenticated { user } => Authentication::Authenticated(user),
            Verdict::Stale => Authentication::Refused(self.challenge(request, how, true)),
            Verdict::Failed => {
                self.failed(source, Some(&credentials.username), "wrong credentials");
                Authentication::Refused(self.challenge(request, how, false))
            }
        })
    }

    /// Counts a failure and logs it with where it came from.
    fn failed(&self, source: SocketAddr, user: Option<&str>, reason: &str) {
        tracing::warn!(%source, user = user.unwrap_or("-"), reason, "SIP authentication failed");
        self.guard.lock().expect("guard lock").failures.failed(
            source.ip(),
            user,
            Instant::now().into_std(),
        );
    }

    /// 401 or 407 with a fresh nonce, every offered algorithm: identical whatever went wrong.
    fn challenge(&self, request: &Request, how: Challenge, stale: bool) -> rsip::Response {
        let mut response = message::response(request, how.status(), Some(&random_token()));
        let values = {
            let guard = &mut *self.guard.lock().expect("guard lock");
            guard
                .auth
                .challenge(&mut guard.nonces, Instant::now().into_std(), stale)
        };
        for value in values {
            push_before_length(&mut response, how.header(value));
        }
        response
    }

    /// The flow to reach a binding: UDP, or the TCP connection it registered on (`None` if
    /// that connection is gone or belongs to another node).
    pub(crate) fn flow(&self, user: &str, contact: &str, transport: Transport) -> Option<Flow> {
        match transport {
            Transport::Udp => Some(Flow::Udp),
            Transport::Tcp | Transport::Tls => self
                .flows
                .lock()
                .expect("flows lock")
                .get(&(user.to_string(), contact.to_string()))
                .copied(),
        }
    }

    /// The live phones of `user` whose last keep-alive was answered. A TCP phone registered on
    /// another node (or before a restart) has no flow here and is left out: only the node
    /// holding its connection can reach it through the NAT.
    pub async fn reachable(&self, user: &str) -> Result<Vec<PhoneRoute>, StoreError> {
        let phones = self.store.bindings(user, Utc::now()).await?;
        Ok(phones
            .into_iter()
            .filter(|p| p.reachable)
            .filter_map(|p| {
                let flow = self.flow(user, &p.binding.contact, p.binding.transport)?;
                Some(PhoneRoute {
                    user: p.user,
                    contact: p.binding.contact,
                    source: p.binding.source,
                    flow,
                })
            })
            .collect())
    }
}

/// Challenges and failure counts, owned by the registrar task.
struct Guard {
    auth: DigestAuthenticator,
    nonces: NonceStore,
    failures: FailureLimiter,
}

struct Registrar {
    endpoint: EndpointHandle,
    phones: Phones,
    config: RegistrarConfig,
}

/// Starts the registrar on the REGISTER requests the endpoint hands up, and the keep-alive.
/// Both stop when `shutdown` turns true.
pub fn start(
    endpoint: EndpointHandle,
    requests: mpsc::Receiver<OutOfDialogRequest>,
    store: Store,
    config: RegistrarConfig,
    listen: SocketAddr,
    public_ip: Option<IpAddr>,
    shutdown: watch::Receiver<bool>,
) -> Phones {
    let phones = Phones {
        store,
        endpoint: endpoint.clone(),
        flows: Arc::default(),
        sources: Arc::default(),
        guard: Arc::new(Mutex::new(Guard {
            auth: DigestAuthenticator::new(&config.realm, &config.algorithms),
            nonces: NonceStore::new(Duration::from_secs(config.nonce_lifetime_secs), 100_000),
            failures: FailureLimiter::new(config.failure_limits()),
        })),
    };
    let registrar = Registrar {
        endpoint: endpoint.clone(),
        phones: phones.clone(),
        config: config.clone(),
    };
    tokio::spawn(registrar.run(requests, shutdown.clone()));
    if config.keepalive_secs > 0 {
        tokio::spawn(keepalive(
            endpoint,
            phones.clone(),
            Duration::from_secs(config.keepalive_secs),
            listen,
            public_ip,
            shutdown,
        ));
    }
    phones
}

impl Registrar {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<OutOfDialogRequest>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(r) => self.handle(r).await,
                    None => break,
                },
                _ = shutdown.changed() => break,
            }
        }
    }

    async fn handle(&mut self, incoming: OutOfDialogRequest) {
        let OutOfDialogRequest {
            request,
            transaction,
            source,
            flow,
        } = incoming;
        let response = match self.answer(&request, source, flow).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, "registrar: storage failed");
                message::response(
                    &request,
                    StatusCode::ServerInternalError,
                    Some(&random_token()),
                )
            }
        };
        self.endpoint.respond(&transaction, response).await;
    }

    async fn answer(
        &mut self,
        request: &Request,
        source: SocketAddr,
        flow: Flow,
    ) -> Result<rsip::Response, StoreError> {
        let user = match self
            .phones
            .authenticate(request, source, Challenge::Register)
            .await?
        {
            Authentication::Authenticated(user) => user,
            Authentication::Refused(response) => return Ok(response),
        };
        let wall = Utc::now();
        let current: Vec<_> = self
            .phones
            .store
            .bindings(&user, wall)
            .await?
            .into_iter()
            .map(|p| p.binding)
            .collect();
        let outcome = process_register(
            request,
            &user,
            &current,
            source,
            flow,
            wall,
            self.config.expiry_limits(),
        );
        if !outcome.changes.is_empty() {
            self.phones
                .store
                .apply_binding_changes(&user, &outcome.changes, wall)
                .await?;
            let mut flows = self.phones.flows.lock().expect("flows lock");
            let mut sources = self.phones.sources.lock().expect("sources lock");
            for change in &outcome.changes {
                match change {
                    BindingChange::Save(b) => {
                        let key = (user.clone(), b.contact.clone());
                        sources.insert(key.clone(), b.source);
                        match flow {
                            Flow::Tcp(_) | Flow::Tls(_) => flows.insert(key, flow),
                            Flow::Udp => flows.remove(&key),
                        };
                    }
                    BindingChange::Remove { contact } => {
                        let key = (user.clone(), contact.clone());
                        flows.remove(&key);
                        sources.remove(&key);
                    }
                }
            }
        }
        tracing::info!(%user, %source, transport = Transport::of(flow).as_str(), status = %outcome.status, "REGISTER");
        Ok(outcome.response(request))
    }
}

fn push_before_length(response: &mut rsip::Response, header: Header) {
    response
        .headers
        .retain(|h| !matches!(h, Header::ContentLength(_)));
    response.headers.push(header);
    response.headers.push(Header::ContentLength(0.into()));
}

/// Every `interval`: expired bindings are purged, and each live one gets an OPTIONS; one that
/// does not answer (Timer F) is marked unreachable until it answers or registers again.
async fn keepalive(
    endpoint: EndpointHandle,
    phones: Phones,
    interval: Duration,
    listen: SocketAddr,
    public_ip: Option<IpAddr>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval);
    // A round waits for its slowest phone (up to 64·T1); the next starts after it, not in a burst.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = Utc::now();
        if let Err(e) = phones.store.purge_expired_bindings(now).await {
            tracing::error!(error = %e, "keep-alive: purging expired bindings failed");
        }
        let all = match phones.store.all_bindings(now).await {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "keep-alive: reading bindings failed");
                continue;
            }
        };
        {
            // Flows of bindings that are gone (expired, removed elsewhere) are forgotten.
            let live: std::collections::HashSet<(String, String)> = all
                .iter()
                .map(|p| (p.user.clone(), p.binding.contact.clone()))
                .collect();
            phones
                .flows
                .lock()
                .expect("flows lock")
                .retain(|k, _| live.contains(k));
            phones
                .sources
                .lock()
                .expect("sources lock")
                .retain(|k, _| live.contains(k));
        }
        let mut round = tokio::task::JoinSet::new();
        for phone in all {
            let endpoint = endpoint.clone();
            let phones = phones.clone();
            round.spawn(async move {
                let b = &phone.binding;
                let Some(flow) = phones.flow(&phone.user, &b.contact, b.transport) else {
                    // A TCP phone whose connection belongs to another node or an earlier run:
                    // that node pings it; here it is left as it is.
                    return;
                };
                let local = SocketAddr::new(
                    local_ip_towards(b.source.ip(), listen.ip(), public_ip),
                    endpoint.local_addr_for(flow).port(),
                );
                let Some(options) = options_request(&b.contact, local, flow) else {
                    return;
                };
                let answered = endpoint.request(options, flow, b.source).await.is_ok();
                if answered != phone.reachable {
                    tracing::info!(user = %phone.user, contact = %b.contact, reachable = answered, "phone keep-alive");
                }
                if let Err(e) = phones
                    .store
                    .set_binding_reachable(&phone.user, &b.contact, answered, Utc::now())
                    .await
                {
                    tracing::error!(error = %e, "keep-alive: saving the result failed");
                }
            });
        }
        while round.join_next().await.is_some() {}
    }
}

/// An OPTIONS to a registered Contact (§11), sent from `local` over `flow`.
fn options_request(contact: &str, local: SocketAddr, flow: Flow) -> Option<Request> {
    let text = format!(
        "OPTIONS {contact} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:hotline@{local}>;tag={tag}\r\n\
         To: <{contact}>\r\n\
         Call-ID: {call_id}@hotline\r\n\
         CSeq: 1 OPTIONS\r\n\
         User-Agent: {product}\r\n\
         Content-Length: 0\r\n\r\n",
        transport = flow.via_transport(),
        branch = new_branch(),
        tag = random_token(),
        call_id = random_token(),
        product = message::PRODUCT,
    );
    match message::parse(text.as_bytes()) {
        Ok(SipMessage::Request(r)) => Some(r),
        _ => None,
    }
}
