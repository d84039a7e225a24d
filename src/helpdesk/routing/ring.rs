//! Offering a caller to technicians: ring each escalation step's phones in parallel, announce
//! the call to whoever answers, bridge on "1", move on when nobody takes it.
//!
//! The caller's leg stays ours throughout (a back-to-back user agent): they hear ringback
//! while phones ring and during the announcement, never silence, and their hang-up cancels
//! every phone still ringing. The ticket's timeline gets every phone rung and how it ended,
//! each escalation, who took the call, and who hung up after how long.

use super::announce::{self, PASS_KEY, TAKE_KEY};
use super::escalation::{Escalation, Stage};
use super::fork::{BranchEnd, BranchId, Fork, ForkAction, StepOutcome};
use super::queue::{CallQueues, Pickup, Place};
use super::roster::{EscalationStep, Roster};
use super::transfer::{TransferTarget, Transferor};
use crate::call::answer::{self as call_answer, AnswerContext};
use crate::call::outbound::{self, Attempt, Presentation, Progress, Target};
use crate::call::{CallControl, CallEnded, CallEvent, EndCause};
use crate::helpdesk::ticket_writer::{TicketWrite, TicketWriters};
use crate::ivr::{RouteMode, RouteOutcome, RouteSpec};
use crate::media::bridge;
use crate::media::prompt::{Prompt, PromptLibrary};
use crate::media::rtp_session::PlaybackId;
use crate::store::{AlertKind, Store};
use crate::tickets::{CallEventKind, Language, Ticket};
use futures_util::future::select_all;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often the head of a queue is offered again while nobody is free.
const QUEUE_RETRY: Duration = Duration::from_secs(5);
/// The soonest a queue's head is offered again after a change woke it (see `Store::queue_moved`).
const QUEUE_REOFFER: Duration = Duration::from_millis(250);

/// How long a technician has to press 1 or 2 after the announcement ends.
const DECISION_TIME: Duration = Duration::from_secs(10);

/// Everything routing uses, borrowed from the server for one call.
pub struct Router<'a, R: Roster> {
    pub answer: &'a AnswerContext,
    pub prompts: &'a PromptLibrary,
    pub store: &'a Store,
    pub roster: &'a R,
    /// The team queues of this node (written to the store when nodes share it).
    pub queues: &'a CallQueues,
    /// Which conversations are recorded.
    pub conversations: &'a super::recorded::ConversationPolicy,
    /// Room on the recordings disk, shared with the voicemails: no conversation is recorded
    /// under its floor.
    pub disk: &'a crate::helpdesk::recordings_disk::RecordingsDisk,
    /// Each ticket's writer: routing writes the caller's ticket through the caller's own, so
    /// a database outage delays its writes, in order with the call's, instead of losing them.
    pub writers: &'a TicketWriters,
    /// The caller's language: ringback, music, what they are told.
    pub language: Language,
}

/// What woke the ringing loop.
enum Next {
    Caller(Result<CallEvent, CallEnded>),
    Branch(usize, Option<Progress>),
}

/// How a conversation ended.
enum Ended {
    ByCaller(CallEnded),
    ByTechnician,
    Transferred(TransferTarget),
}

/// A technician who took the call, on the leg that answered.
pub(super) struct Taken {
    pub leg: CallControl,
    pub technician: String,
    /// The phone, for the timeline.
    pub device: String,
}

/// How [`Router::ring_in_turn`] rings an escalation's steps.
pub(super) struct Turns<'a, 'p, 'q> {
    /// Each step's ring time, in place of the team's.
    pub ring: Option<Duration>,
    /// Who the phones are told is calling.
    pub from: &'a Presentation,
    /// Whether the call is announced to whoever answers before they take it.
    pub announce: bool,
    /// The caller's place in the queue, left as a technician takes them.
    pub place: Option<&'a mut Place<'p>>,
    /// Told once a target's phone answers, when this rings a transfer's target.
    pub transferor: Option<&'q mut Transferor>,
}

impl<'a, 'p> Turns<'a, 'p, 'static> {
    /// As the route node says: its ring time and whether to announce.
    fn routed(
        spec: &RouteSpec,
        from: &'a Presentation,
        place: Option<&'a mut Place<'p>>,
    ) -> Turns<'a, 'p, 'static> {
        Turns {
            ring: spec.ring,
            from,
            announce: spec.announce,
            place,
            transferor: None,
        }
    }
}

