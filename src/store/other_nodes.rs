//! What the nodes on one PostgreSQL database tell each other, over `LISTEN`/`NOTIFY`: that a
//! queue moved (`wake`), and the ticket changes and call alerts their live views show
//! (`changes`).
//!
//! Each node keeps one listening connection. Its own changes go out from one task, in the order
//! they were committed, grouped into as few notifications as a burst allows (one per batch of
//! up to [`PER_NOTIFY`]), so a node under load adds a statement per batch, not per timeline
//! event. They are hints, not data: a node that was not listening (the connection broke, the
//! database restarted) misses them, and its pages show the other nodes' changes from the next
//! one on (the queues look again on their own timer). The receiving node reads a ticket's
//! reference only when one of its pages is watching.

use super::changes::{AlertKind, CallAlert, ChangeKind, TicketChange};
use super::wake::Wake;
use super::Store;
use crate::tickets::TicketRef;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// The channel of queue wake-ups; the payload is the sending node's name.
pub(super) const WAKE_CHANNEL: &str = "hotline_queue_moved";
/// The channel of live changes; the payload is a [`News`] in JSON.
const CHANGES_CHANNEL: &str = "hotline_changes";
/// How long the listener waits before connecting again after the database refused it.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Changes waiting to be sent; beyond it they are dropped (the database is not answering, and
/// the other nodes' pages would only be told late what they will see on their next change).
const OUTBOX: usize = 4096;
/// Entries of one notification: PostgreSQL refuses a payload of 8000 bytes or more, and an
/// entry is at most a ticket reference, a kind and a user name.
const PER_NOTIFY: usize = 32;
/// A payload's limit (PostgreSQL's, less a margin).
const MAX_PAYLOAD: usize = 7900;

/// This node's link to the others: shared by every clone of its `Store`.
pub(super) struct OtherNodes {
    /// Where to listen: PostgreSQL only (`None` on SQLite: one node).
    url: Option<String>,
    /// Set once this node has joined (`Store::join_other_nodes`); until then nothing is sent.
    outbox: OnceLock<mpsc::Sender<Outgoing>>,
    /// Dropped with the last `Store`, which ends the listener and the sender.
    _alive: watch::Sender<()>,
    alive: watch::Receiver<()>,
}

impl OtherNodes {
    pub(super) fn new(url: Option<String>) -> Arc<OtherNodes> {
        let (_alive, alive) = watch::channel(());
        Arc::new(OtherNodes {
            url,
            outbox: OnceLock::new(),
            _alive,
            alive,
        })
    }
}

/// One thing to tell the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Outgoing {
    Change {
        ticket: Subject,
        kind: ChangeKind,
    },
    Alert {
        technician: String,
        reference: TicketRef,
        alert: AlertKind,
    },
}

/// The ticket a change is about: its reference when the writer had it at hand, else its id
/// (a timeline event), read into a reference by a node that has a page watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Subject {
    Reference(TicketRef),
    Id(i64),
}

/// One notification's payload.
#[derive(Debug, Serialize, Deserialize)]
struct News {
    from: String,
    news: Vec<Outgoing>,
}

impl Store {
    /// On PostgreSQL, joins the other nodes on the same database until the last handle on this
    /// store is dropped: listens for their queue wake-ups and live changes, and sends this
    /// node's changes. Nothing to do on SQLite (one node). Call it once, in the server.
    pub fn join_other_nodes(&self) {
        let Some(url) = self.nodes.url.clone() else {
            return;
        };
        let (outbox, outgoing) = mpsc::channel(OUTBOX);
        if self.nodes.outbox.set(outbox).is_err() {
            return;
        }
        let node = self.node.as_str().to_string();
        tokio::spawn(send(self.writer.clone(), node.clone(), outgoing));
        let here = Here {
            node,
            wake: Arc::downgrade(&self.wake),
            changes: self.changes.clone(),
            alerts: self.alerts.clone(),
            pool: self.pool.clone(),
        };
        tokio::spawn(listen(url, here, self.nodes.alive.clone()));
    }

