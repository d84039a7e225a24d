//! The INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of RFC 6026 §7.2),
//! and the CANCEL of a pending INVITE (§9.1): every call Hotline places.

use super::{Action, Timers};
use rsip::prelude::*;
use rsip::{Header, Headers, Method, Request, Response, SipMessage};
use std::time::{Duration, Instant};

/// Where the transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The INVITE is out, no response yet: Timer A retransmits it over UDP, Timer B gives up.
    Calling,
    /// A provisional response came: the callee is there, no timer runs (the callee may ring
    /// for minutes).
    Proceeding,
    /// A 2xx came (RFC 6026): further 2xx — retransmissions, or other branches of a forked
    /// INVITE — are passed up too, so the TU can ACK each one (§13.2.2.4), until Timer M.
    Accepted,
    /// A 3xx–6xx came and was ACKed; retransmissions of it are ACKed again until Timer D.
    Completed,
    Terminated,
}

/// Timer D (§17.1.1.2): how long to absorb retransmitted final responses over UDP. Table 4 says
/// "> 32 s for UDP", independent of T1: it covers the far end's Timer H at the default T1.
const TIMER_D_UDP: Duration = Duration::from_secs(32);

/// Whether the TU asked to cancel, and how far that got (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    NotAsked,
    /// Asked before any provisional response: a CANCEL must not be sent yet (§9.1).
    Pending,
    /// The CANCEL went out; if no final response follows within 64·T1 the INVITE is given up.
    Sent {
        give_up: Instant,
    },
}

/// One INVITE client transaction.
#[derive(Debug)]
pub struct ClientInviteTransaction {
    request: Request,
    reliable: bool,
    timers: Timers,
    state: State,
    timer_a: Option<Instant>,
    interval: Duration,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    ack: Option<Request>,
    cancel: Cancel,
}

