//! The SIP endpoint: one task that owns every transaction and routes requests to calls.
//!
//! It sits between the transports and the call tasks (the transaction user): it matches
//! messages to transactions, drives their timers, answers what needs no call (OPTIONS, CANCEL,
//! BYE, unknown dialogs, methods we do not allow), and hands each new INVITE up as a [`NewCall`]
//! with a channel of [`CallSignal`]s for everything that later arrives in that dialog.

use crate::sip::message::{self, ALLOWED_METHODS};
use crate::sip::transaction::{
    Action, ClientNonInviteTransaction, ServerInviteTransaction, ServerNonInviteTransaction,
    Timers, TransactionKey,
};
use crate::sip::transport::{Flow, Inbound, Transports};
use bytes::Bytes;
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, SipMessage, StatusCode};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A new call for the layer above: the INVITE, where it came from, and its signals.
pub struct NewCall {
    pub invite: Request,
    pub transaction: TransactionKey,
    pub source: SocketAddr,
    pub flow: Flow,
    pub signals: mpsc::Receiver<CallSignal>,
}

/// Something that happened in a call's dialog after its INVITE.
#[derive(Debug)]
pub enum CallSignal {
    /// The ACK for our 2xx (it may carry the SDP answer to an offer we made in the 200).
    Ack(Request),
    /// A re-INVITE (hold, unhold, new media); answer it through its transaction.
    ReInvite {
        request: Request,
        transaction: TransactionKey,
    },
    /// The caller hung up; the endpoint already answered 200.
    Bye,
    /// The caller cancelled before the call was answered; the endpoint sent 487.
    Cancelled,
    /// Our 2xx was never acknowledged (Timer H/L): the call must end (§13.3.1.4).
    AckTimeout,
    /// A digit sent as SIP INFO (application/dtmf-relay), as some phones do.
    InfoDigit(char),
}

/// A request we sent got no final response in time (Timer F).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no response to {0} within 64·T1")]
pub struct RequestTimeout(pub String);

enum Command {
    Respond {
        transaction: TransactionKey,
        response: Response,
    },
    SendRequest {
        request: Request,
        flow: Flow,
        dest: SocketAddr,
        reply: oneshot::Sender<Result<Response, RequestTimeout>>,
    },
    Forget {
        call: CallKey,
    },
    StopAccepting,
}

/// How call tasks talk to the endpoint.
#[derive(Clone)]
pub struct EndpointHandle {
    commands: mpsc::Sender<Command>,
    local: SocketAddr,
}

impl EndpointHandle {
    /// Sends a response through the server transaction `transaction` (INVITE or re-INVITE).
    pub async fn respond(&self, transaction: &TransactionKey, response: Response) {
        let _ = self
            .commands
            .send(Command::Respond {
                transaction: transaction.clone(),
                response,
            })
            .await;
    }

    /// Sends a non-INVITE request (BYE) in a client transaction and waits for its final response.
    pub async fn request(
        &self,
        request: Request,
        flow: Flow,
        dest: SocketAddr,
    ) -> Result<Response, RequestTimeout> {
        let method = request.method.to_string();
        let (reply, rx) = oneshot::channel();
        let sent = self
            .commands
            .send(Command::SendRequest {
                request,
                flow,
                dest,
                reply,
            })
            .await;
        if sent.is_err() {
            return Err(RequestTimeout(method));
        }
        rx.await.unwrap_or(Err(RequestTimeout(method)))
    }

    /// The call is over: stop routing its dialog's requests to it.
    pub async fn forget(&self, call_id: &str, remote_tag: &str) {
        let call = CallKey {
            call_id: call_id.to_string(),
            remote_tag: remote_tag.to_string(),
        };
        let _ = self.commands.send(Command::Forget { call }).await;
    }

    /// From now on new INVITEs get 503 (graceful shutdown); calls in progress carry on.
    pub async fn stop_accepting(&self) {
        let _ = self.commands.send(Command::StopAccepting).await;
    }

