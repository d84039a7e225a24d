//! Answering a call (offer/answer, RTP port, 200 OK, ACK) and ending it (BYE, media closed).

use super::control::{contact_header, CallControl};
use super::local_ip::local_ip_towards;
use super::EndCause;
use crate::media::port_pool::{PortPool, PortPoolError};
use crate::media::rtp_session::{MediaSession, MediaStats, RtpOptions};
use crate::media::sdp::{self, LocalMedia, MasterKey, NegotiatedMedia, SdpError, SrtpPolicy};
use crate::sip::dialog::{self, Dialog, DialogError};
use crate::sip::endpoint::{CallSignal, EndpointHandle, NewCall};
use crate::sip::message;
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::StatusCode;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Who is calling, from the INVITE's From header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user part of the From URI (an extension or phone number), or the whole URI.
    pub number: String,
    pub display_name: Option<String>,
}

impl Caller {
    pub fn of(invite: &rsip::Request) -> Caller {
        let Ok(from) = invite.from_header().and_then(|f| f.typed()) else {
            return Caller {
                number: "unknown".into(),
                display_name: None,
            };
        };
        let number = from
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_else(|| from.uri.host_with_port.to_string());
        let display_name = from
            .display_name
            .map(|d| d.trim().trim_matches('"').to_string())
            .filter(|d| !d.is_empty());
        Caller {
            number,
            display_name,
        }
    }
}

/// What answering needs from the server.
#[derive(Clone)]
pub struct AnswerContext {
    pub endpoint: EndpointHandle,
    pub ports: Arc<PortPool>,
    pub public_ip: Option<IpAddr>,
    pub rtp: RtpOptions,
    pub shutdown: watch::Receiver<bool>,
    /// Ring this long (180 Ringing) before answering; zero answers at once.
    pub ring: Duration,
    /// Calls over TLS must use SRTP (`sip.tls_require_srtp`).
    pub tls_require_srtp: bool,
}

impl AnswerContext {
    /// Whether a call whose SIP travels on `flow` may use SRTP, with a fresh key of ours.
    /// SDES puts the key in the SDP in clear text (RFC 4568 §8.1), so only TLS keeps it
    /// secret; over UDP or TCP an SRTP offer would protect nothing from whoever reads the SIP.
    pub fn srtp_policy(&self, flow: Flow) -> SrtpPolicy {
        match flow {
            Flow::Tls(_) if self.tls_require_srtp => SrtpPolicy::Required(MasterKey::random()),
            Flow::Tls(_) => SrtpPolicy::Allowed(MasterKey::random()),
            Flow::Udp | Flow::Tcp(_) => SrtpPolicy::Refused,
        }
    }
}

/// Why a call could not be answered. Each has already been answered with the status shown.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("no common codec (488): {0}")]
    NoCommonCodec(SdpError),
    #[error("bad SDP offer (400): {0}")]
    BadOffer(SdpError),
    #[error("no RTP port free (503): {0}")]
    NoPorts(PortPoolError),
    #[error("cannot form a dialog (400): {0}")]
    Dialog(DialogError),
    #[error("call ended before it was set up: {0}")]
    Ended(EndCause),
}

impl AnswerError {
    /// The stable text stored as the ticket's failure reason.
    pub fn reason(&self) -> String {
        match self {
            AnswerError::NoCommonCodec(_) => "no_common_codec".into(),
            AnswerError::BadOffer(_) => "bad_sdp".into(),
            AnswerError::NoPorts(_) => "no_rtp_port".into(),
            AnswerError::Dialog(_) => "bad_invite".into(),
            AnswerError::Ended(cause) => cause.as_str().into(),
        }
    }
}

