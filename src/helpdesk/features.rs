//! Feature codes a technician dials from their phone: `*1` available, `*0` away, `*8` pick up
//! the first waiting call of their teams, `*8` + a ticket number for that caller. With nobody
//! waiting live (and an outbound gateway), `*8` calls back the first caller of their teams who
//! asked for a call-back, from the technician's phone.
//!
//! The caller is already known to be the technician (`phones::Phones::identify` checked their
//! password); this module answers, does what the code says, confirms with a short prompt and
//! hangs up — except for a pick-up, where the answered leg is handed to the waiting caller's
//! task, which bridges it and hangs it up when the conversation ends. A caller waiting on
//! another node (nodes sharing PostgreSQL) is not bridged to this leg: the technician hears
//! that their phone will ring, and the caller's node rings it (`routing::remote_take`).

use super::routing::Pickup;
use super::Helpdesk;
use crate::call::answer;
use crate::call::NewCall;
use crate::oncall::PresenceChoice;
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// What a technician asked for by dialling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureCode {
    Available,
    Away,
    /// `*8`: the first waiting call; `*8N`: the call of ticket number N (this year's).
    PickUp {
        ticket_number: Option<u32>,
    },
}

impl FeatureCode {
    /// Reads the dialled number (the Request-URI's user part); `None` for anything that is not
    /// a feature code, which is then an ordinary call to the helpdesk.
    pub fn parse(dialled: &str) -> Option<FeatureCode> {
        let code = dialled.strip_prefix('*')?;
        match code {
            "1" => Some(FeatureCode::Available),
            "0" => Some(FeatureCode::Away),
            "8" => Some(FeatureCode::PickUp {
                ticket_number: None,
            }),
            _ => {
                let digits = code.strip_prefix('8')?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(FeatureCode::PickUp {
                    ticket_number: Some(digits.parse().ok()?),
                })
            }
        }
    }
}

/// Carries out `code` for `technician` on their call.
pub async fn run(call: NewCall, technician: String, code: FeatureCode, helpdesk: Arc<Helpdesk>) {
    let span = tracing::info_span!("feature", %technician, ?code);
    let mut control = match answer::answer(call, &helpdesk.answer).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(parent: &span, error = %e, "feature code call not answered");
            return;
        }
    };
    let language = helpdesk.dialplan().default_language;
    let confirmation = match code {
        FeatureCode::Available | FeatureCode::Away => {
            let (choice, prompt) = if code == FeatureCode::Available {
                (PresenceChoice::Available, "presence_available")
            } else {
                (PresenceChoice::Away, "presence_away")
            };
            match helpdesk.store.set_presence(&technician, choice).await {
                Ok(()) => {
                    tracing::info!(parent: &span, presence = choice.as_str(), "presence set by feature code");
                    prompt
                }
                Err(e) => {
                    tracing::error!(parent: &span, error = %e, "cannot save presence");
                    "feature_failed"
                }
            }
        }
        FeatureCode::PickUp { ticket_number } => {
            let teams = match helpdesk.store.rota(Utc::now()).await {
                Ok(rota) => teams_of(&rota, &technician),
                Err(e) => {
                    tracing::error!(parent: &span, error = %e, "cannot read the rota");
                    Vec::new()
                }
            };
            // A ticket number alone means this year's ticket, as the caller was told it.
            let reference = ticket_number.map(|number| crate::tickets::TicketRef {
                year: chrono::Datelike::year(&Utc::now()) as u16,
                number,
            });
            let dialled_reference = reference.map(|r| r.to_string());
            let (done, finished) = oneshot::channel();
            let pickup = Pickup {
                technician: technician.clone(),
                leg: control,
                how: "*8 pick-up".into(),
                done,
            };
            match helpdesk
                .queues
                .pick_up(&teams, dialled_reference.as_deref(), pickup)
            {
                Ok(picked) => {
                    tracing::info!(parent: &span, ticket = %picked, "call picked up");
                    // The caller's task bridges the leg and hangs it up at the end, or hands
                    // it back when the caller left at the moment of the hand-over.
                    match finished.await {
                        Ok(Some(leg)) => {
                            tracing::info!(parent: &span, ticket = %picked, "the caller left before the pick-up");
                            control = leg;
                            "pickup_none"
                        }
                        _ => return,
                    }
                }
                Err(pickup) => {
                    control = pickup.leg;
                    // Nobody waits live here, but someone may on another node: that node rings
                    // this technician's phones. Asked only once this call is over, so the
                    // phone that dialled is free to ring.
                    if let Some(ticket) = helpdesk
                        .first_waiting_elsewhere(&technician, &teams, reference)
                        .await
                    {
                        tracing::info!(parent: &span, ticket, "taking a caller waiting on another node");
                        helpdesk
                            .tell_and_hang_up(control, language, "pickup_ringing")
                            .await;
                        helpdesk.request_take_elsewhere(ticket, &technician).await;
                        return;
                    }
                    // Nobody waits live: a caller who asked to be called back is next, called
                    // from this very phone.
                    match helpdesk.claim_call_back(&teams, reference).await {
                        Some((ticket, gateway)) => {
                            tracing::info!(parent: &span, ticket = %ticket.reference, "calling back on *8");
                            helpdesk
                                .star_8_call_back(control, ticket, &technician, gateway)
                                .await;
                            return;
                        }
                        None => {
                            tracing::info!(parent: &span, ?teams, "nothing to pick up");
                            "pickup_none"
                        }
                    }
                }
            }
        }
    };
    helpdesk
        .tell_and_hang_up(control, language, confirmation)
        .await;
}

/// The teams a technician answers for: as a member, the lead, or in one of its rotations.
fn teams_of(rota: &crate::oncall::Rota, technician: &str) -> Vec<String> {
    rota.teams
        .iter()
        .filter(|team| {
            team.members.iter().any(|m| m == technician)
                || team.lead.as_deref() == Some(technician)
                || rota
                    .rotations
                    .iter()
                    .any(|r| r.team == team.name && r.members.iter().any(|m| m == technician))
        })
        .map(|team| team.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_codes_are_read_from_the_dialled_number() {
        assert_eq!(FeatureCode::parse("*1"), Some(FeatureCode::Available));
        assert_eq!(FeatureCode::parse("*0"), Some(FeatureCode::Away));
        assert_eq!(
            FeatureCode::parse("*8"),
            Some(FeatureCode::PickUp {
                ticket_number: None
            })
        );
        assert_eq!(
            FeatureCode::parse("*8123"),
            Some(FeatureCode::PickUp {
                ticket_number: Some(123)
            })
        );
        for not_a_code in [
            "helpdesk",
            "1",
            "*",
            "*2",
            "*8x",
            "*81 2",
            "**8",
            "*899999999999",
        ] {
            assert_eq!(FeatureCode::parse(not_a_code), None, "{not_a_code}");
        }
    }
}