    /// The address our SIP transports are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// A dialog seen from the caller's side: Call-ID and the caller's From tag, both known as soon as
/// the INVITE arrives (before we pick our own tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CallKey {
    call_id: String,
    remote_tag: String,
}

impl CallKey {
    /// The dialog a request from the caller belongs to.
    fn of(request: &Request) -> Option<CallKey> {
        Some(CallKey {
            call_id: request.call_id_header().ok()?.value().to_string(),
            remote_tag: request.from_header().ok()?.tag().ok()??.to_string(),
        })
    }
}

struct CallEntry {
    signals: mpsc::Sender<CallSignal>,
    /// The latest INVITE transaction of the dialog, whose 2xx the next ACK acknowledges.
    invite: Option<TransactionKey>,
}

enum ServerTransaction {
    // Boxed: an INVITE transaction holds its request, far larger than a non-INVITE one.
    Invite(Box<ServerInviteTransaction>),
    NonInvite(ServerNonInviteTransaction),
}

struct ServerEntry {
    transaction: ServerTransaction,
    flow: Flow,
    dest: SocketAddr,
    call: Option<CallKey>,
}

struct ClientEntry {
    transaction: ClientNonInviteTransaction,
    flow: Flow,
    dest: SocketAddr,
    reply: Option<oneshot::Sender<Result<Response, RequestTimeout>>>,
    method: String,
}

/// The endpoint task's state.
pub struct Endpoint {
    transports: Transports,
    timers: Timers,
    servers: HashMap<TransactionKey, ServerEntry>,
    clients: HashMap<TransactionKey, ClientEntry>,
    calls: HashMap<CallKey, CallEntry>,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    deadline_owners: HashMap<u64, (bool, TransactionKey)>,
    next_deadline_id: u64,
    new_calls: mpsc::Sender<NewCall>,
    accepting: bool,
}

