//! Calls Hotline places: ringing a technician's phone (RFC 3261 §13.2, we are the UAC).
//!
//! [`dial`] takes an RTP port, offers G.711 in the INVITE and starts the client transaction;
//! the [`Attempt`] reports every response. The attempt that is answered becomes a
//! [`CallControl`] with [`Attempt::connect`] (ACK, dialog, media), exactly like a call we
//! answered, so the same code plays prompts to it, reads its keys and bridges it. A 2xx we do
//! not keep (a second phone of a fork, or one racing our CANCEL) is ACKed and hung up with
//! [`Attempt::refuse_answer`], as §13.2.2.4 requires.
//!
//! A phone on TLS is offered SRTP (RTP/SAVP with our key). One that cannot do SRTP answers
//! 488; unless the configuration requires SRTP, the attempt then offers plain RTP in a new
//! INVITE, once, as Linphone and other phones with "SRTP optional" do, and the branch goes on
//! ringing.

use super::answer::{send_bye, AnswerContext};
use super::control::CallControl;
use super::local_ip::local_ip_towards;
use crate::media::port_pool::{PortPoolError, RtpSocket};
use crate::media::rtp_session::MediaSession;
use crate::media::sdp::{self, LocalMedia, SdpError, SrtpPolicy};
use crate::sip::dialog::{Dialog, DialogError, InviteBuilder};
use crate::sip::endpoint::{CallSignal, InviteError, InviteResponse, OutgoingInvite};
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::{Request, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// A phone to ring: a registered binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The Request-URI: the binding's Contact.
    pub uri: String,
    /// The To header: the technician's address of record.
    pub to: String,
    /// Where to send it: the flow and address the phone registered from (NAT-safe).
    pub flow: Flow,
    pub dest: SocketAddr,
}

/// What the technician's phone shows as the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    pub display_name: String,
    pub user: String,
    /// Ask the phone to answer by itself (`Call-Info: …;answer-after=0`, as intercom and
    /// click-to-call do): the technician placed this call themselves.
    pub auto_answer: bool,
}

