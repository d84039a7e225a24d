//! The gateway's SIP side: its own endpoint, and the registry that hands each INVITE to the
//! page whose binding it names.

use super::peer::IceSettings;
use super::protocol::{FromBrowser, ToBrowser};
use super::session;
use crate::call::{refuse, IncomingCall, Refusal};
use crate::media::port_pool::PortPool;
use crate::sip::endpoint::{Endpoint, EndpointHandle, NewCall};
use crate::sip::transaction::Timers;
use crate::sip::transport::{TransportError, Transports};
use crate::store::Store;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Why the gateway cannot start or take a page.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("browser phone gateway: {0}")]
    Transport(#[from] TransportError),
}

/// What every page's session needs.
#[derive(Clone)]
pub(super) struct Context {
    pub endpoint: EndpointHandle,
    pub store: Store,
    pub ports: Arc<PortPool>,
    pub ice: IceSettings,
    /// The address bindings name: where routing sends the INVITEs.
    pub contact_addr: SocketAddr,
    /// The IP our RTP socket is announced on towards the caller leg.
    pub media_ip: IpAddr,
    pub sessions: Sessions,
    /// Technicians who just asked for a call of their own (a "Call back"): until when their
    /// page may answer an INVITE marked `answer-after=0` by itself.
    pub own_calls: Arc<Mutex<HashMap<String, Instant>>>,
}

/// How long after the click a page answers its own call by itself.
const OWN_CALL_WINDOW: Duration = Duration::from_secs(30);

impl Context {
    /// Whether `user`'s page answers this INVITE by itself: Hotline marked it (`Call-Info:
    /// …;answer-after=0`) and the technician asked for such a call in the last 30 s. Both,
    /// so that neither a stranger's INVITE nor a routed call arriving meanwhile opens the
    /// microphone unasked. Used once.
    pub fn own_call(&self, user: &str, invite: &rsip::Request) -> bool {
        let marked = crate::sip::message::header_value(&invite.headers, "Call-Info")
            .is_some_and(|v| v.replace(' ', "").contains(";answer-after=0"));
        if !marked {
            return false;
        }
        let mut own = lock(&self.own_calls);
        own.retain(|_, until| *until > Instant::now());
        own.remove(user).is_some()
    }
}

/// Open pages by session id; the lock is held only to insert, remove or look up.
pub(super) type Sessions = Arc<Mutex<HashMap<String, mpsc::Sender<NewCall>>>>;

/// How the web log turns a page into a phone.
#[derive(Clone)]
pub struct BrowserPhones {
    ctx: Context,
}

/// One page's phone: messages for the page, and where its messages go. Dropping `commands`
/// (the page closed) ends its calls and removes its binding.
pub struct Softphone {
    pub events: mpsc::Receiver<ToBrowser>,
    pub commands: mpsc::Sender<FromBrowser>,
}

