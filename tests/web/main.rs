//! The web log end to end: the real server on port 0, driven over real TCP with a minimal HTTP
//! client. Covers authentication, CSRF, filters and pagination, the ticket page, the JSON API
//! and Range requests for voicemails; `stats` covers the statistics and the CSV export.

#[path = "../support/mod.rs"]
mod support;

mod browser;
mod home;
mod language;
mod oncall;
mod roles;
mod routes;
mod routing_stats;
mod search;
mod security;
mod softphone;
mod stats;

use hotline::accounts::Role;
use hotline::store::{NewTicket, TicketField, TranscriptRecord};
use hotline::tickets::{Category, Impact, TicketStatus, Urgency};
use std::time::Duration;
use support::http::{form_escape, request, Reply};
use support::postgres::PgDatabase;
use support::server::TestServer;

const PASSWORD: &str = "correct horse battery";

struct Web {
    server: TestServer,
}

impl Web {
    async fn start() -> Web {
        Web::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut hotline::config::Config)) -> Web {
        let server = TestServer::start_with(adjust).await;
        let store = server.server.as_ref().unwrap().store();
        // Alice leads the team; Tom is a technician (see `roles`).
        hotline::web::add_user(store, "alice", Role::Lead, PASSWORD)
            .await
            .unwrap();
        hotline::web::add_user(store, "tom", Role::Technician, PASSWORD)
            .await
            .unwrap();
        Web { server }
    }

    fn store(&self) -> &hotline::store::Store {
        self.server.server.as_ref().unwrap().store()
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        request(self.server.http, "GET", path, headers, b"").await
    }

    async fn post_form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", form_escape(v)))
            .collect::<Vec<_>>()
            .join("&");
        let cookie = cookie.to_string();
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        request(self.server.http, "POST", path, &headers, body.as_bytes()).await
    }

    /// Logs in through the form; returns the Cookie header value and the session's CSRF token.
    async fn login(&self, name: &str, password: &str) -> Reply {
        self.login_from(name, password, &[]).await
    }

    /// Logs in through the form, sending `extra` headers with both requests (a proxy's
    /// `X-Forwarded-For`, say).
    async fn login_from(&self, name: &str, password: &str, extra: &[(&str, &str)]) -> Reply {
        let form = self.get("/login", extra).await;
        assert_eq!(form.status, 200);
        let login_cookie = form.cookie("hotline_login").expect("login CSRF cookie");
        let csrf = csrf_in(&form.text());
        let body = format!(
            "name={}&password={}&csrf={}",
            form_escape(name),
            form_escape(password),
            form_escape(&csrf)
        );
        let cookie = format!("hotline_login={login_cookie}");
        let mut headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
        ];
        headers.extend_from_slice(extra);
        request(
            self.server.http,
            "POST",
            "/login",
            &headers,
            body.as_bytes(),
        )
        .await
    }

    async fn session(&self) -> (String, String) {
        self.session_of("alice").await
    }

    async fn session_of(&self, name: &str) -> (String, String) {
        let reply = self.login(name, PASSWORD).await;
        assert_eq!(reply.status, 303, "{}", reply.text());
        let cookie = format!(
            "hotline_session={}",
            reply.cookie("hotline_session").expect("session cookie")
        );
        let page = self.get("/tickets", &[("Cookie", &cookie)]).await;
        assert_eq!(page.status, 200);
        let csrf = csrf_in(&page.text());
        (cookie, csrf)
    }

    async fn bearer(&self) -> String {
        let token = hotline::web::new_api_token(self.store(), "alice")
            .await
            .unwrap()
            .unwrap();
        format!("Bearer {token}")
    }

    /// A ticket with answers, a priority, an estimate, a voicemail and its transcript.
    async fn seed_ticket(&self, caller: &str) -> (String, Vec<u8>) {
        let store = self.store();
        let t = store
            .create_ticket(&NewTicket {
                call_id: format!("call-{caller}"),
                caller_number: caller.into(),
                caller_name: Some("Ada <Lovelace>".into()),
            })
            .await
            .unwrap();
        store
            .set_field(t.id, TicketField::Category(Category::ALL[0]))
            .await
            .unwrap();
        store
            .set_field(t.id, TicketField::Impact(Impact::Organisation))
            .await
            .unwrap();
        store
            .set_field(t.id, TicketField::Urgency(Urgency::Blocked))
            .await
            .unwrap();
        store.set_collected(t.id, "asset", "4711").await.unwrap();
        store
            .set_estimate(t.id, Duration::from_secs(15 * 60))
            .await
            .unwrap();
        let path = self.server.data.path().join(format!("{caller}.wav"));
        // A real voicemail: 4.2 s of a 440 Hz tone, 8 kHz 16-bit mono, as the recorder writes.
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..33_600 {
            let x = (i as f64 * 440.0 * std::f64::consts::TAU / 8000.0).sin();
            wav.write_sample((x * 8000.0) as i16).unwrap();
        }
        wav.finalize().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let path = path.display().to_string();
        store
            .set_recording(
                t.id,
                &path,
                Duration::from_millis(4200),
                hotline::tickets::RecordingState::Ended {
                    end: hotline::tickets::RecordingEnd::Hangup,
                    speech: true,
                },
            )
            .await
            .unwrap();
        // The same audio stands in for a recorded conversation with a technician.
        store
            .set_conversation(t.id, &path, Duration::from_millis(4200))
            .await
            .unwrap();
        store
            .enqueue_transcription(t.id, &path, Some("en"))
            .await
            .unwrap();
        let job = store
            .claim_transcription(Duration::from_secs(60), chrono::Utc::now())
            .await
            .unwrap()
            .unwrap();
        store
            .complete_transcription(
                &job,
                &TranscriptRecord {
                    text: Some("My printer is on fire.".into()),
                    language: "en".into(),
                    segments_json:
                        r#"[{"start_ms":1500,"end_ms":3200,"text":"My printer is on fire."}]"#
                            .into(),
                    model: "test".into(),
                    processing: Duration::from_millis(10),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        (t.reference.to_string(), bytes)
    }
}

fn csrf_in(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("a CSRF field in the page");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn every_route_refuses_anonymous_requests() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("100").await;
    for path in [
        "/tickets".to_string(),
        format!("/tickets/{reference}"),
        format!("/tickets/{reference}/recording"),
    ] {
        let r = web.get(&path, &[]).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/login"), "{path}");
    }
    let r = web
        .post_form(
            &format!("/tickets/{reference}/status"),
            "",
            &[("status", "closed")],
        )
        .await;
    assert_eq!(r.status, 303);
    for path in [
        "/api/tickets".to_string(),
        format!("/api/tickets/{reference}"),
        format!("/api/tickets/{reference}/recording"),
        "/api/openapi.json".to_string(),
        "/events".to_string(),
        "/phone".to_string(),
    ] {
        let r = web.get(&path, &[]).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(r.json()["error"].as_str().unwrap().contains("log in"));
        let r = web
            .get(&path, &[("Authorization", "Bearer hl_not_a_token")])
            .await;
        assert_eq!(r.status, 401, "{path}");
        let r = web
            .get(&path, &[("Cookie", "hotline_session=forged")])
            .await;
        assert_eq!(r.status, 401, "{path}");
    }
    let r = request(
        web.server.http,
        "PATCH",
        &format!("/api/tickets/{reference}"),
        &[("Content-Type", "application/json")],
        br#"{"status":"closed"}"#,
    )
    .await;
    assert_eq!(r.status, 401);
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TicketStatus::New);
}

