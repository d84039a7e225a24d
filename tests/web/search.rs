//! Search in the call log and the API, and live updates over `/events`.

use super::support::http::form_escape;
use super::Web;
use hotline::store::{NewTicket, TranscriptRecord};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A French voicemail beside `seed_ticket`'s English one.
async fn seed_french(web: &Web) -> String {
    let store = web.store();
    let t = store
        .create_ticket(&NewTicket {
            call_id: "call-fr".into(),
            caller_number: "+33140000001".into(),
            caller_name: Some("Zoé Martin".into()),
        })
        .await
        .unwrap();
    store
        .enqueue_transcription(t.id, "/data/fr.wav", Some("fr"))
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
                text: Some("Mon imprimante ne marche plus et le réseau est coupé.".into()),
                language: "fr".into(),
                segments_json: "[]".into(),
                model: "test".into(),
                processing: Duration::from_millis(10),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    t.reference.to_string()
}

fn refs(json: &serde_json::Value) -> Vec<String> {
    json["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn call_log_and_api_search_transcripts_and_callers() {
    let web = Web::start().await;
    let (printer, _) = web.seed_ticket("0612345678").await;
    let french = seed_french(&web).await;
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];

    let html = web.get("/tickets?q=fire", &c).await.text();
    assert!(html.contains(&printer) && !html.contains(&french), "{html}");
    assert!(
        html.contains(r#"name="q" value="fire""#),
        "the search box keeps the query"
    );
    let html = web
        .get(&format!("/tickets?q={}", form_escape("réseau")), &c)
        .await
        .text();
    assert!(html.contains(&french) && !html.contains(&printer));
    let html = web
        .get(
            &format!("/tickets?q={}&per_page=1", form_escape("\"<b>")),
            &c,
        )
        .await
        .text();
    assert!(html.contains("value=\"&quot;&lt;b&gt;\""), "query escaped");

    let auth = web.bearer().await;
    let a = [("Authorization", auth.as_str())];
    for (q, expected) in [
        ("reseau", vec![french.as_str()]),
        ("IMPRIM", vec![french.as_str()]),
        ("061234", vec![printer.as_str()]),
        ("zoe", vec![french.as_str()]),
        (printer.as_str(), vec![printer.as_str()]),
    ] {
        let r = web
            .get(&format!("/api/tickets?q={}", form_escape(q)), &a)
            .await;
        assert_eq!(r.status, 200, "{q}");
        assert_eq!(refs(&r.json()), expected, "{q}");
    }
    let r = web.get("/api/tickets?q=fire&status=closed", &a).await;
    assert!(refs(&r.json()).is_empty(), "filters still apply");
}

#[tokio::test]
async fn hostile_search_text_is_never_a_server_error() {
    let web = Web::start().await;
    web.seed_ticket("300").await;
    let auth = web.bearer().await;
    let a = [("Authorization", auth.as_str())];
    for q in [
        "\"printer",
        "printer*",
        "AND",
        "-fire",
        "NEAR(printer",
        "a OR b",
        "'; DROP TABLE x",
        "col:printer",
        "printer:*",
        "(((x",
        "x\"y",
        "%00",
        "🙂 printer",
    ] {
        let r = web
            .get(&format!("/api/tickets?q={}", form_escape(q)), &a)
            .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
    }
    for q in ["\"", "*", "-", "()", "🙂", &"x".repeat(201)] {
        let r = web
            .get(&format!("/api/tickets?q={}", form_escape(q)), &a)
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().contains("`q`"),
            "names the parameter"
        );
    }
}

/// Reads a server-sent event stream from a raw socket.
struct EventStream {
    stream: TcpStream,
    seen: String,
}

impl EventStream {
    async fn open(web: &Web, headers: &[(&str, &str)]) -> (u16, EventStream) {
        let mut stream = TcpStream::connect(web.server.http).await.unwrap();
        let mut head = format!("GET /events HTTP/1.1\r\nHost: {}\r\n", web.server.http);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut events = EventStream {
            stream,
            seen: String::new(),
        };
        events.wait_for("\r\n\r\n").await;
        let status = events.seen[9..12].parse().unwrap();
        (status, events)
    }

    /// Reads until `text` has arrived; panics after 5 s.
    async fn wait_for(&mut self, text: &str) -> &str {
        let read = async {
            let mut buf = [0u8; 4096];
            while !self.seen.contains(text) {
                let n = self.stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "stream closed before {text:?}: {}", self.seen);
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        };
        if tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .is_err()
        {
            panic!("no {text:?} within 5 s: {}", self.seen);
        }
        &self.seen
    }
}

#[tokio::test]
async fn events_announce_new_calls_and_transcripts_to_logged_in_users() {
    let web = Web::start().await;
    let (status, _) = EventStream::open(&web, &[]).await;
    assert_eq!(status, 401, "anonymous");
    let (status, _) = EventStream::open(&web, &[("Cookie", "hotline_session=forged")]).await;
    assert_eq!(status, 401, "forged session");

    let (cookie, _) = web.session().await;
    let (status, mut events) = EventStream::open(&web, &[("Cookie", &cookie)]).await;
    assert_eq!(status, 200);
    assert!(events
        .seen
        .to_ascii_lowercase()
        .contains("text/event-stream"));
    events.wait_for(": listening").await;

    let reference = seed_french(&web).await;
    let seen = events
        .wait_for(&format!(
            r#"{{"reference":"{reference}","kind":"transcript"}}"#
        ))
        .await;
    let created =
        format!("event: ticket\ndata: {{\"reference\":\"{reference}\",\"kind\":\"created\"}}");
    assert!(seen.contains(&created), "{seen}");

    let auth = web.bearer().await;
    let (status, mut by_token) = EventStream::open(&web, &[("Authorization", &auth)]).await;
    assert_eq!(status, 200, "API tokens may listen too");
    by_token.wait_for(": listening").await;
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    web.store()
        .set_status_by(t.id, hotline::tickets::TicketStatus::Resolved, "alice")
        .await
        .unwrap();
    by_token
        .wait_for(&format!(
            r#"{{"reference":"{reference}","kind":"updated"}}"#
        ))
        .await;
}

#[tokio::test]
async fn pages_carry_the_live_update_scripts() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("400").await;
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];
    let html = web.get("/tickets", &c).await.text();
    assert!(
        html.contains(r#"<script src="/assets/call_log.js" defer>"#)
            && html.contains(r#"id="live""#)
    );
    let script = web.get("/assets/call_log.js", &[]).await.text();
    assert!(script.contains(r#"new EventSource("/events")"#));
    let html = web.get(&format!("/tickets/{reference}"), &c).await.text();
    assert!(html.contains(&format!(
        r#"<section id="transcript" data-reference="{reference}">"#
    )));
    assert!(html.contains(r#"<script src="/assets/ticket.js" defer>"#));
    assert!(
        html.contains(r#"<section id="timeline">"#) && html.contains(r#"<section id="activity">"#)
    );
    let script = web.get("/assets/ticket.js", &[]).await.text();
    assert!(script.contains(r#"const SECTIONS = ["transcript", "timeline", "activity"];"#));
}
