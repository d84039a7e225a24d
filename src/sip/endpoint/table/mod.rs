//! The endpoint's sans-IO core: every transaction and dialog Hotline has, fed with messages,
//! commands from the transaction user and the current time, answering with [`Output`]s.
//!
//! It never touches a socket, a channel or the clock: the shell ([`super::shell`]) reads the
//! sockets, calls in with `now`, and carries the outputs out. So a unit test drives CANCEL,
//! merged requests, ACK matching or a whole outbound call with messages and instants it makes up.

mod client;
mod server;
#[cfg(test)]
mod tests;

use super::CallSignal;
use crate::sip::transaction::{
    Action, ClientInviteTransaction, ClientNonInviteTransaction, ServerInviteTransaction,
    ServerNonInviteTransaction, Timers, TransactionKey,
};
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::{Request, Response, SipMessage};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Instant;

/// A dialog as the far end's requests name it: Call-ID and the far end's tag, which is the From
/// tag of every request it sends us (the caller's for calls we answer, the callee's To tag in
/// our 2xx for calls we place).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogKey {
    pub call_id: String,
    pub remote_tag: String,
}

impl DialogKey {
    /// The dialog a request from the far end belongs to.
    pub fn of(request: &Request) -> Option<DialogKey> {
        Some(DialogKey {
            call_id: request.call_id_header().ok()?.value().to_string(),
            remote_tag: request.from_header().ok()?.tag().ok()??.to_string(),
        })
    }

    /// The dialog a 2xx to our INVITE creates: its To tag is the callee's (§12.1.2).
    fn of_2xx(response: &Response) -> Option<DialogKey> {
        Some(DialogKey {
            call_id: response.call_id_header().ok()?.value().to_string(),
            remote_tag: response.to_header().ok()?.tag().ok()??.to_string(),
        })
    }
}

/// What the table asks the shell to do.
#[derive(Debug)]
pub enum Output {
    /// Send a message. `client` names the client transaction it belongs to, so a failed send
    /// (no TCP connection) can fail that transaction.
    Transmit {
        message: SipMessage,
        flow: Flow,
        dest: SocketAddr,
        client: Option<TransactionKey>,
    },
    /// A new INVITE outside any dialog, 100 Trying already sent: a call for the TU. Its dialog is
    /// registered, so its signals are routed from now on.
    NewCall {
        invite: Request,
        transaction: TransactionKey,
        source: SocketAddr,
        flow: Flow,
        dialog: DialogKey,
    },
    /// Something happened in a dialog the TU owns.
    Signal {
        dialog: DialogKey,
        signal: CallSignal,
    },
    /// The table no longer routes this dialog (the far end sent BYE or CANCEL).
    DialogEnded(DialogKey),
    /// A request outside any dialog for the layer above (REGISTER): answer it with
    /// [`TransactionTable::respond`].
    OutOfDialog {
        request: Request,
        transaction: TransactionKey,
        source: SocketAddr,
        flow: Flow,
    },
    /// A response for a client transaction the TU started: the final one of a non-INVITE
    /// request; every response to an INVITE. `dialog` is set when a 2xx came with a To tag not
    /// seen before in this transaction: that dialog is registered already.
    Response {
        transaction: TransactionKey,
        response: Response,
        dialog: Option<DialogKey>,
    },
    /// A client transaction the TU started got no final response (Timer B or F, or the
    /// transport failed).
    TimedOut { transaction: TransactionKey },
    /// A client transaction the TU started is over: nothing more will come for it.
    ClientEnded { transaction: TransactionKey },
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
    dialog: Option<DialogKey>,
}

impl ServerEntry {
    fn next_deadline(&self) -> Option<Instant> {
        match &self.transaction {
            ServerTransaction::Invite(t) => t.next_deadline(),
            ServerTransaction::NonInvite(t) => t.next_deadline(),
        }
    }
}

enum ClientTransaction {
    // Both boxed: each holds its request (the INVITE also its ACK), hundreds of bytes apiece.
    Invite(Box<ClientInviteTransaction>),
    NonInvite(Box<ClientNonInviteTransaction>),
}