impl ClientInviteTransaction {
    /// Starts the transaction; the returned actions send the INVITE.
    pub fn start(
        request: Request,
        reliable: bool,
        timers: Timers,
        now: Instant,
    ) -> (Self, Vec<Action>) {
        let tx = ClientInviteTransaction {
            request: request.clone(),
            reliable,
            timers,
            state: State::Calling,
            // Timer A only over unreliable transports: TCP retransmits for us.
            timer_a: (!reliable).then(|| now + timers.t1),
            interval: timers.t1,
            timer_b: Some(now + timers.timeout()),
            timer_d: None,
            timer_m: None,
            ack: None,
            cancel: Cancel::NotAsked,
        };
        (tx, vec![Action::Transmit(SipMessage::Request(request))])
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// A response matched to this transaction arrived.
    pub fn on_response(&mut self, response: Response, now: Instant) -> Vec<Action> {
        let code = response.status_code.code();
        match (self.state, code) {
            (State::Calling | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.timer_a = None;
                self.timer_b = None;
                let mut actions = vec![Action::Deliver(response)];
                if self.cancel == Cancel::Pending {
                    actions.extend(self.send_cancel(now));
                }
                actions
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                self.state = State::Accepted;
                self.stop_calling_timers();
                self.timer_m = Some(now + self.timers.timeout());
                vec![Action::Deliver(response)]
            }
            // Another 2xx: a retransmission (our ACK was lost) or a forked branch answering.
            (State::Accepted, 200..=299) => vec![Action::Deliver(response)],
            (State::Calling | State::Proceeding, _) if code >= 300 => {
                self.state = State::Completed;
                self.stop_calling_timers();
                let ack = self.ack_for(&response);
                self.ack = Some(ack.clone());
                let linger = if self.reliable {
                    Duration::ZERO
                } else {
                    TIMER_D_UDP
                };
                self.timer_d = Some(now + linger);
                let mut actions = vec![
                    Action::Transmit(SipMessage::Request(ack)),
                    Action::Deliver(response),
                ];
                actions.extend(self.on_timer(now));
                actions
            }
            // The callee did not get our ACK and sends the final response again.
            (State::Completed, _) if code >= 300 => self
                .ack
                .clone()
                .map(|ack| vec![Action::Transmit(SipMessage::Request(ack))])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn stop_calling_timers(&mut self) {
        self.timer_a = None;
        self.timer_b = None;
        if let Cancel::Sent { .. } = self.cancel {
            // The final response came: nothing left to give up on.
            self.cancel = Cancel::NotAsked;
        }
    }

    /// The TU wants the call attempt cancelled (§9.1). Before any provisional response the
    /// CANCEL waits for one (a CANCEL can overtake its INVITE); once a final response came it is
    /// too late and nothing is sent. Returns [`Action::Cancel`] with the request to send in its
    /// own non-INVITE client transaction.
    pub fn cancel(&mut self, now: Instant) -> Vec<Action> {
        match (self.state, self.cancel) {
            (State::Calling, Cancel::NotAsked) => {
                self.cancel = Cancel::Pending;
                Vec::new()
            }
            (State::Proceeding, Cancel::NotAsked | Cancel::Pending) => self.send_cancel(now),
            _ => Vec::new(),
        }
    }

    fn send_cancel(&mut self, now: Instant) -> Vec<Action> {
        self.cancel = Cancel::Sent {
            give_up: now + self.timers.timeout(),
        };
        vec![Action::Cancel(self.cancel_request())]
    }

    /// The CANCEL for our INVITE (§9.1): same Request-URI, Call-ID, From, To and CSeq number,
    /// and a single Via equal to the INVITE's top Via, so the callee matches it to the INVITE.
    pub fn cancel_request(&self) -> Request {
        derived_request(&self.request, Method::Cancel, None)
    }

    /// The ACK for a 3xx–6xx (§17.1.1.3): part of this transaction, so the same branch; its To
    /// is the response's, with the callee's tag.
    fn ack_for(&self, response: &Response) -> Request {
        let to = response.to_header().ok().cloned().map(Header::To);
        derived_request(&self.request, Method::Ack, to)
    }

    /// The earliest instant at which [`on_timer`](Self::on_timer) has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let give_up = match self.cancel {
            Cancel::Sent { give_up } => Some(give_up),
            _ => None,
        };
        [
            self.timer_a,
            self.timer_b,
            self.timer_d,
            self.timer_m,
            give_up,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let cancel_given_up = matches!(self.cancel, Cancel::Sent { give_up } if give_up <= now);
        if self.timer_b.is_some_and(|t| t <= now) || cancel_given_up {
            // Timer B: nobody answered; or §9.1: a CANCEL got no final response to the INVITE.
            // Either way the TU sees a timeout (a 408, §8.1.3.1).
            self.terminate();
            return vec![Action::TimedOut, Action::Terminated];
        }
        if self.timer_d.is_some_and(|t| t <= now) || self.timer_m.is_some_and(|t| t <= now) {
            self.terminate();
            return vec![Action::Terminated];
        }
        if self.timer_a.is_some_and(|t| t <= now) {
            // Timer A doubles without the T2 cap of non-INVITE requests (§17.1.1.2).
            self.interval *= 2;
            self.timer_a = Some(now + self.interval);
            return vec![Action::Transmit(SipMessage::Request(self.request.clone()))];
        }
        Vec::new()
    }

    /// The transport could not carry the INVITE (e.g. no TCP connection): as Timer B (§8.1.3.1).
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        match self.state {
            State::Calling | State::Proceeding => {
                self.terminate();
                vec![Action::TimedOut, Action::Terminated]
            }
            _ => Vec::new(),
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.cancel = Cancel::NotAsked;
    }
}

/// A request derived from `invite` for the same transaction (ACK for a non-2xx, CANCEL): the
/// INVITE's Request-URI, top Via, From, Call-ID, Route set and CSeq number (§9.1, §17.1.1.3).
/// The To is the INVITE's unless `to` is given.
fn derived_request(invite: &Request, method: Method, to: Option<Header>) -> Request {
    let mut headers = Headers::default();
    if let Ok(via) = invite.via_header() {
        headers.push(Header::Via(via.clone()));
    }
    headers.push(Header::MaxForwards(70.into()));
    let mut to = to;
    for header in invite.headers.iter() {
        match header {
            Header::From(_) | Header::CallId(_) | Header::Route(_) => headers.push(header.clone()),
            Header::To(_) => headers.push(to.take().unwrap_or_else(|| header.clone())),
            _ => {}
        }
    }
    let seq = invite.cseq_header().and_then(|c| c.seq()).unwrap_or(1);
    headers.push(Header::CSeq(rsip::typed::CSeq { seq, method }.into()));
    headers.push(Header::ContentLength(0.into()));
    Request {
        method,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