#[tokio::test]
async fn login_sets_an_httponly_lax_session_cookie_and_logout_ends_it() {
    let web = Web::start().await;
    let wrong = web.login("alice", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("Wrong name or password"));
    assert!(wrong.cookie("hotline_session").is_none());
    let unknown = web.login("mallory", PASSWORD).await;
    assert_eq!(unknown.status, 401);

    let ok = web.login("alice", PASSWORD).await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/"));
    let set = ok
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("hotline_session="))
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = format!("hotline_session={}", ok.cookie("hotline_session").unwrap());
    let page = web.get("/tickets", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("alice"));

    let csrf = csrf_in(&page.text());
    let out = web
        .post_form("/logout", &cookie, &[("csrf", "wrong")])
        .await;
    assert_eq!(out.status, 403, "logout needs the CSRF token too");
    let out = web.post_form("/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let after = web.get("/tickets", &[("Cookie", &cookie)]).await;
    assert_eq!(after.status, 303, "the old cookie no longer works");
}

#[tokio::test]
async fn login_without_the_form_csrf_token_is_refused() {
    let web = Web::start().await;
    let r = web
        .post_form(
            "/login",
            "",
            &[("name", "alice"), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = web
        .post_form(
            "/login",
            "hotline_login=abc",
            &[("name", "alice"), ("password", PASSWORD), ("csrf", "abd")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.cookie("hotline_session").is_none());
}

#[tokio::test]
async fn repeated_failed_logins_from_one_address_are_refused_even_with_the_right_password() {
    let web = Web::start().await;
    // Three free failures, then each failure makes the address wait (1 s, then 2 s, ...).
    for _ in 0..4 {
        assert_eq!(web.login("alice", "guess").await.status, 401);
    }
    let r = web.login("alice", PASSWORD).await;
    assert_eq!(r.status, 429);
    assert!(r.cookie("hotline_session").is_none());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.text().contains("wait 1 s and try again"), "{}", r.text());
}

#[tokio::test]
async fn call_log_lists_newest_first_with_filters_and_pages() {
    let web = Web::start().await;
    let (first, _) = web.seed_ticket("201").await;
    let (second, _) = web.seed_ticket("202").await;
    let (third, _) = web.seed_ticket("203").await;
    let second_id = web
        .store()
        .ticket_by_ref(&second.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    web.store()
        .set_status_by(second_id, TicketStatus::Resolved, "alice")
        .await
        .unwrap();
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];

    let html = web.get("/tickets", &c).await.text();
    let pos = |r: &str| html.find(r).unwrap_or_else(|| panic!("{r} listed"));
    assert!(pos(&third) < pos(&second) && pos(&second) < pos(&first));
    assert!(
        html.contains("P1 critical"),
        "priority as text next to its colour"
    );
    assert!(html.contains("Ada &lt;Lovelace&gt;"), "caller data escaped");

    let html = web
        .get("/tickets?status=resolved&priority=", &c)
        .await
        .text();
    assert!(html.contains(&second) && !html.contains(&first) && !html.contains(&third));

    let html = web.get("/tickets?per_page=1&page=2", &c).await.text();
    assert!(html.contains(&second) && !html.contains(&first) && !html.contains(&third));
    assert!(
        html.contains("page=3") && html.contains("page=1"),
        "links to both neighbours"
    );

    let html = web.get("/tickets?from=2999-01-01", &c).await.text();
    assert!(html.contains("No tickets."));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let html = web
        .get(&format!("/tickets?from={today}&to={today}"), &c)
        .await
        .text();
    assert!(html.contains(&first));

    let huge = web.get("/tickets?page=4294967295", &c).await;
    assert_eq!(huge.status, 200);
    assert!(huge.text().contains("No tickets."));

    let auth = web.bearer().await;
    let a = [("Authorization", auth.as_str())];
    let json = web.get("/api/tickets?status=new", &a).await.json();
    let refs: Vec<&str> = json["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [third.as_str(), first.as_str()]);
    let json = web.get("/api/tickets?page=4294967295", &a).await.json();
    assert_eq!(json["tickets"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_filter_values_are_400_naming_the_parameter() {
    let web = Web::start().await;
    let (cookie, _) = web.session().await;
    let auth = web.bearer().await;
    for (query, name) in [
        ("status=sleeping", "status"),
        ("priority=P9", "priority"),
        ("category=plumbing", "category"),
        ("disposition=maybe", "disposition"),
        ("from=yesterday", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=100000", "per_page"),
        ("colour=red", "colour"),
    ] {
        let r = web
            .get(
                &format!("/api/tickets?{query}"),
                &[("Authorization", &auth)],
            )
            .await;
        assert_eq!(r.status, 400, "{query}");
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(&format!("`{name}`")), "{query}: {error}");
        let r = web
            .get(&format!("/tickets?{query}"), &[("Cookie", &cookie)])
            .await;
        assert_eq!(r.status, 400, "{query}");
        assert!(r.text().contains(&format!("`{name}`")), "{query}");
    }
}

#[tokio::test]
async fn ticket_page_shows_the_call_voicemail_and_transcript() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("300").await;
    let (cookie, _) = web.session().await;
    let r = web
        .get(&format!("/tickets/{reference}"), &[("Cookie", &cookie)])
        .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    for expected in [
        "Ada &lt;Lovelace&gt; (300)",
        "P1 critical",
        "<td>15 minutes</td>",
        "asset",
        "4711",
        &format!(
            r#"<audio id="voicemail" controls preload="metadata" src="/tickets/{reference}/recording">"#
        ),
        "0:01.5–0:03.2",
        "My printer is on fire.",
        "received",
    ] {
        assert!(html.contains(expected), "page shows {expected}");
    }
    assert!(!html.contains("<Lovelace>"));
    // The final pass is done: nothing says the text may still change.
    assert!(!html.contains(r#"class="draft""#), "{html}");
}

#[tokio::test]
async fn a_transcript_still_being_transcribed_is_marked_as_a_draft() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("301").await;
    let (cookie, _) = web.session().await;
    let id = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    // A later part of the voicemail waits for a worker.
    web.store()
        .enqueue_transcription_part(id, "/data/301.part1.wav", Some("en"), 1)
        .await
        .unwrap();
    let web = &web;
    let page = |lang: &'static str| {
        let cookie = format!("{cookie}; hotline_lang={lang}");
        let path = format!("/tickets/{reference}");
        async move { web.get(&path, &[("Cookie", &cookie)]).await.text() }
    };
    let html = page("en").await;
    assert!(
        html.contains(
            r#"<p class="draft">Draft: the voicemail is still being transcribed, part by part.</p>"#
        ),
        "{html}"
    );
    assert!(html.contains("My printer is on fire."));
    let html = page("fr").await;
    assert!(
        html.contains(r#"<p class="draft">Brouillon : le message vocal"#),
        "{html}"
    );
}

#[tokio::test]
async fn unknown_or_malformed_tickets_are_4xx() {
    let web = Web::start().await;
    let (cookie, csrf) = web.session().await;
    let auth = web.bearer().await;
    let c = [("Cookie", cookie.as_str())];
    let a = [("Authorization", auth.as_str())];
    assert_eq!(web.get("/tickets/HD-2026-999999", &c).await.status, 404);
    assert_eq!(web.get("/tickets/not-a-ref", &c).await.status, 400);
    assert_eq!(web.get("/api/tickets/HD-2026-999999", &a).await.status, 404);
    let r = web.get("/api/tickets/garbage", &a).await;
    assert_eq!(r.status, 400);
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("`garbage` is not a ticket reference like HD-2026-000123"),
        "{error}"
    );
    for path in ["/tickets/garbage/status", "/tickets/garbage/notes"] {
        let r = web
            .post_form(path, &cookie, &[("csrf", &csrf), ("status", "closed")])
            .await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.text().contains("is not a ticket reference"), "{path}");
    }
    assert_eq!(
        web.get("/api/tickets/HD-2026-999999/recording", &a)
            .await
            .status,
        404
    );
    let r = web
        .post_form(
            "/tickets/HD-2026-999999/status",
            &cookie,
            &[("csrf", &csrf), ("status", "closed")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(web.get("/no/such/page", &c).await.status, 404);
}

#[tokio::test]
async fn status_changes_and_notes_need_the_csrf_token_and_are_audited() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("400").await;
    let (cookie, csrf) = web.session().await;
    let status_path = format!("/tickets/{reference}/status");
    let r = web
        .post_form(&status_path, &cookie, &[("status", "acknowledged")])
        .await;
    assert_eq!(r.status, 403, "no CSRF token");
    let r = web
        .post_form(
            &status_path,
            &cookie,
            &[("csrf", "forged"), ("status", "acknowledged")],
        )
        .await;
    assert_eq!(r.status, 403, "wrong CSRF token");
    let r = web
        .post_form(
            &format!("/tickets/{reference}/notes"),
            &cookie,
            &[("body", "sneaky")],
        )
        .await;
    assert_eq!(r.status, 403);
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TicketStatus::New);
    assert!(web.store().activity(t.id).await.unwrap().is_empty());

    for status in ["acknowledged", "in_progress", "resolved", "closed"] {
        let r = web
            .post_form(
                &status_path,
                &cookie,
                &[("csrf", &csrf), ("status", status)],
            )
            .await;
        assert_eq!(r.status, 303, "{status}: {}", r.text());
    }
    // Refused by the status type, naming the field and the statuses there are.
    let r = web
        .post_form(
            &status_path,
            &cookie,
            &[("csrf", &csrf), ("status", "exploded")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("status") && r.text().contains("exploded"),
        "{}",
        r.text()
    );
    for body in ["", "   "] {
        let r = web
            .post_form(
                &format!("/tickets/{reference}/notes"),
                &cookie,
                &[("csrf", &csrf), ("body", body)],
            )
            .await;
        assert_eq!(r.status, 422, "empty note");
    }
    let long = "x".repeat(101);
    let r = web
        .post_form(
            &format!("/tickets/{reference}/assignee"),
            &cookie,
            &[("csrf", &csrf), ("assignee", &long)],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("at most 100 characters"));
    let r = web
        .post_form(
            &format!("/tickets/{reference}/notes"),
            &cookie,
            &[("csrf", &csrf), ("body", "Called back, <b>fixed</b>")],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = web
        .post_form(
            &format!("/tickets/{reference}/assignee"),
            &cookie,
            &[("csrf", &csrf), ("assignee", "bob")],
        )
        .await;
    assert_eq!(r.status, 303);

    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TicketStatus::Closed);
    assert_eq!(t.assignee.as_deref(), Some("bob"));
    let trail = web.store().activity(t.id).await.unwrap();
    let kinds: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|a| (a.actor.as_str(), a.kind.as_str(), a.detail.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("alice", "status", "acknowledged"),
            ("alice", "status", "in_progress"),
            ("alice", "status", "resolved"),
            ("alice", "status", "closed"),
            ("alice", "note", "Called back, <b>fixed</b>"),
            ("alice", "assignee", "bob"),
        ]
    );
    let html = web
        .get(&format!("/tickets/{reference}"), &[("Cookie", &cookie)])
        .await
        .text();
    assert!(html.contains("status → closed"));
    assert!(html.contains("Called back, &lt;b&gt;fixed&lt;/b&gt;"));
    assert!(html.contains("assigned to bob"));
}

#[tokio::test]
async fn api_patch_changes_status_and_assignee_and_refuses_bad_bodies() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("500").await;
    let auth = web.bearer().await;
    let path = format!("/api/tickets/{reference}");
    let patch = |body: &'static str, headers: Vec<(&'static str, String)>| {
        let path = path.clone();
        let addr = web.server.http;
        async move {
            let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
            h.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            request(addr, "PATCH", &path, &h, body.as_bytes()).await
        }
    };
    let bearer = || vec![("Authorization", auth.clone())];
    for (body, needle) in [
        (r#"{"status":"exploded"}"#, "status"),
        (r#"{"colour":"red"}"#, "colour"),
        (r#"not json"#, "request body"),
        (r#"{}"#, "nothing to change"),
        (r#"{"status":3}"#, "status"),
    ] {
        let r = patch(body, bearer()).await;
        assert_eq!(r.status, 400, "{body}");
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(needle), "{body}: {error}");
    }
    let r = patch(r#"{"status":"in_progress","assignee":"carol"}"#, bearer()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ticket"]["status"], "in_progress");
    assert_eq!(r.json()["ticket"]["assignee"], "carol");
    let r = patch(r#"{"assignee":null}"#, bearer()).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["ticket"]["assignee"].is_null());

    // A browser session must send the CSRF token in a header.
    let (cookie, csrf) = web.session().await;
    let r = patch(r#"{"status":"resolved"}"#, vec![("Cookie", cookie.clone())]).await;
    assert_eq!(r.status, 403);
    let r = patch(
        r#"{"status":"resolved"}"#,
        vec![("Cookie", cookie.clone()), ("X-CSRF-Token", csrf.clone())],
    )
    .await;
    assert_eq!(r.status, 200);

    let json = web.get(&path, &[("Authorization", &auth)]).await.json();
    assert_eq!(json["ticket"]["status"], "resolved");
    assert_eq!(json["activity"].as_array().unwrap().len(), 4);
    assert!(json["events"].is_array());
}

#[tokio::test]
async fn recordings_honour_range_requests() {
    let web = Web::start().await;
    let (reference, bytes) = web.seed_ticket("600").await;
    let auth = web.bearer().await;
    let (cookie, _) = web.session().await;
    for (path, who) in [
        (
            format!("/api/tickets/{reference}/recording"),
            ("Authorization", auth.as_str()),
        ),
        (
            format!("/tickets/{reference}/recording"),
            ("Cookie", cookie.as_str()),
        ),
    ] {
        let full = web.get(&path, &[who]).await;
        assert_eq!(full.status, 200, "{path}");
        assert_eq!(full.body, bytes);
        assert_eq!(full.header("accept-ranges"), Some("bytes"));
        assert_eq!(full.header("content-type"), Some("audio/wav"));

        let part = web.get(&path, &[who, ("Range", "bytes=1000-1999")]).await;
        assert_eq!(part.status, 206);
        let len = bytes.len();
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes 1000-1999/{len}").as_str())
        );
        assert_eq!(part.body, &bytes[1000..2000]);

        let tail = web.get(&path, &[who, ("Range", "bytes=-100")]).await;
        assert_eq!(tail.status, 206);
        assert_eq!(tail.body, &bytes[len - 100..]);

        let past = web
            .get(&path, &[who, ("Range", format!("bytes={len}-").as_str())])
            .await;
        assert_eq!(past.status, 416);
        assert_eq!(
            past.header("content-range"),
            Some(format!("bytes */{len}").as_str())
        );
    }
    let bare = web
        .store()
        .create_ticket(&NewTicket {
            call_id: "no-voicemail".into(),
            caller_number: "601".into(),
            caller_name: None,
        })
        .await
        .unwrap();
    let r = web
        .get(
            &format!("/api/tickets/{}/recording", bare.reference),
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].as_str().unwrap().contains("no recording"));
}

#[tokio::test]
async fn openapi_document_describes_the_routes() {
    let web = Web::start().await;
    let auth = web.bearer().await;
    let r = web
        .get("/api/openapi.json", &[("Authorization", &auth)])
        .await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/tickets",
        "/api/tickets/{reference}",
        "/api/tickets/{reference}/recording",
        "/api/stats",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

/// The same routes over PostgreSQL (when HOTLINE_TEST_POSTGRES_URL is set, as `make test` does):
/// the web migration, accounts, sessions, API tokens, the date filter and the audit trail.
#[tokio::test]
async fn web_log_works_on_postgres() {
    let Some(db) = PgDatabase::create("hotline_web").await else {
        return;
    };
    let url = db.url.clone();
    let mut web = Web::start_with(|c| c.database_url = Some(url)).await;

    let (reference, bytes) = web.seed_ticket("700").await;
    let (cookie, csrf) = web.session().await;
    let r = web
        .post_form(
            &format!("/tickets/{reference}/status"),
            &cookie,
            &[("csrf", &csrf), ("status", "resolved")],
        )
        .await;
    assert_eq!(r.status, 303);
    let auth = web.bearer().await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let json = web
        .get(
            &format!("/api/tickets?status=resolved&from={today}&to={today}"),
            &[("Authorization", &auth)],
        )
        .await
        .json();
    assert_eq!(json["tickets"][0]["reference"], reference.as_str());
    let json = web
        .get("/api/tickets?q=PRINTER%20fi", &[("Authorization", &auth)])
        .await
        .json();
    assert_eq!(
        json["tickets"][0]["reference"],
        reference.as_str(),
        "search"
    );
    let json = web
        .get(
            &format!("/api/tickets/{reference}"),
            &[("Authorization", &auth)],
        )
        .await
        .json();
    assert_eq!(json["activity"][0]["actor"], "alice");
    let part = web
        .get(
            &format!("/api/tickets/{reference}/recording"),
            &[("Authorization", &auth), ("Range", "bytes=0-9")],
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &bytes[..10]);

    web.server.shutdown().await;
    web.store().close().await;
    db.drop().await;
}

/// `hotline user add` reads the password from standard input or a file; the account can then
/// log in to the running server, and `hotline user token` issues a working bearer token.
#[tokio::test]
async fn cli_adds_users_that_can_log_in() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let web = Web::start().await;
    let db = web.server.config.database_url();
    let bin = env!("CARGO_BIN_EXE_hotline");
    let mut child = Command::new(bin)
        .args([
            "user",
            "add",
            "bob",
            "--role",
            "lead",
            "--database-url",
            &db,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropped after writing, so the child sees the end of its input.
    let write = child.stdin.take().unwrap().write_all(b"bobs password\n");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{write:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bob (lead)");
    assert_eq!(web.login("bob", "bobs password").await.status, 303);

    let file = web.server.data.path().join("pw");
    std::fs::write(&file, "carols password\n").unwrap();
    let out = Command::new(bin)
        .args(["user", "add", "carol", "--password-file"])
        .arg(&file)
        .args(["--database-url", &db])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(web.login("carol", "carols password").await.status, 303);

    let bad = Command::new(bin)
        .args(["user", "add", "dave", "--role", "boss", "--password-file"])
        .arg(&file)
        .args(["--database-url", &db])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role `boss`"));

    let out = Command::new(bin)
        .args(["user", "token", "bob", "--database-url", &db])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let r = web
        .get(
            "/api/tickets",
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(r.status, 200);
}
