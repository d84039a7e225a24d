//! The helpdesk's side of a call: its ticket, its run through the dialplan, its voicemail and
//! how it ended.
//!
//! `server` builds a [`Helpdesk`] from the configuration and hands it every new call
//! ([`handle_call`]); nothing below this layer knows it exists. It speaks to the caller through
//! `call` (answer, play, collect, record, refuse), to the dialplan through `ivr`'s `CallHost`,
//! and to the database through `store`: it never reads SIP messages itself.

mod call_task;
pub mod disposition;
pub mod features;
mod host;
pub mod kept_writes;
pub mod recordings_disk;
pub mod restart;
pub mod routing;
pub mod ticket_writer;
pub mod voicemail;

pub use call_task::handle_call;

use crate::call::answer::AnswerContext;
use crate::ivr::Dialplan;
use crate::media::prompt::PromptLibrary;
use crate::store::Store;
use std::sync::{Arc, RwLock};
use voicemail::Voicemail;

/// How routed calls reach out: the gateway call-backs go through, and which conversations are
/// recorded.
pub struct CallsOut {
    pub gateway: Option<std::net::SocketAddr>,
    pub conversations: routing::recorded::ConversationPolicy,
}

/// What every call task shares: how to answer, what to play, the running dialplan, the ticket
/// store and the voicemail box.
pub struct Helpdesk {
    pub(crate) answer: AnswerContext,
    pub(crate) prompts: Arc<PromptLibrary>,
    /// Swapped whole on reload; calls in progress keep the plan they started with.
    dialplan: RwLock<Arc<Dialplan>>,
    pub(crate) store: Store,
    pub(crate) voicemail: Voicemail,
    /// Who routed calls ring: the rota, presence and phones, read when ringing (their last
    /// answers when the database is down).
    pub(crate) roster: routing::StoreRoster,
    /// Callers waiting for a team on this node (also written to the store on PostgreSQL, for
    /// the other nodes).
    pub(crate) queues: routing::CallQueues,
    /// Technicians' phones: tells a technician's call (a feature code) from a caller's.
    pub(crate) phones: crate::phones::Phones,
    /// Where call-backs to callers are sent (`sip.outbound_gateway`).
    pub(crate) gateway: Option<std::net::SocketAddr>,
    /// Which conversations with technicians are recorded, and where.
    pub(crate) conversations: routing::recorded::ConversationPolicy,
    /// Whether the database is known down: new calls are refused, calls in progress keep
    /// their ticket writes (`ticket_writer`).
    pub(crate) reachability: Arc<ticket_writer::Reachability>,
    /// The writer of each ticket being written, shared by its call and routing on its behalf.
    pub(crate) writers: ticket_writer::TicketWriters,
}

impl Helpdesk {
    pub fn new(
        answer: AnswerContext,
        prompts: Arc<PromptLibrary>,
        dialplan: Dialplan,
        store: Store,
        voicemail: Voicemail,
        phones: crate::phones::Phones,
        calls_out: CallsOut,
    ) -> Helpdesk {
        let CallsOut {
            gateway,
            conversations,
        } = calls_out;
        let reachability = Arc::<ticket_writer::Reachability>::default();
        let roster = routing::StoreRoster::new(
            store.clone(),
            answer.endpoint.clone(),
            phones.clone(),
            dialplan.default_language,
            reachability.clone(),
        );
        let writers = ticket_writer::TicketWriters::new(store.clone(), reachability.clone());
        Helpdesk {
            roster,
            // Several nodes can only share PostgreSQL: on SQLite the queue stays this node's.
            queues: if store.dialect() == crate::store::Dialect::Postgres {
                routing::CallQueues::shared(store.clone())
            } else {
                routing::CallQueues::default()
            },
            phones,
            gateway,
            conversations,
            answer,
            prompts,
            dialplan: RwLock::new(Arc::new(dialplan)),
            store,
            voicemail,
            reachability,
            writers,
        }
    }

    /// Journals the ticket writes kept through a database outage in `journal` (the data
    /// directory's), so a crash during the outage loses none (`kept_writes`).
    pub fn with_kept_writes(mut self, journal: kept_writes::KeptWrites) -> Helpdesk {
        self.writers = self.writers.journalled(journal);
        self
    }

    /// The ticket store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The dialplan new calls run through.
    pub fn dialplan(&self) -> Arc<Dialplan> {
        self.dialplan.read().expect("poisoned").clone()
    }

    /// Routing for one call, heard in `language`.
    pub(crate) fn router(
        &self,
        language: crate::tickets::Language,
    ) -> routing::Router<'_, routing::StoreRoster> {
        routing::Router {
            answer: &self.answer,
            prompts: &self.prompts,
            store: &self.store,
            roster: &self.roster,
            queues: &self.queues,
            conversations: &self.conversations,
            disk: self.voicemail.disk(),
            writers: &self.writers,
            language,
        }
    }

    /// Plays the prompt `name` to `leg`, then hangs up (a leg that hangs up first just ends).
    pub(crate) async fn tell_and_hang_up(
        &self,
        mut leg: crate::call::CallControl,
        language: crate::tickets::Language,
        name: &str,
    ) {
        if leg.ended().is_none() {
            let prompt = self.prompts.get(language.as_str(), name);
            if prompt.is_none() {
                tracing::warn!(%language, %name, "prompt missing");
            }
            let _ = leg.play(prompt.into_iter().collect(), false).await;
        }
        let cause = leg.ended().unwrap_or(crate::call::EndCause::Completed);
        crate::call::answer::finish(leg, cause).await;
    }

    /// Replaces the dialplan for new calls; calls in progress keep theirs.
    pub fn set_dialplan(&self, plan: Dialplan) {
        *self.dialplan.write().expect("poisoned") = Arc::new(plan);
    }
}

/// Logs a failed store write that must not stop a call (the shared queue's rows and take
/// requests): the caller is never dropped for the store.
pub(crate) fn log_store<T>(result: Result<T, crate::store::StoreError>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "store update failed");
    }
}