impl Endpoint {
    /// Starts the endpoint task on bound transports; new calls arrive on the returned receiver.
    pub fn start(
        transports: Transports,
        inbound: mpsc::Receiver<Inbound>,
        timers: Timers,
    ) -> (EndpointHandle, mpsc::Receiver<NewCall>) {
        let (commands_tx, commands_rx) = mpsc::channel(1024);
        let (new_calls, new_calls_rx) = mpsc::channel(256);
        let handle = EndpointHandle {
            commands: commands_tx,
            local: transports.local_addr(),
        };
        let endpoint = Endpoint {
            transports,
            timers,
            servers: HashMap::new(),
            clients: HashMap::new(),
            calls: HashMap::new(),
            deadlines: BinaryHeap::new(),
            deadline_owners: HashMap::new(),
            next_deadline_id: 0,
            new_calls,
            accepting: true,
        };
        tokio::spawn(endpoint.run(inbound, commands_rx));
        (handle, new_calls_rx)
    }

    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        loop {
            let next = self.deadlines.peek().map(|Reverse((at, _))| *at);
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = inbound.recv() => match message {
                    Some(m) => self.on_inbound(m).await,
                    None => return,
                },
                command = commands.recv() => match command {
                    Some(c) => self.on_command(c).await,
                    None => return,
                },
                () = sleep => self.on_deadlines().await,
            }
        }
    }

    fn schedule(&mut self, server: bool, key: &TransactionKey, at: Option<Instant>) {
        if let Some(at) = at {
            let id = self.next_deadline_id;
            self.next_deadline_id += 1;
            self.deadlines.push(Reverse((at, id)));
            self.deadline_owners.insert(id, (server, key.clone()));
        }
    }

    async fn on_deadlines(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = self.deadlines.peek().cloned() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some((server, key)) = self.deadline_owners.remove(&id) else {
                continue;
            };
            if server {
                let actions = match self.servers.get_mut(&key) {
                    Some(entry) if entry_deadline(entry).is_some_and(|d| d <= now) => {
                        match &mut entry.transaction {
                            ServerTransaction::Invite(t) => t.on_timer(now),
                            ServerTransaction::NonInvite(t) => t.on_timer(now),
                        }
                    }
                    _ => continue,
                };
                self.server_actions(&key, actions).await;
            } else {
                let actions = match self.clients.get_mut(&key) {
                    Some(entry) if entry.transaction.next_deadline().is_some_and(|d| d <= now) => {
                        entry.transaction.on_timer(now)
                    }
                    _ => continue,
                };
                self.client_actions(&key, actions).await;
            }
        }
    }

    /// Carries out a server transaction's actions and re-arms its timer.
    async fn server_actions(&mut self, key: &TransactionKey, actions: Vec<Action>) {
        let Some(entry) = self.servers.get(key) else {
            return;
        };
        let (flow, dest, call) = (entry.flow, entry.dest, entry.call.clone());
        let mut terminated = false;
        for action in actions {
            match action {
                Action::Transmit(message) => self.transmit(flow, dest, message).await,
                Action::TimedOut => {
                    if let Some(call) = call.as_ref().and_then(|c| self.calls.get(c)) {
                        let _ = call.signals.try_send(CallSignal::AckTimeout);
                    }
                }
                Action::Terminated => terminated = true,
                Action::Deliver(_) => {}
            }
        }
        if terminated {
            self.servers.remove(key);
        } else {
            let next = self.servers.get(key).and_then(entry_deadline);
            self.schedule(true, key, next);
        }
    }

    async fn client_actions(&mut self, key: &TransactionKey, actions: Vec<Action>) {
        let Some(entry) = self.clients.get_mut(key) else {
            return;
        };
        let (flow, dest) = (entry.flow, entry.dest);
        let mut terminated = false;
        let mut to_send = Vec::new();
        for action in actions {
            match action {
                Action::Transmit(message) => to_send.push(message),
                Action::Deliver(response) if response.status_code.code() >= 200 => {
                    if let Some(reply) = entry.reply.take() {
                        let _ = reply.send(Ok(response));
                    }
                }
                Action::Deliver(_) => {}
                Action::TimedOut => {
                    if let Some(reply) = entry.reply.take() {
                        let _ = reply.send(Err(RequestTimeout(entry.method.clone())));
                    }
                }
                Action::Terminated => terminated = true,
            }
        }
        for message in to_send {
            self.transmit(flow, dest, message).await;
        }
        if terminated {
            self.clients.remove(key);
        } else {
            let next = self
                .clients
                .get(key)
                .and_then(|e| e.transaction.next_deadline());
            self.schedule(false, key, next);
        }
    }

    async fn transmit(&self, flow: Flow, dest: SocketAddr, message: SipMessage) {
        let bytes = Bytes::from(message.to_string());
        if let Err(e) = self.transports.send(flow, dest, bytes).await {
            tracing::warn!(%dest, error = %e, "SIP send failed");
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Respond {
                transaction,
                response,
            } => {
                let now = Instant::now();
                let actions = match self.servers.get_mut(&transaction) {
                    Some(ServerEntry {
                        transaction: ServerTransaction::Invite(t),
                        ..
                    }) => t.respond(response, now),
                    Some(ServerEntry {
                        transaction: ServerTransaction::NonInvite(t),
                        ..
                    }) => t.respond(response, now),
                    None => {
                        tracing::debug!(
                            branch = transaction.branch(),
                            "response for a finished transaction dropped"
                        );
                        return;
                    }
                };
                self.server_actions(&transaction, actions).await;
            }
            Command::SendRequest {
                request,
                flow,
                dest,
                reply,
            } => {
                let method = request.method.to_string();
                let key = match TransactionKey::for_request(&request) {
                    Ok(k) => k,
                    Err(_) => {
                        let _ = reply.send(Err(RequestTimeout(method)));
                        return;
                    }
                };
                let (transaction, actions) = ClientNonInviteTransaction::start(
                    request,
                    flow.is_reliable(),
                    self.timers,
                    Instant::now(),
                );
                self.clients.insert(
                    key.clone(),
                    ClientEntry {
                        transaction,
                        flow,
                        dest,
                        reply: Some(reply),
                        method,
                    },
                );
                self.client_actions(&key, actions).await;
            }
            Command::Forget { call } => {
                self.calls.remove(&call);
            }
            Command::StopAccepting => self.accepting = false,
        }
    }

    async fn on_inbound(&mut self, inbound: Inbound) {
        match inbound.message {
            SipMessage::Request(request) => {
                self.on_request(request, inbound.source, inbound.flow).await
            }
            SipMessage::Response(response) => {
                let Ok(key) = TransactionKey::for_response(&response) else {
                    return;
                };
                let actions = match self.clients.get_mut(&key) {
                    Some(entry) => entry.transaction.on_response(response, Instant::now()),
                    None => return, // stray response: §17.1.3 says discard
                };
                self.client_actions(&key, actions).await;
            }
        }
    }

    async fn on_request(&mut self, mut request: Request, source: SocketAddr, flow: Flow) {
        let dest = annotate_via(&mut request, source);
        let Ok(key) = TransactionKey::for_request(&request) else {
            return;
        };
        let now = Instant::now();

        if request.method == Method::Ack {
            self.on_ack(&key, &request, now).await;
            return;
        }
        // A retransmission of a request whose transaction is alive: the transaction answers it.
        if let Some(entry) = self.servers.get_mut(&key) {
            let actions = match &mut entry.transaction {
                ServerTransaction::Invite(t) => t.on_retransmitted_request(),
                ServerTransaction::NonInvite(t) => t.on_retransmitted_request(),
            };
            self.server_actions(&key, actions).await;
            return;
        }

        let call = CallKey::of(&request);
        let in_dialog = request
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        let reliable = flow.is_reliable();

        if request.method == Method::Invite {
            let transaction = ServerInviteTransaction::new(request.clone(), reliable, self.timers);
            self.servers.insert(
                key.clone(),
                ServerEntry {
                    transaction: ServerTransaction::Invite(Box::new(transaction)),
                    flow,
                    dest,
                    call: call.clone(),
                },
            );
            self.on_invite(request, key, call, in_dialog, source, flow)
                .await;
            return;
        }

        let transaction = ServerNonInviteTransaction::new(reliable, self.timers);
        self.servers.insert(
            key.clone(),
            ServerEntry {
                transaction: ServerTransaction::NonInvite(transaction),
                flow,
                dest,
                call: call.clone(),
            },
        );
        let known_call = call
            .as_ref()
            .filter(|c| self.calls.contains_key(c))
            .cloned();
        let response = match request.method {
            Method::Options => {
                let mut r = message::response(
                    &request,
                    StatusCode::OK,
                    Some(&crate::sip::dialog::random_token()),
                );
                r.headers
                    .push(Header::Other("Allow".into(), ALLOWED_METHODS.into()));
                r.headers
                    .push(Header::Other("Accept".into(), "application/sdp".into()));
                r.headers
                    .push(Header::Other("Supported".into(), String::new()));
                r
            }
            Method::Cancel => self.on_cancel(&request, now).await,
            Method::Bye => match known_call {
                Some(c) => {
                    self.signal(&c, CallSignal::Bye);
                    self.calls.remove(&c);
                    message::response(&request, StatusCode::OK, None)
                }
                None => message::response(&request, StatusCode::CallTransactionDoesNotExist, None),
            },
            Method::Info if in_dialog => match known_call {
                Some(c) => {
                    if let Some(digit) = dtmf_relay_digit(&request) {
                        self.signal(&c, CallSignal::InfoDigit(digit));
                    }
                    message::response(&request, StatusCode::OK, None)
                }
                None => message::response(&request, StatusCode::CallTransactionDoesNotExist, None),
            },
            _ => {
                let mut r = message::response(
                    &request,
                    StatusCode::MethodNotAllowed,
                    Some(&crate::sip::dialog::random_token()),
                );
                r.headers
                    .push(Header::Other("Allow".into(), ALLOWED_METHODS.into()));
                r
            }
        };
        let actions = match self.servers.get_mut(&key) {
            Some(ServerEntry {
                transaction: ServerTransaction::NonInvite(t),
                ..
            }) => t.respond(response, now),
            _ => return,
        };
        self.server_actions(&key, actions).await;
    }

    async fn on_invite(
        &mut self,
        request: Request,
        key: TransactionKey,
        call: Option<CallKey>,
        in_dialog: bool,
        source: SocketAddr,
        flow: Flow,
    ) {
        let now = Instant::now();
        let reply =
            |status| message::response(&request, status, Some(&crate::sip::dialog::random_token()));
        let Some(call) = call else {
            let r = reply(StatusCode::BadRequest);
            return self.respond_invite(&key, r, now).await;
        };
        if in_dialog {
            let Some(entry) = self.calls.get_mut(&call) else {
                let r = message::response(&request, StatusCode::CallTransactionDoesNotExist, None);
                return self.respond_invite(&key, r, now).await;
            };
            entry.invite = Some(key.clone());
            let signal = CallSignal::ReInvite {
                request,
                transaction: key,
            };
            let _ = entry.signals.try_send(signal);
            return;
        }
        if !self.accepting {
            let mut r = reply(StatusCode::ServiceUnavailable);
            r.headers.push(Header::RetryAfter("30".into()));
            return self.respond_invite(&key, r, now).await;
        }
        if self.calls.contains_key(&call) {
            // Same Call-ID and From tag on a new branch: a merged request (§8.2.2.2).
            let r = reply(StatusCode::LoopDetected);
            return self.respond_invite(&key, r, now).await;
        }
        // §17.2.1: 100 Trying at once, so the caller's INVITE retransmissions stop.
        let trying = message::response(&request, StatusCode::Trying, None);
        self.respond_invite(&key, trying, now).await;
        let unavailable = reply(StatusCode::ServiceUnavailable);
        let (signals, rx) = mpsc::channel(64);
        self.calls.insert(
            call,
            CallEntry {
                signals,
                invite: Some(key.clone()),
            },
        );
        let new_call = NewCall {
            invite: request,
            transaction: key.clone(),
            source,
            flow,
            signals: rx,
        };
        if self.new_calls.send(new_call).await.is_err() {
            // The call layer is gone (shutting down): nobody will answer this call.
            self.respond_invite(&key, unavailable, now).await;
        }
    }

    async fn respond_invite(&mut self, key: &TransactionKey, response: Response, now: Instant) {
        let actions = match self.servers.get_mut(key) {
            Some(ServerEntry {
                transaction: ServerTransaction::Invite(t),
                ..
            }) => t.respond(response, now),
            _ => return,
        };
        self.server_actions(key, actions).await;
    }

    /// CANCEL (§9.2): 200 for the CANCEL itself, 487 for the INVITE if it is still unanswered.
    async fn on_cancel(&mut self, cancel: &Request, now: Instant) -> Response {
        let Ok(invite_key) = TransactionKey::invite_cancelled_by(cancel) else {
            return message::response(cancel, StatusCode::CallTransactionDoesNotExist, None);
        };
        let pending = match self.servers.get(&invite_key) {
            Some(ServerEntry {
                transaction: ServerTransaction::Invite(t),
                call,
                ..
            }) => Some((t.state(), t.request().clone(), call.clone())),
            _ => None,
        };
        let Some((state, invite, call)) = pending else {
            return message::response(cancel, StatusCode::CallTransactionDoesNotExist, None);
        };
        if state == crate::sip::transaction::server_invite::State::Proceeding {
            let terminated = message::response(
                &invite,
                StatusCode::RequestTerminated,
                Some(&crate::sip::dialog::random_token()),
            );
            self.respond_invite(&invite_key, terminated, now).await;
            if let Some(call) = call {
                self.signal(&call, CallSignal::Cancelled);
                self.calls.remove(&call);
            }
        }
        message::response(cancel, StatusCode::OK, None)
    }

    async fn on_ack(&mut self, key: &TransactionKey, ack: &Request, now: Instant) {
        // An ACK for a 3xx–6xx shares the INVITE's branch (§17.1.1.3).
        if let Some(ServerEntry {
            transaction: ServerTransaction::Invite(t),
            ..
        }) = self.servers.get_mut(key)
        {
            if t.state() != crate::sip::transaction::server_invite::State::Accepted {
                let actions = t.on_ack(now);
                self.server_actions(key, actions).await;
                return;
            }
        }
        // An ACK for a 2xx is its own transaction, matched by dialog (§13.2.2.4).
        let Some(call) = CallKey::of(ack) else { return };
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let invite = entry.invite.clone();
        let _ = entry.signals.try_send(CallSignal::Ack(ack.clone()));
        if let Some(invite) = invite {
            let actions = match self.servers.get_mut(&invite) {
                Some(ServerEntry {
                    transaction: ServerTransaction::Invite(t),
                    ..
                }) => t.on_ack(now),
                _ => return,
            };
            self.server_actions(&invite, actions).await;
        }
    }

    fn signal(&self, call: &CallKey, signal: CallSignal) {
        if let Some(entry) = self.calls.get(call) {
            let _ = entry.signals.try_send(signal);
        }
    }
}