struct ClientEntry {
    transaction: ClientTransaction,
    flow: Flow,
    dest: SocketAddr,
    /// The TU waits for this transaction's outcome; false for the CANCELs the table sends.
    owned: bool,
    /// Remote tags of the 2xx responses seen so far: each new one is a new dialog.
    answered_by: HashSet<String>,
}

impl ClientEntry {
    fn next_deadline(&self) -> Option<Instant> {
        match &self.transaction {
            ClientTransaction::Invite(t) => t.next_deadline(),
            ClientTransaction::NonInvite(t) => t.next_deadline(),
        }
    }
}

struct DialogEntry {
    /// The latest INVITE server transaction of the dialog, whose 2xx the next ACK acknowledges.
    invite: Option<TransactionKey>,
    /// An answered call's place under the admission limits, freed when the entry goes.
    _permit: Option<crate::sip::admission::Permit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Server,
    Client,
}

/// Every transaction and dialog of the endpoint.
pub struct TransactionTable {
    timers: Timers,
    servers: HashMap<TransactionKey, ServerEntry>,
    clients: HashMap<TransactionKey, ClientEntry>,
    dialogs: HashMap<DialogKey, DialogEntry>,
    /// When each transaction next needs `on_timer`. Entries go stale when a transaction's timer
    /// changes; a stale one is recognised when it comes due (the transaction's own deadline is
    /// not) and dropped, which is cheaper than finding it in the heap.
    deadlines: BinaryHeap<Reverse<(Instant, Side, TransactionKey)>>,
    accepting: bool,
    register: bool,
    admission: Option<crate::sip::admission::AdmissionControl>,
}

impl TransactionTable {
    /// An empty table. REGISTER is refused (405) until [`set_register`](Self::set_register).
    pub fn new(timers: Timers) -> Self {
        TransactionTable {
            timers,
            servers: HashMap::new(),
            clients: HashMap::new(),
            dialogs: HashMap::new(),
            deadlines: BinaryHeap::new(),
            accepting: true,
            register: false,
            admission: None,
        }
    }

    /// New INVITEs go through `admission` (by default every one is admitted).
    pub fn set_admission(&mut self, admission: crate::sip::admission::AdmissionControl) {
        self.admission = Some(admission);
    }

    /// Whether REGISTER is handed up ([`Output::OutOfDialog`]) rather than refused with 405.
    pub fn set_register(&mut self, register: bool) {
        self.register = register;
    }

    /// From now on new INVITEs get 503 (graceful shutdown); calls in progress carry on.
    pub fn stop_accepting(&mut self) {
        self.accepting = false;
    }

    /// The TU is done with a dialog: its requests get 481 from now on.
    pub fn forget(&mut self, dialog: &DialogKey) {
        self.dialogs.remove(dialog);
    }

    /// A message arrived from `source` over `flow`.
    pub fn on_message(
        &mut self,
        message: SipMessage,
        source: SocketAddr,
        flow: Flow,
        now: Instant,
    ) -> Vec<Output> {
        match message {
            SipMessage::Request(request) => self.on_request(request, source, flow, now),
            SipMessage::Response(response) => self.on_response(response, now),
        }
    }

