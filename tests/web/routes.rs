//! Every route of the web log and who may use it, as docs/web.md lists them: anonymous
//! requests, forged credentials and the wrong role are refused on each one.
//!
//! The table below is checked against the router's source and against the documentation, so
//! a new route without a row here (and a line in the docs) fails this test.

use super::{Web, PASSWORD};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Anyone, logged in or not.
    Anonymous,
    /// Any logged-in user (session cookie, or bearer token).
    Technician,
    /// Leads only.
    Lead,
}

/// How a route refuses an anonymous request: HTML pages send the browser to the login page,
/// the API and downloads answer 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    LoginPage,
    Unauthorized,
    None,
}

struct Route {
    method: &'static str,
    /// As written in the router (`{reference}`, `{code}`, `{name}`).
    pattern: &'static str,
    who: Who,
    refusal: Refusal,
}

const fn route(method: &'static str, pattern: &'static str, who: Who, refusal: Refusal) -> Route {
    Route {
        method,
        pattern,
        who,
        refusal,
    }
}

use Refusal::{LoginPage, Unauthorized};
use Who::{Anonymous, Lead, Technician};

const ROUTES: &[Route] = &[
    route("GET", "/", Technician, LoginPage),
    route("POST", "/presence", Technician, LoginPage),
    route("GET", "/login", Anonymous, Refusal::None),
    route("POST", "/login", Anonymous, Refusal::None),
    route("GET", "/lang/{code}", Anonymous, Refusal::None),
    route("GET", "/assets/{name}", Anonymous, Refusal::None),
    // Operations (docs/operations.md): probes need no login; `/metrics` is open to loopback
    // clients by default, which the test is (tests/ops.rs covers the other settings).
    route("GET", "/health", Anonymous, Refusal::None),
    route("GET", "/ready", Anonymous, Refusal::None),
    route("GET", "/metrics", Anonymous, Refusal::None),
    route("GET", "/tickets", Technician, LoginPage),
    route("GET", "/tickets.csv", Lead, LoginPage),
    route("GET", "/stats", Technician, LoginPage),
    route("GET", "/events", Technician, Unauthorized),
    // The softphone's WebSocket; let in, a plain GET is told it is no upgrade (400).
    route("GET", "/phone", Technician, Unauthorized),
    route("GET", "/tickets/{reference}", Technician, LoginPage),
    route("POST", "/tickets/{reference}/status", Technician, LoginPage),
    route(
        "POST",
        "/tickets/{reference}/assignee",
        Technician,
        LoginPage,
    ),
    route("POST", "/tickets/{reference}/notes", Technician, LoginPage),
    route("POST", "/tickets/{reference}/take", Technician, LoginPage),
    route(
        "POST",
        "/tickets/{reference}/callback",
        Technician,
        LoginPage,
    ),
    route(
        "GET",
        "/tickets/{reference}/recording",
        Technician,
        LoginPage,
    ),
    route(
        "GET",
        "/tickets/{reference}/conversation",
        Technician,
        LoginPage,
    ),
    route("GET", "/api/openapi.json", Technician, Unauthorized),
    route("GET", "/api/tickets", Technician, Unauthorized),
    route("GET", "/api/tickets/{reference}", Technician, Unauthorized),
    route(
        "PATCH",
        "/api/tickets/{reference}",
        Technician,
        Unauthorized,
    ),
    route(
        "GET",
        "/api/tickets/{reference}/recording",
        Technician,
        Unauthorized,
    ),
    route("GET", "/api/stats", Technician, Unauthorized),
    route("GET", "/oncall", Technician, LoginPage),
    route("GET", "/api/oncall", Technician, Unauthorized),
    route("GET", "/api/phones", Technician, Unauthorized),
    route("GET", "/oncall/teams", Lead, LoginPage),
    route("POST", "/oncall/teams", Lead, LoginPage),
    route("GET", "/oncall/teams/{team}", Lead, LoginPage),
    route("POST", "/oncall/teams/{team}/rotations", Lead, LoginPage),
    route("POST", "/oncall/teams/{team}/overrides", Lead, LoginPage),
    // The deletions after the rows that need what they delete; a second deletion (the lead's
    // token after the lead's session) finds nothing and answers the same.
    route(
        "POST",
        "/oncall/teams/{team}/overrides/{id}/delete",
        Lead,
        LoginPage,
    ),
    route(
        "POST",
        "/oncall/teams/{team}/rotations/{rotation}/delete",
        Lead,
        LoginPage,
    ),
    route("POST", "/oncall/teams/{team}/delete", Lead, LoginPage),
    // Last: it ends the sessions the rows above use.
    route("POST", "/logout", Technician, LoginPage),
];

