//! Operations endpoints against the real server on port 0: `/health`, `/ready` (and its 503
//! when the store is gone), `/metrics` counting a real call from the test UA and a phone's
//! REGISTER, new calls refused while the media loops are behind, and who may read the metrics.
//!
//! The counters are process-wide (`hotline::metrics`), so this binary is its own: only the
//! call test here places a call that is answered, and it compares before and after.

#[path = "support/mod.rs"]
mod support;

use hotline::config::MetricsAccess;
use hotline::sip::digest::Ha1Set;
use rsip::Response;
use std::time::{Duration, Instant};
use support::digest::{md5_challenge, md5_register_authorization};
use support::http::{request, Reply};
use support::server::TestServer;
use support::ua::Ua;

async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(server.http, "GET", path, headers, b"").await
}

/// The value of the sample `series` (`name` or `name{labels}`) in a text exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

async fn scrape(server: &TestServer) -> String {
    let reply = get(server, "/metrics", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    reply.text()
}

/// Scrapes until `series` satisfies `done`, for up to 10 s; returns the last value.
async fn until(server: &TestServer, series: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = sample(&scrape(server).await, series).unwrap_or(f64::NAN);
        if done(value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn health_answers_ok_without_a_login() {
    let server = TestServer::start().await;
    let reply = get(&server, "/health", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok\n");
}

#[tokio::test]
async fn ready_checks_the_store_and_the_sip_port_and_turns_503_when_the_store_is_gone() {
    let server = TestServer::start().await;
    let reply = get(&server, "/ready", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "ready\n");

    // The store the server uses, closed: every query now fails as with a database that is down.
    server.server.as_ref().unwrap().store().close().await;
    let reply = get(&server, "/ready", &[]).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.text(), "not ready: store unreachable\n");
    // Liveness does not depend on the store: the process is fine, it must not be restarted.
    assert_eq!(get(&server, "/health", &[]).await.status, 200);
    // The metrics still come, without the store's gauges and saying the store is down.
    let metrics = scrape(&server).await;
    assert_eq!(sample(&metrics, "hotline_store_up"), Some(0.0));
    assert_eq!(sample(&metrics, "hotline_phone_bindings"), None);
    assert!(sample(&metrics, "hotline_calls_answered_total").is_some());
    // The failed readiness checks are counted as store errors, by operation.
    assert!(
        sample(
            &metrics,
            r#"hotline_store_errors_total{operation="checking the database"}"#
        )
        .unwrap()
            >= 1.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_a_call_answered_from_a_real_sip_client() {
    let server = TestServer::start().await;
    let before = scrape(&server).await;
    let answered = sample(&before, "hotline_calls_answered_total").unwrap();
    let tickets = sample(&before, "hotline_tickets_created_total").unwrap();
    let received = sample(&before, "hotline_sip_messages_received_total").unwrap();
    let in_progress = sample(&before, "hotline_calls_in_progress").unwrap();
    let answers = sample(&before, "hotline_invite_to_answer_seconds_count").unwrap();
    let late = sample(&before, "hotline_rtp_packets_late_total").unwrap();
    assert_eq!(sample(&before, "hotline_store_up"), Some(1.0));
    assert_eq!(sample(&before, "hotline_phone_bindings"), Some(0.0));
    assert_eq!(
        sample(&before, r#"hotline_transcription_jobs{state="queued"}"#),
        Some(0.0)
    );

    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    let during = scrape(&server).await;
    assert_eq!(
        sample(&during, "hotline_calls_answered_total"),
        Some(answered + 1.0)
    );
    assert_eq!(
        sample(&during, "hotline_calls_in_progress"),
        Some(in_progress + 1.0)
    );
    // INVITE and ACK at least.
    assert!(sample(&during, "hotline_sip_messages_received_total").unwrap() >= received + 2.0);
    // The answer's latency is in the histogram: one more observation, in the +Inf bucket too.
    assert_eq!(
        sample(&during, "hotline_invite_to_answer_seconds_count"),
        Some(answers + 1.0)
    );
    assert_eq!(
        sample(
            &during,
            r#"hotline_invite_to_answer_seconds_bucket{le="+Inf"}"#
        ),
        Some(answers + 1.0)
    );
    assert!(sample(&during, "hotline_invite_to_answer_seconds_sum").unwrap() > 0.0);

    // The server runs on this test's single-threaded runtime: blocking it for 70 ms holds the
    // call's RTP sender past several 20 ms slots, and the frames it then owes leave late.
    ua.send_silence(100).await;
    std::thread::sleep(Duration::from_millis(70));
    ua.send_silence(100).await;
    let late_now = sample(&scrape(&server).await, "hotline_rtp_packets_late_total").unwrap();
    assert!(
        late_now >= late + 2.0,
        "packets sent more than 10 ms after their slot: {late} before, {late_now} after"
    );
    assert_eq!(
        until(&server, "hotline_tickets_created_total", |n| n > tickets).await,
        tickets + 1.0,
        "the call's ticket is counted"
    );

    assert_eq!(ua.bye().await.status_code.code(), 200);
    assert_eq!(
        until(&server, "hotline_calls_in_progress", |n| n == in_progress).await,
        in_progress,
        "the call is no longer in progress after BYE"
    );
    let after = scrape(&server).await;
    assert_eq!(
        sample(&after, "hotline_calls_answered_total"),
        Some(answered + 1.0)
    );
    assert!(sample(&after, "hotline_uptime_seconds").unwrap() > 0.0);
}

#[tokio::test]
async fn a_call_over_the_limits_is_counted_as_refused_with_its_reason() {
    let server = TestServer::start_with(|c| c.limits.max_calls = 0).await;
    let series = r#"hotline_calls_refused_total{reason="server_full"}"#;
    let before = sample(&scrape(&server).await, series).unwrap();
    let mut ua = Ua::udp(server.sip).await;
    assert_eq!(ua.invite().await.status_code.code(), 503);
    assert_eq!(sample(&scrape(&server).await, series), Some(before + 1.0));
}

#[tokio::test]
async fn local_metrics_are_refused_to_a_client_a_proxy_forwards_from_elsewhere() {
    let server = TestServer::start_with(|c| {
        c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(server.config.http.metrics, MetricsAccess::Local);
    let forwarded = get(&server, "/metrics", &[("X-Forwarded-For", "203.0.113.9")]).await;
    assert_eq!(forwarded.status, 403, "{}", forwarded.text());
    assert_eq!(get(&server, "/metrics", &[]).await.status, 200);
    // Health and readiness stay open: a balancer has no token.
    let health = get(&server, "/health", &[("X-Forwarded-For", "203.0.113.9")]).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn token_metrics_need_an_api_token() {
    let server = TestServer::start_with(|c| c.http.metrics = MetricsAccess::Token).await;
    let store = server.server.as_ref().unwrap().store();
    hotline::web::add_user(
        store,
        "prometheus",
        hotline::accounts::Role::Technician,
        "scrape password",
    )
    .await
    .unwrap();
    let token = hotline::web::new_api_token(store, "prometheus")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(&server, "/metrics", &[]).await.status, 401);
    let wrong = get(&server, "/metrics", &[("Authorization", "Bearer hl_wrong")]).await;
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {token}");
    let reply = get(&server, "/metrics", &[("Authorization", &bearer)]).await;
    assert_eq!(reply.status, 200);
    assert!(sample(&reply.text(), "hotline_calls_answered_total").is_some());
}

/// One REGISTER from `ua` for `user` with `authorization` (if any); the final response and the
/// challenge it carries.
async fn register(ua: &mut Ua, user: &str, cseq: u32, authorization: Option<&str>) -> Response {
    let contact = format!("sip:{user}@{}", ua.local());
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch:016x};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@127.0.0.1>;tag=f{cseq}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: ops-{user}@phone\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <{contact}>\r\n\
         Expires: 600\r\n\
         {authorization}Content-Length: 0\r\n\r\n",
        local = ua.local(),
        branch = rand::random::<u64>(),
    );
    ua.send_raw(text.as_bytes()).await;
    ua.final_response(Duration::from_secs(5))
        .await
        .expect("a response to REGISTER")
}

#[tokio::test]
async fn metrics_count_a_registered_phone_and_a_failed_authentication() {
    let server = TestServer::start().await;
    let store = server.server.as_ref().unwrap().store();
    let realm = &server.config.registrar.realm;
    store
        .upsert_user("tom", "x", hotline::accounts::Role::Technician)
        .await
        .unwrap();
    let ha1 = Ha1Set::from_password("tom", realm, "phone secret");
    assert!(store.set_sip_password("tom", realm, &ha1).await.unwrap());
    let before = scrape(&server).await;
    assert_eq!(sample(&before, "hotline_phone_bindings"), Some(0.0));
    let failures = sample(&before, "hotline_sip_auth_failures_total").unwrap();

    let mut phone = Ua::udp(server.sip).await;
    let challenge = register(&mut phone, "tom", 1, None).await;
    assert_eq!(challenge.status_code.code(), 401);
    let wrong = md5_register_authorization(&md5_challenge(&challenge), "tom", "not the secret");
    let refused = register(&mut phone, "tom", 2, Some(&wrong)).await;
    assert_eq!(refused.status_code.code(), 401, "{refused}");
    let right = md5_register_authorization(&md5_challenge(&refused), "tom", "phone secret");
    let ok = register(&mut phone, "tom", 3, Some(&right)).await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");

    let after = scrape(&server).await;
    assert_eq!(sample(&after, "hotline_phone_bindings"), Some(1.0));
    assert_eq!(
        sample(&after, "hotline_sip_auth_failures_total"),
        Some(failures + 1.0)
    );
}

#[tokio::test]
async fn new_calls_are_refused_while_the_media_loops_are_behind_and_taken_once_they_catch_up() {
    let server = TestServer::start_with(|c| c.limits.max_media_lag_ms = 15).await;
    let lag = "hotline_media_loop_lag_seconds";
    let refused = r#"hotline_calls_refused_total{reason="overloaded"}"#;
    let before = sample(&scrape(&server).await, refused).unwrap();
    // A call in progress, so a media loop runs its rounds.
    let mut first = Ua::udp(server.sip).await;
    first.connect().await;
    // The server runs on this test's single-threaded runtime: a task that holds the thread
    // 50 ms at a time makes the loop finish every 20 ms round late, as a full CPU would.
    let hog = tokio::spawn(async {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            tokio::task::yield_now().await;
        }
    });
    let behind = until(&server, lag, |s| s > 0.015).await;
    assert!(
        behind > 0.015,
        "media loop lag {behind} s with the thread held"
    );

    let mut second = Ua::udp(server.sip).await;
    let answer = second.invite().await;
    assert_eq!(answer.status_code.code(), 503, "{answer}");
    assert!(
        answer.to_string().contains("Retry-After: 10\r\n"),
        "{answer}"
    );
    assert_eq!(sample(&scrape(&server).await, refused), Some(before + 1.0));

    hog.abort();
    let caught_up = until(&server, lag, |s| s < 0.005).await;
    assert!(
        caught_up < 0.005,
        "media loop lag {caught_up} s after the hold"
    );
    let mut third = Ua::udp(server.sip).await;
    third.connect().await;
    // The first caller's call went on throughout.
    assert_eq!(first.bye().await.status_code.code(), 200);
    assert_eq!(third.bye().await.status_code.code(), 200);
}
