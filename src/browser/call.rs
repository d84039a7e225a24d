//! One call to a page: it rings, the page answers (or declines, or the ringing stops), the
//! WebRTC leg comes up, then the INVITE is answered and RTP is relayed until either side
//! hangs up.

use super::gateway::Context;
use super::hold::{self, LegMedia};
use super::peer::{BrowserPeer, PayloadTypes};
use super::protocol::{EndReason, FromBrowser, ToBrowser};
use super::transfer;
use crate::call::answer::{send_bye, Caller};
use crate::call::control::contact_header;
use crate::call::{refuse, Refusal};
use crate::media::sdp::{self, LocalMedia};
use crate::sip::dialog::{self, Dialog};
use crate::sip::endpoint::{CallSignal, NewCall};
use crate::sip::message;
use rsip::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// ICE and DTLS get this long after the page answered; routing's own ring timeout usually
/// ends the attempt first.
const CONNECT_LIMIT: Duration = Duration::from_secs(15);

/// Whether the page is still there after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PageState {
    Open,
    Gone,
}

/// What ended the ringing.
enum Ringing {
    Answered(String),
    Over(PageState),
}

pub(super) async fn run(
    ctx: &Context,
    user: &str,
    call: NewCall,
    from_page: &mut mpsc::Receiver<FromBrowser>,
    to_page: &mpsc::Sender<ToBrowser>,
    calls: &mut mpsc::Receiver<NewCall>,
) -> PageState {
    let NewCall {
        invite,
        transaction,
        source,
        flow,
        mut signals,
        ..
    } = call;
    let local_tag = dialog::random_token();
    let reply = |status: StatusCode| message::response(&invite, status, Some(&local_tag));
    let endpoint = &ctx.endpoint;
    let Ok(dialog) = Dialog::from_invite(&invite, local_tag.clone(), flow, source) else {
        endpoint
            .respond(&transaction, reply(StatusCode::BadRequest))
            .await;
        return PageState::Open;
    };
    let socket = match ctx.ports.bind().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "no RTP port for a browser call");
            endpoint
                .respond(&transaction, reply(StatusCode::ServiceUnavailable))
                .await;
            forget(ctx, &dialog).await;
            return PageState::Open;
        }
    };
    let local_media = LocalMedia {
        ip: ctx.media_ip,
        port: socket.port(),
        session_id: u64::from(rand::random::<u32>()),
        session_version: 1,
        srtp: Default::default(),
    };
    // The caller leg decides the codec; the browser is then offered exactly that one.
    let (negotiated, sip_answer) =
        match sdp::answer(&String::from_utf8_lossy(&invite.body), &local_media) {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(error = %e, "browser call refused: unusable SDP offer");
                endpoint
                    .respond(&transaction, reply(StatusCode::NotAcceptableHere))
                    .await;
                forget(ctx, &dialog).await;
                return PageState::Open;
            }
        };
    let id = dialog.call_id.clone();
    let caller = Caller::of(&invite);
    let caller = match caller.display_name {
        Some(name) => format!("{name} <{}>", caller.number),
        None => caller.number,
    };
    let ended = |reason| ToBrowser::Ended {
        call: id.clone(),
        reason,
    };
    let outgoing = ctx.own_call(user, &invite);
    let _ = to_page
        .send(ToBrowser::Incoming {
            call: id.clone(),
            caller,
            outgoing,
        })
        .await;
    endpoint
        .respond(&transaction, reply(StatusCode::Ringing))
        .await;

    let ringing = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Some(CallSignal::Cancelled | CallSignal::Bye) | None => {
                    break Ringing::Over(PageState::Open);
                }
                Some(_) => {}
            },
            message = from_page.recv() => match message {
                Some(FromBrowser::Answer { call, sdp }) if call == id => break Ringing::Answered(sdp),
                Some(FromBrowser::Decline { call }) if call == id => {
                    // 603: this device refuses; routing moves on like for a desk phone's Decline.
                    endpoint.respond(&transaction, reply(StatusCode::Decline)).await;
                    let _ = to_page.send(ended(EndReason::Declined)).await;
                    forget(ctx, &dialog).await;
                    return PageState::Open;
                }
                Some(_) => {}
                None => {
                    endpoint.respond(&transaction, reply(StatusCode::TemporarilyUnavailable)).await;
                    forget(ctx, &dialog).await;
                    return PageState::Gone;
                }
            },
            Some(other) = calls.recv() => refuse(other, endpoint, Refusal::BusyHere, None).await,
        }
    };
    let offer = match ringing {
        Ringing::Answered(offer) => offer,
        Ringing::Over(state) => {
            let _ = to_page.send(ended(EndReason::Cancelled)).await;
            forget(ctx, &dialog).await;
            return state;
        }
    };

    let refuse_media = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, call_id = %id, "browser media failed");
    };
    let mut peer = match BrowserPeer::answer(&offer, negotiated.codec, &ctx.ice).await {
        Ok(p) => p,
        Err(e) => {
            refuse_media(&e);
            endpoint
                .respond(&transaction, reply(StatusCode::NotAcceptableHere))
                .await;
            let _ = to_page.send(ended(EndReason::MediaFailed)).await;
            forget(ctx, &dialog).await;
            return PageState::Open;
        }
    };
    let _ = to_page
        .send(ToBrowser::Answer {
            call: id.clone(),
            sdp: peer.answer.clone(),
        })
        .await;
    // The INVITE is answered only once the browser can hear and be heard: a 200 before that
    // would start routing's announcement into a connection that may never come up.
    enum Connecting {
        Up(bool),
        CallerGone,
        PageDone(PageState),
    }
    let connecting = tokio::select! {
        up = peer.connected(CONNECT_LIMIT) => Connecting::Up(up),
        () = wait_for_end(&mut signals) => Connecting::CallerGone,
        page = wait_for_hangup(from_page, &id) => Connecting::PageDone(page),
    };
    let mut page = PageState::Open;
    let up = match connecting {
        Connecting::Up(up) => up,
        Connecting::CallerGone => {
            peer.close().await;
            let _ = to_page.send(ended(EndReason::Cancelled)).await;
            forget(ctx, &dialog).await;
            return PageState::Open;
        }
        Connecting::PageDone(page) => {
            peer.close().await;
            endpoint
                .respond(&transaction, reply(StatusCode::TemporarilyUnavailable))
                .await;
            let _ = to_page.send(ended(EndReason::LocalHangup)).await;
            forget(ctx, &dialog).await;
            return page;
        }
    };
    if !up {
        refuse_media(&"ICE/DTLS did not connect");
        peer.close().await;
        endpoint
            .respond(&transaction, reply(StatusCode::TemporarilyUnavailable))
            .await;
        let _ = to_page.send(ended(EndReason::MediaFailed)).await;
        forget(ctx, &dialog).await;
        return page;
    }
    let contact = contact_header(ctx.media_ip, ctx.contact_addr.port(), flow);
    let mut leg_media = LegMedia {
        sdp: sip_answer.clone(),
        version: local_media.session_version,
    };
    // The page's leg takes no REFER from Hotline (403), so its Allow does not offer it.
    let ok = crate::call::answer::with_sdp_answer(
        reply(StatusCode::OK),
        contact,
        crate::sip::message::ALLOWED_METHODS,
        sip_answer,
    );
    endpoint.respond(&transaction, ok).await;
    let _ = to_page
        .send(ToBrowser::Connected { call: id.clone() })
        .await;
    let socket = Arc::new(socket);
    let _relay = peer.relay(
        Arc::clone(&socket),
        negotiated.remote,
        PayloadTypes {
            sip_audio: negotiated.codec_pt,
            sip_events: negotiated.telephone_event_pt,
        },
    );

    let mut dialog = dialog;
    // Once Hotline accepted a transfer, its BYE ends this leg as "transferred".
    let mut transferred = false;
    let (reason, bye) = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Some(CallSignal::Bye) if transferred => break (EndReason::Transferred, false),
                Some(CallSignal::Bye) => break (EndReason::RemoteHangup, false),
                Some(CallSignal::Cancelled) => break (EndReason::Cancelled, false),
                Some(CallSignal::AckTimeout) | None => break (EndReason::RemoteHangup, true),
                Some(CallSignal::ReInvite { request, transaction }) => {
                    // Hold and new media are not relayed to the browser yet.
                    let r = message::response(&request, StatusCode::NotAcceptableHere, Some(&local_tag));
                    endpoint.respond(&transaction, r).await;
                }
                Some(CallSignal::Refer { request, transaction }) => {
                    // Hotline does not transfer the page's leg; only the page asks for that.
                    let r = message::response(&request, StatusCode::Forbidden, Some(&local_tag));
                    endpoint.respond(&transaction, r).await;
                }
                Some(CallSignal::Ack(_) | CallSignal::InfoDigit(_)) => {}
            },
            message = from_page.recv() => match message {
                Some(FromBrowser::Hangup { call }) if call == id => break (EndReason::LocalHangup, true),
                Some(FromBrowser::Hold { call }) if call == id => {
                    change_hold(ctx, &mut dialog, &mut leg_media, to_page, &id, true).await;
                }
                Some(FromBrowser::Resume { call }) if call == id => {
                    change_hold(ctx, &mut dialog, &mut leg_media, to_page, &id, false).await;
                }
                Some(FromBrowser::Transfer { call, to }) if call == id => {
                    match transfer::refer(endpoint, &mut dialog, ctx.media_ip, &to, user).await {
                        Ok(()) => transferred = true,
                        Err(e) => {
                            tracing::info!(error = %e, call_id = %id, %to, "transfer not made");
                            let message = format!("not transferred to {to}: {e}");
                            let _ = to_page.send(ToBrowser::Error { message }).await;
                        }
                    }
                }
                Some(_) => {}
                None => {
                    page = PageState::Gone;
                    break (EndReason::LocalHangup, true);
                }
            },
            () = peer.lost() => break (EndReason::MediaFailed, true),
            Some(other) = calls.recv() => refuse(other, endpoint, Refusal::BusyHere, None).await,
        }
    };
    drop(_relay);
    peer.close().await;
    if bye {
        send_bye(endpoint, &mut dialog, ctx.media_ip).await;
    }
    let _ = to_page.send(ended(reason)).await;
    forget(ctx, &dialog).await;
    page
}

