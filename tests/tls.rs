//! SIP over TLS and HTTPS for the web log, with a rustls client trusting a CA made for the test:
//! OPTIONS and REGISTER over TLS, the registered phone reached back on its TLS connection, a
//! call answered with audio, handshakes that stall or fail, bad certificate files at start-up.

#[path = "support/mod.rs"]
mod support;

use hotline::sip::transport::Flow;
use std::time::Duration;
use support::digest::register_over_tls;
use support::oncall::sip_technician;
use support::server::TestServer;
use support::tls::{tls_server, TestPki};
use support::ua::{decode, rms, Ua};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn options(ua: &Ua) -> String {
    let local = ua.local();
    format!(
        "OPTIONS sip:helpdesk@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bK{n:016x};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:helpdesk@127.0.0.1>\r\n\
         Call-ID: {n:016x}@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        n = rand::random::<u64>()
    )
}

#[tokio::test]
async fn options_over_tls_is_answered_on_the_same_connection() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |_| {}).await;
    let tls = server.sip_tls.expect("TLS listening");
    assert_ne!(tls.port(), server.sip.port(), "TLS has its own port");
    let mut ua = Ua::tls(pki.connect(tls, &[]).await).await;
    for _ in 0..2 {
        let request = options(&ua);
        ua.send_raw(request.as_bytes()).await;
        let ok = ua.final_response(WAIT).await.expect("answer to OPTIONS");
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        assert!(ok.to_string().contains("Via: SIP/2.0/TLS"), "{ok}");
    }
}

/// A phone registered over TLS is stored with transport tls, and the server's requests to it
/// (here its OPTIONS keep-alive) come back on the phone's own TLS connection, with our TLS
/// address in Via: the phone is outside the LAN and accepts no connection itself.
#[tokio::test]
async fn a_phone_registers_over_tls_and_is_reached_on_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |c| c.registrar.keepalive_secs = 1).await;
    let tls = server.sip_tls.unwrap();
    sip_technician(&server, "bob", "correct horse").await;
    let mut phone = Ua::tls(pki.connect(tls, &[]).await).await;
    let contact = format!("<sip:bob@{};transport=tls>", phone.local());

    let wrong = register_over_tls(&mut phone, "bob", "wrong horse", &contact).await;
    assert_eq!(wrong.status_code.code(), 401, "challenged again: {wrong}");
    let ok = register_over_tls(&mut phone, "bob", "correct horse", &contact).await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");

    let store = server.server.as_ref().unwrap().store();
    let bound = store.bindings("bob", chrono::Utc::now()).await.unwrap();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].binding.transport.as_str(), "tls");
    let routes = server
        .server
        .as_ref()
        .unwrap()
        .phones()
        .reachable("bob")
        .await
        .unwrap();
    assert!(
        matches!(routes[..], [ref r] if matches!(r.flow, Flow::Tls(_))),
        "reached on its TLS connection: {routes:?}"
    );

    // The keep-alive arrives on this connection (answered 200 by the test UA).
    let deadline = tokio::time::Instant::now() + WAIT;
    while phone.server_requests.is_empty() && tokio::time::Instant::now() < deadline {
        let _ = phone.recv(Duration::from_millis(500)).await;
    }
    let keepalive = phone
        .server_requests
        .first()
        .expect("an OPTIONS keep-alive over the TLS connection")
        .to_string();
    assert!(keepalive.starts_with("OPTIONS "), "{keepalive}");
    assert!(
        keepalive.contains(&format!("Via: SIP/2.0/TLS 127.0.0.1:{}", tls.port())),
        "Via names our TLS address: {keepalive}"
    );
}

/// A call placed over TLS is answered: Contact names the TLS port and transport, the caller
/// hears the welcome prompt, and BYE over TLS ends it.
#[tokio::test]
async fn a_call_over_tls_is_answered_with_audio() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |_| {}).await;
    let tls = server.sip_tls.unwrap();
    let mut ua = Ua::tls(pki.connect(tls, &[]).await).await;
    let ok = ua.invite().await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");
    let text = ok.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{};transport=tls>", tls.port())),
        "Contact is our TLS address: {text}"
    );
    ua.ack().await;
    let packets = ua.collect_rtp(Duration::from_millis(1500)).await;
    assert!(
        packets.len() >= 60,
        "{} RTP packets in 1.5 s",
        packets.len()
    );
    let pcm = decode(&packets, ua.codec);
    assert!(
        rms(&pcm) > 300.0,
        "the welcome prompt is audible: {}",
        rms(&pcm)
    );
    let bye = ua.bye().await;
    assert_eq!(bye.status_code.code(), 200, "{bye}");
}