impl BrowserPhones {
    /// Starts the gateway's SIP user agent on `listen` (the node's SIP IP, port 0 for any).
    /// `public_ip` is announced instead of the bound IP, as for the main SIP port.
    pub async fn start(
        listen: SocketAddr,
        public_ip: Option<IpAddr>,
        store: Store,
        ports: Arc<PortPool>,
        ice: IceSettings,
        timers: Timers,
    ) -> Result<BrowserPhones, GatewayError> {
        let (transports, inbound) = Transports::bind(listen).await?;
        let bound = transports.local_addr();
        let (endpoint, new_calls) = Endpoint::start(transports, inbound, timers);
        // Routing (in this process or another node) must reach the binding: a wildcard bind
        // is announced on loopback unless a public IP is configured.
        let ip = public_ip.unwrap_or(if bound.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            bound.ip()
        });
        let ctx = Context {
            endpoint: endpoint.clone(),
            store,
            ports,
            ice,
            contact_addr: SocketAddr::new(ip, bound.port()),
            media_ip: ip,
            sessions: Arc::new(Mutex::new(HashMap::new())),
            own_calls: Arc::new(Mutex::new(HashMap::new())),
        };
        tokio::spawn(dispatch(new_calls, endpoint, ctx.sessions.clone()));
        tracing::info!(addr = %ctx.contact_addr, "browser phone gateway listening");
        Ok(BrowserPhones { ctx })
    }

    /// The STUN/TURN servers pages should use too.
    pub fn ice_servers(&self) -> &[String] {
        &self.ctx.ice.servers
    }

    /// `user` asked Hotline to place a call for them (a "Call back"): their open page answers
    /// it by itself when it comes within 30 s.
    pub fn expect_own_call(&self, user: &str) {
        lock(&self.ctx.own_calls).insert(user.to_string(), Instant::now() + OWN_CALL_WINDOW);
    }

    /// The gateway's SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.ctx.contact_addr
    }

    /// Makes a page of `user` a phone until it closes: its binding is stored (and refreshed)
    /// at once, so the next routed call rings it.
    pub fn open(&self, user: &str) -> Softphone {
        let id = format!("{:08x}", rand::random::<u32>());
        let (calls_tx, calls) = mpsc::channel(1);
        lock(&self.ctx.sessions).insert(id.clone(), calls_tx);
        let (events_tx, events) = mpsc::channel(32);
        let (commands, commands_rx) = mpsc::channel(32);
        tokio::spawn(session::run(
            self.ctx.clone(),
            user.to_string(),
            id,
            commands_rx,
            events_tx,
            calls,
        ));
        Softphone { events, commands }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a binding's Contact is an open page's (`sip:<user>-web-<id>@…`), not a phone's.
pub fn is_page_contact(contact: &str) -> bool {
    contact
        .strip_prefix("sip:")
        .and_then(|c| c.split_once('@'))
        .is_some_and(|(user, _)| session_id(user).is_some())
}

/// The page a Request-URI names: `sip:<user>-web-<id>@…`.
fn session_id(dialled: &str) -> Option<&str> {
    dialled.rsplit_once("-web-").map(|(_, id)| id)
}

pub(super) fn forget_session(sessions: &Sessions, id: &str) {
    lock(sessions).remove(id);
}

/// Hands each INVITE to its page: 480 if the page is gone (a binding left by a crash), 486
/// while it is in a call (its session reads new calls only to refuse them).
async fn dispatch(
    mut new_calls: mpsc::Receiver<NewCall>,
    endpoint: EndpointHandle,
    sessions: Sessions,
) {
    while let Some(call) = new_calls.recv().await {
        let dialled = call.dialled();
        let page = session_id(&dialled).and_then(|id| lock(&sessions).get(id).cloned());
        let Some(page) = page else {
            tracing::info!(%dialled, "INVITE for a browser phone that is not open");
            refuse(call, &endpoint, Refusal::TemporarilyUnavailable, None).await;
            continue;
        };
        if let Err(e) = page.try_send(call) {
            let (call, refusal) = match e {
                mpsc::error::TrySendError::Full(c) => (c, Refusal::BusyHere),
                mpsc::error::TrySendError::Closed(c) => (c, Refusal::TemporarilyUnavailable),
            };
            refuse(call, &endpoint, refusal, None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::session_id;

    #[test]
    fn the_request_uri_names_the_page() {
        assert_eq!(session_id("tom-web-0a1b2c3d"), Some("0a1b2c3d"));
        assert_eq!(session_id("first-web-name-web-ff"), Some("ff"));
        assert_eq!(session_id("tom"), None);
    }

    #[test]
    fn page_contacts_are_told_from_phones() {
        assert!(super::is_page_contact(
            "sip:tom-web-0a1b2c3d@127.0.0.1:5070"
        ));
        assert!(!super::is_page_contact("sip:tom@192.0.2.1:5060"));
        assert!(!super::is_page_contact("sip:tom@web-host-web-x.example"));
    }
}