fn entry_deadline(entry: &ServerEntry) -> Option<Instant> {
    match &entry.transaction {
        ServerTransaction::Invite(t) => t.next_deadline(),
        ServerTransaction::NonInvite(t) => t.next_deadline(),
    }
}

/// RFC 3581 and §18.2.1: records where the request really came from in its top Via (`received`,
/// and `rport` when the client asked for it) and returns where responses must go (§18.2.2).
fn annotate_via(request: &mut Request, source: SocketAddr) -> SocketAddr {
    let Some(Header::Via(via)) = request
        .headers
        .iter_mut()
        .find(|h| matches!(h, Header::Via(_)))
    else {
        return source;
    };
    let Ok(mut typed) = via.typed() else {
        return source;
    };
    let wants_rport = typed.params.iter().any(
        |p| matches!(p, rsip::Param::Other(name, _) if name.value().eq_ignore_ascii_case("rport")),
    );
    let sent_by_port = typed
        .uri
        .host_with_port
        .port
        .map(|p| *p.value())
        .unwrap_or(5060);
    typed.params.retain(|p| {
        !matches!(p, rsip::Param::Received(_))
            && !matches!(p, rsip::Param::Other(name, _) if name.value().eq_ignore_ascii_case("rport"))
    });
    typed
        .params
        .push(rsip::Param::Received(rsip::param::Received::new(
            source.ip().to_string(),
        )));
    let dest = if wants_rport {
        typed.params.push(rsip::Param::Other(
            "rport".into(),
            Some(source.port().to_string().into()),
        ));
        source
    } else {
        SocketAddr::new(source.ip(), sent_by_port)
    };
    *via = typed.into();
    dest
}

/// The digit in an INFO body of type application/dtmf-relay (`Signal=5`) or application/dtmf.
fn dtmf_relay_digit(request: &Request) -> Option<char> {
    let content_type = message::header_value(&request.headers, "Content-Type")?;
    let body = String::from_utf8_lossy(&request.body);
    let value = if content_type.eq_ignore_ascii_case("application/dtmf-relay") {
        body.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
            })
            .map(|(_, v)| v.trim().to_string())?
    } else if content_type.eq_ignore_ascii_case("application/dtmf") {
        body.trim().to_string()
    } else {
        return None;
    };
    let c = value.chars().next()?;
    (value.len() == 1 && matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')).then_some(c)
}