    /// Whether this node's changes go to the other nodes (it joined them).
    pub(super) fn telling_other_nodes(&self) -> bool {
        self.nodes.outbox.get().is_some()
    }

    /// Tells the other nodes' live views about a committed change.
    pub(super) fn tell_change_by_reference(&self, change: TicketChange) {
        self.tell(Outgoing::Change {
            ticket: Subject::Reference(change.reference),
            kind: change.kind,
        });
    }

    /// Tells the other nodes' live views that ticket `id` changed.
    pub(super) fn tell_change_by_id(&self, id: i64, kind: ChangeKind) {
        self.tell(Outgoing::Change {
            ticket: Subject::Id(id),
            kind,
        });
    }

    /// Tells the technician's pages open on the other nodes about a routed call.
    pub(super) fn tell_alert(&self, alert: &CallAlert) {
        self.tell(Outgoing::Alert {
            technician: alert.technician.clone(),
            reference: alert.reference,
            alert: alert.kind,
        });
    }

    fn tell(&self, news: Outgoing) {
        if let Some(outbox) = self.nodes.outbox.get() {
            // Full: the database has not taken the last few thousand; this one is lost too.
            let _ = outbox.try_send(news);
        }
    }
}

/// Sends this node's changes, in order, each burst in as few notifications as it fits.
async fn send(writer: AnyPool, from: String, mut outgoing: mpsc::Receiver<Outgoing>) {
    let mut batch = Vec::new();
    while outgoing.recv_many(&mut batch, OUTBOX).await > 0 {
        for chunk in batch.chunks(PER_NOTIFY) {
            for payload in payloads(&from, chunk) {
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANGES_CHANNEL)
                    .bind(payload)
                    .execute(&writer)
                    .await;
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "the other nodes are not told of this node's changes");
                }
            }
        }
        batch.clear();
    }
}

/// `news` as payloads under PostgreSQL's limit: one, or halves of it while too long (one
/// entry too long on its own, an absurd user name, is dropped).
fn payloads(from: &str, news: &[Outgoing]) -> Vec<String> {
    let payload = serde_json::to_string(&News {
        from: from.to_string(),
        news: news.to_vec(),
    })
    .expect("news serialise");
    if payload.len() <= MAX_PAYLOAD {
        vec![payload]
    } else if news.len() > 1 {
        let (first, second) = news.split_at(news.len() / 2);
        let mut both = payloads(from, first);
        both.extend(payloads(from, second));
        both
    } else {
        tracing::warn!(
            len = payload.len(),
            "a change too long to tell the other nodes"
        );
        Vec::new()
    }
}

/// What the listener delivers to on this node. Holds no `Store`: the listener ends when the
/// last one is dropped.
struct Here {
    node: String,
    wake: Weak<Wake>,
    changes: broadcast::Sender<TicketChange>,
    alerts: broadcast::Sender<CallAlert>,
    pool: AnyPool,
}

impl Here {
    fn wake_queues(&self) {
        if let Some(wake) = self.wake.upgrade() {
            wake.woken();
        }
    }

    /// Delivers another node's news to this node's live views (if any is watching).
    async fn deliver(&self, payload: &str) {
        let news: News = match serde_json::from_str(payload) {
            Ok(news) => news,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable news from another node");
                return;
            }
        };
        if news.from == self.node {
            return;
        }
        for item in news.news {
            match item {
                Outgoing::Change { ticket, kind } => {
                    if self.changes.receiver_count() == 0 {
                        continue;
                    }
                    if let Some(reference) = self.reference(ticket).await {
                        let _ = self.changes.send(TicketChange { reference, kind });
                    }
                }
                Outgoing::Alert {
                    technician,
                    reference,
                    alert,
                } => {
                    if self.alerts.receiver_count() > 0 {
                        let _ = self.alerts.send(CallAlert {
                            technician,
                            reference,
                            kind: alert,
                        });
                    }
                }
            }
        }
    }

    async fn reference(&self, ticket: Subject) -> Option<TicketRef> {
        let id = match ticket {
            Subject::Reference(reference) => return Some(reference),
            Subject::Id(id) => id,
        };
        let read: Result<Option<Option<String>>, _> =
            sqlx::query_scalar("SELECT reference FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await;
        match read {
            Ok(reference) => reference.flatten().and_then(|r| r.parse().ok()),
            Err(e) => {
                tracing::debug!(error = %e, "another node's change not shown: its ticket unread");
                None
            }
        }
    }
}

