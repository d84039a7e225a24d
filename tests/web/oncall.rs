//! "Who is on call" (`/oncall`), the rota edit pages (leads only) and the same data in the JSON
//! API: the right person now and next week for a seeded rota with an override, phones with
//! their state, forms that round-trip, and bad values refused naming the field.

use super::support::http::request;
use super::{csrf_in, Web};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use hotline::accounts::Role;
use hotline::oncall::{BusinessHours, Coverage, Handover, PresenceChoice, Rota, Rotation};
use hotline::sip::registrar::{Binding, BindingChange, Transport};
use hotline::store::{Store, TeamSettings};
use hotline::tickets::Category;

async fn technician(store: &Store, name: &str) {
    store
        .upsert_user(name, "x", Role::Technician)
        .await
        .unwrap();
}

/// A live phone of `user` (registered at the real now: the page shows phones as they are now).
async fn phone(store: &Store, user: &str, contact: &str, transport: Transport, reachable: bool) {
    let now = Utc::now();
    let binding = Binding {
        contact: contact.into(),
        expires_at: now + Duration::hours(1),
        call_id: format!("{contact}-reg"),
        cseq: 1,
        source: "198.51.100.7:5062".parse().unwrap(),
        transport,
        user_agent: Some("Linphone/5.2".into()),
    };
    store
        .apply_binding_changes(user, &[BindingChange::Save(binding)], now)
        .await
        .unwrap();
    if !reachable {
        store
            .set_binding_reachable(user, contact, false, now)
            .await
            .unwrap();
    }
}

