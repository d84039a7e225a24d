//! The non-INVITE server transaction (RFC 3261 §17.2.2): BYE, CANCEL, OPTIONS…

use super::{Action, Timers};
use rsip::{Response, SipMessage};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// One non-INVITE server transaction: it absorbs request retransmissions by resending the last
/// response, and stays in Completed for Timer J (64·T1 over UDP) so late retransmissions are
/// still answered rather than passed to the TU as new requests.
#[derive(Debug)]
pub struct ServerNonInviteTransaction {
    reliable: bool,
    timers: Timers,
    state: State,
    last_response: Option<Response>,
    timer_j: Option<Instant>,
    /// When a TU that never answers is given up on: 64·T1, when the client's Timer F has
    /// ended its side too (§17.1.2.2), so the transaction does not stay forever.
    abandon_at: Option<Instant>,
}

impl ServerNonInviteTransaction {
    /// A transaction for a request that arrived at `now`.
    pub fn new(reliable: bool, timers: Timers, now: Instant) -> Self {
        ServerNonInviteTransaction {
            reliable,
            timers,
            state: State::Trying,
            last_response: None,
            timer_j: None,
            abandon_at: Some(now + timers.timeout()),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The TU sends a response.
    pub fn respond(&mut self, response: Response, now: Instant) -> Vec<Action> {
        if matches!(self.state, State::Completed | State::Terminated) {
            return Vec::new();
        }
        let final_response = response.status_code.code() >= 200;
        let mut actions = vec![Action::Transmit(SipMessage::Response(response.clone()))];
        self.last_response = Some(response);
        if final_response {
            self.state = State::Completed;
            self.abandon_at = None;
            let j = if self.reliable {
                Duration::ZERO
            } else {
                self.timers.timeout()
            };
            self.timer_j = Some(now + j);
            actions.extend(self.on_timer(now));
        } else {
            self.state = State::Proceeding;
        }
        actions
    }

    /// A retransmission of the request arrived.
    pub fn on_retransmitted_request(&mut self) -> Vec<Action> {
        match (self.state, &self.last_response) {
            (State::Proceeding | State::Completed, Some(resp)) => {
                vec![Action::Transmit(SipMessage::Response(resp.clone()))]
            }
            _ => Vec::new(),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timer_j.or(self.abandon_at)
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let abandoned = self.abandon_at.is_some_and(|t| t <= now);
        if abandoned || self.timer_j.is_some_and(|t| t <= now) {
            self.timer_j = None;
            self.abandon_at = None;
            self.state = State::Terminated;
            return vec![Action::Terminated];
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;
    use rsip::StatusCode;

    fn bye() -> rsip::Request {
        let raw = "BYE sip:hd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-b\r\n\
            From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:hd@127.0.0.1>;tag=2\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\n\r\n";
        match message::parse(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn retransmitted_bye_gets_the_same_200_until_timer_j() {
        let t0 = Instant::now();
        let mut tx = ServerNonInviteTransaction::new(false, Timers::default(), t0);
        assert!(tx.on_retransmitted_request().is_empty(), "Trying absorbs");
        tx.respond(message::response(&bye(), StatusCode::OK, None), t0);
        assert_eq!(tx.state(), State::Completed);
        assert_eq!(tx.on_retransmitted_request().len(), 1);
        assert_eq!(tx.next_deadline().unwrap() - t0, Duration::from_secs(32));
        assert_eq!(
            tx.on_timer(t0 + Duration::from_secs(32)),
            vec![Action::Terminated]
        );
    }

    #[test]
    fn a_request_the_tu_never_answers_is_dropped_after_64_t1() {
        let t0 = Instant::now();
        let mut tx = ServerNonInviteTransaction::new(false, Timers::default(), t0);
        let d = tx.next_deadline().unwrap();
        assert_eq!(d - t0, Duration::from_secs(32));
        assert_eq!(tx.on_timer(d), vec![Action::Terminated]);
    }

    #[test]
    fn over_tcp_the_transaction_ends_with_its_final_response() {
        let t0 = Instant::now();
        let mut tx = ServerNonInviteTransaction::new(true, Timers::default(), t0);
        let acts = tx.respond(message::response(&bye(), StatusCode::OK, None), t0);
        assert_eq!(acts.last(), Some(&Action::Terminated));
    }
}
