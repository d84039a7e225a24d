use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

fn source() -> SocketAddr {
    "203.0.113.7:40123".parse().unwrap()
}

/// A REGISTER for bob with the given extra header lines.
fn register(call_id: &str, cseq: u32, headers: &[&str]) -> Request {
    let mut text = format!(
        "REGISTER sip:hotline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK{cseq}{call_id}\r\n\
         From: <sip:bob@hotline.test>;tag=a1\r\n\
         To: <sip:bob@hotline.test>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Max-Forwards: 70\r\n"
    );
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    match message::parse(text.as_bytes()).unwrap() {
        rsip::SipMessage::Request(r) => r,
        _ => unreachable!(),
    }
}

fn run(request: &Request, current: &[Binding]) -> RegisterOutcome {
    process_register(
        request,
        "bob",
        current,
        source(),
        Flow::Udp,
        now(),
        ExpiryLimits::default(),
    )
}

fn saved(outcome: &RegisterOutcome) -> Vec<Binding> {
    outcome
        .changes
        .iter()
        .filter_map(|c| match c {
            BindingChange::Save(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn contact_headers(outcome: &RegisterOutcome) -> Vec<String> {
    outcome
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Contact(c) => Some(c.value().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_contact_is_bound_for_the_asked_expiry_at_the_address_it_came_from() {
    let out = run(
        &register(
            "c1",
            1,
            &["Contact: <sip:bob@192.168.1.20:5060>", "Expires: 600"],
        ),
        &[],
    );
    assert_eq!(out.status, StatusCode::OK);
    let b = &saved(&out)[0];
    assert_eq!(b.contact, "sip:bob@192.168.1.20:5060");
    assert_eq!(b.expires_at, now() + chrono::Duration::seconds(600));
    assert_eq!(b.source, source(), "reached where it really is (NAT)");
    assert_eq!(
        contact_headers(&out),
        ["<sip:bob@192.168.1.20:5060>;expires=600"]
    );
}

#[test]
fn too_brief_gets_423_with_min_expires_and_too_long_is_shortened() {
    let out = run(
        &register("c1", 1, &["Contact: <sip:bob@10.0.0.1>;expires=30"]),
        &[],
    );
    assert_eq!(out.status, StatusCode::IntervalTooBrief);
    assert!(out.changes.is_empty());
    let response = out.response(&register("c1", 1, &[]));
    assert_eq!(
        message::header_value(&response.headers, "Min-Expires").as_deref(),
        Some("60")
    );
    let out = run(
        &register("c1", 2, &["Contact: <sip:bob@10.0.0.1>;expires=86400"]),
        &[],
    );
    assert_eq!(saved(&out)[0].remaining(now()), 3600);
}

#[test]
fn two_devices_are_both_listed_and_a_register_without_contact_lists_them() {
    let desk = run(&register("desk", 1, &["Contact: <sip:bob@10.0.0.1>"]), &[]);
    let mut bindings = saved(&desk);
    let soft = run(
        &register("soft", 1, &["Contact: <sip:bob@10.0.0.2;transport=tcp>"]),
        &bindings,
    );
    bindings.extend(saved(&soft));
    assert_eq!(contact_headers(&soft).len(), 2);
    let list = run(&register("query", 1, &[]), &bindings);
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.changes.is_empty());
    assert_eq!(
        contact_headers(&list),
        [
            "<sip:bob@10.0.0.1>;expires=3600",
            "<sip:bob@10.0.0.2;transport=tcp>;expires=3600"
        ]
    );
}

#[test]
fn expires_zero_removes_one_and_star_removes_all() {
    let a = saved(&run(
        &register("a", 1, &["Contact: <sip:bob@10.0.0.1>"]),
        &[],
    ));
    let b = saved(&run(
        &register("b", 1, &["Contact: <sip:bob@10.0.0.2>"]),
        &a,
    ));
    let both: Vec<Binding> = a.iter().chain(&b).cloned().collect();
    let one = run(
        &register("a", 2, &["Contact: <sip:bob@10.0.0.1>;expires=0"]),
        &both,
    );
    assert_eq!(
        one.changes,
        [BindingChange::Remove {
            contact: "sip:bob@10.0.0.1".into()
        }]
    );
    assert_eq!(contact_headers(&one), ["<sip:bob@10.0.0.2>;expires=3600"]);
    let all = run(&register("z", 1, &["Contact: *", "Expires: 0"]), &both);
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.changes.len(), 2);
    assert!(contact_headers(&all).is_empty());
    let bad = run(&register("z", 2, &["Contact: *", "Expires: 60"]), &both);
    assert_eq!(bad.status, StatusCode::BadRequest);
}

#[test]
fn an_older_cseq_from_the_same_call_id_is_refused() {
    let first = saved(&run(
        &register("c", 5, &["Contact: <sip:bob@10.0.0.1>"]),
        &[],
    ));
    let late = run(&register("c", 4, &["Contact: <sip:bob@10.0.0.1>"]), &first);
    assert_eq!(late.status, StatusCode::ServerInternalError);
    let fresh = run(&register("c", 6, &["Contact: <sip:bob@10.0.0.1>"]), &first);
    assert_eq!(fresh.status, StatusCode::OK);
}

#[test]
fn expired_bindings_are_not_listed() {
    let mut old = saved(&run(
        &register("c", 1, &["Contact: <sip:bob@10.0.0.1>"]),
        &[],
    ));
    old[0].expires_at = now() - chrono::Duration::seconds(1);
    let list = run(&register("q", 1, &[]), &old);
    assert!(contact_headers(&list).is_empty());
}

#[test]
fn registering_someone_elses_address_is_forbidden() {
    let out = process_register(
        &register("c", 1, &["Contact: <sip:bob@10.0.0.1>"]),
        "alice",
        &[],
        source(),
        Flow::Udp,
        now(),
        ExpiryLimits::default(),
    );
    assert_eq!(out.status, StatusCode::Forbidden);
}

#[test]
fn several_contacts_in_one_header_with_display_names() {
    let out = run(
        &register(
            "c",
            1,
            &["Contact: \"Bob, desk\" <sip:bob@10.0.0.1>;expires=120, <sip:bob@10.0.0.2>"],
        ),
        &[],
    );
    let b = saved(&out);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].remaining(now()), 120);
    assert_eq!(b[1].remaining(now()), 3600);
}