/// Answers `call`: negotiates media, takes an RTP port, sends 200 OK and waits for the ACK.
pub async fn answer(call: NewCall, ctx: &AnswerContext) -> Result<CallControl, AnswerError> {
    let NewCall {
        invite,
        transaction,
        source,
        flow,
        mut signals,
        received,
    } = call;
    let local_tag = dialog::random_token();
    let reject = |status: StatusCode| message::response(&invite, status, Some(&local_tag));
    let listen_ip = ctx.endpoint.local_addr().ip();
    let ip = local_ip_towards(source.ip(), listen_ip, ctx.public_ip);

    let dialog = match Dialog::from_invite(&invite, local_tag.clone(), flow, source) {
        Ok(d) => d,
        Err(e) => {
            ctx.endpoint
                .respond(&transaction, reject(StatusCode::BadRequest))
                .await;
            return Err(AnswerError::Dialog(e));
        }
    };
    let socket = match ctx.ports.bind().await {
        Ok(s) => s,
        Err(e) => {
            let mut r = reject(StatusCode::ServiceUnavailable);
            r.headers.push(rsip::Header::RetryAfter("10".into()));
            ctx.endpoint.respond(&transaction, r).await;
            forget(&ctx.endpoint, &dialog).await;
            return Err(AnswerError::NoPorts(e));
        }
    };
    let local_media = LocalMedia {
        ip,
        port: socket.port(),
        session_id: rand::random::<u32>() as u64,
        session_version: 1,
        srtp: ctx.srtp_policy(flow),
    };
    let offer = String::from_utf8_lossy(&invite.body).to_string();
    let (negotiated, body) = if offer.trim().is_empty() {
        // Offer-less INVITE (§13.2.1): we offer in the 200, the answer comes in the ACK.
        (None, sdp::offer(&local_media))
    } else {
        match sdp::answer(&offer, &local_media) {
            Ok((n, answer)) => (Some(n), answer),
            Err(e) => {
                // Says which part of the offer we could not take (RFC 3261 §20.43), so a
                // phone's log or its user sees why (no SRTP without TLS, no common codec...).
                let warning = message::warning(&e.to_string());
                let (status, error) = if e.is_not_acceptable() {
                    (StatusCode::NotAcceptableHere, AnswerError::NoCommonCodec(e))
                } else {
                    (StatusCode::BadRequest, AnswerError::BadOffer(e))
                };
                let mut response = reject(status);
                response.headers.push(warning);
                ctx.endpoint.respond(&transaction, response).await;
                forget(&ctx.endpoint, &dialog).await;
                return Err(error);
            }
        }
    };
    if !ctx.ring.is_zero() {
        let ringing = reject(StatusCode::Ringing);
        ctx.endpoint.respond(&transaction, ringing).await;
        let ring_end = tokio::time::sleep(ctx.ring);
        tokio::pin!(ring_end);
        loop {
            tokio::select! {
                () = &mut ring_end => break,
                signal = signals.recv() => match signal {
                    Some(CallSignal::Cancelled) => return Err(AnswerError::Ended(EndCause::Cancelled)),
                    Some(CallSignal::Bye) | None => return Err(AnswerError::Ended(EndCause::CallerHangup)),
                    Some(_) => {}
                },
            }
        }
    }
    let contact = contact_header(ip, ctx.endpoint.local_addr_for(flow).port(), flow);
    let ok = with_sdp_answer(
        reject(StatusCode::OK),
        contact,
        message::DIALOG_METHODS,
        body,
    );
    // Counted before it is sent, so a caller who has the 200 always finds it counted.
    crate::metrics::CALLS_ANSWERED.inc();
    crate::metrics::INVITE_TO_ANSWER.observe(received.elapsed());
    ctx.endpoint.respond(&transaction, ok).await;

    // Wait for the ACK; it may carry the answer to our offer.
    let negotiated: NegotiatedMedia = loop {
        match signals.recv().await {
            Some(CallSignal::Ack(ack)) => {
                if let Some(n) = negotiated {
                    break n;
                }
                match sdp::accept_answer(&String::from_utf8_lossy(&ack.body), &local_media) {
                    Ok(n) => break n,
                    Err(e) => {
                        // The dialog exists: end it with BYE (§13.2.1 leaves no other way out).
                        tracing::warn!(call_id = %dialog.call_id, error = %e, "unusable SDP answer in ACK");
                        let mut dialog = dialog;
                        send_bye(&ctx.endpoint, &mut dialog, ip).await;
                        forget(&ctx.endpoint, &dialog).await;
                        return Err(AnswerError::NoCommonCodec(e));
                    }
                }
            }
            Some(CallSignal::Bye) => return Err(AnswerError::Ended(EndCause::CallerHangup)),
            Some(CallSignal::Cancelled) => return Err(AnswerError::Ended(EndCause::Cancelled)),
            Some(CallSignal::AckTimeout) | None => {
                let mut dialog = dialog;
                send_bye(&ctx.endpoint, &mut dialog, ip).await;
                forget(&ctx.endpoint, &dialog).await;
                return Err(AnswerError::Ended(EndCause::AckTimeout));
            }
            Some(_) => continue,
        }
    };
    let (media, events) = MediaSession::start(socket, negotiated, ctx.rtp.clone());
    Ok(CallControl::new(
        media,
        events,
        signals,
        ctx.shutdown.clone(),
        dialog,
        ctx.endpoint.clone(),
        local_media,
    ))
}

