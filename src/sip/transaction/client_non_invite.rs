//! The non-INVITE client transaction (RFC 3261 §17.1.2): the BYE we send to end a call.

use super::{Action, Timers};
use rsip::{Request, Response, SipMessage};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// One non-INVITE client transaction. Timer E retransmits the request over UDP (doubling up to T2,
/// and at T2 once a provisional response came), Timer F gives up after 64·T1, Timer K absorbs
/// response retransmissions for T4.
#[derive(Debug)]
pub struct ClientNonInviteTransaction {
    request: Request,
    reliable: bool,
    timers: Timers,
    state: State,
    timer_e: Option<Instant>,
    interval: Duration,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
}

impl ClientNonInviteTransaction {
    /// Starts the transaction; the returned actions send the request.
    pub fn start(
        request: Request,
        reliable: bool,
        timers: Timers,
        now: Instant,
    ) -> (Self, Vec<Action>) {
        let tx = ClientNonInviteTransaction {
            request: request.clone(),
            reliable,
            timers,
            state: State::Trying,
            timer_e: (!reliable).then(|| now + timers.t1),
            interval: timers.t1,
            timer_f: Some(now + timers.timeout()),
            timer_k: None,
        };
        (tx, vec![Action::Transmit(SipMessage::Request(request))])
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A response matched to this transaction arrived.
    pub fn on_response(&mut self, response: Response, now: Instant) -> Vec<Action> {
        let code = response.status_code.code();
        match self.state {
            State::Trying | State::Proceeding if code < 200 => {
                self.state = State::Proceeding;
                vec![Action::Deliver(response)]
            }
            State::Trying | State::Proceeding => {
                self.state = State::Completed;
                self.timer_e = None;
                self.timer_f = None;
                let k = if self.reliable {
                    Duration::ZERO
                } else {
                    self.timers.t4
                };
                self.timer_k = Some(now + k);
                let mut actions = vec![Action::Deliver(response)];
                actions.extend(self.on_timer(now));
                actions
            }
            // Retransmitted final responses are absorbed (§17.1.2.2).
            _ => Vec::new(),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [self.timer_e, self.timer_f, self.timer_k]
            .into_iter()
            .flatten()
            .min()
    }

    /// The transport could not carry the request (§8.1.3.1): the transaction ends at once.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        match self.state {
            State::Trying | State::Proceeding => {
                self.state = State::Terminated;
                self.timer_e = None;
                self.timer_f = None;
                vec![Action::TimedOut, Action::Terminated]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        if self.timer_f.is_some_and(|t| t <= now) {
            self.state = State::Terminated;
            self.timer_e = None;
            self.timer_f = None;
            return vec![Action::TimedOut, Action::Terminated];
        }
        if self.timer_k.is_some_and(|t| t <= now) {
            self.state = State::Terminated;
            self.timer_k = None;
            return vec![Action::Terminated];
        }
        if self.timer_e.is_some_and(|t| t <= now) {
            self.interval = match self.state {
                State::Proceeding => self.timers.t2,
                _ => self.timers.backoff(self.interval),
            };
            self.timer_e = Some(now + self.interval);
            return vec![Action::Transmit(SipMessage::Request(self.request.clone()))];
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;
    use rsip::StatusCode;

    fn bye() -> Request {
        let raw = "BYE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-c\r\n\
            From: <sip:hd@127.0.0.1>;tag=2\r\nTo: <sip:a@127.0.0.1>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 BYE\r\n\r\n";
        match message::parse(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn unanswered_bye_is_retransmitted_then_times_out_after_64_t1() {
        let t0 = Instant::now();
        let (mut tx, first) =
            ClientNonInviteTransaction::start(bye(), false, Timers::default(), t0);
        assert_eq!(first.len(), 1);
        let mut sends = Vec::new();
        let mut end = None;
        while let Some(d) = tx.next_deadline() {
            let acts = tx.on_timer(d);
            if acts.contains(&Action::TimedOut) {
                end = Some(d - t0);
            } else {
                sends.push((d - t0).as_millis());
            }
        }
        assert_eq!(&sends[..5], &[500, 1500, 3500, 7500, 11500]);
        assert_eq!(end, Some(Duration::from_secs(32)));
    }

    #[test]
    fn final_response_is_delivered_once() {
        let t0 = Instant::now();
        let (mut tx, _) = ClientNonInviteTransaction::start(bye(), false, Timers::default(), t0);
        let ok = message::response(&bye(), StatusCode::OK, None);
        let acts = tx.on_response(ok.clone(), t0);
        assert_eq!(acts, vec![Action::Deliver(ok.clone())]);
        assert!(tx.on_response(ok, t0).is_empty(), "retransmission absorbed");
        let k = tx.next_deadline().unwrap();
        assert_eq!(k - t0, Duration::from_secs(5));
        assert_eq!(tx.on_timer(k), vec![Action::Terminated]);
    }
}