/// Why a call could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("no RTP port free: {0}")]
    NoPorts(#[from] PortPoolError),
    #[error("cannot build the INVITE: {0}")]
    Build(String),
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error("cannot form the dialog from the 2xx: {0}")]
    Dialog(#[from] DialogError),
    #[error("unusable SDP answer: {0}")]
    Answer(#[from] SdpError),
}

/// What a rung phone did.
#[derive(Debug)]
pub enum Progress {
    /// 180/183: it rings.
    Ringing,
    /// 2xx from a dialog not seen before: connect it, or refuse it if another phone won.
    Answered(Answer),
    /// 3xx–6xx (487 after our CANCEL included), or 408 when it never answered (Timer B).
    Failed(u16),
}

/// A 2xx with the new dialog's signals.
#[derive(Debug)]
pub struct Answer {
    response: Response,
    signals: mpsc::Receiver<CallSignal>,
}

/// An INVITE on its way to one phone.
pub struct Attempt {
    request: Request,
    invite: OutgoingInvite,
    socket: RtpSocket,
    local_media: LocalMedia,
    target: Target,
    /// Who the phone is told is calling, for an INVITE sent again without SRTP.
    from: Presentation,
    /// Cancelled: a 488 is then not tried again without SRTP.
    cancelled: AtomicBool,
}

/// Places a call to `target`; responses come from [`Attempt::next`].
pub async fn dial(
    ctx: &AnswerContext,
    target: &Target,
    from: &Presentation,
) -> Result<Attempt, DialError> {
    let socket = ctx.ports.bind().await?;
    let listen = ctx.endpoint.local_addr();
    let ip = local_ip_towards(target.dest.ip(), listen.ip(), ctx.public_ip);
    let local_media = LocalMedia {
        ip,
        port: socket.port(),
        session_id: rand::random::<u32>() as u64,
        session_version: 1,
        srtp: ctx.srtp_policy(target.flow),
    };
    let (request, invite) = send_invite(ctx, target, from, &local_media).await?;
    Ok(Attempt {
        request,
        invite,
        socket,
        local_media,
        target: target.clone(),
        from: from.clone(),
        cancelled: AtomicBool::new(false),
    })
}

/// Builds the INVITE offering `local_media` and starts its client transaction.
async fn send_invite(
    ctx: &AnswerContext,
    target: &Target,
    from: &Presentation,
    local_media: &LocalMedia,
) -> Result<(Request, OutgoingInvite), DialError> {
    let local = SocketAddr::new(
        local_media.ip,
        ctx.endpoint.local_addr_for(target.flow).port(),
    );
    let request = invite_request(target, from, local, &sdp::offer(local_media))?;
    let invite = ctx
        .endpoint
        .invite(request.clone(), target.flow, target.dest)
        .await?;
    Ok((request, invite))
}

impl Attempt {
    /// The next thing the phone did; `None` once the transaction is over. Retransmitted 2xx
    /// are ACKed here and not reported.
    pub async fn next(&mut self, ctx: &AnswerContext) -> Option<Progress> {
        loop {
            return match self.invite.next().await? {
                InviteResponse::Provisional(_) => Some(Progress::Ringing),
                InviteResponse::Accepted {
                    response,
                    dialog: Some(signals),
                } => Some(Progress::Answered(Answer { response, signals })),
                InviteResponse::Accepted {
                    response,
                    dialog: None,
                } => {
                    self.ack_again(ctx, &response).await;
                    continue;
                }
                InviteResponse::Rejected(r)
                    if r.status_code.code() == 488 && self.plain_rtp_again(ctx).await =>
                {
                    continue;
                }
                InviteResponse::Rejected(r) => Some(Progress::Failed(r.status_code.code())),
                InviteResponse::TimedOut => Some(Progress::Failed(408)),
            };
        }
    }

    /// After a 488 to an SRTP offer that SRTP was not required for: the same call offered
    /// with plain RTP in a new INVITE. `false` when there is nothing to try again (plain RTP
    /// refused already, SRTP required, cancelled meanwhile) or the INVITE cannot be sent.
    async fn plain_rtp_again(&mut self, ctx: &AnswerContext) -> bool {
        if !matches!(self.local_media.srtp, SrtpPolicy::Allowed(_))
            || self.cancelled.load(Ordering::Acquire)
        {
            return false;
        }
        self.local_media.srtp = SrtpPolicy::Refused;
        self.local_media.session_version += 1;
        match send_invite(ctx, &self.target, &self.from, &self.local_media).await {
            Ok((request, invite)) => {
                tracing::info!(phone = %self.target.uri, "SRTP refused (488): offered plain RTP");
                self.request = request;
                self.invite = invite;
                true
            }
            Err(e) => {
                tracing::warn!(phone = %self.target.uri, error = %e, "SRTP refused (488), and the INVITE with plain RTP could not be sent");
                false
            }
        }
    }

    /// CANCEL (§9.1); the INVITE's final response still arrives on [`next`](Self::next).
    pub async fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.invite.cancel().await;
    }

    /// The phone this attempt rings.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Lets an attempt we no longer want end on its own, in the background: a 487 ends it,
    /// and a 2xx that raced our CANCEL is ACKed and hung up (§13.2.2.4).
    pub fn finish_unwanted(mut self, ctx: &AnswerContext) {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            while let Some(progress) = self.next(&ctx).await {
                if let Progress::Answered(answer) = progress {
                    self.refuse_answer(&ctx, answer).await;
                }
            }
        });
    }

    /// The answered attempt becomes a live call: ACK, dialog, media from the SDP answer.
    pub async fn connect(
        self,
        ctx: &AnswerContext,
        answer: Answer,
    ) -> Result<CallControl, DialError> {
        let Answer { response, signals } = answer;
        let (dialog, ack) = self.dialog_and_ack(ctx, &response)?;
        ctx.endpoint
            .send_ack(ack.clone(), self.target.flow, self.target.dest)
            .await;
        // The 2xx is retransmitted until our ACK arrives (§13.3.1.4): answer each copy until
        // the transaction ends (Timer M), apart from the call task.
        let mut invite = self.invite;
        let (endpoint, flow, dest) = (ctx.endpoint.clone(), self.target.flow, self.target.dest);
        tokio::spawn(async move {
            while let Some(response) = invite.next().await {
                if let InviteResponse::Accepted { dialog: None, .. } = response {
                    endpoint.send_ack(ack.clone(), flow, dest).await;
                }
            }
        });
        let answer = String::from_utf8_lossy(&response.body);
        let negotiated = match sdp::accept_answer(&answer, &self.local_media) {
            Ok(n) => n,
            Err(e) => {
                let mut dialog = dialog;
                send_bye(&ctx.endpoint, &mut dialog, self.local_media.ip).await;
                return Err(e.into());
            }
        };
        let (media, events) = MediaSession::start(self.socket, negotiated, ctx.rtp.clone());
        Ok(CallControl::new(
            media,
            events,
            signals,
            ctx.shutdown.clone(),
            dialog,
            ctx.endpoint.clone(),
            self.local_media,
        ))
    }

    /// ACKs a 2xx we do not keep and hangs up its dialog.
    pub async fn refuse_answer(&self, ctx: &AnswerContext, answer: Answer) {
        let Ok((mut dialog, ack)) = self.dialog_and_ack(ctx, &answer.response) else {
            return;
        };
        ctx.endpoint
            .send_ack(ack, self.target.flow, self.target.dest)
            .await;
        send_bye(&ctx.endpoint, &mut dialog, self.local_media.ip).await;
        ctx.endpoint
            .forget(&dialog.call_id, &dialog.remote_tag)
            .await;
    }

    /// ACKs a retransmitted 2xx (our first ACK was lost).
    async fn ack_again(&self, ctx: &AnswerContext, response: &Response) {
        if let Ok((_, ack)) = self.dialog_and_ack(ctx, response) {
            ctx.endpoint
                .send_ack(ack, self.target.flow, self.target.dest)
                .await;
        }
    }

    /// The dialog a 2xx to our INVITE creates, and the ACK for that 2xx (the INVITE's CSeq
    /// number, §13.2.2.4).
    fn dialog_and_ack(
        &self,
        ctx: &AnswerContext,
        response: &Response,
    ) -> Result<(Dialog, Request), DialogError> {
        let dialog =
            Dialog::from_response(&self.request, response, self.target.flow, self.target.dest)?;
        let local = SocketAddr::new(
            self.local_media.ip,
            ctx.endpoint.local_addr_for(self.target.flow).port(),
        );
        let cseq = self
            .request
            .cseq_header()
            .and_then(|c| c.seq())
            .unwrap_or(1);
        let ack = dialog.ack(cseq, local)?;
        Ok((dialog, ack))
    }
}