/// Puts the call on hold or back, and tells the page how it stands. A refused re-INVITE
/// leaves the call as it was (§14.1) and the page is told so.
async fn change_hold(
    ctx: &Context,
    dialog: &mut Dialog,
    media: &mut LegMedia,
    to_page: &mpsc::Sender<ToBrowser>,
    id: &str,
    held: bool,
) {
    let message = match hold::set_hold(&ctx.endpoint, dialog, media, ctx.media_ip, held).await {
        Ok(()) => ToBrowser::Hold {
            call: id.to_string(),
            on_hold: held,
        },
        Err(e) => {
            tracing::warn!(error = %e, call_id = %id, held, "hold not changed");
            ToBrowser::Error {
                message: format!("hold not changed: {e}"),
            }
        }
    };
    let _ = to_page.send(message).await;
}

/// Resolves when the caller leg ends before it was answered.
async fn wait_for_end(signals: &mut mpsc::Receiver<CallSignal>) {
    loop {
        match signals.recv().await {
            Some(CallSignal::Cancelled | CallSignal::Bye) | None => return,
            Some(_) => {}
        }
    }
}

/// Resolves when the page hangs up `id` (or closes) while it connects.
async fn wait_for_hangup(from_page: &mut mpsc::Receiver<FromBrowser>, id: &str) -> PageState {
    loop {
        match from_page.recv().await {
            Some(FromBrowser::Hangup { call } | FromBrowser::Decline { call }) if call == id => {
                return PageState::Open
            }
            Some(_) => {}
            None => return PageState::Gone,
        }
    }
}

async fn forget(ctx: &Context, dialog: &Dialog) {
    ctx.endpoint
        .forget(&dialog.call_id, &dialog.remote_tag)
        .await;
}
