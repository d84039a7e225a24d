//! How the transaction user talks to the endpoint task: answer, send requests, place calls.

use super::{DialogKey, InviteResponse, RequestTimeout};
use crate::sip::transaction::{KeyError, TransactionKey};
use crate::sip::transport::{Flow, TransportError, Transports};
use rsip::{Method, Request, Response};
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};

pub(super) enum Command {
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
    Invite {
        request: Request,
        flow: Flow,
        dest: SocketAddr,
        events: mpsc::Sender<InviteResponse>,
    },
    CancelInvite {
        transaction: TransactionKey,
    },
    SendAck {
        ack: Request,
        flow: Flow,
        dest: SocketAddr,
    },
    Forget {
        dialog: DialogKey,
    },
    StopAccepting,
}

/// Why an INVITE could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("not an INVITE: {0}")]
    NotInvite(Method),
    #[error("INVITE cannot be matched to a transaction: {0}")]
    Key(#[from] KeyError),
    #[error("the SIP endpoint has stopped")]
    Stopped,
}

/// How the transaction user talks to the endpoint.
#[derive(Clone)]
pub struct EndpointHandle {
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) local: SocketAddr,
    pub(super) transports: Transports,
}

impl EndpointHandle {
    /// Sends a response through the server transaction `transaction` (an INVITE, a re-INVITE,
    /// or an [`OutOfDialogRequest`](super::OutOfDialogRequest)).
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

    /// Sends an INVITE to `dest` over `flow` in an INVITE client transaction (RFC 3261
    /// §17.1.1): retransmitted over UDP, 3xx–6xx ACKed, every response reported on the returned
    /// [`OutgoingInvite`]. `flow` is [`Flow::Udp`], the TCP flow a phone registered or called
    /// on, or a new one from [`connect_tcp`](Self::connect_tcp); the request's Via must name
    /// the same transport.
    pub async fn invite(
        &self,
        request: Request,
        flow: Flow,
        dest: SocketAddr,
    ) -> Result<OutgoingInvite, InviteError> {
        if request.method != Method::Invite {
            return Err(InviteError::NotInvite(request.method));
        }
        let transaction = TransactionKey::for_request(&request)?;
        let (events_tx, events) = mpsc::channel(32);
        self.commands
            .send(Command::Invite {
                request,
                flow,
                dest,
                events: events_tx,
            })
            .await
            .map_err(|_| InviteError::Stopped)?;
        Ok(OutgoingInvite {
            transaction,
            events,
            commands: self.commands.clone(),
        })
    }

    /// Sends the ACK for a 2xx. It is not part of the INVITE's transaction (§13.2.2.4, §17.1.1.3):
    /// sent once, stateless, and again by the TU for each retransmitted 2xx.
    pub async fn send_ack(&self, ack: Request, flow: Flow, dest: SocketAddr) {
        let _ = self
            .commands
            .send(Command::SendAck { ack, flow, dest })
            .await;
    }

    /// Opens a TCP connection to `dest` (a phone reached over TCP that has no connection to us)
    /// and returns its flow, for [`invite`](Self::invite) and the dialog's later requests.
    /// Requests and responses on it reach the endpoint like those on accepted connections.
    pub async fn connect_tcp(&self, dest: SocketAddr) -> Result<Flow, TransportError> {
        self.transports.connect_tcp(dest).await
    }

    /// The call is over: stop routing its dialog's requests to it. `remote_tag` is the far
    /// end's tag: the caller's From tag for a call we answered, the To tag of the 2xx for a
    /// call we placed.
    pub async fn forget(&self, call_id: &str, remote_tag: &str) {
        let dialog = DialogKey {
            call_id: call_id.to_string(),
            remote_tag: remote_tag.to_string(),
        };
        let _ = self.commands.send(Command::Forget { dialog }).await;
    }

    /// From now on new INVITEs get 503 (graceful shutdown); calls in progress carry on.
    pub async fn stop_accepting(&self) {
        let _ = self.commands.send(Command::StopAccepting).await;
    }

    /// The address our SIP transports are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Our address over `flow`: the TLS listener's for a TLS flow, [`local_addr`](Self::local_addr)
    /// otherwise. Via and Contact name it, so the peer's next request comes back the same way.
    pub fn local_addr_for(&self, flow: Flow) -> SocketAddr {
        self.transports.local_addr_for(flow)
    }
}

/// An INVITE on its way: its responses as they come, and the means to cancel it.
#[derive(Debug)]
pub struct OutgoingInvite {
    transaction: TransactionKey,
    events: mpsc::Receiver<InviteResponse>,
    commands: mpsc::Sender<Command>,
}

impl OutgoingInvite {
    /// The INVITE client transaction.
    pub fn transaction(&self) -> &TransactionKey {
        &self.transaction
    }

    /// The next response (or timeout). `None` once the transaction is over and everything it
    /// reported was read: after a rejection or timeout, and Timer M (64·T1) after a 2xx, so do
    /// not wait for `None` to start the call.
    pub async fn next(&mut self) -> Option<InviteResponse> {
        self.events.recv().await
    }

    /// Cancels the call attempt (§9.1): CANCEL is sent once the callee has sent a provisional
    /// response (at once if it has). The INVITE's own final response (487, or a 2xx that crossed
    /// the CANCEL: ACK and BYE it) still arrives on [`next`](Self::next).
    pub async fn cancel(&self) {
        let _ = self
            .commands
            .send(Command::CancelInvite {
                transaction: self.transaction.clone(),
            })
            .await;
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}
