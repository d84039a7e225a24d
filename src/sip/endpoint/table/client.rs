//! Requests we send: non-INVITE (BYE) and INVITE client transactions, CANCEL, and the responses
//! that come back for them (RFC 3261 §17.1).

use super::{ClientEntry, ClientTransaction, Output, TransactionTable};
use crate::sip::transaction::{
    ClientInviteTransaction, ClientNonInviteTransaction, KeyError, TransactionKey,
};
use crate::sip::transport::Flow;
use rsip::{Method, Request, Response};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Instant;

impl TransactionTable {
    /// Starts a client transaction for `request` sent to `dest` over `flow`: an INVITE client
    /// transaction for an INVITE, a non-INVITE one otherwise (ACK for a 2xx has no transaction:
    /// send it stateless). The TU hears of it through [`Output::Response`],
    /// [`Output::TimedOut`] and [`Output::ClientEnded`] with the returned key.
    pub fn send_request(
        &mut self,
        request: Request,
        flow: Flow,
        dest: SocketAddr,
        now: Instant,
    ) -> Result<(TransactionKey, Vec<Output>), KeyError> {
        let mut out = Vec::new();
        let key = self.start_client(request, flow, dest, true, now, &mut out)?;
        Ok((key, out))
    }

    pub(super) fn start_client(
        &mut self,
        request: Request,
        flow: Flow,
        dest: SocketAddr,
        owned: bool,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> Result<TransactionKey, KeyError> {
        let key = TransactionKey::for_request(&request)?;
        if self.clients.contains_key(&key) {
            return Err(KeyError::InUse(key.branch().to_string()));
        }
        let reliable = flow.is_reliable();
        let (transaction, actions) = if request.method == Method::Invite {
            let (t, a) = ClientInviteTransaction::start(request, reliable, self.timers, now);
            (ClientTransaction::Invite(Box::new(t)), a)
        } else {
            let (t, a) = ClientNonInviteTransaction::start(request, reliable, self.timers, now);
            (ClientTransaction::NonInvite(Box::new(t)), a)
        };
        self.clients.insert(
            key.clone(),
            ClientEntry {
                transaction,
                flow,
                dest,
                owned,
                answered_by: HashSet::new(),
            },
        );
        self.client_actions(&key, actions, now, out);
        Ok(key)
    }

    /// The TU gives up on the INVITE `transaction` (§9.1): a CANCEL goes out once the callee
    /// has sent a provisional response; the INVITE's final response (487, or a 2xx that crossed
    /// the CANCEL) still comes as [`Output::Response`].
    pub fn cancel_invite(&mut self, transaction: &TransactionKey, now: Instant) -> Vec<Output> {
        let actions = match self.clients.get_mut(transaction) {
            Some(ClientEntry {
                transaction: ClientTransaction::Invite(t),
                ..
            }) => t.cancel(now),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        self.client_actions(transaction, actions, now, &mut out);
        out
    }

    /// The transport could not send a message of client transaction `transaction` (§8.1.3.1).
    pub fn on_transport_error(
        &mut self,
        transaction: &TransactionKey,
        now: Instant,
    ) -> Vec<Output> {
        let actions = match self.clients.get_mut(transaction) {
            Some(entry) => match &mut entry.transaction {
                ClientTransaction::Invite(t) => t.on_transport_error(),
                ClientTransaction::NonInvite(t) => t.on_transport_error(),
            },
            None => return Vec::new(),
        };
        let mut out = Vec::new();
        self.client_actions(transaction, actions, now, &mut out);
        out
    }

    pub(super) fn on_response(&mut self, response: Response, now: Instant) -> Vec<Output> {
        let Ok(key) = TransactionKey::for_response(&response) else {
            return Vec::new();
        };
        let actions = match self.clients.get_mut(&key) {
            Some(entry) => match &mut entry.transaction {
                ClientTransaction::Invite(t) => t.on_response(response, now),
                ClientTransaction::NonInvite(t) => t.on_response(response, now),
            },
            // A stray response, §17.1.3: discard. (A 2xx retransmitted after Timer M lands here;
            // the dialog's ACK for the first one was sent already.)
            None => return Vec::new(),
        };
        let mut out = Vec::new();
        self.client_actions(&key, actions, now, &mut out);
        out
    }
}
