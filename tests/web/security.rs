//! The web log on the open internet: security headers on every response, Secure cookies and
//! HSTS behind a TLS proxy, the login limiter behind a proxy, and slow clients cut off.

use super::support::http::request;
use super::{Web, PASSWORD};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Pages, the API, errors, assets: each answers with the same protective headers.
#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_server_version() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("900").await;
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];
    for (path, headers, status) in [
        ("/login".to_string(), &[][..], 200),
        ("/tickets".to_string(), &c[..], 200),
        (format!("/tickets/{reference}"), &c[..], 200),
        ("/stats".to_string(), &c[..], 200),
        ("/api/tickets".to_string(), &[][..], 401),
        ("/no/such/page".to_string(), &c[..], 404),
        ("/assets/hotline.css".to_string(), &[][..], 200),
        ("/assets/ticket.js".to_string(), &[][..], 200),
    ] {
        let r = web.get(&path, headers).await;
        assert_eq!(r.status, status, "{path}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("server"), None, "{path}");
        assert_eq!(
            r.header("strict-transport-security"),
            None,
            "plain HTTP: {path}"
        );
    }
}

/// The policy forbids inline code, so the pages must have none: every script is a served file.
#[tokio::test]
async fn pages_have_no_inline_script_or_style() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("901").await;
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];
    for path in [
        "/login".to_string(),
        "/tickets".to_string(),
        format!("/tickets/{reference}"),
        "/stats".to_string(),
        "/oncall".to_string(),
        "/oncall/teams".to_string(),
    ] {
        let html = web.get(&path, &c).await.text();
        assert!(!html.contains("<style"), "{path}");
        assert!(!html.contains(" style="), "{path}");
        assert!(
            !has_event_handler(&html),
            "{path}: no inline event handlers"
        );
        for script in html.split("<script").skip(1) {
            assert!(
                script.starts_with(r#" src="/assets/"#),
                "{path}: <script{script}"
            );
        }
        assert!(html.contains(r#"<link rel="stylesheet" href="/assets/hotline.css">"#));
    }
    let css = web.get("/assets/hotline.css", &[]).await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains(".p1{background:#b00020"));
    assert_eq!(web.get("/assets/../Cargo.toml", &[]).await.status, 404);
    assert_eq!(web.get("/assets/nothing.js", &[]).await.status, 404);
}

/// Behind a TLS proxy the browser's connection is HTTPS: the session cookie is Secure and HSTS
/// is sent. The same header from a peer that is not a trusted proxy changes nothing.
#[tokio::test]
async fn behind_a_trusted_tls_proxy_cookies_are_secure_and_hsts_is_sent() {
    let web =
        Web::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let https = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "203.0.113.5"),
    ];
    let ok = web.login_from("alice", PASSWORD, &https).await;
    assert_eq!(ok.status, 303);
    let session = ok
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("hotline_session="))
        .unwrap()
        .to_string();
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert_eq!(
        ok.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let plain = web.login("alice", PASSWORD).await;
    assert!(plain
        .headers_named("set-cookie")
        .iter()
        .all(|c| !c.contains("Secure")));
    assert_eq!(plain.header("strict-transport-security"), None);

    // Not a trusted proxy: its X-Forwarded-Proto is the client's own claim.
    let web = Web::start().await;
    let r = web.login_from("alice", PASSWORD, &https).await;
    assert_eq!(r.status, 303);
    assert!(r
        .headers_named("set-cookie")
        .iter()
        .all(|c| !c.contains("Secure")));
    assert_eq!(r.header("strict-transport-security"), None);

    // `https = true`: every response, whatever the headers.
    let web = Web::start_with(|c| c.http.https = true).await;
    let r = web.login("alice", PASSWORD).await;
    assert!(r
        .headers_named("set-cookie")
        .iter()
        .all(|c| c.contains("; Secure")));
    assert!(r.header("strict-transport-security").is_some());
}

/// Behind the proxy every TCP peer is the proxy: the limiter keys on the forwarded client, so a
/// guesser is slowed without locking out the colleagues behind the same proxy.
#[tokio::test]
async fn a_guesser_behind_the_proxy_is_refused_but_nobody_else() {
    let web =
        Web::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let guesser = [("X-Forwarded-For", "203.0.113.66")];
    for _ in 0..4 {
        assert_eq!(web.login_from("tom", "guess", &guesser).await.status, 401);
    }
    let r = web.login_from("bob", "guess", &guesser).await;
    assert_eq!(r.status, 429, "the guesser's address waits");
    assert!(r.header("retry-after").is_some());
    // A client claiming to be someone else is read from the right: the proxy appended the
    // guesser's real address after the claim.
    let spoofed = [("X-Forwarded-For", "192.0.2.200, 203.0.113.66")];
    assert_eq!(web.login_from("bob", "guess", &spoofed).await.status, 429);

    let colleague = [("X-Forwarded-For", "198.51.100.10")];
    let r = web.login_from("alice", PASSWORD, &colleague).await;
    assert_eq!(
        r.status, 303,
        "another client behind the same proxy logs in"
    );
}

/// Someone typing wrong passwords for Alice from many addresses slows her logins down; it never
/// locks her out.
#[tokio::test]
async fn a_named_colleague_cannot_be_locked_out() {
    let web =
        Web::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    for i in 0..4 {
        let from = format!("203.0.113.{i}");
        let r = web
            .login_from("alice", "guess", &[("X-Forwarded-For", &from)])
            .await;
        assert_eq!(r.status, 401);
    }
    // Four failures for her name: the next login for it is held for a second, then checked.
    let started = Instant::now();
    let r = web
        .login_from("alice", PASSWORD, &[("X-Forwarded-For", "198.51.100.1")])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let held = started.elapsed();
    assert!(held < Duration::from_secs(5), "held {held:?}");
    // Her own right password cleared her name's failures.
    let started = Instant::now();
    let r = web
        .login_from("alice", PASSWORD, &[("X-Forwarded-For", "198.51.100.1")])
        .await;
    assert_eq!(r.status, 303);
    assert!(started.elapsed() < held, "no longer held");
}

/// A client that sends its request headers one byte at a time (slowloris) is disconnected
/// once the header-read deadline passes; a normal request on the same server is answered.
#[tokio::test]
async fn a_client_dribbling_its_headers_is_disconnected() {
    let web = Web::start_with(|c| c.http.header_read_timeout_ms = 500).await;
    let mut stream = TcpStream::connect(web.server.http).await.unwrap();
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: hotline\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut sent = 0;
    let closed = loop {
        // One header byte every 100 ms, never finishing the headers.
        tokio::select! {
            read = async {
                let mut buf = [0u8; 1024];
                stream.read(&mut buf).await
            } => break read,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if stream.write_all(b"X").await.is_err() {
            break Ok(0);
        }
        sent += 1;
        assert!(sent < 100, "still connected after {sent} header bytes");
    };
    let elapsed = started.elapsed();
    assert!(
        matches!(closed, Ok(0) | Err(_)),
        "the server closed the connection: {closed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(3),
        "disconnected after {elapsed:?}"
    );
    let r = request(web.server.http, "GET", "/login", &[], b"").await;
    assert_eq!(r.status, 200);
}

/// An `onclick=`-style attribute anywhere in the markup.
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}