/// Whether the server closed `stream` within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Connections that never handshake, or send plain SIP to the TLS port, hold neither the accept
/// loop nor their slot: a real client is served meanwhile, the silent one is closed after the
/// handshake deadline (`tcp_message_secs`), the plain-text one at once.
#[tokio::test]
async fn stalled_or_failed_handshakes_do_not_wedge_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |c| c.limits.tcp_message_secs = 1).await;
    let tls = server.sip_tls.unwrap();
    let failed_before = hotline::metrics::SIP_TLS_HANDSHAKES_FAILED.get();

    let mut silent: Vec<TcpStream> = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(tls).await.unwrap());
    }
    let mut plain = TcpStream::connect(tls).await.unwrap();
    let ua = Ua::udp(server.sip).await;
    plain.write_all(options(&ua).as_bytes()).await.unwrap();
    assert!(
        closed_within(&mut plain, Duration::from_secs(2)).await,
        "plain SIP on the TLS port is closed"
    );

    // Served while the silent ones wait.
    let mut good = Ua::tls(pki.connect(tls, &[]).await).await;
    let request = options(&good);
    good.send_raw(request.as_bytes()).await;
    let ok = good.final_response(WAIT).await.expect("answer over TLS");
    assert_eq!(ok.status_code.code(), 200);

    let started = std::time::Instant::now();
    for s in &mut silent {
        assert!(
            closed_within(s, Duration::from_secs(4)).await,
            "a connection that never handshakes is closed"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));

    // A client that does not trust our certificate fails its handshake; the server carries on.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = TestPki::new(stranger_dir.path());
    assert!(stranger.try_connect(tls, &[]).await.is_err());
    let mut again = Ua::tls(pki.connect(tls, &[]).await).await;
    let request = options(&again);
    again.send_raw(request.as_bytes()).await;
    assert_eq!(
        again.final_response(WAIT).await.unwrap().status_code.code(),
        200
    );
    // Five silent, one plain-text, one distrustful: each counted for the operator's metrics
    // (other tests in this process only add to the counter). The server's side of the
    // distrustful handshake may end after our next exchange: give it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let failed = hotline::metrics::SIP_TLS_HANDSHAKES_FAILED.get() - failed_before;
        if failed >= 7 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{failed} failed handshakes counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_bad_certificate_or_key_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let data = tempfile::tempdir().unwrap();

    let mut config = support::server::test_config(data.path());
    config.sip.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    config.sip.tls_cert = Some(dir.path().join("missing.pem"));
    config.sip.tls_key = Some(pki.key.clone());
    let err = hotline::server::Server::start(config.clone())
        .await
        .err()
        .expect("start fails")
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");

    // The key where the certificate belongs.
    config.sip.tls_cert = Some(pki.key.clone());
    let err = hotline::server::Server::start(config.clone())
        .await
        .err()
        .expect("start fails")
        .to_string();
    assert!(
        err.contains("certificate") && err.contains("key.pem"),
        "{err}"
    );

    // Half a configuration is refused too, rather than silently serving without TLS.
    config.sip.tls_cert = None;
    let err = hotline::server::Server::start(config.clone())
        .await
        .err()
        .expect("start fails")
        .to_string();
    assert!(err.contains("tls_cert"), "{err}");

    config.sip = Default::default();
    config.sip.listen = "127.0.0.1:0".parse().unwrap();
    config.http.tls_cert = Some(pki.cert.clone());
    config.http.tls_key = Some(dir.path().join("no-key.pem"));
    let err = hotline::server::Server::start(config)
        .await
        .err()
        .expect("start fails")
        .to_string();
    assert!(err.contains("no-key.pem"), "{err}");
}

/// The web log served over HTTPS with the same certificate: the login page's cookie is Secure
/// and HSTS is sent, with no proxy and no `https = true`; plain HTTP on that port gets nothing.
#[tokio::test]
async fn the_web_log_over_https_sends_secure_cookies_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let (cert, key) = (pki.cert.clone(), pki.key.clone());
    let server = TestServer::start_with(|c| {
        c.http.tls_cert = Some(cert);
        c.http.tls_key = Some(key);
    })
    .await;
    let tls = pki.connect(server.http, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let page = support::http::request_on(tls, server.http, "GET", "/login", &[], b"").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let cookies = page.headers_named("set-cookie");
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );

    let mut plain = TcpStream::connect(server.http).await.unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut reply)).await;
    assert!(
        !String::from_utf8_lossy(&reply).contains("HTTP/1.1 200"),
        "no page over plain HTTP"
    );
}
