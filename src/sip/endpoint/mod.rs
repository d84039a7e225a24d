//! The SIP endpoint: one task that owns every transaction and routes requests to calls.
//!
//! It sits between the transports and the transaction user (call tasks, the layer that places
//! calls, a registrar). Its parts, one concern each:
//! - [`table`]: the sans-IO core — transactions, dialogs, timers — fed messages, commands and
//!   the time, returning outputs;
//! - `shell`: the tokio task that reads the transports, runs the table's timers and carries its
//!   outputs out (sockets, channels to the TU);
//! - [`out_of_dialog`]: what Hotline answers by itself outside any dialog (OPTIONS, stray BYE,
//!   methods not allowed) and what it hands up (REGISTER);
//! - [`via`]: where responses go (Via, `received`, `rport`);
//! - [`info`]: digits sent as SIP INFO;
//! - `handle`: [`EndpointHandle`], how the TU talks to the task.
//!
//! Each new INVITE goes up as a [`NewCall`] with a channel of [`CallSignal`]s for everything
//! that later arrives in its dialog; calls Hotline places get the same channel with their 2xx
//! ([`InviteResponse::Accepted`]).

mod handle;
pub mod info;
pub mod out_of_dialog;
mod shell;
pub mod table;
pub mod via;

pub use handle::{EndpointHandle, InviteError, OutgoingInvite};
pub use table::DialogKey;

use crate::media::dtmf::Digit;
use crate::sip::transaction::{Timers, TransactionKey};
use crate::sip::transport::{Flow, Inbound, Transports};
use rsip::{Request, Response};
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// A new call for the layer above: the INVITE, where it came from, and its signals.
pub struct NewCall {
    pub invite: Request,
    pub transaction: TransactionKey,
    pub source: SocketAddr,
    pub flow: Flow,
    pub signals: mpsc::Receiver<CallSignal>,
    /// When the INVITE arrived, for the INVITE→answer latency.
    pub received: std::time::Instant,
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
    /// The far end hung up; the endpoint already answered 200.
    Bye,
    /// The caller cancelled before the call was answered; the endpoint sent 487.
    Cancelled,
    /// Our 2xx was never acknowledged (Timer H/L): the call must end (§13.3.1.4).
    AckTimeout,
    /// A digit sent as SIP INFO (application/dtmf-relay), as some phones do.
    InfoDigit(Digit),
    /// A REFER in the dialog (RFC 3515): the far end asks us to transfer the call. Answer it
    /// through its transaction (202 to accept, a 4xx–6xx to refuse).
    Refer {
        request: Request,
        transaction: TransactionKey,
    },
}

/// A request outside any dialog that the endpoint hands to the layer above (REGISTER, when a
/// registrar is wired). Answer it with [`EndpointHandle::respond`] on `transaction`: until then
/// retransmissions of the request are absorbed by its transaction.
#[derive(Debug)]
pub struct OutOfDialogRequest {
    pub request: Request,
    pub transaction: TransactionKey,
    /// Where it came from (the top Via already carries `received`/`rport` for it).
    pub source: SocketAddr,
    /// The flow it came on: a registrar keeps it to reach the phone over the same TCP connection.
    pub flow: Flow,
}

/// What became of an INVITE Hotline sent ([`EndpointHandle::invite`]).
#[derive(Debug)]
pub enum InviteResponse {
    /// A 1xx: the callee is trying or ringing.
    Provisional(Response),
    /// A 2xx. It comes once per branch that answered and again for each retransmission (our
    /// ACK got lost): ACK every one with [`EndpointHandle::send_ack`] (§13.2.2.4), and BYE the
    /// dialogs you do not keep. `dialog` is the new dialog's signals (the callee's BYE,
    /// re-INVITE, INFO) the first time a To tag is seen, `None` for a retransmission and for
    /// the 2xx to a re-INVITE (its dialog's signals keep going where they went).
    Accepted {
        response: Response,
        dialog: Option<mpsc::Receiver<CallSignal>>,
    },
    /// A 3xx–6xx: the endpoint ACKed it; the attempt is over.
    Rejected(Response),
    /// No final response within Timer B (64·T1), the CANCEL found no final response within
    /// 64·T1 (§9.1), or the transport could not send the INVITE: treat as 408 (§8.1.3.1).
    TimedOut,
}

/// A request we sent got no final response in time (Timer F).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no response to {0} within 64·T1")]
pub struct RequestTimeout(pub String);

/// Starts the endpoint task.
pub struct Endpoint;

impl Endpoint {
    /// Starts the endpoint task on bound transports; new calls arrive on the returned receiver.
    /// REGISTER is refused with 405 (no registrar).
    pub fn start(
        transports: Transports,
        inbound: mpsc::Receiver<Inbound>,
        timers: Timers,
    ) -> (EndpointHandle, mpsc::Receiver<NewCall>) {
        shell::spawn(transports, inbound, timers, None)
    }

    /// As [`start`](Self::start), and REGISTER requests are handed up on the third receiver
    /// instead of being refused; `Allow` then lists REGISTER. If that receiver is dropped,
    /// REGISTER is refused with 405 again (and `Allow` stops listing it).
    pub fn start_with_registrar(
        transports: Transports,
        inbound: mpsc::Receiver<Inbound>,
        timers: Timers,
    ) -> (
        EndpointHandle,
        mpsc::Receiver<NewCall>,
        mpsc::Receiver<OutOfDialogRequest>,
    ) {
        let (requests, requests_rx) = mpsc::channel(256);
        let (handle, new_calls) = shell::spawn(transports, inbound, timers, Some(requests));
        (handle, new_calls, requests_rx)
    }
}
