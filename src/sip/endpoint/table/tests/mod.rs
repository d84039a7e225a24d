//! The transaction table driven without a socket: messages and instants made up by each test.

mod client_side;
mod server_side;

use super::{DialogKey, Output, TransactionTable};
use crate::sip::endpoint::CallSignal;
use crate::sip::message;
use crate::sip::transaction::Timers;
use crate::sip::transport::Flow;
use rsip::{Request, Response, SipMessage};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const PHONE: &str = "127.0.0.1:5070";

fn phone() -> SocketAddr {
    PHONE.parse().unwrap()
}

fn parse(raw: &str) -> SipMessage {
    message::parse(raw.as_bytes()).unwrap()
}

fn request(raw: &str) -> Request {
    match parse(raw) {
        SipMessage::Request(r) => r,
        _ => unreachable!(),
    }
}

/// A request from the phone. `to_tag` makes it in-dialog.
fn from_phone(
    method: &str,
    branch: &str,
    call_id: &str,
    to_tag: Option<&str>,
    cseq: u32,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:helpdesk@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=alice1\r\n\
         To: <sip:helpdesk@127.0.0.1>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
         Contact: <sip:alice@{PHONE}>\r\nContent-Length: 0\r\n\r\n"
    )
}

struct Harness {
    table: TransactionTable,
    t0: Instant,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            table: TransactionTable::new(Timers::default()),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn receive(&mut self, raw: &str, ms: u64) -> Vec<Output> {
        let now = self.at(ms);
        self.table.on_message(parse(raw), phone(), Flow::Udp, now)
    }
}

/// The responses the table sends, in order.
fn responses(outputs: &[Output]) -> Vec<Response> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit {
                message: SipMessage::Response(r),
                ..
            } => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// The status codes the table sends, in order.
fn codes(outputs: &[Output]) -> Vec<u16> {
    responses(outputs)
        .iter()
        .map(|r| r.status_code.code())
        .collect()
}

/// The requests the table sends, in order.
fn requests(outputs: &[Output]) -> Vec<Request> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit {
                message: SipMessage::Request(r),
                ..
            } => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn signals(outputs: &[Output]) -> Vec<&CallSignal> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Signal { signal, .. } => Some(signal),
            _ => None,
        })
        .collect()
}

fn new_call(outputs: &[Output]) -> Option<DialogKey> {
    outputs.iter().find_map(|o| match o {
        Output::NewCall { dialog, .. } => Some(dialog.clone()),
        _ => None,
    })
}
