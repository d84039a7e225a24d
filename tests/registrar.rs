//! Technicians' phones registering with the real server: digest challenges, bindings, devices,
//! unregistering, rate limiting, restarts and keep-alives, driven by the Rust test UA over UDP
//! and TCP.

#[path = "support/mod.rs"]
mod support;

use chrono::Utc;
use hotline::sip::digest::{Algorithm, Credentials, Ha1Set};
use hotline::sip::message::header_value;
use rsip::{Header, Response};
use std::time::Duration;
use support::digest::challenge_param as param;
use support::oncall::sip_technician;
use support::server::TestServer;
use support::ua::Ua;

const WAIT: Duration = Duration::from_secs(5);

/// A technician's phone: a test UA that sends REGISTER and answers challenges.
struct Phone {
    ua: Ua,
    user: String,
    cseq: u32,
    call_id: String,
}

impl Phone {
    async fn udp(server: &TestServer, user: &str) -> Phone {
        Self::with(Ua::udp(server.sip).await, user)
    }

    async fn tcp(server: &TestServer, user: &str) -> Phone {
        Self::with(Ua::tcp(server.sip).await, user)
    }

    fn with(ua: Ua, user: &str) -> Phone {
        Phone {
            ua,
            user: user.into(),
            cseq: 0,
            call_id: format!("{:016x}@phone", rand::random::<u64>()),
        }
    }

    fn contact(&self) -> String {
        let local = self.ua.rtp.local_addr().unwrap(); // any address of ours; unique per phone
        format!("sip:{}@127.0.0.1:{}", self.user, local.port())
    }

    /// One REGISTER with `headers` (Contact, Expires, Authorization …); the final response.
    async fn send(&mut self, headers: &[String]) -> Response {
        self.cseq += 1;
        let transport = self.ua.transport();
        let mut text = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch=z9hG4bK{branch:016x};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=f{cseq}\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: test-phone\r\n",
            local = self.ua.local(),
            branch = rand::random::<u64>(),
            user = self.user,
            cseq = self.cseq,
            call_id = self.call_id,
        );
        for h in headers {
            text.push_str(h);
            text.push_str("\r\n");
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        self.ua.send_raw(text.as_bytes()).await;
        self.ua
            .final_response(WAIT)
            .await
            .expect("a response to REGISTER")
    }

    /// REGISTER, answer the challenge with `password` using `algorithm`; the final response.
    async fn register(
        &mut self,
        password: &str,
        algorithm: Algorithm,
        headers: &[String],
    ) -> Response {
        let challenge = self.send(headers).await;
        assert_eq!(challenge.status_code.code(), 401, "{challenge}");
        let offer = challenges(&challenge)
            .into_iter()
            .find(|c| c.contains(&format!("algorithm={algorithm}")))
            .expect("the algorithm is offered");
        let mut with_auth = headers.to_vec();
        with_auth.push(format!(
            "Authorization: {}",
            authorization(&offer, &self.user, password, algorithm, 1)
        ));
        self.send(&with_auth).await
    }
}

fn challenges(response: &Response) -> Vec<String> {
    response
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::WwwAuthenticate(v) => Some(v.to_string()),
            _ => None,
        })
        .collect()
}

/// The Authorization a phone knowing `password` sends for `challenge`.
fn authorization(
    challenge: &str,
    user: &str,
    password: &str,
    algorithm: Algorithm,
    nc: u32,
) -> String {
    authorization_for("REGISTER", challenge, user, password, algorithm, nc)
}

/// The same for a request of `method`.
fn authorization_for(
    method: &str,
    challenge: &str,
    user: &str,
    password: &str,
    algorithm: Algorithm,
    nc: u32,
) -> String {
    let realm = param(challenge, "realm");
    let mut c = Credentials {
        username: user.into(),
        realm: realm.clone(),
        nonce: param(challenge, "nonce"),
        uri: "sip:127.0.0.1".into(),
        response: String::new(),
        algorithm,
        cnonce: format!("{:08x}", rand::random::<u32>()),
        nc_text: format!("{nc:08x}"),
        nc,
    };
    let ha1 = Ha1Set::from_password(user, &realm, password);
    c.response = c.expected_response(ha1.get(algorithm), method);
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", \
         algorithm={algorithm}, cnonce=\"{}\", qop=auth, nc={}",
        c.nonce, c.uri, c.response, c.cnonce, c.nc_text
    )
}

