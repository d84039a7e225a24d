//! PostgreSQL stopped while a P1 caller is being routed: the technician's phones ring with the
//! database up, it goes down before one answers, and the answer, the conversation and the end
//! of the call all reach the ticket once it is back — after what the call wrote before, in
//! the order they happened.

use super::{events_through_hangup, PrivatePostgres, SERIAL};
use crate::support::oncall;
use crate::support::phones::{free_udp_port, phone, phone_succeeded, technician_phone};
use crate::support::ua::Ua;
use hotline::accounts::Role;
use hotline::oncall::Presence;
use hotline::store::Store;
use hotline::tickets::{CallEvent, CallEventKind, Disposition};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn at(port: u16) -> SocketAddr {
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// Tess, on call for network problems, with a mobile and a desk phone.
async fn tess_on_call(store: &Store, mobile: u16, desk: u16) {
    store
        .upsert_user("tess", "not used here", Role::Technician)
        .await
        .unwrap();
    oncall::phone_at(store, "tess", "tess", at(mobile)).await;
    oncall::phone_at(store, "tess", "tess-desk", at(desk)).await;
    oncall::network_team(store, &["tess"], None).await;
}

/// The call's timeline once both phones are ringing, the caller's audio flowing meanwhile.
async fn both_phones_ringing(store: &Store, caller: &mut Ua) -> Vec<CallEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        caller.send_silence(100).await;
        if let Some(t) = store.ticket_by_call_id(&caller.call_id).await.unwrap() {
            let events = store.events(t.id).await.unwrap();
            let rung = events
                .iter()
                .filter(|e| e.kind == CallEventKind::Ringing)
                .count();
            if rung == 2 {
                return events;
            }
            assert!(Instant::now() < deadline, "phones never rang: {events:#?}");
        }
    }
}

#[tokio::test]
async fn a_postgres_restart_while_a_p1_caller_is_routed_keeps_the_answer_the_assignee_and_the_end()
{
    let _one_at_a_time = SERIAL.lock().await;
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let (server, store) = super::server_for_phones(&pg).await;
    let (mobile, desk) = (free_udp_port(), free_udp_port());
    tess_on_call(&store, mobile, desk).await;
    // The mobile rings until cancelled; the desk phone answers after 4 s, takes the call with
    // 1, talks for 3 s and hangs up.
    let rings = phone(mobile, "uas_ring_forever.xml", &[]);
    let answers = technician_phone(desk, 4000, 3000);

    // Network, the whole company, cannot work: P1, routed to tess at once.
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    for key in ['#', '1', '3', '1', '1'] {
        caller.press_rfc4733(key).await;
    }
    let before = both_phones_ringing(&store, &mut caller).await;
    pg.stop();
    // The desk phone answers with the database down; the mobile is cancelled, the call taken,
    // the conversation held and ended by the technician, who hangs the caller up.
    caller.send_silence(2000).await;
    caller.expect_bye(Duration::from_secs(20)).await;
    phone_succeeded(&rings.await.unwrap());
    phone_succeeded(&answers.await.unwrap());
    pg.start();

    let t = crate::support::tickets::ticket_when(
        &store,
        &caller.call_id,
        Duration::from_secs(30),
        "the final disposition after the restart",
        |t| t.disposition != Disposition::InProgress,
    )
    .await;
    assert_eq!(t.disposition, Disposition::Answered);
    assert_eq!(t.disposition_detail.as_deref(), Some("tess"));
    // The hang-up is the call's last write: wait for it.
    let events = events_through_hangup(&store, t.id).await;
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.assignee.as_deref(), Some("tess"), "{events:#?}");
    let after: Vec<(CallEventKind, &str)> = events[before.len()..]
        .iter()
        .map(|e| (e.kind, e.detail.as_str()))
        .collect();
    let cancelled = format!("tess: sip:tess@127.0.0.1:{mobile}: cancelled");
    let answered = format!("tess on sip:tess-desk@127.0.0.1:{desk}");
    assert_eq!(
        after[..2],
        [
            (CallEventKind::RingResult, cancelled.as_str()),
            (CallEventKind::TechnicianAnswered, answered.as_str()),
        ],
        "{events:#?}"
    );
    let talk = after
        .iter()
        .position(|(k, _)| *k == CallEventKind::TalkEnded)
        .unwrap_or_else(|| panic!("the end of the talk: {events:#?}"));
    assert!(
        after[talk]
            .1
            .starts_with("tess: hung up by technician after"),
        "{events:#?}"
    );
    assert_eq!(
        after.last().map(|(k, _)| *k),
        Some(CallEventKind::Hangup),
        "{events:#?}"
    );
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "kept events keep their times, in order: {events:#?}"
    );
    // Busy while talking, written once the database was back, and free again after.
    let deadline = Instant::now() + Duration::from_secs(10);
    let presence = loop {
        let presence = store.presence("tess", chrono::Utc::now()).await.unwrap();
        if presence == Presence::Available || Instant::now() > deadline {
            break presence;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(presence, Presence::Available);
    eprintln!(
        "postgres down while routing: {} events before the stop, {} after, in order",
        before.len(),
        after.len()
    );
}