/// The web log with the registrar's keep-alive off: the seeded phones' addresses answer
/// nothing, and a keep-alive round would mark them unreachable while the test reads them.
async fn start() -> Web {
    Web::start_with(|c| c.registrar.keepalive_secs = 0).await
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The network team in Paris, led by Alice: ana, ben and cid take weekly turns from Monday
/// 2 March 2026 09:00, so the week of 30 November is ana's (39 weeks on: 39 mod 3 = 0) with
/// ben second, and the week of 7 December is ben's with cid second. Dan covers ben for a day
/// from Tuesday 8 December 10:00. Returns the override's id.
pub(super) async fn seed_rota(web: &Web) -> i64 {
    let store = web.store();
    for name in ["ana", "ben", "cid", "dan"] {
        technician(store, name).await;
    }
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
        .assign_category(Category::Network, "network")
        .await
        .unwrap();
    store
        .save_rotation(&Rotation {
            team: "network".into(),
            name: "week".into(),
            coverage: Coverage::Always,
            handover: Handover::Weekly {
                day: chrono::Weekday::Mon,
                at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            },
            starts_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            members: vec!["ana".into(), "ben".into(), "cid".into()],
        })
        .await
        .unwrap();
    store
        .add_override(
            "network",
            "dan",
            Some("ben"),
            utc("2026-12-08T10:00:00+01:00"),
            utc("2026-12-09T10:00:00+01:00"),
        )
        .await
        .unwrap()
}

/// The text of the element that starts with `start` up to the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The timeline row whose shift starts at `from` (UTC, as in its `datetime` attribute).
fn shift_row<'a>(html: &'a str, from: &str) -> &'a str {
    let timeline = between(html, r#"<table class="timeline">"#, "</table>");
    timeline
        .split("<tr")
        .find(|row| {
            row.split("<td>")
                .nth(1)
                .is_some_and(|cell| cell.contains(&format!(r#"datetime="{from}""#)))
        })
        .unwrap_or_else(|| panic!("no shift from {from} in {timeline}"))
}

/// The names in a row's cells, in order (the technician cells of the `now` table, or the
/// primary / secondary / lead cells of a shift).
fn cells(row: &str) -> Vec<String> {
    row.split("<td>")
        .skip(1)
        .map(|c| {
            let c = &c[..c.find("</td>").unwrap_or(c.len())];
            // Drop tags, keep text.
            let mut text = String::new();
            let mut in_tag = false;
            for ch in c.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    ch if !in_tag => text.push(ch),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

#[tokio::test]
async fn the_page_shows_who_is_on_call_at_an_instant_and_the_next_weeks_shifts_with_the_override() {
    let web = start().await;
    seed_rota(&web).await;
    let store = web.store();
    phone(
        store,
        "ana",
        "sip:ana@192.0.2.10:5060",
        Transport::Udp,
        true,
    )
    .await;
    phone(
        store,
        "ana",
        "sip:ana@192.0.2.11:5060",
        Transport::Tcp,
        false,
    )
    .await;
    store
        .set_presence("ben", PresenceChoice::Away)
        .await
        .unwrap();
    let (tom, _) = web.session_of("tom").await;

    // Wednesday 2 December 10:00 in Paris.
    let page = web
        .get("/oncall?at=2026-12-02T09:00:00Z", &[("Cookie", &tom)])
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    let team = between(&html, r#"<section id="team-network""#, "</section>");
    assert!(team.contains("Europe/Paris"), "{team}");

    // Now: ana, then ben, then the lead, with presence and phones as they are.
    let now = between(team, r#"<table class="now">"#, "</table>");
    let rows: Vec<Vec<String>> = now.split("<tr>").skip(2).map(cells).collect();
    let order: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        order,
        [("primary", "ana"), ("secondary", "ben"), ("lead", "alice")],
        "{now}"
    );
    assert_eq!(rows[0][2], "available", "ana has a reachable phone");
    assert_eq!(rows[0][3], "1 / 2 reachable");
    assert_eq!(
        rows[0][4], "30 s",
        "the default policy rings the primary 30 s"
    );
    assert_eq!(rows[1][2], "offline", "ben has no phone, whatever he chose");
    assert_eq!(rows[1][3], "no phone");

    // Next week: ben's turn from Monday 09:00 Paris (08:00 UTC), cid second.
    let monday = cells(shift_row(team, "2026-12-07T08:00:00Z"));
    assert!(
        monday[0].starts_with("Mon 2026-12-07 09:00 CET"),
        "{monday:?}"
    );
    assert_eq!(&monday[2..5], ["ben", "cid", "alice"], "{monday:?}");
    assert_eq!(monday[5], "", "no override then");

    // Tuesday 10:00 Paris: dan covers ben for a day, marked as an override.
    let tuesday_row = shift_row(team, "2026-12-08T09:00:00Z");
    assert!(
        tuesday_row.contains(r#"class="overridden""#),
        "{tuesday_row}"
    );
    let tuesday = cells(tuesday_row);
    assert_eq!(&tuesday[2..5], ["dan", "cid", "alice"], "{tuesday:?}");
    assert_eq!(tuesday[5], "override dan covers ben");
    assert!(tuesday[1].contains("2026-12-09 10:00"), "{tuesday:?}");
    // Then ben again until the next handover.
    let wednesday = cells(shift_row(team, "2026-12-09T09:00:00Z"));
    assert_eq!(&wednesday[2..5], ["ben", "cid", "alice"], "{wednesday:?}");
    assert!(wednesday[1].contains("2026-12-14 09:00"), "{wednesday:?}");

    // Every technician's phones with their state.
    let phones = between(&html, r#"<section id="phones""#, "</section>");
    let ana: Vec<&str> = phones
        .split("<tr>")
        .filter(|r| r.contains("sip:ana@"))
        .collect();
    assert_eq!(ana.len(), 2, "{phones}");
    assert!(
        ana[0].contains("sip:ana@192.0.2.10:5060")
            && ana[0].contains("UDP")
            && ana[0].contains(r#"class="phone reachable""#),
        "{}",
        ana[0]
    );
    assert!(
        ana[1].contains("TCP") && ana[1].contains(r#"class="phone unreachable""#),
        "{}",
        ana[1]
    );
    assert!(ana[0].contains("198.51.100.7:5062") && ana[0].contains("Linphone/5.2"));
    let ben = between(phones, r#"id="tech-ben""#, "</tr>");
    assert!(ben.contains("no phone registered"), "{ben}");

    // A technician sees no edit links.
    assert!(!html.contains("/oncall/teams"), "edit links are for leads");
}

#[tokio::test]
async fn the_page_without_a_time_shows_now_and_a_cover_taking_the_shift() {
    let web = start().await;
    let store = web.store();
    technician(store, "eve").await;
    technician(store, "dan").await;
    store
        .save_team(&TeamSettings {
            name: "accounts".into(),
            time_zone: "America/New_York".parse().unwrap(),
            lead: None,
            business_hours: BusinessHours::default(),
        })
        .await
        .unwrap();
    // Eve alone on a daily rotation: on call at any instant, whatever today is.
    store
        .save_rotation(&Rotation {
            team: "accounts".into(),
            name: "days".into(),
            coverage: Coverage::Always,
            handover: Handover::parse("daily 08:00").unwrap(),
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            members: vec!["eve".into()],
        })
        .await
        .unwrap();
    let now = Utc::now();
    store
        .add_override(
            "accounts",
            "dan",
            None,
            now - Duration::hours(1),
            now + Duration::hours(1),
        )
        .await
        .unwrap();
    let (alice, _) = web.session().await;
    let html = web.get("/oncall", &[("Cookie", &alice)]).await.text();
    let team = between(&html, r#"<section id="team-accounts""#, "</section>");
    let now_table = between(team, r#"<table class="now">"#, "</table>");
    let order: Vec<(String, String)> = now_table
        .split("<tr>")
        .skip(2)
        .map(cells)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        order,
        [
            ("primary".to_string(), "dan".to_string()),
            ("secondary".to_string(), "eve".to_string())
        ],
        "dan took the whole shift, eve is second: {now_table}"
    );
    // A week on, eve alone: the last shift of the timeline, after the override ended.
    let timeline = between(team, r#"<table class="timeline">"#, "</table>");
    let last = cells(timeline.rsplit("<tr").next().unwrap());
    assert_eq!(&last[2..5], ["eve", "—", "—"], "{timeline}");
    assert!(team.contains("(14 days)"), "{team}");
    // The lead gets the edit links; the navigation and the home page link here.
    assert!(team.contains(r#"href="/oncall/teams/accounts""#));
    assert!(html.contains(r#"<a href="/oncall">On call</a>"#));
    let home = web.get("/", &[("Cookie", &alice)]).await.text();
    assert!(home.contains(r#"href="/oncall""#));

    // In French.
    let fr = format!("{alice}; hotline_lang=fr");
    let html = web.get("/oncall", &[("Cookie", &fr)]).await.text();
    assert!(html.contains("Téléphones des techniciens"), "{html}");
    assert!(html.contains("D&#39;astreinte maintenant") || html.contains("D'astreinte maintenant"));
    assert!(html.contains("principal"));
}

#[tokio::test]
async fn a_technician_may_read_the_rota_but_not_edit_it() {
    let web = start().await;
    let override_id = seed_rota(&web).await;
    let before = web.store().rota(utc("2026-01-01T00:00:00Z")).await.unwrap();
    let (tom, csrf) = web.session_of("tom").await;
    let c = [("Cookie", tom.as_str())];
    assert_eq!(web.get("/oncall", &c).await.status, 200);
    assert_eq!(web.get("/oncall/teams", &c).await.status, 403);
    assert_eq!(web.get("/oncall/teams/network", &c).await.status, 403);
    let posts: [(String, Vec<(&str, &str)>); 6] = [
        (
            "/oncall/teams".into(),
            vec![
                ("name", "network"),
                ("time_zone", "UTC"),
                ("business_hours", "mon-fri 08:00-18:00"),
                ("members", "tom"),
            ],
        ),
        ("/oncall/teams/network/delete".into(), vec![]),
        (
            "/oncall/teams/network/rotations".into(),
            vec![
                ("name", "week"),
                ("coverage", "always"),
                ("handover", "daily 09:00"),
                ("starts_on", "2026-01-01"),
                ("members", "tom"),
            ],
        ),
        ("/oncall/teams/network/rotations/week/delete".into(), vec![]),
        (
            "/oncall/teams/network/overrides".into(),
            vec![
                ("covering", "tom"),
                ("from", "2026-12-01T00:00"),
                ("until", "2026-12-31T00:00"),
            ],
        ),
        (
            format!("/oncall/teams/network/overrides/{override_id}/delete"),
            vec![],
        ),
    ];
    for (path, mut fields) in posts {
        fields.push(("csrf", &csrf));
        let r = web.post_form(&path, &tom, &fields).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains("only a lead"), "{path}");
    }
    assert_eq!(
        web.store().rota(utc("2026-01-01T00:00:00Z")).await.unwrap(),
        before,
        "nothing changed"
    );
}

/// The rota as the edit page's team shows it, for comparing before and after a refused form.
async fn rota(web: &Web) -> Rota {
    web.store().rota(utc("2026-01-01T00:00:00Z")).await.unwrap()
}

#[tokio::test]
async fn a_lead_edits_a_team_its_rotation_and_an_override_through_the_forms() {
    let web = start().await;
    let store = web.store();
    for name in ["ana", "ben", "dan"] {
        technician(store, name).await;
    }
    let (alice, csrf) = web.session().await;
    let list = web.get("/oncall/teams", &[("Cookie", &alice)]).await;
    assert_eq!(list.status, 200);
    assert!(list.text().contains(r#"action="/oncall/teams""#));
    assert!(
        list.text().contains(r#"name="new" value="true""#),
        "the new-team form says it creates"
    );
    assert_eq!(csrf_in(&list.text()), csrf);

    let r = web
        .post_form(
            "/oncall/teams",
            &alice,
            &[
                ("csrf", &csrf),
                ("new", "true"),
                ("name", "network"),
                ("time_zone", "Europe/Paris"),
                ("lead", "alice"),
                ("business_hours", "mon-fri 08:30-17:30"),
                ("members", "ana, ben"),
                ("categories", "network, account"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/oncall/teams/network"));
    let saved = rota(&web).await;
    let team = saved.team("network").unwrap();
    assert_eq!(team.members, ["ana", "ben"]);
    // Read back in the store's order (by name).
    assert_eq!(team.categories, [Category::Account, Category::Network]);
    assert_eq!(team.lead.as_deref(), Some("alice"));
    assert_eq!(
        team.business_hours.to_string(),
        "mon,tue,wed,thu,fri 08:30-17:30"
    );

    let r = web
        .post_form(
            "/oncall/teams/network/rotations",
            &alice,
            &[
                ("csrf", &csrf),
                ("name", "nights"),
                ("coverage", "out_of_hours"),
                ("handover", "daily 17:30"),
                ("starts_on", "2026-12-01"),
                ("members", "ben ana"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = web
        .post_form(
            "/oncall/teams/network/overrides",
            &alice,
            &[
                ("csrf", &csrf),
                ("covering", "dan"),
                ("covered", "ben"),
                ("from", "2026-12-24T18:00"),
                ("until", "2026-12-26T09:00"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let saved = rota(&web).await;
    let nights = &saved.rotations[0];
    assert_eq!(
        (
            nights.name.as_str(),
            nights.coverage,
            nights.handover.to_string()
        ),
        ("nights", Coverage::OutOfHours, "daily 17:30".to_string())
    );
    assert_eq!(nights.members, ["ben", "ana"], "turn order as typed");
    let o = &saved.overrides[0];
    assert_eq!(
        (o.covering.as_str(), o.covered.as_deref()),
        ("dan", Some("ben"))
    );
    // Local times in the team's zone: Paris is UTC+1 in December.
    assert_eq!(
        o.from,
        Utc.with_ymd_and_hms(2026, 12, 24, 17, 0, 0).unwrap()
    );
    assert_eq!(
        o.until,
        Utc.with_ymd_and_hms(2026, 12, 26, 8, 0, 0).unwrap()
    );

    // The edit page shows what was saved, in its forms.
    let page = web
        .get("/oncall/teams/network", &[("Cookie", &alice)])
        .await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(r#"name="members" value="ana, ben""#),
        "{html}"
    );
    assert!(html.contains(r#"name="categories" value="account, network""#));
    assert!(html.contains(r#"name="handover" value="daily 17:30""#));
    assert!(html.contains(r#"<option value="out_of_hours" selected>"#));
    assert!(html.contains(r#"name="members" value="ben, ana""#));
    assert!(html.contains("dan covers ben"));
    assert!(html.contains("Thu 2026-12-24 18:00 CET"), "{html}");

    // Changing the team keeps its rotation; removing the override and the rotation works.
    let r = web
        .post_form(
            "/oncall/teams",
            &alice,
            &[
                ("csrf", &csrf),
                ("name", "network"),
                ("time_zone", "Europe/Paris"),
                ("business_hours", "mon-fri 08:30-17:30"),
                ("members", "ana"),
                ("categories", "network"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let saved = rota(&web).await;
    let team = saved.team("network").unwrap();
    assert_eq!((team.members.len(), team.lead.clone()), (1, None));
    assert_eq!(team.categories, [Category::Network]);
    assert_eq!(saved.rotations.len(), 1);
    let id = saved.overrides[0].id;
    let r = web
        .post_form(
            &format!("/oncall/teams/network/overrides/{id}/delete"),
            &alice,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = web
        .post_form(
            "/oncall/teams/network/rotations/nights/delete",
            &alice,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    let saved = rota(&web).await;
    assert!(saved.overrides.is_empty() && saved.rotations.is_empty());
    // Without the CSRF token nothing happens.
    let r = web
        .post_form("/oncall/teams/network/delete", &alice, &[])
        .await;
    assert_eq!(r.status, 403);
    assert!(rota(&web).await.team("network").is_some());
    let r = web
        .post_form("/oncall/teams/network/delete", &alice, &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert!(rota(&web).await.teams.is_empty());
    assert_eq!(
        web.get("/oncall/teams/network", &[("Cookie", &alice)])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_bad_form_value_is_refused_naming_the_field_and_nothing_changes() {
    let web = start().await;
    seed_rota(&web).await;
    let before = rota(&web).await;
    let (alice, csrf) = web.session().await;
    let rotation = |field: &'static str, value: &'static str| {
        let mut fields = vec![
            ("name", "week"),
            ("coverage", "always"),
            ("handover", "daily 09:00"),
            ("starts_on", "2026-12-01"),
            ("members", "cid, ana"),
        ];
        for f in fields.iter_mut().filter(|f| f.0 == field) {
            f.1 = value;
        }
        fields
    };
    let team = |field: &'static str, value: &'static str| {
        let mut fields = vec![
            ("name", "network"),
            ("time_zone", "Europe/Paris"),
            ("lead", "alice"),
            ("business_hours", "mon-fri 08:00-18:00"),
            ("members", "ana"),
            ("categories", "network"),
        ];
        for f in fields.iter_mut().filter(|f| f.0 == field) {
            f.1 = value;
        }
        fields
    };
    let over = |field: &'static str, value: &'static str| {
        let mut fields = vec![
            ("covering", "dan"),
            ("covered", "ana"),
            ("from", "2026-12-24T18:00"),
            ("until", "2026-12-26T09:00"),
        ];
        for f in fields.iter_mut().filter(|f| f.0 == field) {
            f.1 = value;
        }
        fields
    };
    let cases = [
        (
            "/oncall/teams/network/rotations",
            rotation("handover", "fortnightly"),
            "handover",
        ),
        (
            "/oncall/teams/network/rotations",
            rotation("starts_on", "2026-13-01"),
            "starts_on",
        ),
        (
            "/oncall/teams/network/rotations",
            rotation("coverage", "weekends"),
            "coverage",
        ),
        (
            "/oncall/teams/network/rotations",
            rotation("members", "ana, ghost"),
            "ghost",
        ),
        (
            "/oncall/teams/network/rotations",
            rotation("members", ""),
            "members",
        ),
        (
            "/oncall/teams/network/rotations",
            rotation("name", "night shift"),
            "name",
        ),
        (
            "/oncall/teams",
            team("time_zone", "Mars/Olympus"),
            "time_zone",
        ),
        (
            "/oncall/teams",
            team("business_hours", "weekdays"),
            "business_hours",
        ),
        (
            "/oncall/teams",
            team("categories", "network, printers"),
            "categories",
        ),
        ("/oncall/teams", team("lead", "ghost"), "lead"),
        (
            "/oncall/teams/network/overrides",
            over("until", "2026-12-24T17:00"),
            "until",
        ),
        (
            "/oncall/teams/network/overrides",
            over("from", "tomorrow"),
            "from",
        ),
        (
            "/oncall/teams/network/overrides",
            over("covered", "dan"),
            "covered",
        ),
    ];
    for (path, fields, named) in cases {
        let mut fields: Vec<(&str, &str)> = fields;
        fields.push(("csrf", &csrf));
        let r = web.post_form(path, &alice, &fields).await;
        assert_eq!(r.status, 422, "{path} {fields:?}: {}", r.text());
        assert!(
            r.text().contains(named),
            "{path}: the error names `{named}`: {}",
            r.text()
        );
        assert_eq!(
            rota(&web).await,
            before,
            "{path} {fields:?} changed the rota"
        );
        // The error page leads back to the form it came from.
        let back = if path.starts_with("/oncall/teams/network/") {
            r#"href="/oncall/teams/network">Back to the form"#
        } else {
            r#"href="/oncall/teams">Back to the form"#
        };
        assert!(r.text().contains(back), "{path}: {}", r.text());
    }
    // The "new" forms do not overwrite a team or rotation of the same name.
    let mut fields: Vec<(&str, &str)> = team("members", "cid");
    fields.extend([("csrf", csrf.as_str()), ("new", "true")]);
    let r = web.post_form("/oncall/teams", &alice, &fields).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("name: a team `network` already exists"));
    let mut fields: Vec<(&str, &str)> = rotation("members", "cid");
    fields.extend([("csrf", csrf.as_str()), ("new", "true")]);
    let r = web
        .post_form("/oncall/teams/network/rotations", &alice, &fields)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("already has a rotation `week`"));
    assert_eq!(rota(&web).await, before);
    // A rotation for a team that does not exist.
    let mut fields: Vec<(&str, &str)> = rotation("name", "week");
    fields.push(("csrf", &csrf));
    let r = web
        .post_form("/oncall/teams/nowhere/rotations", &alice, &fields)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn the_api_gives_the_same_board_and_the_phones_as_json() {
    let web = start().await;
    let override_id = seed_rota(&web).await;
    let store = web.store();
    phone(
        store,
        "ana",
        "sip:ana@192.0.2.10:5060",
        Transport::Udp,
        true,
    )
    .await;
    phone(
        store,
        "ben",
        "sip:ben@192.0.2.12:5060",
        Transport::Tcp,
        false,
    )
    .await;
    let bearer = web.bearer().await;
    let auth = [("Authorization", bearer.as_str())];

    let r = web
        .get("/api/oncall?at=2026-12-02T09:00:00Z&days=14", &auth)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let board = r.json();
    assert_eq!(board["at"], "2026-12-02T09:00:00Z");
    assert_eq!(board["until"], "2026-12-16T09:00:00Z");
    let team = &board["teams"][0];
    assert_eq!(team["name"], "network");
    assert_eq!(team["time_zone"], "Europe/Paris");
    assert_eq!(team["categories"], serde_json::json!(["network"]));
    let on_call: Vec<(String, String, String)> = team["on_call"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["user"].as_str().unwrap().into(),
                o["position"].as_str().unwrap().into(),
                o["presence"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        on_call,
        [
            ("ana".into(), "primary".into(), "available".into()),
            ("ben".into(), "secondary".into(), "offline".into()),
            ("alice".into(), "lead".into(), "offline".into()),
        ]
    );
    assert_eq!(team["on_call"][1]["phones"], 1);
    assert_eq!(team["on_call"][1]["reachable_phones"], 0);
    assert_eq!(team["on_call"][2]["ring_secs"], 60);
    let shifts = team["timeline"].as_array().unwrap();
    let froms: Vec<&str> = shifts.iter().map(|s| s["from"].as_str().unwrap()).collect();
    assert_eq!(
        froms,
        [
            "2026-12-02T09:00:00Z",
            "2026-12-07T08:00:00Z",
            "2026-12-08T09:00:00Z",
            "2026-12-09T09:00:00Z",
            "2026-12-14T08:00:00Z",
        ]
    );
    let covered = &shifts[2];
    assert_eq!(covered["overrides"], serde_json::json!([override_id]));
    assert_eq!(covered["on_call"][0]["user"], "dan");
    assert_eq!(shifts[4]["on_call"][0]["user"], "cid");
    assert_eq!(shifts[4]["on_call"][1]["user"], "ana");
    assert_eq!(team["overrides"][0]["covered"], "ben");
    let ana = board["technicians"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ana")
        .unwrap();
    assert_eq!(ana["phones"][0]["transport"], "udp");
    assert_eq!(ana["phones"][0]["reachable"], true);

    let r = web.get("/api/phones", &auth).await;
    assert_eq!(r.status, 200);
    let phones = r.json()["phones"].as_array().unwrap().clone();
    let states: Vec<(&str, bool)> = phones
        .iter()
        .map(|p| {
            (
                p["user"].as_str().unwrap(),
                p["reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("ana", true), ("ben", false)]);
    assert_eq!(phones[1]["contact"], "sip:ben@192.0.2.12:5060");
    assert_eq!(phones[1]["source"], "198.51.100.7:5062");

    // Bad parameters are a 400 naming them; the description lists both routes.
    let r = web.get("/api/oncall?days=0", &auth).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("days"));
    let r = web.get("/api/oncall?at=yesterday", &auth).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("at:"));
    let r = web.get("/api/oncall?team=network", &auth).await;
    assert_eq!(r.status, 400, "unknown parameters are refused");
    let spec = web.get("/api/openapi.json", &auth).await.json();
    assert!(spec["paths"]["/api/oncall"]["get"].is_object());
    assert!(spec["paths"]["/api/phones"]["get"].is_object());
    let r = request(web.server.http, "GET", "/api/oncall", &[], b"").await;
    assert_eq!(r.status, 401);
}
