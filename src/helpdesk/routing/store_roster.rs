//! The roster the server routes with: the rota and presence from the store, phones from the
//! registrar's bindings — each read's last answer kept for when the database does not answer.

use super::last_known::LastKnown;
use super::roster::{EscalationStep, Known, Roster};
use crate::call::outbound::Target;
use crate::helpdesk::ticket_writer::Reachability;
use crate::oncall::{Presence, Rota};
use crate::phones::Phones;
use crate::sip::endpoint::EndpointHandle;
use crate::sip::registrar::Transport;
use crate::sip::transport::Flow;
use crate::store::{Phone, Store, StoreError};
use crate::tickets::{Category, Language, Ticket};
use chrono::Utc;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long ringing waits for one read before routing with its last answer: the pool waits
/// its whole connect timeout (10 s) for a database that is down, and the caller would hear
/// ringback that long with no phone ringing.
const READ_WAIT: Duration = Duration::from_secs(1);

/// Reads who to ring from the store at the moment of ringing, so a rota change or a
/// technician going away counts for the very next call. When the database does not answer
/// (PostgreSQL restarting), routes with what it last answered, so an urgent caller still
/// reaches the technician they would have reached before the outage.
pub struct StoreRoster {
    store: Store,
    endpoint: EndpointHandle,
    /// The registrar's flows: a phone registered over TCP is called on its own connection.
    phones: Phones,
    /// The language announcements are made in (technicians have no language of their own yet).
    language: Language,
    /// Busy flags written in the background, kept through a database outage.
    busy: super::busy::BusyFlags,
    /// Whether the database is known down: then no read is tried, the last answers are used.
    reachability: Arc<Reachability>,
    rota: LastKnown<(), Rota>,
    /// By technician.
    presence: LastKnown<String, Presence>,
    /// Stored bindings by technician (the flows to reach them are the registrar's, in memory).
    bindings: LastKnown<String, Vec<Phone>>,
}

impl StoreRoster {
    pub fn new(
        store: Store,
        endpoint: EndpointHandle,
        phones: Phones,
        language: Language,
        reachability: Arc<Reachability>,
    ) -> StoreRoster {
        StoreRoster {
            busy: super::busy::BusyFlags::new(store.clone()),
            store,
            endpoint,
            phones,
            language,
            reachability,
            rota: LastKnown::default(),
            presence: LastKnown::default(),
            bindings: LastKnown::default(),
        }
    }

    /// `read`'s answer, kept in `kept` under `key`; when it fails or does not answer within
    /// [`READ_WAIT`] (or at once, the database known down), the answer kept from before.
    /// `None` when there is none: nothing ever read (the process started during the outage).
    async fn read<K, V>(
        &self,
        what: &str,
        kept: &LastKnown<K, V>,
        key: K,
        read: impl Future<Output = Result<V, StoreError>>,
    ) -> Option<Known<V>>
    where
        K: Eq + std::hash::Hash,
        V: Clone,
    {
        let started = Instant::now();
        let failure = if self.reachability.is_down() {
            "the database is down".to_string()
        } else {
            match tokio::time::timeout(READ_WAIT, read).await {
                Ok(Ok(value)) => {
                    kept.remember(key, value.clone(), started);
                    return Some(Known::fresh(value));
                }
                Ok(Err(e)) => {
                    if e.is_unavailable() {
                        self.reachability.mark_down(&self.store);
                    }
                    e.to_string()
                }
                Err(_) => {
                    self.reachability.mark_down(&self.store);
                    format!("no answer within {} ms", READ_WAIT.as_millis())
                }
            }
        };
        match kept.recall(&key, Instant::now()) {
            Some(recalled) => {
                tracing::warn!(
                    what,
                    age_secs = recalled.age.as_secs(),
                    reason = %failure,
                    "cannot read; routing with the last answer"
                );
                Some(Known {
                    value: recalled.value,
                    last_read: Some(recalled.age),
                })
            }
            None => {
                tracing::error!(what, reason = %failure, "cannot read, and nothing read before");
                None
            }
        }
    }

    async fn read_rota(&self) -> Option<Known<Rota>> {
        let read = self.store.rota(Utc::now());
        self.read("the rota", &self.rota, (), read).await
    }
}

/// The older of two answers' ages (`None`: read just now).
fn oldest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Roster for StoreRoster {
    async fn steps(&self, ticket: &Ticket, team: Option<&str>) -> Known<Vec<EscalationStep>> {
        let now = Utc::now();
        let Some(Known {
            value: rota,
            mut last_read,
        }) = self.read_rota().await
        else {
            return Known::fresh(Vec::new());
        };
        let category = ticket.category.unwrap_or(Category::Other);
        let team = match team {
            Some(name) => rota.team(name),
            None => rota.team_for(category),
        };
        let Some(team) = team else {
            tracing::warn!(?category, "no team handles this call");
            return Known {
                value: Vec::new(),
                last_read,
            };
        };
        let order = rota.on_call(team, now);
        let mut steps = Vec::new();
        for step in &team.escalation {
            let Some(person) = order.iter().find(|o| o.position == step.position) else {
                continue;
            };
            let read = self.store.presence(&person.user, now);
            let what = format!("the presence of {}", person.user);
            let Some(presence) = self
                .read(&what, &self.presence, person.user.clone(), read)
                .await
            else {
                continue;
            };
            last_read = oldest(last_read, presence.last_read);
            // A technician this node is marking busy is on a call here, whatever the
            // database said before it took the flag.
            let presence = match presence.value {
                Presence::Available if self.busy.being_marked_busy(&person.user) => Presence::Busy,
                other => other,
            };
            match presence {
                Presence::Available => steps.push(EscalationStep {
                    technician: person.user.clone(),
                    role: step.position.as_str().to_string(),
                    ring: step.ring,
                    language: self.language,
                }),
                other => {
                    tracing::info!(user = %person.user, presence = other.as_str(), "on call but not available; skipped")
                }
            }
        }
        Known {
            value: steps,
            last_read,
        }
    }

    async fn team_of(&self, ticket: &Ticket, team: Option<&str>) -> Option<String> {
        let rota = self.read_rota().await?.value;
        let category = ticket.category.unwrap_or(Category::Other);
        match team {
            Some(name) => rota.team(name),
            None => rota.team_for(category),
        }
        .map(|t| t.name.clone())
    }

    async fn devices(&self, technician: &str) -> Known<Vec<Target>> {
        let read = self.store.bindings(technician, Utc::now());
        let what = format!("the phones of {technician}");
        // Kept bindings are used past their expiry: a phone refreshing its registration
        // during the outage could not have it stored.
        let Some(Known {
            value: phones,
            last_read,
        }) = self
            .read(&what, &self.bindings, technician.to_string(), read)
            .await
        else {
            return Known::fresh(Vec::new());
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
        Known {
            value: targets,
            last_read,
        }
    }

    async fn set_busy(&self, technician: &str, busy: bool) {
        self.busy.set(technician, busy);
    }

    async fn busy_written(&self, technician: &str) {
        // The other nodes read the flag from the database: a caller they offer the moment
        // this one leaves the queue must not ring a technician about to talk here. With the
        // database known down they read nothing either, and the caller does not wait.
        if !self.reachability.is_down() {
            self.busy.written(technician, READ_WAIT).await;
        }
    }
}
