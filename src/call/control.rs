//! What a running call can do, as the IVR sees it: play prompts, wait for digits, record.
//!
//! `CallControl` multiplexes the three things that can happen to a call — media events (digits,
//! playback finished, RTP silence), SIP signals (BYE, re-INVITE, INFO digits) and the server
//! shutting down — so the dialplan interpreter can await one simple call at a time.

use super::EndCause;
use crate::media::dtmf::Digit;
use crate::media::prompt::Prompt;
use crate::media::recording::{RecordStop, Recorder};
use crate::media::rtp_session::{MediaEvent, MediaSession, PlaybackId};
use crate::media::sdp::{self, LocalMedia};
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{CallSignal, EndpointHandle};
use crate::sip::message;
use rsip::StatusCode;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The pieces of a call that outlive its control loop, for hang-up.
pub(crate) struct CallParts {
    pub media: MediaSession,
    pub dialog: Dialog,
    pub endpoint: EndpointHandle,
}

/// The call is over; the IVR must stop. Carries why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("call ended: {0}")]
pub struct CallEnded(pub EndCause);

/// What [`CallControl::next_event`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEvent {
    Digit(Digit),
    PlaybackFinished(PlaybackId),
    /// The phone put the call on hold (`true`) or took it off hold (`false`).
    HoldChanged(bool),
    /// The far end asked for a blind transfer (a REFER): take it with
    /// [`CallControl::take_transfer`] and answer it. Only while transfers are allowed
    /// ([`CallControl::allow_transfer`]); otherwise Hotline refuses the REFER at once.
    TransferRequested,
    /// The deadline passed.
    Timeout,
}

/// 202 Accepted, the answer that takes a REFER (rsip's `StatusCode::Accepted` is 201).
pub fn accepted() -> StatusCode {
    StatusCode::Other(202, "Accepted".into())
}

/// A REFER waiting for its answer: whom it names, and its transaction.
#[derive(Debug)]
pub struct TransferRequest {
    /// The Refer-To's user part, or why there is none.
    pub target: Result<String, crate::sip::refer::ReferError>,
    request: rsip::Request,
    transaction: crate::sip::transaction::TransactionKey,
}

/// Something the interpreter waits for.
enum Wake {
    Digit(Digit),
    PlaybackFinished(PlaybackId),
    Audio(Vec<i16>),
    /// A re-INVITE changed the media: [`CallControl::next_event`] looks whether the hold did.
    MediaChanged,
    /// A REFER is waiting in `CallControl::transfer`.
    TransferRequested,
    Timeout,
}

/// A live, answered call.
pub struct CallControl {
    pub(crate) media: MediaSession,
    media_events: mpsc::Receiver<MediaEvent>,
    signals: mpsc::Receiver<CallSignal>,
    shutdown: watch::Receiver<bool>,
    pub(crate) dialog: Dialog,
    pub(crate) endpoint: EndpointHandle,
    local_media: LocalMedia,
    /// Digits pressed while nothing was listening (type-ahead): the next menu gets them first.
    typed_ahead: VecDeque<Digit>,
    ended: Option<EndCause>,
    /// The caller's audio while a recording runs.
    audio: Option<mpsc::Receiver<Vec<i16>>>,
    /// Whether a REFER is handed up (during a conversation) or refused at once.
    transfers_allowed: bool,
    transfer: Option<TransferRequest>,
}

impl CallControl {
    pub(crate) fn new(
        media: MediaSession,
        media_events: mpsc::Receiver<MediaEvent>,
        signals: mpsc::Receiver<CallSignal>,
        shutdown: watch::Receiver<bool>,
        dialog: Dialog,
        endpoint: EndpointHandle,
        local_media: LocalMedia,
    ) -> Self {
        CallControl {
            media,
            media_events,
            signals,
            shutdown,
            dialog,
            endpoint,
            local_media,
            typed_ahead: VecDeque::new(),
            ended: None,
            audio: None,
            transfers_allowed: false,
            transfer: None,
        }
    }

    /// Takes the call apart for hang-up.
    pub(crate) fn into_parts(self) -> CallParts {
        CallParts {
            media: self.media,
            dialog: self.dialog,
            endpoint: self.endpoint,
        }
    }

    /// Why the call ended, once it has.
    pub fn ended(&self) -> Option<EndCause> {
        self.ended
    }