/// The status line and headers of a reply, without waiting for its body (`/events` never
/// ends).
async fn head_of(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: hotline\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap() == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line in {head:?}"));
    let location = header_of(&head, "location");
    // A successful logout clears the session cookie; a refused one redirects all the same.
    let cleared = header_of(&head, "set-cookie").starts_with("hotline_session=;");
    (
        status,
        if cleared {
            format!("{location} (logged out)")
        } else {
            location
        },
    )
}

fn header_of(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_route_refuses_anonymous_forged_and_wrong_role_requests() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("950").await;
    let (tom, tom_csrf) = web.session_of("tom").await;
    let (alice, alice_csrf) = web.session_of("alice").await;
    let tom_token = format!(
        "Bearer {}",
        hotline::web::new_api_token(web.store(), "tom")
            .await
            .unwrap()
            .unwrap()
    );
    let alice_token = web.bearer().await;
    let addr = web.server.http;
    // A team with a rotation and an override for the rota routes to find.
    let store = web.store();
    store
        .save_team(&hotline::store::TeamSettings {
            name: "network".into(),
            time_zone: chrono_tz::Tz::Europe__Paris,
            lead: Some("alice".into()),
            business_hours: Default::default(),
        })
        .await
        .unwrap();
    store
        .save_rotation(&hotline::oncall::Rotation {
            team: "network".into(),
            name: "week".into(),
            coverage: hotline::oncall::Coverage::Always,
            handover: hotline::oncall::Handover::parse("weekly mon 09:00").unwrap(),
            starts_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            members: vec!["alice".into(), "tom".into()],
        })
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let override_id = store
        .add_override(
            "network",
            "tom",
            None,
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .unwrap()
        .to_string();

    for r in ROUTES {
        let path = r
            .pattern
            .replace("{reference}", &reference)
            .replace("{code}", "fr")
            .replace("{name}", "hotline.css")
            .replace("{team}", "network")
            .replace("{rotation}", "week")
            .replace("{id}", &override_id);
        let what = format!("{} {}", r.method, r.pattern);
        // A body each route accepts, so what is refused is the requester, not the request.
        let (content_type, body) = match (r.method, r.pattern) {
            ("PATCH", _) => (
                "application/json",
                r#"{"status":"acknowledged"}"#.to_string(),
            ),
            (_, "/tickets/{reference}/status") => (
                "application/x-www-form-urlencoded",
                "status=acknowledged".into(),
            ),
            (_, "/tickets/{reference}/assignee") => {
                ("application/x-www-form-urlencoded", "assignee=".into())
            }
            (_, "/presence") => ("application/x-www-form-urlencoded", "presence=away".into()),
            (_, "/tickets/{reference}/notes") => {
                ("application/x-www-form-urlencoded", "body=hello".into())
            }
            ("POST", "/oncall/teams") => (
                "application/x-www-form-urlencoded",
                "name=network&time_zone=Europe%2FParis&lead=alice&business_hours=mon-fri+08%3A00-18%3A00&members=alice+tom&categories=network".into(),
            ),
            (_, "/oncall/teams/{team}/rotations") => (
                "application/x-www-form-urlencoded",
                "name=week&coverage=always&handover=daily+09%3A00&starts_on=2026-12-01&members=tom+alice".into(),
            ),
            (_, "/oncall/teams/{team}/overrides") => (
                "application/x-www-form-urlencoded",
                "covering=tom&covered=alice&from=2026-12-24T18%3A00&until=2026-12-26T09%3A00".into(),
            ),
            ("POST", "/login") => (
                "application/x-www-form-urlencoded",
                format!("name=alice&password={PASSWORD}&csrf=x"),
            ),
            _ => ("application/x-www-form-urlencoded", String::new()),
        };
        let with_csrf = |csrf: &str| {
            if r.method == "POST" && !body.contains("csrf=") {
                if body.is_empty() {
                    format!("csrf={csrf}")
                } else {
                    format!("{body}&csrf={csrf}")
                }
            } else {
                body.clone()
            }
        };
        let send = |headers: Vec<(&'static str, String)>, body: String| {
            let path = path.clone();
            async move {
                // Our own pages' origin (Host: hotline), as a browser sends it: the
                // softphone's socket checks it.
                let mut h: Vec<(&str, &str)> =
                    vec![("Content-Type", content_type), ("Origin", "http://hotline")];
                h.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
                head_of(addr, r.method, &path, &h, &body).await
            }
        };

        let refused = |(status, location): (u16, String)| match r.refusal {
            LoginPage => status == 303 && location == "/login",
            Unauthorized => status == 401,
            Refusal::None => unreachable!(),
        };
        if r.who == Anonymous {
            let (status, _) = send(vec![], body.clone()).await;
            // POST /login with a made-up CSRF token is refused for that (403), not for being
            // anonymous; the rest answer.
            assert!(
                status < 400 || (r.pattern == "/login" && status == 403),
                "{what}: {status}"
            );
            continue;
        }
        let anonymous = send(vec![], body.clone()).await;
        assert!(
            refused(anonymous.clone()),
            "{what} anonymous: {anonymous:?}"
        );
        let forged_cookie = send(
            vec![("Cookie", "hotline_session=forged".into())],
            with_csrf("x"),
        )
        .await;
        assert!(
            refused(forged_cookie.clone()),
            "{what} forged session: {forged_cookie:?}"
        );
        let forged_token = send(
            vec![("Authorization", "Bearer hl_forged".into())],
            body.clone(),
        )
        .await;
        assert!(
            refused(forged_token.clone()) || forged_token.0 == 401,
            "{what} forged token: {forged_token:?}"
        );

        // 409: let in, but the action does not fit the ticket's state (no caller waiting to take).
        let allowed = |(status, location): (u16, String)| {
            (status < 400 || status == 409 || (r.pattern == "/phone" && status == 400))
                && location != "/login"
        };
        let technician = send(
            vec![("Cookie", tom.clone()), ("X-CSRF-Token", tom_csrf.clone())],
            with_csrf(&tom_csrf),
        )
        .await;
        let technician_token = send(vec![("Authorization", tom_token.clone())], body.clone()).await;
        let lead = send(
            vec![
                ("Cookie", alice.clone()),
                ("X-CSRF-Token", alice_csrf.clone()),
            ],
            with_csrf(&alice_csrf),
        )
        .await;
        let lead_token = send(vec![("Authorization", alice_token.clone())], body.clone()).await;
        assert!(allowed(lead.clone()), "{what} lead: {lead:?}");
        assert!(
            allowed(lead_token.clone()),
            "{what} lead token: {lead_token:?}"
        );
        match r.who {
            Technician => {
                assert!(
                    allowed(technician.clone()),
                    "{what} technician: {technician:?}"
                );
                assert!(
                    allowed(technician_token.clone()),
                    "{what} technician token: {technician_token:?}"
                );
            }
            Lead => {
                assert_eq!(technician.0, 403, "{what} technician");
                assert_eq!(technician_token.0, 403, "{what} technician token");
            }
            Anonymous => unreachable!(),
        }
    }
}

/// The table above, the router and docs/web.md name the same routes.
#[test]
fn the_route_table_matches_the_router_and_the_docs() {
    let tested: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.pattern.to_string()))
        .collect();

    let source = include_str!("../../src/web/mod.rs");
    let router = &source[source.find("pub fn router").expect("router function")..];
    let router = &router[..router.find("\n}\n").unwrap()];
    let mut routed = BTreeSet::new();
    for call in router.split(".route(").skip(1) {
        let path = call.split('"').nth(1).unwrap().to_string();
        for (token, method) in [("get(", "GET"), ("post(", "POST"), ("patch(", "PATCH")] {
            if call.contains(token) {
                routed.insert((method.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(tested, routed, "the test's table and the router differ");

    let docs = include_str!("../../docs/web.md");
    let section = &docs[docs
        .find("## Routes")
        .expect("a Routes section in docs/web.md")..];
    let documented: BTreeSet<(String, String)> = section
        .lines()
        .take_while(|l| !l.starts_with("## ") || l.starts_with("## Routes"))
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim);
            cells.next();
            let method = cells.next()?.trim_matches('`');
            let path = cells.next()?.trim_matches('`');
            matches!(method, "GET" | "POST" | "PATCH")
                .then(|| (method.to_string(), path.to_string()))
        })
        .collect();
    assert_eq!(
        tested, documented,
        "the test's table and docs/web.md differ"
    );
}