async fn listen(url: String, here: Here, mut alive: watch::Receiver<()>) {
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    loop {
        let next = async {
            let listening = match listener.as_mut() {
                Some(l) => l,
                None => {
                    let mut l = sqlx::postgres::PgListener::connect(&url).await?;
                    l.listen_all([WAKE_CHANNEL, CHANGES_CHANNEL]).await?;
                    // Whatever was sent while nobody listened is lost: the queues look again
                    // now (the live views see the next change).
                    here.wake_queues();
                    listener.insert(l)
                }
            };
            listening.try_recv().await
        };
        let received = tokio::select! {
            _ = alive.changed() => return,
            received = next => received,
        };
        match received {
            Ok(Some(n)) if n.channel() == CHANGES_CHANNEL => here.deliver(n.payload()).await,
            Ok(Some(n)) if n.payload() == here.node => {}
            // Another node's wake-up, or the connection was lost (the next receive connects
            // again, waiting for the database up to its pool's timeout, and what was sent
            // meanwhile is lost): look again.
            Ok(_) => here.wake_queues(),
            Err(e) => {
                tracing::debug!(error = %e, "not listening to the other nodes; trying again");
                listener = None;
                tokio::select! {
                    _ = alive.changed() => return,
                    _ = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u32) -> Outgoing {
        Outgoing::Change {
            ticket: Subject::Reference(format!("HD-2026-{n:06}").parse().unwrap()),
            kind: ChangeKind::Updated,
        }
    }

    #[test]
    fn news_read_back_as_sent() {
        let news = vec![
            change(42),
            Outgoing::Change {
                ticket: Subject::Id(7),
                kind: ChangeKind::Transcript,
            },
            Outgoing::Alert {
                technician: "tess".into(),
                reference: "HD-2026-000042".parse().unwrap(),
                alert: AlertKind::Ringing,
            },
        ];
        let [payload] = payloads("pbx-a", &news).try_into().unwrap();
        let read: News = serde_json::from_str(&payload).unwrap();
        assert_eq!(read.from, "pbx-a");
        assert_eq!(read.news, news);
    }

    #[test]
    fn a_full_batch_fits_one_notification() {
        let news: Vec<_> = (0..PER_NOTIFY as u32).map(change).collect();
        assert_eq!(payloads("pbx-a", &news).len(), 1);
    }

    #[test]
    fn news_too_long_for_one_notification_are_split_and_none_is_lost() {
        let long = |n: u32| Outgoing::Alert {
            technician: "t".repeat(1000),
            reference: format!("HD-2026-{n:06}").parse().unwrap(),
            alert: AlertKind::Stopped,
        };
        let news: Vec<_> = (0..20).map(long).collect();
        let sent = payloads("pbx-a", &news);
        assert!(sent.len() > 1);
        assert!(sent.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let read: Vec<Outgoing> = sent
            .iter()
            .flat_map(|p| serde_json::from_str::<News>(p).unwrap().news)
            .collect();
        assert_eq!(read, news);
        // One alone over the limit is dropped, not sent to be refused.
        assert!(payloads(
            "pbx-a",
            &[Outgoing::Alert {
                technician: "t".repeat(MAX_PAYLOAD),
                reference: "HD-2026-000001".parse().unwrap(),
                alert: AlertKind::Stopped,
            }]
        )
        .is_empty());
    }
}
