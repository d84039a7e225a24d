//! PostgreSQL stopped before a P1 caller reaches routing: the rota, presence and phones cannot
//! be read, so routing rings the on-call technician it read on the call before. Her phone
//! rings, she takes the call, the two talk through the bridge; once the database is back the
//! ticket's timeline says routing went by the rota as last read, and how old it was.

use super::{events_through_hangup, PrivatePostgres, SERIAL};
use crate::support::audio::{best_share_at, tone};
use crate::support::oncall;
use crate::support::phones::{free_udp_port, phone_succeeded, technician_phone};
use crate::support::ua::{decode, Ua};
use hotline::accounts::Role;
use hotline::media::g711::G711;
use hotline::oncall::Presence;
use hotline::tickets::{CallEventKind, Disposition};
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Network, the whole company, cannot work: P1 (English, welcome skipped).
const P1_AFTER_LANGUAGE: [char; 3] = ['3', '1', '1'];

/// The caller talks (1000 Hz) until the technician's phone, which echoes what it hears, has
/// hung up; how strongly the caller heard itself back through the bridge (0 to 1).
async fn talk_until_the_phone_hangs_up(caller: &mut Ua, phone: JoinHandle<Output>) -> f64 {
    let chunk = tone(1000.0, 200);
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !phone.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the technician's phone never hung up"
        );
        caller.send_audio(&chunk).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
    }
    phone_succeeded(&phone.await.unwrap());
    caller.expect_bye(Duration::from_secs(15)).await;
    best_share_at(&decode(&heard, G711::Ulaw), 1000.0)
}

#[tokio::test]
async fn a_p1_caller_routed_while_postgres_is_down_reaches_the_technician_read_before() {
    let _one_at_a_time = SERIAL.lock().await;
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let (server, store) = super::server_for_phones(&pg).await;
    let port = free_udp_port();
    store
        .upsert_user("tess", "not used here", Role::Technician)
        .await
        .unwrap();
    let bound = format!("127.0.0.1:{port}").parse().unwrap();
    oncall::phone_at(&store, "tess", "tess", bound).await;
    oncall::network_team(&store, &["tess"], None).await;

    // A first P1 call with the database up: routing reads the rota, tess's presence and her
    // phone, and she takes it.
    let phone = technician_phone(port, 500, 1000);
    let first_routed = Instant::now();
    let mut first = Ua::udp(server.sip).await;
    first.connect().await;
    first.send_silence(200).await;
    for key in ['#', '1'].into_iter().chain(P1_AFTER_LANGUAGE) {
        first.press_rfc4733(key).await;
    }
    let share = talk_until_the_phone_hangs_up(&mut first, phone).await;
    assert!(share > 0.6, "the first call's bridge (share {share:.2})");

    // The second caller picks a language with the database up, then it stops: the rest of
    // the menu, the triage and the routing happen with it down.
    let phone = technician_phone(port, 500, 4000);
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    caller.press_rfc4733('#').await;
    caller.press_rfc4733('1').await;
    caller.send_silence(300).await;
    pg.stop();
    let stopped = Instant::now();
    for key in P1_AFTER_LANGUAGE {
        caller.press_rfc4733(key).await;
        caller.send_silence(300).await;
    }
    let share = talk_until_the_phone_hangs_up(&mut caller, phone).await;
    assert!(
        share > 0.6,
        "the caller should hear itself back through the technician's phone (share at 1000 Hz: {share:.2})"
    );
    pg.start();
    let down_for = stopped.elapsed();

    let t = crate::support::tickets::ticket_when(
        &store,
        &caller.call_id,
        Duration::from_secs(30),
        "the final disposition after the restart",
        |t| t.disposition != Disposition::InProgress,
    )
    .await;
    assert_eq!(t.priority.map(|p| p.to_string()).as_deref(), Some("P1"));
    assert_eq!(t.disposition, Disposition::Answered);
    assert_eq!(t.disposition_detail.as_deref(), Some("tess"));
    let events = events_through_hangup(&store, t.id).await;
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.assignee.as_deref(), Some("tess"), "{events:#?}");

    // From the route node on, in order: the last-known notes, the phone rung, the answer,
    // the end of the talk, the hang-up.
    let route = events
        .iter()
        .position(|e| e.kind == CallEventKind::RoutingAttempt && e.detail == "route")
        .unwrap_or_else(|| panic!("the route node: {events:#?}"));
    let routed = &events[route..];
    let detail = |i: usize| routed.get(i).map(|e| (e.kind, e.detail.as_str()));
    let last_read = |i: usize, what: &str| {
        let (kind, detail) = detail(i).unwrap_or_else(|| panic!("{events:#?}"));
        let prefix = format!("database unreachable: {what} as last read ");
        kind == CallEventKind::RoutingAttempt
            && detail
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(" s ago"))
                .and_then(|secs| secs.parse::<u64>().ok())
                .is_some_and(|secs| secs <= first_routed.elapsed().as_secs())
    };
    assert!(last_read(1, "the rota and presence"), "{events:#?}");
    assert!(last_read(2, "the phones of tess"), "{events:#?}");
    let device = format!("sip:tess@127.0.0.1:{port}");
    assert_eq!(
        detail(3),
        Some((CallEventKind::Ringing, format!("tess: {device}").as_str())),
        "{events:#?}"
    );
    assert_eq!(
        detail(4),
        Some((
            CallEventKind::TechnicianAnswered,
            format!("tess on {device}").as_str()
        )),
        "{events:#?}"
    );
    let talk = routed
        .iter()
        .find(|e| e.kind == CallEventKind::TalkEnded)
        .unwrap_or_else(|| panic!("the end of the talk: {events:#?}"));
    assert!(
        talk.detail.starts_with("tess: hung up by technician after"),
        "{events:#?}"
    );
    assert_eq!(
        events.last().map(|e| e.kind),
        Some(CallEventKind::Hangup),
        "{events:#?}"
    );
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "kept events keep their times, in order: {events:#?}"
    );
    // With the database known down no read is waited for: the phone rings at once.
    let ringing_after = (routed[3].at - routed[0].at).to_std().unwrap();
    assert!(ringing_after < Duration::from_secs(2), "{ringing_after:?}");

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
        "postgres down {down_for:?} while a P1 caller was routed: tess's phone rang {ringing_after:?} \
         after the route node, from what the call before read (placed {:?} before the stop); \
         echo share {share:.2}",
        stopped - first_routed
    );
}