/// The INVITE (§8.1.1): what the technician's phone shows as the caller, and our SDP offer.
fn invite_request(
    target: &Target,
    from: &Presentation,
    local: SocketAddr,
    offer: &str,
) -> Result<Request, DialError> {
    let display = from.display_name.replace(['"', '\\', '\r', '\n'], "");
    let user: String = from
        .user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()+".contains(*c))
        .collect();
    let user = if user.is_empty() {
        "helpdesk".into()
    } else {
        user
    };
    let mut builder = InviteBuilder::new(&target.uri, local, target.flow);
    builder.to = target.to.clone();
    builder.from = format!("\"{display}\" <sip:{user}@{local}>");
    builder.sdp = Some(offer.to_string());
    let mut request = builder
        .build()
        .map_err(|e| DialError::Build(e.to_string()))?;
    // A phone offers its Transfer key only if the dialog allows REFER (RFC 3515 §2.4.1).
    request.headers.push(rsip::Header::Other(
        "Allow".into(),
        crate::sip::message::DIALOG_METHODS.into(),
    ));
    if from.auto_answer {
        request.headers.push(rsip::Header::Other(
            "Call-Info".into(),
            format!("<sip:{local}>;answer-after=0"),
        ));
    }
    Ok(request)
}

impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("target", &self.target)
            .finish()
    }
}
