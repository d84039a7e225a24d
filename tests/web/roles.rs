//! Roles: leads dispatch tickets and export the log; technicians take and give back their own.

use super::support::http::request;
use super::Web;

#[tokio::test]
async fn technicians_take_their_own_tickets_and_only_leads_dispatch_or_export() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("600").await;
    let (tom, tom_csrf) = web.session_of("tom").await;
    let (alice, alice_csrf) = web.session_of("alice").await;
    let assign = |cookie: String, csrf: String, to: &'static str| {
        let path = format!("/tickets/{reference}/assignee");
        let web = &web;
        async move {
            web.post_form(&path, &cookie, &[("csrf", &csrf), ("assignee", to)])
                .await
                .status
        }
    };
    let assignee = || async {
        web.store()
            .ticket_by_ref(&reference.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .assignee
    };

    // Tom cannot hand the ticket to Bob, but takes it himself and gives it back.
    assert_eq!(assign(tom.clone(), tom_csrf.clone(), "bob").await, 403);
    assert_eq!(assignee().await, None);
    assert_eq!(assign(tom.clone(), tom_csrf.clone(), "tom").await, 303);
    assert_eq!(assignee().await.as_deref(), Some("tom"));
    assert_eq!(assign(tom.clone(), tom_csrf.clone(), "").await, 303);
    assert_eq!(assignee().await, None);

    // Alice, a lead, dispatches it to Bob; Tom can then neither take it nor unassign Bob.
    assert_eq!(assign(alice.clone(), alice_csrf.clone(), "bob").await, 303);
    assert_eq!(assignee().await.as_deref(), Some("bob"));
    assert_eq!(assign(tom.clone(), tom_csrf.clone(), "tom").await, 403);
    assert_eq!(assign(tom.clone(), tom_csrf.clone(), "").await, 403);
    assert_eq!(assignee().await.as_deref(), Some("bob"));

    // The API follows the same rule, and a refused patch changes nothing, not even the status.
    let token = hotline::web::new_api_token(web.store(), "tom")
        .await
        .unwrap()
        .unwrap();
    let r = request(
        web.server.http,
        "PATCH",
        &format!("/api/tickets/{reference}"),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {token}")),
        ],
        br#"{"status":"resolved","assignee":"tom"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("only a lead"));
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status.as_str(), "new");

    // The export of the whole log is for leads; the call log offers it only to them.
    assert_eq!(
        web.get("/tickets.csv", &[("Cookie", &tom)]).await.status,
        403
    );
    assert_eq!(
        web.get("/tickets.csv", &[("Cookie", &alice)]).await.status,
        200
    );
    let log = web.get("/tickets", &[("Cookie", &tom)]).await.text();
    assert!(!log.contains("/tickets.csv"));
    let log = web.get("/tickets", &[("Cookie", &alice)]).await.text();
    assert!(log.contains("/tickets.csv"));
}
