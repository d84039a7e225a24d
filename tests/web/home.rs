//! The technician's home page: the board (calls now, the queue, my open tickets, open P1/P2,
//! who is on call with presence) and the Available / Away form.

use super::{Web, PASSWORD};
use hotline::oncall::{BusinessHours, PresenceChoice};
use hotline::store::{NewTicket, TeamSettings, TicketField};
use hotline::tickets::{CallEventKind, Category, Disposition, Impact, Urgency};

/// A ticket from `caller`, with a category and the impact and urgency that give `priority`.
async fn ticket(
    web: &Web,
    caller: &str,
    impact: Impact,
    urgency: Urgency,
) -> hotline::store::Ticket {
    let store = web.store();
    let t = store
        .create_ticket(&NewTicket {
            call_id: format!("home-{caller}"),
            caller_number: caller.into(),
            caller_name: None,
        })
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Category(Category::ALL[0]))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Impact(impact))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Urgency(urgency))
        .await
        .unwrap();
    store.ticket(t.id).await.unwrap().unwrap()
}

/// The text of the section with this id.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"<section id="{id}""#))
        .unwrap_or_else(|| panic!("no section {id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

#[tokio::test]
async fn anonymous_home_sends_to_login_and_login_lands_on_home() {
    let web = Web::start().await;
    let r = web.get("/", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let ok = web.login("tom", PASSWORD).await;
    assert_eq!(ok.header("location"), Some("/"));
}

#[tokio::test]
async fn technician_sees_calls_queue_own_tickets_urgent_tickets_and_who_is_on_call() {
    let web = Web::start().await;
    let store = web.store();
    // Tom's ticket, finished and open; a P1 call queued now; a call still in the menu; a
    // closed ticket of Tom's that must not show.
    let mine = ticket(&web, "201", Impact::Individual, Urgency::Request).await;
    store
        .set_disposition(mine.id, Disposition::Completed, None)
        .await
        .unwrap();
    store.set_assignee(mine.id, Some("tom")).await.unwrap();
    let queued = ticket(&web, "202", Impact::Organisation, Urgency::Blocked).await;
    store
        .add_event(queued.id, CallEventKind::Queued, "network, position 1")
        .await
        .unwrap();
    let menu = ticket(&web, "203", Impact::Individual, Urgency::Request).await;
    let closed = ticket(&web, "204", Impact::Individual, Urgency::Request).await;
    store.set_assignee(closed.id, Some("tom")).await.unwrap();
    store
        .set_status(closed.id, hotline::tickets::TicketStatus::Closed)
        .await
        .unwrap();
    // Alice leads the network team, so she is on call; she went away.
    store
        .save_team(&TeamSettings {
            name: "network".into(),
            time_zone: "Europe/Paris".parse().unwrap(),
            lead: Some("alice".into()),
            business_hours: BusinessHours::default(),
        })
        .await
        .unwrap();
    store
        .set_presence("alice", PresenceChoice::Away)
        .await
        .unwrap();

    let (cookie, _) = web.session_of("tom").await;
    let page = web.get("/", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200);
    let html = page.text();

    let calls = section(&html, "calls");
    assert!(calls.contains(&queued.reference.to_string()), "{calls}");
    assert!(calls.contains(&menu.reference.to_string()), "{calls}");
    assert!(calls.contains("queued (network, position 1)"), "{calls}");
    assert!(calls.contains("in the menu"), "{calls}");
    assert!(!calls.contains(&mine.reference.to_string()), "{calls}");

    let queue = section(&html, "queue");
    assert!(queue.contains(&queued.reference.to_string()), "{queue}");
    assert!(queue.contains("P1 critical"), "{queue}");
    assert!(!queue.contains(&menu.reference.to_string()), "{queue}");

    let own = section(&html, "mine");
    assert!(own.contains(&mine.reference.to_string()), "{own}");
    assert!(!own.contains(&closed.reference.to_string()), "{own}");
    assert!(!own.contains(&queued.reference.to_string()), "{own}");

    let urgent = section(&html, "urgent");
    assert!(urgent.contains(&queued.reference.to_string()), "{urgent}");
    assert!(!urgent.contains(&mine.reference.to_string()), "{urgent}");

    let on_call = section(&html, "oncall");
    assert!(on_call.contains("network"), "{on_call}");
    assert!(on_call.contains("alice"), "{on_call}");
    assert!(on_call.contains("lead"), "{on_call}");
    // No phone registered: routing cannot ring her, whatever she chose.
    assert!(on_call.contains(r#"class="presence offline""#), "{on_call}");

    // The page loads its live-update script from /assets (the CSP forbids inline scripts).
    assert!(html.contains(r#"<script src="/assets/home.js" defer></script>"#));
    let js = web.get("/assets/home.js", &[]).await;
    assert_eq!(js.status, 200);
    assert!(js.text().contains("/events"));
}

/// Callers who pressed 1 in a queue to be called back keep their place: the board lists them
/// by priority (none last), then arrival, each with a Call back button; a call-back done or a
/// closed ticket leaves the list.
#[tokio::test]
async fn callers_waiting_for_a_call_back_are_listed_in_queue_order() {
    let web = Web::start().await;
    let store = web.store();
    let mut requested = Vec::new();
    for (caller, impact, urgency) in [
        ("301", None, None),
        ("302", Some(Impact::Individual), Some(Urgency::Degraded)),
        ("303", Some(Impact::Organisation), Some(Urgency::Blocked)),
        ("304", Some(Impact::Individual), Some(Urgency::Degraded)),
    ] {
        let t = match (impact, urgency) {
            (Some(i), Some(u)) => ticket(&web, caller, i, u).await,
            _ => crate::support::tickets::callback_requested(store, caller).await,
        };
        store
            .set_disposition(t.id, Disposition::CallbackRequested, None)
            .await
            .unwrap();
        requested.push(store.ticket(t.id).await.unwrap().unwrap());
    }
    let done = ticket(&web, "305", Impact::Organisation, Urgency::Blocked).await;
    store
        .set_disposition(done.id, Disposition::CallbackDone, None)
        .await
        .unwrap();
    let closed = crate::support::tickets::callback_requested(store, "306").await;
    store
        .set_status(closed.id, hotline::tickets::TicketStatus::Closed)
        .await
        .unwrap();

    let (cookie, _) = web.session_of("tom").await;
    let html = web.get("/", &[("Cookie", &cookie)]).await.text();
    let list = section(&html, "callbacks");
    let at = |t: &hotline::store::Ticket| {
        list.find(&t.reference.to_string())
            .unwrap_or_else(|| panic!("{} not listed: {list}", t.reference))
    };
    let (none, p3_first, p1, p3_later) =
        (&requested[0], &requested[1], &requested[2], &requested[3]);
    assert!(
        p1.priority < p3_first.priority,
        "the set-up gives a P1 and P3s"
    );
    assert!(at(p1) < at(p3_first), "P1 first: {list}");
    assert!(at(p3_first) < at(p3_later), "then arrival: {list}");
    assert!(at(p3_later) < at(none), "no priority last: {list}");
    assert!(!list.contains(&done.reference.to_string()), "{list}");
    assert!(!list.contains(&closed.reference.to_string()), "{list}");
    assert_eq!(
        list.matches(r#"action="/tickets/"#).count(),
        4,
        "a Call back button per request: {list}"
    );
    assert!(list.contains(&format!(r#"action="/tickets/{}/callback""#, p1.reference)));
}

#[tokio::test]
async fn presence_form_changes_presence_and_needs_the_csrf_token() {
    let web = Web::start().await;
    let (cookie, csrf) = web.session_of("tom").await;
    let home = web.get("/", &[("Cookie", &cookie)]).await.text();
    assert!(home.contains("Go away"), "{home}");

    let refused = web
        .post_form("/presence", &cookie, &[("presence", "away")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        web.store().presence_choice("tom").await.unwrap(),
        PresenceChoice::Available
    );
    let unknown = web
        .post_form(
            "/presence",
            &cookie,
            &[("presence", "asleep"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, 422);

    let ok = web
        .post_form(
            "/presence",
            &cookie,
            &[("presence", "away"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/"));
    assert_eq!(
        web.store().presence_choice("tom").await.unwrap(),
        PresenceChoice::Away
    );
    let home = web.get("/", &[("Cookie", &cookie)]).await.text();
    assert!(home.contains("Go available"), "{home}");

    let anonymous = web
        .post_form("/presence", "", &[("presence", "away")])
        .await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/login"));
}