impl<'a, 'q> Turns<'a, 'static, 'q> {
    /// A transfer's: announced, each step's own ring time, no queue place.
    pub(super) fn transfer(
        from: &'a Presentation,
        transferor: Option<&'q mut Transferor>,
    ) -> Turns<'a, 'static, 'q> {
        Turns {
            ring: None,
            from,
            announce: true,
            place: None,
            transferor,
        }
    }
}

/// What the caller hears while waiting, restarted whenever it ends.
pub(super) struct Waiting {
    prompt: Option<Arc<Prompt>>,
    playing: Option<PlaybackId>,
}

impl Waiting {
    pub(super) fn start(caller: &CallControl, prompt: Option<Arc<Prompt>>) -> Waiting {
        let playing = prompt.clone().map(|p| caller.start_playing(vec![p]));
        Waiting { prompt, playing }
    }

    /// Keeps the tone going: call on every event of the caller's leg.
    fn on_event(&mut self, caller: &CallControl, event: &CallEvent) {
        if let (CallEvent::PlaybackFinished(id), Some(p)) = (event, &self.prompt) {
            if Some(*id) == self.playing {
                self.playing = Some(caller.start_playing(vec![p.clone()]));
            }
        }
    }
}

impl<R: Roster> Router<'_, R> {
    /// Offers the call; `Ok(Answered)` once a technician took it and hung up, `Err` when the
    /// caller hung up (every phone already stopped).
    pub async fn offer(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        spec: &RouteSpec,
    ) -> Result<RouteOutcome, CallEnded> {
        if spec.mode == RouteMode::Queue {
            return self.wait_in_queue(caller, ticket, spec).await;
        }
        let steps = self.roster.steps(ticket, spec.team.as_deref()).await;
        self.note_last_read(ticket, "the rota and presence", steps.last_read)
            .await;
        let steps = steps.value;
        if steps.is_empty() {
            self.event(
                ticket,
                CallEventKind::RoutingAttempt,
                "nobody on call is available",
            )
            .await;
            caller
                .play(self.prompts_for(self.language, &["nobody_answered"]), false)
                .await?;
            return Ok(RouteOutcome::NobodyAvailable);
        }
        let from = self.presented(ticket);
        let mut ringback = Waiting::start(caller, self.prompt(self.language, "ringback"));
        let taken = self
            .ring_in_turn(
                caller,
                ticket,
                &steps,
                Turns::routed(spec, &from, None),
                &mut ringback,
            )
            .await;
        caller.stop_playing();
        if let Some(taken) = taken? {
            let technician = taken.technician.clone();
            self.talk_taken(caller, ticket, taken).await?;
            return Ok(RouteOutcome::Answered { technician });
        }
        caller
            .play(self.prompts_for(self.language, &["nobody_answered"]), false)
            .await?;
        Ok(RouteOutcome::NobodyAvailable)
    }

    /// Rings each of `steps` in turn, each until one of its phones takes the call or its time
    /// runs out (see [`Escalation`]), the caller hearing `waiting` throughout; the first
    /// technician to take it is returned. Every escalation goes through here: a routed call,
    /// the head of a queue, a transfer. Each step after the first is an escalation on the
    /// ticket's timeline.
    pub(super) async fn ring_in_turn(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        steps: &[EscalationStep],
        mut turns: Turns<'_, '_, '_>,
        waiting: &mut Waiting,
    ) -> Result<Option<Taken>, CallEnded> {
        let rings = steps.iter().map(|s| turns.ring.unwrap_or(s.ring));
        let mut escalation = Escalation::start(rings, Instant::now());
        while let Stage::Ringing { step: i, .. } = escalation.stage() {
            let step = &steps[i];
            if i > 0 {
                let detail = format!("to {} ({})", step.technician, step.role);
                self.event(ticket, CallEventKind::Escalated, &detail).await;
            }
            let taken = self
                .ring_step(
                    caller,
                    ticket,
                    step,
                    &mut escalation,
                    turns.from,
                    turns.announce,
                    waiting,
                    turns.place.as_deref_mut(),
                    turns.transferor.as_deref_mut(),
                )
                .await?;
            if taken.is_some() {
                return Ok(taken);
            }
        }
        Ok(None)
    }

    /// Rings every phone of the escalation's ringing `step` until one answers, all refuse, or
    /// its time runs out, and announces the call to the phone that answered (when `announce`).
    /// `Some` is the technician who took it, having left the queue (`place`) if the caller was
    /// queued; `None` when nobody at this step did, the escalation moved on. Every escalation
    /// rings its steps through here: a routed call, the head of a queue and a transfer (whose
    /// `transferor` is told once a target's phone answers).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn ring_step(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        step: &EscalationStep,
        escalation: &mut Escalation,
        from: &Presentation,
        announce: bool,
        waiting: &mut Waiting,
        place: Option<&mut Place<'_>>,
        transferor: Option<&mut Transferor>,
    ) -> Result<Option<Taken>, CallEnded> {
        let devices = self.roster.devices(&step.technician).await;
        let what = format!("the phones of {}", step.technician);
        self.note_last_read(ticket, &what, devices.last_read).await;
        let devices = devices.value;
        let answered = self
            .ring_phones(
                Some((&mut *caller, &mut *waiting)),
                ticket,
                &step.technician,
                &devices,
                escalation,
                from,
            )
            .await?;
        let Some((attempt, answer)) = answered else {
            return Ok(None);
        };
        let device = attempt.target().uri.clone();
        let connected = attempt.connect(self.answer, answer).await;
        if let (Ok(_), Some(transferor)) = (&connected, transferor) {
            // The target's phone answered: the transferor's part is over (RFC 3515 §2.4.5).
            transferor.finish(200).await;
        }
        let decided = match connected {
            Ok(leg) if announce => {
                self.announce_and_decide(caller, leg, ticket, step, &device, waiting)
                    .await
            }
            Ok(leg) => Ok(Some(leg)),
            Err(e) => {
                let detail = format!("{}: {device}: {e}", step.technician);
                self.event(ticket, CallEventKind::RingResult, &detail).await;
                Ok(None)
            }
        };
        match decided {
            Ok(Some(leg)) => {
                if let Some(place) = place {
                    // Busy first: leaving wakes the next head, here and on the other nodes,
                    // and its offer must not ring this technician.
                    self.roster.set_busy(&step.technician, true).await;
                    self.roster.busy_written(&step.technician).await;
                    place.leave();
                }
                Ok(Some(Taken {
                    leg,
                    technician: step.technician.clone(),
                    device,
                }))
            }
            Ok(None) => {
                // Passed, or the phone could not be connected: the card goes, the next step rings.
                self.store
                    .alert(&step.technician, ticket.reference, AlertKind::Stopped);
                escalation.not_taken(Instant::now());
                Ok(None)
            }
            Err(ended) => {
                // The caller left during the announcement.
                self.store
                    .alert(&step.technician, ticket.reference, AlertKind::Stopped);
                Err(ended)
            }
        }
    }

    /// The conversation with the technician who took the call at an escalation step; if the
    /// caller ends it, the technician's card goes.
    async fn talk_taken(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        taken: Taken,
    ) -> Result<(), CallEnded> {
        let Taken {
            leg,
            technician,
            device,
        } = taken;
        let result = self.talk(caller, leg, ticket, &technician, &device).await;
        if result.is_err() {
            self.store
                .alert(&technician, ticket.reference, AlertKind::Stopped);
        }
        result
    }

    /// How a routed call shows on the technician's phone.
    fn presented(&self, ticket: &Ticket) -> Presentation {
        Presentation {
            display_name: presentation(ticket),
            user: ticket.caller_number.clone(),
            auto_answer: false,
        }
    }

    /// Rings `devices` (the reachable phones of `technician`) at once for `ring_for`; the first to answer
    /// wins and the others are cancelled. With a caller leg, the caller keeps hearing `Waiting`
    /// and their hang-up cancels everything (`Err`); without one (a "Take call" from the web
    /// log), only the phones and the clock count. Every phone rung and how it ended goes to
    /// the ticket's timeline.
    pub(super) async fn ring_devices(
        &self,
        caller: Option<(&mut CallControl, &mut Waiting)>,
        ticket: &Ticket,
        technician: &str,
        devices: &[Target],
        ring_for: Duration,
    ) -> Result<Option<(Attempt, outbound::Answer)>, CallEnded> {
        let from = self.presented(ticket);
        self.ring_devices_as(caller, ticket, technician, devices, ring_for, &from)
            .await
    }

    /// [`ring_devices`](Self::ring_devices), presenting the call as `from` (a transfer says
    /// who transferred it).
    pub(super) async fn ring_devices_as(
        &self,
        caller: Option<(&mut CallControl, &mut Waiting)>,
        ticket: &Ticket,
        technician: &str,
        devices: &[Target],
        ring_for: Duration,
        from: &Presentation,
    ) -> Result<Option<(Attempt, outbound::Answer)>, CallEnded> {
        let mut escalation = Escalation::start([ring_for], Instant::now());
        self.ring_phones(caller, ticket, technician, devices, &mut escalation, from)
            .await
    }

    /// Rings `devices` as the escalation's ringing step, which decides when they stop.
    async fn ring_phones(
        &self,
        mut caller: Option<(&mut CallControl, &mut Waiting)>,
        ticket: &Ticket,
        technician: &str,
        devices: &[Target],
        escalation: &mut Escalation,
        from: &Presentation,
    ) -> Result<Option<(Attempt, outbound::Answer)>, CallEnded> {
        let mut attempts: Vec<Option<Attempt>> = Vec::new();
        for device in devices {
            match outbound::dial(self.answer, device, from).await {
                Ok(a) => {
                    let detail = format!("{technician}: {}", device.uri);
                    self.event(ticket, CallEventKind::Ringing, &detail).await;
                    attempts.push(Some(a));
                }
                Err(e) => {
                    let detail = format!("{technician}: {}: cannot ring ({e})", device.uri);
                    self.event(ticket, CallEventKind::RingResult, &detail).await;
                }
            }
        }
        escalation.dialled(attempts.len(), Instant::now());
        let mut reported = vec![false; attempts.len()];
        if !attempts.is_empty() {
            self.store
                .alert(technician, ticket.reference, AlertKind::Ringing);
        }
        let result = self
            .fork_until_answered(
                &mut caller,
                ticket,
                technician,
                &mut attempts,
                escalation,
                &mut reported,
            )
            .await;
        if !matches!(result, Ok(Some(_))) && !reported.is_empty() {
            self.store
                .alert(technician, ticket.reference, AlertKind::Stopped);
        }
        result
    }

    /// The fork's loop: waits for the phones (and the caller) until one answers, all end, or
    /// the escalation says the step's time is up.
    async fn fork_until_answered(
        &self,
        caller: &mut Option<(&mut CallControl, &mut Waiting)>,
        ticket: &Ticket,
        technician: &str,
        attempts: &mut [Option<Attempt>],
        escalation: &mut Escalation,
        reported: &mut [bool],
    ) -> Result<Option<(Attempt, outbound::Answer)>, CallEnded> {
        loop {
            if let Some(outcome) = escalation.fork().outcome() {
                match outcome {
                    StepOutcome::Answered(_) => unreachable!("an answer returns at once"),
                    StepOutcome::Refused | StepOutcome::NoAnswer => break,
                }
            }
            let deadline = escalation.deadline().expect("an undecided step is ringing");
            let polls: Vec<_> = attempts
                .iter_mut()
                .enumerate()
                .filter_map(|(i, a)| a.as_mut().map(|a| (i, a)))
                .map(|(i, a)| {
                    Box::pin(async move { (i, a.next(self.answer).await) })
                        as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>>
                })
                .collect();
            if polls.is_empty() {
                // Nothing left to wait for (every attempt's transaction is over): the step
                // cannot be decided otherwise than by its time.
                drop(polls);
                let actions = escalation.on_time(deadline);
                self.carry_out(attempts, actions).await;
                break;
            }
            let next = match caller.as_mut() {
                Some((leg, _)) => tokio::select! {
                    event = leg.next_event(Some(deadline)) => Next::Caller(event),
                    ((i, progress), _, _) = select_all(polls) => Next::Branch(i, progress),
                },
                None => tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => Next::Caller(Ok(CallEvent::Timeout)),
                    ((i, progress), _, _) = select_all(polls) => Next::Branch(i, progress),
                },
            };
            match next {
                Next::Caller(Ok(CallEvent::Timeout)) => {
                    // The timer fired at (or, late, after) the deadline.
                    let actions = escalation.on_time(Instant::now().max(deadline));
                    self.carry_out(attempts, actions).await;
                }
                Next::Caller(Ok(e)) => {
                    if let Some((leg, waiting)) = caller.as_mut() {
                        waiting.on_event(leg, &e);
                    }
                }
                Next::Caller(Err(ended)) => {
                    let actions = escalation.abandon();
                    self.carry_out(attempts, actions).await;
                    self.drain(attempts, reported, escalation.fork(), technician, ticket)
                        .await;
                    return Err(ended);
                }
                Next::Branch(i, Some(Progress::Ringing)) => escalation.on_provisional(BranchId(i)),
                Next::Branch(i, Some(Progress::Answered(answer))) => {
                    let actions = escalation.on_final(BranchId(i), 200, Instant::now());
                    if escalation.fork().outcome() == Some(StepOutcome::Answered(BranchId(i))) {
                        self.carry_out(attempts, actions).await;
                        let attempt = attempts[i].take().expect("a live attempt answered");
                        self.drain(attempts, reported, escalation.fork(), technician, ticket)
                            .await;
                        return Ok(Some((attempt, answer)));
                    }
                    if let Some(a) = &attempts[i] {
                        a.refuse_answer(self.answer, answer).await;
                    }
                }
                Next::Branch(i, Some(Progress::Failed(code))) => {
                    let actions = escalation.on_final(BranchId(i), code, Instant::now());
                    self.carry_out(attempts, actions).await;
                }
                Next::Branch(i, None) => {
                    // The transaction ended without a final response reaching us.
                    let actions = escalation.on_final(BranchId(i), 408, Instant::now());
                    self.carry_out(attempts, actions).await;
                    attempts[i] = None;
                }
            }
            self.report_ends(escalation.fork(), reported, technician, ticket, attempts)
                .await;
        }
        self.drain(attempts, reported, escalation.fork(), technician, ticket)
            .await;
        Ok(None)
    }

    /// The technician who answered hears the announcement and decides: `Some(leg)` on "1",
    /// `None` (their leg hung up, the pass written to the timeline) on "2", silence or hang-up.
    pub(super) async fn announce_and_decide(
        &self,
        caller: &mut CallControl,
        mut tech: CallControl,
        ticket: &Ticket,
        step: &EscalationStep,
        device: &str,
        waiting: &mut Waiting,
    ) -> Result<Option<CallControl>, CallEnded> {
        let words = announce::announcement(ticket);
        let names: Vec<&str> = words.iter().map(String::as_str).collect();
        let playing = tech.start_playing(self.prompts_for(step.language, &names));
        let mut deadline: Option<Instant> = None;
        let decision = loop {
            tokio::select! {
                event = caller.next_event(None) => match event {
                    Ok(e) => waiting.on_event(caller, &e),
                    Err(ended) => {
                        call_answer::finish(tech, EndCause::Completed).await;
                        return Err(ended);
                    }
                },
                event = tech.next_event(deadline) => match event {
                    Ok(CallEvent::Digit(d)) if d.as_char() == TAKE_KEY => break true,
                    Ok(CallEvent::Digit(d)) if d.as_char() == PASS_KEY => break false,
                    Ok(CallEvent::PlaybackFinished(id)) if id == playing => {
                        deadline = Some(Instant::now() + DECISION_TIME);
                    }
                    Ok(CallEvent::Timeout) => break false,
                    Ok(_) => {}
                    Err(_) => break false, // the technician hung up during the announcement
                },
            }
        };
        if decision {
            return Ok(Some(tech));
        }
        let detail = format!("{} on {device}", step.technician);
        self.event(ticket, CallEventKind::Passed, &detail).await;
        let cause = tech.ended().unwrap_or(EndCause::Completed);
        call_answer::finish(tech, cause).await;
        Ok(None)
    }

    /// The conversation: both legs joined until one hangs up; keys and hold are passed across.
    /// A technician's transfer (REFER) hands the caller to whoever takes it next, and the
    /// conversation goes on with them.
    pub(super) async fn talk(
        &self,
        caller: &mut CallControl,
        tech: CallControl,
        ticket: &Ticket,
        technician: &str,
        device: &str,
    ) -> Result<(), CallEnded> {
        let mut taken = Taken {
            leg: tech,
            technician: technician.to_string(),
            device: device.to_string(),
        };
        loop {
            let Some((target, transferor)) = self.converse(caller, taken, ticket).await? else {
                return Ok(());
            };
            match self
                .transfer_caller(caller, ticket, target, transferor)
                .await?
            {
                Some(next) => taken = next,
                None => return Ok(()),
            }
        }
    }

    /// One technician's conversation with the caller, until either hangs up (`Ok(None)` when
    /// the technician did, `Err` when the caller did) or the technician's transfer is accepted
    /// (`Ok(Some(target, leg))`: their leg, no longer bridged, stays up until it has been told
    /// how the transfer went).
    async fn converse(
        &self,
        caller: &mut CallControl,
        taken: Taken,
        ticket: &Ticket,
    ) -> Result<Option<(TransferTarget, Transferor)>, CallEnded> {
        let Taken {
            leg: mut tech,
            technician,
            device,
        } = taken;
        let technician = technician.as_str();
        caller.stop_playing();
        tech.stop_playing();
        tech.allow_transfer(true);
        self.store
            .alert(technician, ticket.reference, AlertKind::Answered);
        let detail = format!("{technician} on {device}");
        self.event(ticket, CallEventKind::TechnicianAnswered, &detail)
            .await;
        self.write(ticket, TicketWrite::Assignee(technician.to_string()))
            .await;
        let talking = TicketWrite::TalkingWith(Some(technician.to_string()));
        self.write(ticket, talking).await;
        self.roster.set_busy(technician, true).await;
        let recording = self.start_bridge(caller, &tech, ticket).await;
        let started = Instant::now();
        let music = self.prompt(self.language, "music_on_hold");
        let mut caller_music: Option<PlaybackId> = None;
        let mut tech_music: Option<PlaybackId> = None;
        let ended = loop {
            tokio::select! {
                event = caller.next_event(None) => match event {
                    Ok(CallEvent::Digit(d)) => tech.media().send_digit(d),
                    Ok(CallEvent::HoldChanged(held)) => {
                        let what = if held { "put" } else { "took" };
                        let back = if held { "on hold" } else { "off hold" };
                        let detail = format!("the caller {what} {technician} {back}");
                        self.event(ticket, CallEventKind::Hold, &detail).await;
                        tech_music = hold_music(&tech, held, music.clone());
                    }
                    Ok(CallEvent::PlaybackFinished(id)) if Some(id) == caller_music => {
                        caller_music = hold_music(caller, true, music.clone());
                    }
                    Ok(_) => {}
                    Err(ended) => break Ended::ByCaller(ended),
                },
                event = tech.next_event(None) => match event {
                    Ok(CallEvent::Digit(d)) => caller.media().send_digit(d),
                    Ok(CallEvent::HoldChanged(held)) => {
                        let what = if held { "put the caller on hold" } else { "took the caller off hold" };
                        self.event(ticket, CallEventKind::Hold, &format!("{technician} {what}")).await;
                        caller_music = hold_music(caller, held, music.clone());
                    }
                    Ok(CallEvent::PlaybackFinished(id)) if Some(id) == tech_music => {
                        tech_music = hold_music(&tech, true, music.clone());
                    }
                    Ok(CallEvent::TransferRequested) => {
                        if let Some(target) = self.accept_transfer(&mut tech, ticket, technician).await {
                            break Ended::Transferred(target);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break Ended::ByTechnician,
                },
            }
        };
        bridge::separate(caller.media(), tech.media());
        if let Some(recording) = recording {
            self.keep_recording(ticket, recording).await;
        }
        let talk = started.elapsed().as_secs();
        self.roster.set_busy(technician, false).await;
        let how = match &ended {
            Ended::ByCaller(_) => "hung up by caller".to_string(),
            Ended::ByTechnician => "hung up by technician".to_string(),
            Ended::Transferred(target) => format!("transferred to {}", target.name),
        };
        let detail = format!("{technician}: {how} after {talk} s");
        self.event(ticket, CallEventKind::TalkEnded, &detail).await;
        self.write(ticket, TicketWrite::TalkingWith(None)).await;
        match ended {
            Ended::ByCaller(ended) => {
                // We hang up the technician's leg with BYE: the caller left.
                call_answer::finish(tech, EndCause::Completed).await;
                Err(ended)
            }
            Ended::ByTechnician => {
                let cause = tech.ended().unwrap_or(EndCause::Completed);
                call_answer::finish(tech, cause).await;
                Ok(None)
            }
            Ended::Transferred(target) => Ok(Some((target, Transferor::new(tech).await))),
        }
    }

    /// Waits in the team's queue: position announcements every `position_every`, music in
    /// between, the head of the queue offered to whoever becomes available, a technician's
    /// `*8` picking it up, the call-back key leaving it with the ticket's place kept.
    async fn wait_in_queue(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        spec: &RouteSpec,
    ) -> Result<RouteOutcome, CallEnded> {
        let Some(team) = self.roster.team_of(ticket, spec.team.as_deref()).await else {
            self.event(
                ticket,
                CallEventKind::RoutingAttempt,
                "no team takes this call",
            )
            .await;
            caller
                .play(self.prompts_for(self.language, &["nobody_answered"]), false)
                .await?;
            return Ok(RouteOutcome::NobodyAvailable);
        };
        let mut place = self
            .queues
            .enter(
                &team,
                ticket.id,
                ticket.reference.to_string(),
                ticket.priority,
            )
            .await;
        let joined = Instant::now();
        // Kept on the ticket: a call-back request the caller leaves with is this team's.
        self.write(ticket, TicketWrite::QueueTeam(team.clone()))
            .await;
        let detail = super::queue::queued_detail(&team, place.position_told().await);
        self.event(ticket, CallEventKind::Queued, &detail).await;
        let music = self.prompt(self.language, "music_on_hold");
        let give_up = joined + spec.queue_max;
        let mut next_position = Instant::now();
        let mut next_offer = Instant::now();
        let mut last_offer = next_offer;
        let mut playing: Option<PlaybackId> = None;
        loop {
            // Before reading our position, so a departure in between is not missed.
            let moved = self.queues.moved();
            // Likewise before offering: a technician freed meanwhile is not missed.
            let servable = self.store.queue_moved();
            let now = Instant::now();
            if now >= give_up {
                caller.stop_playing();
                let detail = format!("left {team}'s queue after {} s", spec.queue_max.as_secs());
                self.event(ticket, CallEventKind::Escalated, &detail).await;
                caller
                    .play(self.prompts_for(self.language, &["nobody_answered"]), false)
                    .await?;
                return Ok(RouteOutcome::NobodyAvailable);
            }
            if now >= next_position {
                caller.stop_playing();
                let position = place.position_told().await;
                let mut words = vec!["queue_position".to_string()];
                words.push(crate::ivr::say::number(position as u64));
                words.push("in_queue".into());
                if spec.callback_key.is_some() {
                    words.push("queue_leave".into());
                }
                let names: Vec<&str> = words.iter().map(String::as_str).collect();
                let mut sequence = self.prompts_for(self.language, &names);
                sequence.extend(music.clone());
                playing = Some(caller.start_playing(sequence));
                next_position = now + spec.position_every;
            }
            if place.position() == 1 && now >= next_offer {
                // On a shared queue, a head here that another node's caller is served before
                // waits for its turn like a caller behind, looking again at each retry.
                if place.is_team_head().await {
                    let offered = self
                        .offer_head(
                            caller,
                            ticket,
                            spec,
                            &team,
                            &music,
                            &mut playing,
                            &mut place,
                        )
                        .await?;
                    if let Some(outcome) = offered {
                        return Ok(outcome);
                    }
                }
                last_offer = Instant::now();
                next_offer = last_offer + QUEUE_RETRY;
            }
            // Behind the head, only a departure (or an announcement) can change anything: no
            // offer timer, so a long queue does not spin.
            let head = place.position() == 1;
            let wake = [give_up, next_position]
                .into_iter()
                .chain(head.then_some(next_offer))
                .min()
                .expect("two deadlines");
            tokio::select! {
                _ = moved, if !head => {}
                // Someone may be free now (here or on another node): offer again soon, though
                // not more often than every `QUEUE_REOFFER` however busy the rota is.
                _ = servable, if head => {
                    next_offer = next_offer.min(last_offer + QUEUE_REOFFER);
                }
                event = caller.next_event(Some(wake)) => match event? {
                    CallEvent::Digit(d) if Some(d) == spec.callback_key => {
                        caller.stop_playing();
                        self.event(ticket, CallEventKind::Queued, "call-back requested").await;
                        caller
                            .play(self.prompts_for(self.language, &["callback_requested"]), false)
                            .await?;
                        return Ok(RouteOutcome::CallbackRequested);
                    }
                    CallEvent::PlaybackFinished(id) if Some(id) == playing => {
                        playing = music.clone().map(|m| caller.start_playing(vec![m]));
                    }
                    _ => {}
                },
                Some(pickup) = place.pickups.recv() => {
                    let Pickup { technician, leg, how, done } = pickup;
                    // Busy before the queue moves on (see `ring_step`).
                    self.roster.set_busy(&technician, true).await;
                    self.roster.busy_written(&technician).await;
                    place.leave();
                    let result = self.talk(caller, leg, ticket, &technician, &how).await;
                    let _ = done.send(None);
                    result?;
                    return Ok(RouteOutcome::Answered { technician });
                }
            }
        }
    }

    /// Offers the head of `team`'s queue to whoever is free now, by the team's escalation
    /// order, the caller hearing music meanwhile: `Some` once a technician took the call and
    /// the conversation is over, `None` when nobody took it (the caller keeps waiting).
    #[allow(clippy::too_many_arguments)]
    async fn offer_head(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        spec: &RouteSpec,
        team: &str,
        music: &Option<Arc<Prompt>>,
        playing: &mut Option<PlaybackId>,
        place: &mut Place<'_>,
    ) -> Result<Option<RouteOutcome>, CallEnded> {
        let steps = self.roster.steps(ticket, Some(team)).await.value;
        let mut waiting = Waiting {
            prompt: music.clone(),
            playing: *playing,
        };
        let taken = self
            .ring_in_turn(
                caller,
                ticket,
                &steps,
                Turns::routed(spec, &self.presented(ticket), Some(place)),
                &mut waiting,
            )
            .await?;
        *playing = waiting.playing;
        let Some(taken) = taken else {
            return Ok(None);
        };
        let technician = taken.technician.clone();
        self.talk_taken(caller, ticket, taken).await?;
        Ok(Some(RouteOutcome::Answered { technician }))
    }

    /// Sends the CANCELs a fork asked for.
    async fn carry_out(&self, attempts: &[Option<Attempt>], actions: Vec<ForkAction>) {
        for action in actions {
            match action {
                ForkAction::Cancel(b) => {
                    if let Some(Some(a)) = attempts.get(b.0) {
                        a.cancel().await;
                    }
                }
                // A 2xx on a lost branch is refused where it arrives (it carries the answer).
                ForkAction::HangUp(_) => {}
            }
        }
    }

    /// Lets the attempts still pending finish on their own: a 487 ends them, and a 2xx that
    /// raced our CANCEL is ACKed and hung up.
    async fn drain(
        &self,
        attempts: &mut [Option<Attempt>],
        reported: &mut [bool],
        fork: &Fork,
        technician: &str,
        ticket: &Ticket,
    ) {
        self.report_ends(fork, reported, technician, ticket, attempts)
            .await;
        for attempt in attempts.iter_mut().filter_map(Option::take) {
            attempt.finish_unwanted(self.answer);
        }
    }

    /// Writes each branch's end to the timeline once.
    async fn report_ends(
        &self,
        fork: &Fork,
        reported: &mut [bool],
        technician: &str,
        ticket: &Ticket,
        attempts: &[Option<Attempt>],
    ) {
        for (i, end) in fork.ends().into_iter().enumerate() {
            let Some(end) = end else { continue };
            if reported[i] || end == BranchEnd::Answered {
                continue;
            }
            reported[i] = true;
            let device = attempts
                .get(i)
                .and_then(|a| a.as_ref())
                .map(|a| a.target().uri.clone())
                .unwrap_or_else(|| format!("phone {}", i + 1));
            let detail = format!("{technician}: {device}: {end}");
            self.event(ticket, CallEventKind::RingResult, &detail).await;
        }
    }

    /// Says on the timeline that what routing acts on is the database's answer of a while
    /// ago (`last_read`), the database not answering now.
    async fn note_last_read(&self, ticket: &Ticket, what: &str, last_read: Option<Duration>) {
        if let Some(age) = last_read {
            let detail = format!(
                "database unreachable: {what} as last read {} s ago",
                age.as_secs()
            );
            self.event(ticket, CallEventKind::RoutingAttempt, &detail)
                .await;
        }
    }

    /// A timeline event happening now, written through the ticket's writer.
    pub(super) async fn event(&self, ticket: &Ticket, kind: CallEventKind, detail: &str) {
        self.write(ticket, TicketWrite::event(kind, detail)).await;
    }

    /// Writes to `ticket` through its writer: the caller's own while their call runs.
    pub(super) async fn write(&self, ticket: &Ticket, write: TicketWrite) {
        self.writers.for_ticket(ticket.id).write(write).await;
    }

    pub(super) fn prompt(&self, language: Language, name: &str) -> Option<Arc<Prompt>> {
        self.prompts.get(language.as_str(), name)
    }

    pub(super) fn prompts_for(&self, language: Language, names: &[&str]) -> Vec<Arc<Prompt>> {
        names
            .iter()
            .filter_map(|n| self.prompt(language, n))
            .collect()
    }
}

/// Music to the leg whose peer put the call on hold, or silence again (the bridge resumes).
fn hold_music(leg: &CallControl, held: bool, music: Option<Arc<Prompt>>) -> Option<PlaybackId> {
    if held {
        music.map(|m| leg.start_playing(vec![m]))
    } else {
        leg.stop_playing();
        None
    }
}

/// What the technician's phone shows: priority, category and the caller's number.
pub(super) fn presentation(ticket: &Ticket) -> String {
    let mut parts = Vec::new();
    if let Some(p) = ticket.priority {
        parts.push(p.to_string());
    }
    if let Some(c) = ticket.category {
        parts.push(c.as_str().to_string());
    }
    parts.push(ticket.caller_number.clone());
    parts.join(" ")
}
