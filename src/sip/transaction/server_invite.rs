//! The INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of RFC 6026).

use super::{Action, Timers};
use rsip::{Request, Response, SipMessage};
use std::time::{Duration, Instant};

/// Where the transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No final response yet; provisional responses may have been sent.
    Proceeding,
    /// A 2xx was sent; it is retransmitted until the ACK arrives (§13.3.1.4, RFC 6026 §7.1).
    Accepted,
    /// A 3xx–6xx was sent; it is retransmitted (Timer G) until the ACK arrives.
    Completed,
    /// The ACK for a 3xx–6xx arrived; retransmitted ACKs are absorbed until Timer I.
    Confirmed,
    Terminated,
}

/// One INVITE server transaction. Retransmission timers only run over unreliable transports
/// (§17.2.1: TCP already retransmits), but the give-up timers run over both.
#[derive(Debug)]
pub struct ServerInviteTransaction {
    request: Request,
    reliable: bool,
    timers: Timers,
    state: State,
    last_response: Option<Response>,
    retransmit_at: Option<Instant>,
    retransmit_interval: Duration,
    give_up_at: Option<Instant>,
    linger_until: Option<Instant>,
}

impl ServerInviteTransaction {
    /// A transaction for a new INVITE; the TU should send 100 Trying at once (§17.2.1).
    pub fn new(request: Request, reliable: bool, timers: Timers) -> Self {
        ServerInviteTransaction {
            request,
            reliable,
            timers,
            state: State::Proceeding,
            last_response: None,
            retransmit_at: None,
            retransmit_interval: timers.t1,
            give_up_at: None,
            linger_until: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The INVITE this transaction serves.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The TU sends a response through the transaction.
    pub fn respond(&mut self, response: Response, now: Instant) -> Vec<Action> {
        if self.state != State::Proceeding {
            // A final response was already sent: a second one would break the transaction.
            return Vec::new();
        }
        let code = response.status_code.code();
        let actions = vec![Action::Transmit(SipMessage::Response(response.clone()))];
        self.last_response = Some(response);
        match code {
            100..=199 => {}
            200..=299 => {
                self.state = State::Accepted;
                self.arm_retransmission(now);
                self.give_up_at = Some(now + self.timers.timeout());
            }
            _ => {
                self.state = State::Completed;
                self.arm_retransmission(now);
                self.give_up_at = Some(now + self.timers.timeout());
            }
        }
        actions
    }

    fn arm_retransmission(&mut self, now: Instant) {
        self.retransmit_interval = self.timers.t1;
        // A 3xx–6xx is retransmitted only over unreliable transports (Timer G); a 2xx is
        // retransmitted over every transport (§13.3.1.4), because its ACK comes end to end and
        // hops in between may be unreliable. Timers H and L guard against a missing ACK either way.
        let is_2xx = self.state == State::Accepted;
        self.retransmit_at = (!self.reliable || is_2xx).then(|| now + self.retransmit_interval);
    }

    /// A retransmission of the INVITE arrived: resend the last response (§17.2.1).
    pub fn on_retransmitted_request(&mut self) -> Vec<Action> {
        match (&self.state, &self.last_response) {
            (State::Proceeding | State::Completed | State::Accepted, Some(resp)) => {
                vec![Action::Transmit(SipMessage::Response(resp.clone()))]
            }
            _ => Vec::new(),
        }
    }

    /// An ACK for this transaction's final response arrived (for a 2xx, matched by dialog).
    pub fn on_ack(&mut self, now: Instant) -> Vec<Action> {
        match self.state {
            State::Completed => {
                self.state = State::Confirmed;
                self.retransmit_at = None;
                self.give_up_at = None;
                // Timer I absorbs ACK retransmissions; zero over reliable transports.
                let linger = if self.reliable {
                    Duration::ZERO
                } else {
                    self.timers.t4
                };
                self.linger_until = Some(now + linger);
                self.on_timer(now)
            }
            State::Accepted => {
                self.retransmit_at = None;
                self.give_up_at = None;
                // RFC 6026 keeps the transaction (Timer L) to absorb INVITE retransmissions.
                self.linger_until = Some(now + self.timers.timeout());
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The earliest instant at which [`on_timer`](Self::on_timer) has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.retransmit_at, self.give_up_at, self.linger_until]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs every timer that is due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.give_up_at.is_some_and(|t| t <= now) {
            // Timer H (no ACK for a 3xx–6xx) or Timer L without ACK for a 2xx.
            self.state = State::Terminated;
            self.retransmit_at = None;
            self.give_up_at = None;
            self.linger_until = None;
            actions.push(Action::TimedOut);
            actions.push(Action::Terminated);
            return actions;
        }
        if self.retransmit_at.is_some_and(|t| t <= now) {
            if let Some(resp) = &self.last_response {
                actions.push(Action::Transmit(SipMessage::Response(resp.clone())));
            }
            self.retransmit_interval = self.timers.backoff(self.retransmit_interval);
            self.retransmit_at = Some(now + self.retransmit_interval);
        }
        if self.linger_until.is_some_and(|t| t <= now) {
            self.state = State::Terminated;
            self.linger_until = None;
            actions.push(Action::Terminated);
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;
    use rsip::StatusCode;

    fn invite() -> Request {
        let raw = "INVITE sip:hd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x\r\n\
            From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:hd@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
            Content-Length: 0\r\n\r\n";
        match message::parse(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn transmits(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Transmit(_)))
            .count()
    }

    #[test]
    fn error_response_is_retransmitted_with_doubling_until_t2_then_times_out() {
        let t0 = Instant::now();
        let timers = Timers::default();
        let mut tx = ServerInviteTransaction::new(invite(), false, timers);
        let req = tx.request().clone();
        let acts = tx.respond(message::response(&req, StatusCode::BusyHere, Some("t")), t0);
        assert_eq!(transmits(&acts), 1);
        assert_eq!(tx.state(), State::Completed);
        // Timer G fires at 0.5, 1.5, 3.5, 7.5, 11.5 … seconds (interval doubling, capped at T2 = 4 s).
        let mut fired = Vec::new();
        let mut now = t0;
        while let Some(deadline) = tx.next_deadline() {
            now = deadline;
            let acts = tx.on_timer(now);
            if acts.contains(&Action::TimedOut) {
                break;
            }
            if transmits(&acts) > 0 {
                fired.push((now - t0).as_millis());
            }
        }
        assert_eq!(&fired[..5], &[500, 1500, 3500, 7500, 11500]);
        assert_eq!((now - t0), timers.timeout(), "Timer H = 64·T1");
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn ack_stops_retransmissions_and_timer_i_terminates() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTransaction::new(invite(), false, Timers::default());
        let req = tx.request().clone();
        tx.respond(
            message::response(&req, StatusCode::RequestTerminated, Some("t")),
            t0,
        );
        let acts = tx.on_ack(t0 + Duration::from_millis(100));
        assert!(acts.is_empty());
        assert_eq!(tx.state(), State::Confirmed);
        let deadline = tx.next_deadline().unwrap();
        assert_eq!(deadline - t0, Duration::from_millis(5100), "Timer I = T4");
        assert_eq!(tx.on_timer(deadline), vec![Action::Terminated]);
    }

    #[test]
    fn ok_is_retransmitted_until_ack_even_over_tcp() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTransaction::new(invite(), true, Timers::default());
        let req = tx.request().clone();
        tx.respond(message::response(&req, StatusCode::OK, Some("t")), t0);
        assert_eq!(tx.state(), State::Accepted);
        let d = tx.next_deadline().unwrap();
        assert_eq!(d - t0, Duration::from_millis(500));
        assert_eq!(transmits(&tx.on_timer(d)), 1);
        tx.on_ack(d + Duration::from_millis(10));
        // After the ACK only Timer L remains, which terminates without timing out.
        let d = tx.next_deadline().unwrap();
        assert_eq!(tx.on_timer(d), vec![Action::Terminated]);
    }

    #[test]
    fn ok_without_ack_times_out_so_the_call_is_ended() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTransaction::new(invite(), false, Timers::default());
        let req = tx.request().clone();
        tx.respond(message::response(&req, StatusCode::OK, Some("t")), t0);
        let mut timed_out = false;
        while let Some(d) = tx.next_deadline() {
            if tx.on_timer(d).contains(&Action::TimedOut) {
                timed_out = true;
                assert_eq!(d - t0, Timers::default().timeout());
            }
        }
        assert!(timed_out);
    }

    #[test]
    fn retransmitted_invite_gets_the_last_response_again() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTransaction::new(invite(), false, Timers::default());
        assert!(tx.on_retransmitted_request().is_empty());
        let req = tx.request().clone();
        tx.respond(message::response(&req, StatusCode::Trying, None), t0);
        assert_eq!(transmits(&tx.on_retransmitted_request()), 1);
    }

    #[test]
    fn second_final_response_is_ignored() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTransaction::new(invite(), false, Timers::default());
        let req = tx.request().clone();
        tx.respond(
            message::response(&req, StatusCode::RequestTerminated, Some("t")),
            t0,
        );
        assert!(tx
            .respond(message::response(&req, StatusCode::OK, Some("t")), t0)
            .is_empty());
    }
}
