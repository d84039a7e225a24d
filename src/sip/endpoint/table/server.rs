//! Requests from the far end: server transactions, dialogs we route to the TU, CANCEL and ACK
//! matching (RFC 3261 §9.2, §12.2.2, §17.2).

use super::{DialogEntry, DialogKey, Output, ServerEntry, ServerTransaction, TransactionTable};
use crate::sip::dialog::random_token;
use crate::sip::endpoint::info::dtmf_relay_digit;
use crate::sip::endpoint::out_of_dialog::{self, Disposition};
use crate::sip::endpoint::via::annotate_via;
use crate::sip::endpoint::CallSignal;
use crate::sip::message;
use crate::sip::transaction::server_invite::State as InviteState;
use crate::sip::transaction::{
    ServerInviteTransaction, ServerNonInviteTransaction, TransactionKey,
};
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Instant;

impl TransactionTable {
    /// The TU answers a request through its server transaction (an INVITE, a re-INVITE, or a
    /// request it was handed with [`Output::OutOfDialog`]).
    pub fn respond(
        &mut self,
        transaction: &TransactionKey,
        response: Response,
        now: Instant,
    ) -> Vec<Output> {
        let actions = match self.servers.get_mut(transaction) {
            Some(entry) => match &mut entry.transaction {
                ServerTransaction::Invite(t) => t.respond(response, now),
                ServerTransaction::NonInvite(t) => t.respond(response, now),
            },
            None => {
                tracing::debug!(
                    branch = transaction.branch(),
                    "response for a finished transaction dropped"
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        self.server_actions(transaction, actions, &mut out);
        out
    }

    pub(super) fn on_request(
        &mut self,
        mut request: Request,
        source: SocketAddr,
        flow: Flow,
        now: Instant,
    ) -> Vec<Output> {
        let dest = annotate_via(&mut request, source);
        let Ok(key) = TransactionKey::for_request(&request) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if request.method == Method::Ack {
            self.on_ack(&key, &request, now, &mut out);
            return out;
        }
        // A retransmission of a request whose transaction is alive: the transaction answers it.
        if let Some(entry) = self.servers.get_mut(&key) {
            let actions = match &mut entry.transaction {
                ServerTransaction::Invite(t) => t.on_retransmitted_request(),
                ServerTransaction::NonInvite(t) => t.on_retransmitted_request(),
            };
            self.server_actions(&key, actions, &mut out);
            return out;
        }

        let dialog = DialogKey::of(&request);
        let reliable = flow.is_reliable();
        let transaction = if request.method == Method::Invite {
            let t = ServerInviteTransaction::new(request.clone(), reliable, self.timers);
            ServerTransaction::Invite(Box::new(t))
        } else {
            ServerTransaction::NonInvite(ServerNonInviteTransaction::new(
                reliable,
                self.timers,
                now,
            ))
        };
        let entry = ServerEntry {
            transaction,
            flow,
            dest,
            dialog: dialog.clone(),
        };
        // A request handed up waits for its TU; its transaction's own give-up timer runs meanwhile.
        let deadline = entry.next_deadline();
        self.servers.insert(key.clone(), entry);
        self.schedule(super::Side::Server, &key, deadline);
        if request.method == Method::Invite {
            self.on_invite(request, key, dialog, source, flow, now, &mut out);
            return out;
        }

        let in_dialog = has_to_tag(&request);
        let known = dialog.filter(|d| self.dialogs.contains_key(d));
        let response = match (&request.method, known) {
            (Method::Cancel, _) => Some(self.on_cancel(&request, now, &mut out)),
            (Method::Bye, Some(dialog)) => {
                // §15.1.2: the dialog ends with the BYE; the TU hears of it, the 200 is ours.
                self.dialogs.remove(&dialog);
                out.push(Output::Signal {
                    dialog: dialog.clone(),
                    signal: CallSignal::Bye,
                });
                out.push(Output::DialogEnded(dialog));
                Some(message::response(&request, StatusCode::OK, None))
            }
            (Method::Info, Some(dialog)) if in_dialog => {
                if let Some(digit) = dtmf_relay_digit(&request) {
                    out.push(Output::Signal {
                        dialog,
                        signal: CallSignal::InfoDigit(digit),
                    });
                }
                Some(message::response(&request, StatusCode::OK, None))
            }
            // A transfer is the TU's to accept or refuse (RFC 3515 §2.4.2): it answers.
            (Method::Refer, Some(dialog)) if in_dialog => {
                out.push(Output::Signal {
                    dialog,
                    signal: CallSignal::Refer {
                        request,
                        transaction: key.clone(),
                    },
                });
                None
            }
            _ => match out_of_dialog::outside_dialog(&request, self.register) {
                Disposition::Answer(response) => Some(response),
                Disposition::HandUp => {
                    out.push(Output::OutOfDialog {
                        request,
                        transaction: key.clone(),
                        source,
                        flow,
                    });
                    None
                }
            },
        };
        if let Some(response) = response {
            out.extend(self.respond(&key, response, now));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn on_invite(
        &mut self,
        request: Request,
        key: TransactionKey,
        dialog: Option<DialogKey>,
        source: SocketAddr,
        flow: Flow,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let reply = |status| message::response(&request, status, Some(&random_token()));
        let Some(dialog) = dialog else {
            out.extend(self.respond(&key, reply(StatusCode::BadRequest), now));
            return;
        };
        if has_to_tag(&request) {
            let Some(entry) = self.dialogs.get_mut(&dialog) else {
                let r = out_of_dialog::no_such_dialog(&request);
                out.extend(self.respond(&key, r, now));
                return;
            };
            entry.invite = Some(key.clone());
            out.push(Output::Signal {
                dialog,
                signal: CallSignal::ReInvite {
                    request,
                    transaction: key,
                },
            });
            return;
        }
        if !self.accepting {
            crate::metrics::CALLS_REFUSED_SHUTTING_DOWN.inc();
            let mut r = reply(StatusCode::ServiceUnavailable);
            r.headers.push(Header::RetryAfter("30".into()));
            out.extend(self.respond(&key, r, now));
            return;
        }
        if self.dialogs.contains_key(&dialog) {
            // Same Call-ID and From tag on a new branch: a merged request (§8.2.2.2).
            out.extend(self.respond(&key, reply(StatusCode::LoopDetected), now));
            return;
        }
        let _permit =
            match out_of_dialog::admit_new_call(self.admission.as_ref(), &request, source, now) {
                Ok(permit) => permit,
                Err(refusal) => return out.extend(self.respond(&key, refusal, now)),
            };
        // §17.2.1: 100 Trying at once, so the caller's INVITE retransmissions stop.
        let trying = message::response(&request, StatusCode::Trying, None);
        out.extend(self.respond(&key, trying, now));
        self.dialogs.insert(
            dialog.clone(),
            DialogEntry {
                invite: Some(key.clone()),
                _permit,
            },
        );
        out.push(Output::NewCall {
            invite: request,
            transaction: key,
            source,
            flow,
            dialog,
        });
    }

    /// CANCEL (§9.2): 200 for the CANCEL itself, 487 for the INVITE if it is still unanswered.
    fn on_cancel(&mut self, cancel: &Request, now: Instant, out: &mut Vec<Output>) -> Response {
        let Ok(invite_key) = TransactionKey::invite_cancelled_by(cancel) else {
            return out_of_dialog::no_such_dialog(cancel);
        };
        let pending = match self.servers.get(&invite_key) {
            Some(ServerEntry {
                transaction: ServerTransaction::Invite(t),
                dialog,
                ..
            }) => Some((t.state(), t.request().clone(), dialog.clone())),
            _ => None,
        };
        let Some((state, invite, dialog)) = pending else {
            return out_of_dialog::no_such_dialog(cancel);
        };
        if state == InviteState::Proceeding {
            let terminated = message::response(
                &invite,
                StatusCode::RequestTerminated,
                Some(&random_token()),
            );
            out.extend(self.respond(&invite_key, terminated, now));
            if let Some(dialog) = dialog.filter(|d| self.dialogs.remove(d).is_some()) {
                out.push(Output::Signal {
                    dialog: dialog.clone(),
                    signal: CallSignal::Cancelled,
                });
                out.push(Output::DialogEnded(dialog));
            }
        }
        message::response(cancel, StatusCode::OK, None)
    }

    fn on_ack(&mut self, key: &TransactionKey, ack: &Request, now: Instant, out: &mut Vec<Output>) {
        // An ACK for a 3xx–6xx shares the INVITE's branch (§17.1.1.3).
        if let Some(ServerEntry {
            transaction: ServerTransaction::Invite(t),
            ..
        }) = self.servers.get_mut(key)
        {
            if t.state() != InviteState::Accepted {
                let actions = t.on_ack(now);
                self.server_actions(key, actions, out);
                return;
            }
        }
        // An ACK for a 2xx is its own transaction, matched by dialog (§13.2.2.4).
        let Some(dialog) = DialogKey::of(ack) else {
            return;
        };
        let Some(entry) = self.dialogs.get(&dialog) else {
            return;
        };
        let invite = entry.invite.clone();
        out.push(Output::Signal {
            dialog,
            signal: CallSignal::Ack(ack.clone()),
        });
        if let Some(invite) = invite {
            let actions = match self.servers.get_mut(&invite) {
                Some(ServerEntry {
                    transaction: ServerTransaction::Invite(t),
                    ..
                }) => t.on_ack(now),
                _ => return,
            };
            self.server_actions(&invite, actions, out);
        }
    }
}

fn has_to_tag(request: &Request) -> bool {
    request
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some()
}