fn contacts(response: &Response) -> Vec<String> {
    response
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Contact(c) => Some(c.to_string().trim_start_matches("Contact: ").to_string()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_phone_registers_with_sha256_and_a_second_device_over_tcp_then_both_unregister() {
    let server = TestServer::start().await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut desk = Phone::udp(&server, "bob").await;
    let desk_contact = format!("Contact: <{}>", desk.contact());
    let ok = desk
        .register(
            "correct horse",
            Algorithm::Sha256,
            &[desk_contact.clone(), "Expires: 600".into()],
        )
        .await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");
    assert_eq!(contacts(&ok), [format!("<{}>;expires=600", desk.contact())]);

    let mut soft = Phone::tcp(&server, "bob").await;
    let soft_contact = format!("Contact: <{};transport=tcp>", soft.contact());
    let ok = soft
        .register("correct horse", Algorithm::Sha256, &[soft_contact])
        .await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");
    assert_eq!(contacts(&ok).len(), 2, "both devices listed: {ok}");
    let store = server.server.as_ref().unwrap().store();
    let bound = store.bindings("bob", Utc::now()).await.unwrap();
    assert_eq!(bound.len(), 2);
    let routes = server
        .server
        .as_ref()
        .unwrap()
        .phones()
        .reachable("bob")
        .await
        .unwrap();
    assert_eq!(routes.len(), 2);
    assert!(
        routes
            .iter()
            .any(|r| matches!(r.flow, hotline::sip::transport::Flow::Tcp(_))),
        "the TCP phone is reached on its own connection: {routes:?}"
    );

    // A REGISTER without Contact lists; `*` with Expires: 0 removes both.
    let listed = desk.register("correct horse", Algorithm::Sha256, &[]).await;
    assert_eq!(contacts(&listed).len(), 2);
    let gone = desk
        .register(
            "correct horse",
            Algorithm::Sha256,
            &["Contact: *".into(), "Expires: 0".into()],
        )
        .await;
    assert_eq!(gone.status_code.code(), 200, "{gone}");
    assert!(contacts(&gone).is_empty());
    assert!(store.bindings("bob", Utc::now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn too_brief_an_expiry_gets_423_with_min_expires() {
    let server = TestServer::start().await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut phone = Phone::udp(&server, "bob").await;
    let contact = format!("Contact: <{}>;expires=10", phone.contact());
    let r = phone
        .register("correct horse", Algorithm::Md5, &[contact])
        .await;
    assert_eq!(r.status_code.code(), 423, "{r}");
    assert_eq!(
        header_value(&r.headers, "Min-Expires").as_deref(),
        Some("60")
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_alike_then_the_source_is_rate_limited() {
    let server = TestServer::start_with(|c| {
        c.registrar.failures_per_source = 3;
    })
    .await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut phone = Phone::udp(&server, "bob").await;
    let contact = format!("Contact: <{}>", phone.contact());
    let wrong = phone
        .register("guess", Algorithm::Md5, std::slice::from_ref(&contact))
        .await;
    assert_eq!(wrong.status_code.code(), 401, "challenged again: {wrong}");
    let mut stranger = Phone::udp(&server, "mallory").await;
    let unknown = stranger
        .register("guess", Algorithm::Md5, std::slice::from_ref(&contact))
        .await;
    assert_eq!(unknown.status_code.code(), 401);
    // The same challenge, whatever the reason: only the nonce differs.
    let shape = |r: &Response| {
        challenges(r)
            .iter()
            .map(|c| c.replace(&param(c, "nonce"), "N"))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&wrong), shape(&unknown));
    assert_eq!(wrong.status_code, unknown.status_code);
    // Two more failures from this address (3 in all), then even the right password is refused.
    let wrong = phone
        .register(
            "guess again",
            Algorithm::Md5,
            std::slice::from_ref(&contact),
        )
        .await;
    assert_eq!(wrong.status_code.code(), 401);
    let refused = phone.send(&[contact]).await;
    assert_eq!(refused.status_code.code(), 403, "{refused}");
    assert!(header_value(&refused.headers, "Retry-After").is_some());
}

#[tokio::test]
async fn bindings_survive_a_restart_and_expire_on_time() {
    let mut server = TestServer::start().await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut phone = Phone::udp(&server, "bob").await;
    let contact = format!("Contact: <{}>;expires=120", phone.contact());
    let ok = phone
        .register("correct horse", Algorithm::Sha256, &[contact])
        .await;
    assert_eq!(ok.status_code.code(), 200);
    server.shutdown().await;
    drop(server.server.take());
    let again = hotline::server::Server::start(server.config.clone())
        .await
        .unwrap();
    let now = Utc::now();
    let bound = again.store().bindings("bob", now).await.unwrap();
    assert_eq!(
        bound.len(),
        1,
        "the phone is still registered after the restart"
    );
    let expires = bound[0].binding.expires_at;
    assert!((expires - now).num_seconds() <= 120);
    assert!(
        again
            .store()
            .bindings("bob", expires)
            .await
            .unwrap()
            .is_empty(),
        "gone at expiry"
    );
    assert_eq!(
        again
            .store()
            .bindings("bob", expires - chrono::Duration::milliseconds(1))
            .await
            .unwrap()
            .len(),
        1,
        "and not before"
    );
}

#[tokio::test]
async fn the_keepalive_reaches_a_tcp_phone_on_its_connection_and_marks_a_dead_one_unreachable() {
    let server = TestServer::start_with(|c| {
        c.registrar.keepalive_secs = 1;
        c.sip.t1_ms = 50; // Timer F = 64·T1 = 3.2 s: a dead phone is noticed quickly
    })
    .await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut tcp = Phone::tcp(&server, "bob").await;
    let contact = format!("Contact: <{};transport=tcp>", tcp.contact());
    assert_eq!(
        tcp.register("correct horse", Algorithm::Md5, &[contact])
            .await
            .status_code
            .code(),
        200
    );
    let mut udp = Phone::udp(&server, "bob").await;
    let contact = format!("Contact: <{}>", udp.contact());
    assert_eq!(
        udp.register("correct horse", Algorithm::Md5, &[contact])
            .await
            .status_code
            .code(),
        200
    );
    // The TCP phone gets an OPTIONS on the connection it registered on (and answers it).
    let options = loop {
        match tcp
            .ua
            .recv(WAIT)
            .await
            .expect("an OPTIONS over the phone's connection")
        {
            rsip::SipMessage::Request(r) if r.method == rsip::Method::Options => break r,
            _ => continue,
        }
    };
    assert!(
        options
            .uri
            .to_string()
            .to_lowercase()
            .contains("transport=tcp"),
        "{options}"
    );
    // The UDP phone dies: it no longer answers, and is marked unreachable after Timer F.
    let dead = udp.contact();
    drop(udp);
    let store = server.server.as_ref().unwrap().store();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let phones = store.bindings("bob", Utc::now()).await.unwrap();
        let state = |c: &str| {
            phones
                .iter()
                .find(|p| p.binding.contact.starts_with(c))
                .map(|p| p.reachable)
        };
        if state(&dead) == Some(false) {
            assert_eq!(
                state(&tcp.contact()),
                Some(true),
                "the live phone stays reachable"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead phone never marked: {phones:?}"
        );
        // Keep answering OPTIONS on the live phone while waiting.
        let _ = tcp.ua.recv(Duration::from_millis(200)).await;
    }
    assert_eq!(
        store.presence("bob", Utc::now()).await.unwrap(),
        hotline::oncall::Presence::Available,
        "one reachable phone is enough"
    );
}

/// An INVITE from `ua` to the helpdesk that names `user` as the caller (From and Contact).
fn invite_as(ua: &mut Ua, user: &str, extra: Option<&str>) -> String {
    let offer = ua.offer();
    let text = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    let text = text.replace("<sip:5551234@", &format!("<sip:{user}@"));
    match extra {
        Some(header) => text.replacen(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\n{header}\r\n"),
            1,
        ),
        None => text,
    }
}

#[tokio::test]
async fn a_call_from_a_registered_phone_is_challenged_and_then_known_as_the_technician() {
    let server = TestServer::start_with(|c| c.registrar.keepalive_secs = 0).await;
    sip_technician(&server, "bob", "correct horse").await;
    let mut phone = Phone::udp(&server, "bob").await;
    let contact = format!("Contact: <sip:bob@{}>", phone.ua.local());
    let ok = phone
        .register("correct horse", Algorithm::Sha256, &[contact])
        .await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");

    // Someone else writing "bob" in From from another address is just a caller: no challenge.
    let mut other = Ua::udp(server.sip).await;
    let invite = invite_as(&mut other, "bob", None);
    other.send_raw(invite.as_bytes()).await;
    let answered = other.final_response(WAIT).await.unwrap();
    assert_eq!(answered.status_code.code(), 200, "{answered}");
    other.learn(&answered);
    other.ack().await;
    other.bye().await;

    // From the registered phone's own address, the call is challenged like a proxy would...
    let ua = &mut phone.ua;
    let invite = invite_as(ua, "bob", None);
    ua.send_raw(invite.as_bytes()).await;
    let challenge = ua.final_response(WAIT).await.unwrap();
    assert_eq!(challenge.status_code.code(), 407, "{challenge}");
    let offer = challenge
        .headers
        .iter()
        .find_map(|h| match h {
            Header::ProxyAuthenticate(v) if v.to_string().contains("SHA-256") => {
                Some(v.to_string())
            }
            _ => None,
        })
        .expect("a SHA-256 challenge");
    // (the ACK of a non-2xx reuses the INVITE's branch, RFC 3261 §17.1.1.3)
    let branch = invite
        .split("branch=")
        .nth(1)
        .and_then(|b| b.split(';').next())
        .unwrap()
        .to_string();
    let ack = ua.request("ACK", None, Some(&branch));
    ua.send_raw(ack.as_bytes()).await;
    ua.to_tag = None;

    // ...and answered with bob's password it is bob's call, answered.
    let credentials = authorization_for(
        "INVITE",
        &offer,
        "bob",
        "correct horse",
        Algorithm::Sha256,
        1,
    );
    let invite = invite_as(
        ua,
        "bob",
        Some(&format!("Proxy-Authorization: {credentials}")),
    );
    ua.send_raw(invite.as_bytes()).await;
    let answered = ua.final_response(WAIT).await.unwrap();
    assert_eq!(answered.status_code.code(), 200, "{answered}");
    ua.learn(&answered);
    ua.ack().await;
    ua.bye().await;

    // A wrong password from the phone's address is challenged again, never answered.
    ua.to_tag = None;
    ua.call_id = format!("{:016x}@phone", rand::random::<u64>());
    let invite = invite_as(ua, "bob", None);
    ua.send_raw(invite.as_bytes()).await;
    let challenge = ua.final_response(WAIT).await.unwrap();
    assert_eq!(challenge.status_code.code(), 407);
    let offer = challenge
        .headers
        .iter()
        .find_map(|h| match h {
            Header::ProxyAuthenticate(v) => Some(v.to_string()),
            _ => None,
        })
        .unwrap();
    let algorithm = if offer.contains("SHA-256") {
        Algorithm::Sha256
    } else {
        Algorithm::Md5
    };
    let wrong = authorization_for("INVITE", &offer, "bob", "guess", algorithm, 1);
    ua.to_tag = None;
    let invite = invite_as(ua, "bob", Some(&format!("Proxy-Authorization: {wrong}")));
    ua.send_raw(invite.as_bytes()).await;
    let again = ua.final_response(WAIT).await.unwrap();
    assert_eq!(again.status_code.code(), 407, "{again}");
}