    /// Plays prompts in order. With `barge_in`, the first digit stops playback at once and is
    /// returned; without it, digits are kept for the next menu.
    pub async fn play(
        &mut self,
        prompts: Vec<Arc<Prompt>>,
        barge_in: bool,
    ) -> Result<Option<Digit>, CallEnded> {
        if barge_in {
            if let Some(d) = self.typed_ahead.pop_front() {
                return Ok(Some(d));
            }
        }
        if prompts.is_empty() {
            return Ok(None);
        }
        let playing = self.media.play(prompts);
        loop {
            match self.wait(None).await? {
                Wake::PlaybackFinished(id) if id == playing => return Ok(None),
                Wake::PlaybackFinished(_) => {}
                Wake::Digit(d) if barge_in => {
                    self.media.stop_playback();
                    return Ok(Some(d));
                }
                Wake::Digit(d) => self.typed_ahead.push_back(d),
                Wake::Timeout | Wake::Audio(_) | Wake::MediaChanged | Wake::TransferRequested => {}
            }
        }
    }

    /// Records the caller into `recorder` until `finish` is pressed, `silence` passes without
    /// voice, or `max` is reached. On hang-up the audio so far stays in the recorder.
    /// Each part the recorder completes is sent on `parts` as soon as it is written.
    pub async fn record(
        &mut self,
        recorder: &mut Recorder,
        max: Duration,
        silence: Duration,
        finish: Option<Digit>,
        parts: Option<&mpsc::UnboundedSender<(usize, std::path::PathBuf)>>,
    ) -> Result<RecordStop, CallEnded> {
        let (tx, rx) = mpsc::channel(256);
        self.media.set_audio_tap(Some(tx));
        self.audio = Some(rx);
        self.typed_ahead.clear();
        let deadline = Instant::now() + max;
        let stop = loop {
            match self.wait(Some(deadline)).await {
                Ok(Wake::Audio(frame)) => {
                    // Returned once per recording; the helpdesk says it loudly (once per
                    // condition, with the ticket) and the caller goes on being heard.
                    if let Err(e) = recorder.write(&frame) {
                        tracing::debug!(call_id = %self.dialog.call_id, error = %e, "recording write failed");
                    }
                    for part in recorder.take_finished_parts() {
                        if let Some(tx) = parts {
                            let _ = tx.send(part);
                        }
                    }
                    if recorder.voice.silence() >= silence {
                        break Ok(RecordStop::Silence);
                    }
                }
                Ok(Wake::Digit(d)) if Some(d) == finish => break Ok(RecordStop::Digit),
                Ok(Wake::Timeout) => break Ok(RecordStop::MaxLength),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        self.media.set_audio_tap(None);
        self.audio = None;
        stop
    }

    /// The next digit, waiting at most `timeout`; `None` when it passes.
    pub async fn next_digit(&mut self, timeout: Duration) -> Result<Option<Digit>, CallEnded> {
        if let Some(d) = self.typed_ahead.pop_front() {
            return Ok(Some(d));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.wait(Some(deadline)).await? {
                Wake::Digit(d) => return Ok(Some(d)),
                Wake::Timeout => return Ok(None),
                Wake::PlaybackFinished(_)
                | Wake::Audio(_)
                | Wake::MediaChanged
                | Wake::TransferRequested => {}
            }
        }
    }

    /// Waits until `deadline` for a digit or the end of a playback, handling every SIP signal
    /// that arrives meanwhile.
    async fn wait(&mut self, deadline: Option<Instant>) -> Result<Wake, CallEnded> {
        if let Some(cause) = self.ended {
            return Err(CallEnded(cause));
        }
        loop {
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let audio = async {
                match self.audio.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                Some(frame) = audio => Some(Ok(Wake::Audio(frame))),
                event = self.media_events.recv() => match event {
                    Some(MediaEvent::Digit { digit, .. }) => Some(Ok(Wake::Digit(digit))),
                    Some(MediaEvent::PlaybackFinished(id)) => Some(Ok(Wake::PlaybackFinished(id))),
                    Some(MediaEvent::RtpTimeout) => Some(Err(EndCause::RtpTimeout)),
                    None => Some(Err(EndCause::RtpTimeout)),
                },
                signal = self.signals.recv() => match signal {
                    Some(signal) => self.on_signal(signal).await,
                    None => Some(Err(EndCause::Shutdown)),
                },
                changed = self.shutdown.changed() => match changed {
                    Ok(()) if !*self.shutdown.borrow() => None,
                    _ => Some(Err(EndCause::Shutdown)),
                },
                () = sleep => Some(Ok(Wake::Timeout)),
            };
            match outcome {
                Some(Ok(wake)) => return Ok(wake),
                Some(Err(cause)) => {
                    self.ended = Some(cause);
                    return Err(CallEnded(cause));
                }
                None => continue,
            }
        }
    }

    /// Handles a SIP signal; returns what the waiting interpreter must see, if anything.
    async fn on_signal(&mut self, signal: CallSignal) -> Option<Result<Wake, EndCause>> {
        match signal {
            CallSignal::Bye => Some(Err(EndCause::CallerHangup)),
            CallSignal::Cancelled => Some(Err(EndCause::Cancelled)),
            CallSignal::AckTimeout => Some(Err(EndCause::AckTimeout)),
            CallSignal::InfoDigit(digit) => Some(Ok(Wake::Digit(digit))),
            CallSignal::Ack(_) => None,
            CallSignal::Refer {
                request,
                transaction,
            } => {
                if !self.transfers_allowed {
                    // Nothing to transfer yet (menu, ringing, announcement): §2.4.2 lets us refuse.
                    let r = message::response(
                        &request,
                        StatusCode::Forbidden,
                        Some(&self.dialog.local_tag),
                    );
                    self.endpoint.respond(&transaction, r).await;
                    return None;
                }
                let target = crate::sip::refer::refer_to_user(&request.headers);
                if let Some(old) = self.transfer.replace(TransferRequest {
                    target,
                    request,
                    transaction,
                }) {
                    // A second REFER before the first was answered: the first is refused.
                    self.answer_transfer(old, StatusCode::RequestPending).await;
                }
                Some(Ok(Wake::TransferRequested))
            }
            CallSignal::ReInvite {
                request,
                transaction,
            } => {
                // Hold, unhold or a media change (§14.2): answer from the same local media with a
                // new session version, and point the RTP session at what was negotiated.
                self.dialog.refresh_target(&request);
                self.local_media.session_version += 1;
                let offer = String::from_utf8_lossy(&request.body).to_string();
                let response = if offer.trim().is_empty() {
                    let mut ok =
                        message::response(&request, StatusCode::OK, Some(&self.dialog.local_tag));
                    let body = sdp::reoffer(&self.local_media, self.media.uses_srtp()).into_bytes();
                    message::set_body(&mut ok.headers, &mut ok.body, "application/sdp", body);
                    ok
                } else {
                    match sdp::answer(&offer, &self.local_media) {
                        Ok((negotiated, answer)) => {
                            tracing::info!(call_id = %self.dialog.call_id, direction = ?negotiated.remote_direction, "re-INVITE");
                            self.media.update_remote(negotiated);
                            let mut ok = message::response(
                                &request,
                                StatusCode::OK,
                                Some(&self.dialog.local_tag),
                            );
                            message::set_body(
                                &mut ok.headers,
                                &mut ok.body,
                                "application/sdp",
                                answer.into_bytes(),
                            );
                            ok
                        }
                        Err(e) => {
                            tracing::warn!(call_id = %self.dialog.call_id, error = %e, "re-INVITE refused");
                            let mut refused = message::response(
                                &request,
                                StatusCode::NotAcceptableHere,
                                Some(&self.dialog.local_tag),
                            );
                            refused.headers.push(message::warning(&e.to_string()));
                            refused
                        }
                    }
                };
                let mut response = response;
                response.headers.push(self.contact_header());
                self.endpoint.respond(&transaction, response).await;
                // Without a wake here a hold would be noticed only at the next key or
                // playback end: the bridge's music on hold would wait for one.
                Some(Ok(Wake::MediaChanged))
            }
        }
    }

    /// Lets the far end ask for a transfer (REFER) from now on, or refuses its REFERs again.
    pub fn allow_transfer(&mut self, allowed: bool) {
        self.transfers_allowed = allowed;
    }

    /// The REFER that [`CallEvent::TransferRequested`] announced; answer it with
    /// [`answer_transfer`](Self::answer_transfer).
    pub fn take_transfer(&mut self) -> Option<TransferRequest> {
        self.transfer.take()
    }

    /// Answers a REFER: [`accepted`] to take the transfer (RFC 3515 §2.4.2), or a refusal.
    pub async fn answer_transfer(&self, transfer: TransferRequest, status: StatusCode) {
        let accepted = status.code() == 202;
        let mut r = message::response(&transfer.request, status, Some(&self.dialog.local_tag));
        if accepted {
            r.headers.push(self.contact_header());
        }
        self.endpoint.respond(&transfer.transaction, r).await;
    }

    /// Tells the far end how the transfer it asked for stands: a NOTIFY of the REFER's
    /// implicit subscription (RFC 3515 §2.4.4), answered within 5 s or given up. Any answer
    /// will do: a phone that already hung up says 481 and one that ignores the subscription
    /// 405, neither of which changes the transfer.
    pub async fn notify_transfer(&mut self, progress: crate::sip::refer::TransferProgress) {
        if self.ended.is_some() {
            return; // their BYE ended the dialog, and the subscription with it (§2.4.7)
        }
        let port = self.endpoint.local_addr_for(self.dialog.flow).port();
        let local = std::net::SocketAddr::new(self.local_media.ip, port);
        let mut notify = match self.dialog.request(rsip::Method::Notify, local) {
            Ok(notify) => notify,
            Err(e) => {
                tracing::warn!(call_id = %self.dialog.call_id, error = %e, "cannot build NOTIFY");
                return;
            }
        };
        // RFC 6665 §4.2.2: a NOTIFY carries a Contact, as any dialog-usage request does.
        notify.headers.push(self.contact_header());
        progress.apply(&mut notify);
        let sent = tokio::time::timeout(
            Duration::from_secs(5),
            self.endpoint
                .request(notify, self.dialog.flow, self.dialog.peer),
        )
        .await;
        match sent {
            Ok(Ok(r)) => {
                tracing::debug!(call_id = %self.dialog.call_id, status = %r.status_code, "NOTIFY answered")
            }
            Ok(Err(e)) => {
                tracing::info!(call_id = %self.dialog.call_id, error = %e, "NOTIFY unanswered")
            }
            Err(_) => tracing::info!(call_id = %self.dialog.call_id, "NOTIFY unanswered after 5 s"),
        }
    }

    /// Starts playing `prompts` without waiting (ringback, music on hold); the end of the
    /// playback comes back as [`CallEvent::PlaybackFinished`] from [`next_event`](Self::next_event).
    pub fn start_playing(&self, prompts: Vec<Arc<Prompt>>) -> PlaybackId {
        self.media.play(prompts)
    }

    /// Stops whatever is playing; the next frame is silence (or the bridged leg's audio).
    pub fn stop_playing(&self) {
        self.media.stop_playback();
    }

    /// The media session, for joining it to another leg.
    pub fn media(&self) -> &MediaSession {
        &self.media
    }

    /// Waits until `deadline` for whatever happens next on the call: a key, the end of a
    /// playback, or a change of hold. SIP signals are handled meanwhile, as in every wait.
    /// Keys typed ahead are returned first.
    pub async fn next_event(&mut self, deadline: Option<Instant>) -> Result<CallEvent, CallEnded> {
        if let Some(d) = self.typed_ahead.pop_front() {
            return Ok(CallEvent::Digit(d));
        }
        let held = self.media.on_hold();
        loop {
            let wake = self.wait(deadline).await?;
            if self.media.on_hold() != held {
                if let Wake::Digit(d) = wake {
                    self.typed_ahead.push_back(d);
                }
                return Ok(CallEvent::HoldChanged(!held));
            }
            match wake {
                Wake::Digit(d) => return Ok(CallEvent::Digit(d)),
                Wake::PlaybackFinished(id) => return Ok(CallEvent::PlaybackFinished(id)),
                Wake::Timeout => return Ok(CallEvent::Timeout),
                Wake::TransferRequested => return Ok(CallEvent::TransferRequested),
                Wake::Audio(_) | Wake::MediaChanged => {}
            }
        }
    }

    /// Our Contact header (§12.1.1: the UAS must put one in its 2xx).
    pub(crate) fn contact_header(&self) -> rsip::Header {
        contact_header(
            self.local_media.ip,
            self.endpoint.local_addr_for(self.dialog.flow).port(),
            self.dialog.flow,
        )
    }
}

/// A Contact header for `ip:port` over the flow's transport.
pub(crate) fn contact_header(
    ip: std::net::IpAddr,
    port: u16,
    flow: crate::sip::transport::Flow,
) -> rsip::Header {
    let host = match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let transport = flow.uri_parameter();
    rsip::Header::Contact(format!("<sip:hotline@{host}:{port}{transport}>").into())
}
