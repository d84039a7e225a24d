//! The roster the server routes with: the rota and presence from the store, phones from the
//! registrar's bindings.

use super::roster::{EscalationStep, Roster};
use crate::call::outbound::Target;
use crate::oncall::Presence;
use crate::phones::Phones;
use crate::sip::endpoint::EndpointHandle;
use crate::sip::registrar::Transport;
use crate::sip::transport::Flow;
use crate::store::Store;
use crate::tickets::{Category, Language, Ticket};
use chrono::Utc;

/// Reads who to ring from the store at the moment of ringing, so a rota change or a
/// technician going away counts for the very next call.
pub struct StoreRoster {
    pub store: Store,
    pub endpoint: EndpointHandle,
    /// The registrar's flows: a phone registered over TCP is called on its own connection.
    pub phones: Phones,
    /// The language announcements are made in (technicians have no language of their own yet).
    pub language: Language,
    /// Busy flags written in the background, kept through a database outage.
    pub busy: super::busy::BusyFlags,
}

impl Roster for StoreRoster {
    async fn steps(&self, ticket: &Ticket, team: Option<&str>) -> Vec<EscalationStep> {
        let now = Utc::now();
        let rota = match self.store.rota(now).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the rota; nobody can be rung");
                return Vec::new();
            }
        };
        let category = ticket.category.unwrap_or(Category::Other);
        let team = match team {
            Some(name) => rota.team(name),
            None => rota.team_for(category),
        };
        let Some(team) = team else {
            tracing::warn!(?category, "no team handles this call");
            return Vec::new();
        };
        let order = rota.on_call(team, now);
        let mut steps = Vec::new();
        for step in &team.escalation {
            let Some(person) = order.iter().find(|o| o.position == step.position) else {
                continue;
            };
            match self.store.presence(&person.user, now).await {
                Ok(Presence::Available) => steps.push(EscalationStep {
                    technician: person.user.clone(),
                    role: step.position.as_str().to_string(),
                    ring: step.ring,
                    language: self.language,
                }),
                Ok(other) => {
                    tracing::info!(user = %person.user, presence = other.as_str(), "on call but not available; skipped")
                }
                Err(e) => tracing::error!(error = %e, "cannot read presence"),
            }
        }
        steps
    }

    async fn team_of(&self, ticket: &Ticket, team: Option<&str>) -> Option<String> {
        let rota = self.store.rota(Utc::now()).await.ok()?;
        let category = ticket.category.unwrap_or(Category::Other);
        match team {
            Some(name) => rota.team(name),
            None => rota.team_for(category),
        }
        .map(|t| t.name.clone())
    }

    async fn devices(&self, technician: &str) -> Vec<Target> {
        let phones = match self.store.bindings(technician, Utc::now()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the technician's phones");
                return Vec::new();
            }
        };
        let mut targets = Vec::new();
        for phone in phones.into_iter().filter(|p| p.reachable) {
            let binding = phone.binding;
            // A phone is reached where its REGISTER came from (behind a NAT its Contact is
            // unreachable); over TCP through a connection to that address.
            let flow = match binding.transport {
                Transport::Udp => Flow::Udp,
                Transport::Tcp => {
                    match self
                        .phones
                        .flow(technician, &binding.contact, binding.transport)
                    {
                        Some(flow) => flow,
                        // Its connection is gone (or on another node): try a new one.
                        None => match self.endpoint.connect_tcp(binding.source).await {
                            Ok(flow) => flow,
                            Err(e) => {
                                tracing::info!(error = %e, "phone not reachable over TCP");
                                continue;
                            }
                        },
                    }
                }
                // We open no TLS connections: a TLS phone is rung on the connection it registered
                // on, and is unreachable here when that has closed (it reconnects to register).
                Transport::Tls => {
                    match self
                        .phones
                        .flow(technician, &binding.contact, binding.transport)
                    {
                        Some(flow) => flow,
                        None => {
                            tracing::info!(contact = %binding.contact, "phone's TLS connection is closed");
                            continue;
                        }
                    }
                }
            };
            targets.push(Target {
                uri: binding.contact.clone(),
                to: format!("<sip:{technician}@{}>", binding.source.ip()),
                flow,
                dest: binding.source,
            });
        }
        targets
    }

    async fn set_busy(&self, technician: &str, busy: bool) {
        self.busy.set(technician, busy);
    }
}