/// A 200 OK to an INVITE made an answer: our Contact (§12.1.1), the methods `allow`ed in the
/// dialog, and the SDP answer as its body.
pub(crate) fn with_sdp_answer(
    mut ok: rsip::Response,
    contact: rsip::Header,
    allow: &str,
    sdp: String,
) -> rsip::Response {
    ok.headers.push(contact);
    ok.headers
        .push(rsip::Header::Other("Allow".into(), allow.into()));
    message::set_body(
        &mut ok.headers,
        &mut ok.body,
        "application/sdp",
        sdp.into_bytes(),
    );
    ok
}

/// Ends an answered call: BYE when we are the one hanging up, media closed, dialog forgotten.
pub async fn finish(control: CallControl, cause: EndCause) -> MediaStats {
    let super::control::CallParts {
        media,
        mut dialog,
        endpoint,
    } = control.into_parts();
    let stats = media.close().await;
    if cause.needs_bye() {
        let ip = local_ip_towards(dialog.peer.ip(), endpoint.local_addr().ip(), None);
        send_bye(&endpoint, &mut dialog, ip).await;
    }
    forget(&endpoint, &dialog).await;
    stats
}

/// Ends `dialog` with a BYE from `ip` and waits at most 5 s for its answer.
pub(crate) async fn send_bye(endpoint: &EndpointHandle, dialog: &mut Dialog, ip: IpAddr) {
    let local = std::net::SocketAddr::new(ip, endpoint.local_addr_for(dialog.flow).port());
    match dialog.request(rsip::Method::Bye, local) {
        Ok(bye) => {
            // The BYE's client transaction gives up by itself after 64·T1; don't hold the call
            // task that long if the caller vanished.
            let sent = tokio::time::timeout(
                Duration::from_secs(5),
                endpoint.request(bye, dialog.flow, dialog.peer),
            )
            .await;
            match sent {
                Ok(Ok(r)) => {
                    tracing::debug!(call_id = %dialog.call_id, status = %r.status_code, "BYE answered")
                }
                Ok(Err(e)) => {
                    tracing::info!(call_id = %dialog.call_id, error = %e, "BYE unanswered")
                }
                Err(_) => tracing::info!(call_id = %dialog.call_id, "BYE unanswered after 5 s"),
            }
        }
        Err(e) => tracing::warn!(call_id = %dialog.call_id, error = %e, "cannot build BYE"),
    }
}

async fn forget(endpoint: &EndpointHandle, dialog: &Dialog) {
    endpoint.forget(&dialog.call_id, &dialog.remote_tag).await;
}