    /// The earliest instant at which [`on_timer`](Self::on_timer) may have work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Runs every transaction timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(Reverse((at, side, key))) = self.deadlines.peek().cloned() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            match side {
                Side::Server => {
                    let actions = match self.servers.get_mut(&key) {
                        Some(entry) if entry.next_deadline().is_some_and(|d| d <= now) => {
                            match &mut entry.transaction {
                                ServerTransaction::Invite(t) => t.on_timer(now),
                                ServerTransaction::NonInvite(t) => t.on_timer(now),
                            }
                        }
                        _ => continue,
                    };
                    self.server_actions(&key, actions, &mut out);
                }
                Side::Client => {
                    let actions = match self.clients.get_mut(&key) {
                        Some(entry) if entry.next_deadline().is_some_and(|d| d <= now) => {
                            match &mut entry.transaction {
                                ClientTransaction::Invite(t) => t.on_timer(now),
                                ClientTransaction::NonInvite(t) => t.on_timer(now),
                            }
                        }
                        _ => continue,
                    };
                    self.client_actions(&key, actions, now, &mut out);
                }
            }
        }
        out
    }

    fn schedule(&mut self, side: Side, key: &TransactionKey, at: Option<Instant>) {
        if let Some(at) = at {
            self.deadlines.push(Reverse((at, side, key.clone())));
        }
    }

    /// Turns a server transaction's actions into outputs and re-arms its timer.
    fn server_actions(
        &mut self,
        key: &TransactionKey,
        actions: Vec<Action>,
        out: &mut Vec<Output>,
    ) {
        let Some(entry) = self.servers.get(key) else {
            return;
        };
        let (flow, dest, dialog) = (entry.flow, entry.dest, entry.dialog.clone());
        let mut terminated = false;
        for action in actions {
            match action {
                Action::Transmit(message) => out.push(Output::Transmit {
                    message,
                    flow,
                    dest,
                    client: None,
                }),
                // Timer H or L: our final response was never acknowledged (§13.3.1.4).
                Action::TimedOut => {
                    if let Some(dialog) = dialog.clone().filter(|d| self.dialogs.contains_key(d)) {
                        out.push(Output::Signal {
                            dialog,
                            signal: CallSignal::AckTimeout,
                        });
                    }
                }
                Action::Terminated => terminated = true,
                Action::Deliver(_) | Action::Cancel(_) => {}
            }
        }
        if terminated {
            self.servers.remove(key);
        } else {
            let next = self.servers.get(key).and_then(ServerEntry::next_deadline);
            self.schedule(Side::Server, key, next);
        }
    }

    /// Turns a client transaction's actions into outputs and re-arms its timer.
    fn client_actions(
        &mut self,
        key: &TransactionKey,
        actions: Vec<Action>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(entry) = self.clients.get(key) else {
            return;
        };
        let (flow, dest, owned) = (entry.flow, entry.dest, entry.owned);
        let invite = matches!(entry.transaction, ClientTransaction::Invite(_));
        let mut terminated = false;
        let mut cancels = Vec::new();
        for action in actions {
            match action {
                Action::Transmit(message) => out.push(Output::Transmit {
                    message,
                    flow,
                    dest,
                    client: Some(key.clone()),
                }),
                // A non-INVITE request's TU waits for its final response only.
                Action::Deliver(response)
                    if owned && (invite || response.status_code.code() >= 200) =>
                {
                    let dialog = if invite && (200..300).contains(&response.status_code.code()) {
                        self.dialog_from_2xx(key, &response)
                    } else {
                        None
                    };
                    out.push(Output::Response {
                        transaction: key.clone(),
                        response,
                        dialog,
                    });
                }
                Action::Deliver(_) => {}
                Action::TimedOut if owned => out.push(Output::TimedOut {
                    transaction: key.clone(),
                }),
                Action::TimedOut => {}
                Action::Cancel(request) => cancels.push(request),
                Action::Terminated => terminated = true,
            }
        }
        if terminated {
            self.clients.remove(key);
            if owned {
                out.push(Output::ClientEnded {
                    transaction: key.clone(),
                });
            }
        } else {
            let next = self.clients.get(key).and_then(ClientEntry::next_deadline);
            self.schedule(Side::Client, key, next);
        }
        for cancel in cancels {
            // Same flow and destination as the INVITE: the CANCEL must reach the same hop (§9.1).
            if let Err(e) = self.start_client(cancel, flow, dest, false, now, out) {
                tracing::warn!(error = %e, "CANCEL not sent");
            }
        }
    }

    /// Registers the dialog a 2xx creates, unless this transaction already saw its To tag (a
    /// retransmission).
    fn dialog_from_2xx(&mut self, key: &TransactionKey, response: &Response) -> Option<DialogKey> {
        let dialog = DialogKey::of_2xx(response)?;
        // A 2xx to a re-INVITE (§14.1) is in a dialog we route already: registering it again
        // would replace that dialog's entry and cut its owner off from its signals.
        if self.dialogs.contains_key(&dialog) {
            return None;
        }
        let entry = self.clients.get_mut(key)?;
        if !entry.answered_by.insert(dialog.remote_tag.clone()) {
            return None;
        }
        self.dialogs.insert(
            dialog.clone(),
            DialogEntry {
                invite: None,
                _permit: None,
            },
        );
        Some(dialog)
    }
}
