//! One softphone page: its binding in the store while it is open, and its calls, one at a time.

use super::call::{self, PageState};
use super::gateway::{forget_session, Context};
use super::protocol::{FromBrowser, ToBrowser};
use crate::sip::endpoint::NewCall;
use crate::sip::registrar::{Binding, BindingChange, Transport};
use chrono::Utc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A page's binding lives this long unless refreshed: a node that dies leaves bindings that
/// stop being rung within a minute and a half.
const BINDING_LIFETIME: Duration = Duration::from_secs(90);
/// Refreshed well before it lapses.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

pub(super) async fn run(
    ctx: Context,
    user: String,
    id: String,
    mut from_page: mpsc::Receiver<FromBrowser>,
    to_page: mpsc::Sender<ToBrowser>,
    mut calls: mpsc::Receiver<NewCall>,
) {
    let contact = format!("sip:{user}-web-{id}@{}", ctx.contact_addr);
    // Stored before the page hears it is a phone: a call routed from then on rings it.
    save_binding(&ctx, &user, &contact, &id).await;
    let refresher = {
        let (ctx, user, contact, id) = (ctx.clone(), user.clone(), contact.clone(), id.clone());
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + REFRESH_EVERY;
            let mut tick = tokio::time::interval_at(start, REFRESH_EVERY);
            loop {
                tick.tick().await;
                save_binding(&ctx, &user, &contact, &id).await;
            }
        })
    };
    let _ = to_page
        .send(ToBrowser::Ready {
            contact: contact.clone(),
        })
        .await;
    loop {
        tokio::select! {
            call = calls.recv() => {
                let Some(call) = call else { break };
                let state = call::run(&ctx, &user, call, &mut from_page, &to_page, &mut calls).await;
                if state == PageState::Gone {
                    break;
                }
            }
            message = from_page.recv() => match message {
                None => break,
                // A late click for a call that already ended: harmless.
                Some(m) => {
                    let _ = to_page.send(ToBrowser::Error {
                        message: format!("no call {} on this page", m.call()),
                    }).await;
                }
            },
        }
    }
    forget_session(&ctx.sessions, &id);
    refresher.abort();
    let remove = [BindingChange::Remove { contact }];
    if let Err(e) = ctx
        .store
        .apply_binding_changes(&user, &remove, Utc::now())
        .await
    {
        tracing::error!(error = %e, %user, "cannot remove the browser phone's binding");
    }
}

async fn save_binding(ctx: &Context, user: &str, contact: &str, id: &str) {
    let now = Utc::now();
    let binding = Binding {
        contact: contact.to_string(),
        expires_at: now + chrono::Duration::from_std(BINDING_LIFETIME).unwrap_or_default(),
        call_id: format!("browser-{id}"),
        cseq: 1,
        source: ctx.contact_addr,
        transport: Transport::Udp,
        user_agent: Some("Hotline browser phone".into()),
    };
    if let Err(e) = ctx
        .store
        .apply_binding_changes(user, &[BindingChange::Save(binding)], now)
        .await
    {
        tracing::error!(error = %e, %user, "cannot save the browser phone's binding");
    }
}
