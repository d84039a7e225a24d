//! The endpoint task: reads the transports and the TU's commands, runs the table's timers, and
//! carries the table's outputs out to sockets and channels.

use super::handle::Command;
use super::out_of_dialog;
use super::table::{DialogKey, Output, TransactionTable};
use super::{
    CallSignal, EndpointHandle, InviteResponse, NewCall, OutOfDialogRequest, RequestTimeout,
};
use crate::sip::dialog::random_token;
use crate::sip::message;
use crate::sip::transaction::{Timers, TransactionKey};
use crate::sip::transport::{Flow, Inbound, Transports};
use bytes::Bytes;
use rsip::{Header, Response, SipMessage, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

/// Who waits for a client transaction started by the TU.
enum ClientSink {
    Request {
        reply: Option<oneshot::Sender<Result<Response, RequestTimeout>>>,
        method: String,
    },
    Invite(mpsc::Sender<InviteResponse>),
}

struct Shell {
    table: TransactionTable,
    transports: Transports,
    new_calls: mpsc::Sender<NewCall>,
    /// The registrar's channel, when one is wired.
    out_of_dialog: Option<mpsc::Sender<OutOfDialogRequest>>,
    dialogs: HashMap<DialogKey, mpsc::Sender<CallSignal>>,
    clients: HashMap<TransactionKey, ClientSink>,
}

/// Starts the endpoint task; REGISTER is handed to `out_of_dialog` when given.
pub(super) fn spawn(
    transports: Transports,
    inbound: mpsc::Receiver<Inbound>,
    timers: Timers,
    out_of_dialog: Option<mpsc::Sender<OutOfDialogRequest>>,
) -> (EndpointHandle, mpsc::Receiver<NewCall>) {
    let (commands_tx, commands_rx) = mpsc::channel(1024);
    let (new_calls, new_calls_rx) = mpsc::channel(256);
    let handle = EndpointHandle {
        commands: commands_tx,
        local: transports.local_addr(),
        transports: transports.clone(),
    };
    let mut table = TransactionTable::new(timers);
    table.set_register(out_of_dialog.is_some());
    table.set_admission(transports.admission().clone());
    let shell = Shell {
        table,
        transports,
        new_calls,
        out_of_dialog,
        dialogs: HashMap::new(),
        clients: HashMap::new(),
    };
    tokio::spawn(shell.run(inbound, commands_rx));
    (handle, new_calls_rx)
}

/// The current time from tokio's clock, so tests with paused time drive the timers.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Shell {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        loop {
            let next = self.table.next_deadline();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let outputs = tokio::select! {
                message = inbound.recv() => match message {
                    Some(m) => self.table.on_message(m.message, m.source, m.flow, now()),
                    None => return,
                },
                command = commands.recv() => match command {
                    Some(c) => self.on_command(c).await,
                    None => return,
                },
                () = sleep => self.table.on_timer(now()),
            };
            self.carry_out(outputs).await;
        }
    }

    async fn on_command(&mut self, command: Command) -> Vec<Output> {
        match command {
            Command::Respond {
                transaction,
                response,
            } => self.table.respond(&transaction, response, now()),
            Command::SendRequest {
                request,
                flow,
                dest,
                reply,
            } => {
                let method = request.method.to_string();
                match self.table.send_request(request, flow, dest, now()) {
                    Ok((key, outputs)) => {
                        let reply = Some(reply);
                        self.clients
                            .insert(key, ClientSink::Request { reply, method });
                        outputs
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "{method} not sent");
                        let _ = reply.send(Err(RequestTimeout(method)));
                        Vec::new()
                    }
                }
            }
            Command::Invite {
                request,
                flow,
                dest,
                events,
            } => match self.table.send_request(request, flow, dest, now()) {
                Ok((key, outputs)) => {
                    self.clients.insert(key, ClientSink::Invite(events));
                    outputs
                }
                Err(e) => {
                    tracing::warn!(error = %e, "INVITE not sent");
                    let _ = events.try_send(InviteResponse::TimedOut);
                    Vec::new()
                }
            },
            Command::CancelInvite { transaction } => self.table.cancel_invite(&transaction, now()),
            Command::SendAck { ack, flow, dest } => {
                self.transmit(SipMessage::Request(ack), flow, dest)
                    .await
                    .ok();
                Vec::new()
            }
            Command::Forget { dialog } => {
                self.table.forget(&dialog);
                self.dialogs.remove(&dialog);
                Vec::new()
            }
            Command::StopAccepting => {
                self.table.stop_accepting();
                Vec::new()
            }
        }
    }

    async fn transmit(&self, message: SipMessage, flow: Flow, dest: SocketAddr) -> Result<(), ()> {
        let bytes = Bytes::from(crate::sip::message::encode(&message));
        self.transports.send(flow, dest, bytes).await.map_err(|e| {
            tracing::warn!(%dest, error = %e, "SIP send failed");
        })
    }

    /// Carries out outputs in order; the table's answers to what happens meanwhile (a failed
    /// send, a call nobody takes) are carried out after them.
    async fn carry_out(&mut self, outputs: Vec<Output>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            let more = self.carry_out_one(output).await;
            queue.extend(more);
        }
    }

    async fn carry_out_one(&mut self, output: Output) -> Vec<Output> {
        match output {
            Output::Transmit {
                message,
                flow,
                dest,
                client,
            } => {
                let sent = self.transmit(message, flow, dest).await;
                match (sent, client) {
                    (Err(()), Some(key)) => self.table.on_transport_error(&key, now()),
                    _ => Vec::new(),
                }
            }
            Output::NewCall {
                invite,
                transaction,
                source,
                flow,
                dialog,
            } => {
                let (signals, rx) = mpsc::channel(64);
                self.dialogs.insert(dialog.clone(), signals);
                let call = NewCall {
                    invite,
                    transaction: transaction.clone(),
                    source,
                    flow,
                    signals: rx,
                    received: std::time::Instant::now(),
                };
                match self.new_calls.send(call).await {
                    Ok(()) => Vec::new(),
                    Err(refused) => {
                        // The call layer is gone (shutting down): nobody will answer this call.
                        self.dialogs.remove(&dialog);
                        self.table.forget(&dialog);
                        let invite = &refused.0.invite;
                        let r = message::response(
                            invite,
                            StatusCode::ServiceUnavailable,
                            Some(&random_token()),
                        );
                        self.table.respond(&transaction, r, now())
                    }
                }
            }
            Output::Signal { dialog, signal } => {
                let closed = match self.dialogs.get(&dialog) {
                    Some(signals) => {
                        matches!(signals.try_send(signal), Err(TrySendError::Closed(_)))
                    }
                    None => false,
                };
                if closed {
                    // Its TU is gone without `forget`: stop routing the dialog.
                    self.dialogs.remove(&dialog);
                    self.table.forget(&dialog);
                }
                Vec::new()
            }
            Output::DialogEnded(dialog) => {
                self.dialogs.remove(&dialog);
                Vec::new()
            }
            Output::OutOfDialog {
                request,
                transaction,
                source,
                flow,
            } => self.hand_up(request, transaction, source, flow),
            Output::Response {
                transaction,
                response,
                dialog,
            } => {
                self.deliver_response(&transaction, response, dialog);
                Vec::new()
            }
            Output::TimedOut { transaction } => {
                match self.clients.get_mut(&transaction) {
                    Some(ClientSink::Request { reply, method }) => {
                        if let Some(reply) = reply.take() {
                            let _ = reply.send(Err(RequestTimeout(method.clone())));
                        }
                    }
                    Some(ClientSink::Invite(events)) => {
                        let _ = events.try_send(InviteResponse::TimedOut);
                    }
                    None => {}
                }
                Vec::new()
            }
            Output::ClientEnded { transaction } => {
                self.clients.remove(&transaction);
                Vec::new()
            }
        }
    }

    fn deliver_response(
        &mut self,
        transaction: &TransactionKey,
        response: Response,
        dialog: Option<DialogKey>,
    ) {
        let code = response.status_code.code();
        let signals = dialog.map(|d| {
            let (tx, rx) = mpsc::channel(64);
            self.dialogs.insert(d.clone(), tx);
            (d, rx)
        });
        match self.clients.get_mut(transaction) {
            Some(ClientSink::Request { reply, .. }) => {
                if let Some(reply) = reply.take() {
                    let _ = reply.send(Ok(response));
                }
            }
            Some(ClientSink::Invite(events)) => {
                let event = match code {
                    100..=199 => InviteResponse::Provisional(response),
                    200..=299 => InviteResponse::Accepted {
                        response,
                        dialog: signals.map(|(_, rx)| rx),
                    },
                    _ => InviteResponse::Rejected(response),
                };
                if events.try_send(event).is_err() {
                    tracing::warn!(
                        branch = transaction.branch(),
                        "INVITE response dropped: its owner is gone or not reading"
                    );
                }
            }
            None => {
                // Nobody waits for this INVITE any more: do not keep its dialog.
                if let Some((dialog, _)) = signals {
                    self.dialogs.remove(&dialog);
                    self.table.forget(&dialog);
                }
            }
        }
    }

    /// Hands a request to the registrar, or refuses it when there is none any more.
    fn hand_up(
        &mut self,
        request: rsip::Request,
        transaction: TransactionKey,
        source: SocketAddr,
        flow: Flow,
    ) -> Vec<Output> {
        let handed = OutOfDialogRequest {
            request,
            transaction: transaction.clone(),
            source,
            flow,
        };
        let refused = match &self.out_of_dialog {
            Some(consumer) => match consumer.try_send(handed) {
                Ok(()) => return Vec::new(),
                Err(TrySendError::Full(r)) => {
                    // The registrar is behind: ask the phone to come back (§21.5.4).
                    let mut busy = message::response(
                        &r.request,
                        StatusCode::ServiceUnavailable,
                        Some(&random_token()),
                    );
                    busy.headers.push(Header::RetryAfter("5".into()));
                    return self.table.respond(&transaction, busy, now());
                }
                Err(TrySendError::Closed(r)) => r,
            },
            None => handed,
        };
        // Nobody consumes REGISTER any more: refuse it as if no registrar had been wired.
        self.out_of_dialog = None;
        self.table.set_register(false);
        let r = out_of_dialog::method_not_allowed(&refused.request, false);
        self.table.respond(&transaction, r, now())
    }
}
