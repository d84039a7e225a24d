//! A rota and phones written straight to the store, for tests that route calls.

use chrono::{NaiveDate, NaiveTime, Utc};
use hotline::oncall::{BusinessHours, Coverage, Handover, Rotation};
use hotline::sip::registrar::{Binding, BindingChange, Transport};
use hotline::store::{Store, TeamSettings};
use hotline::tickets::Category;
use std::net::SocketAddr;

/// The network team, handling network tickets, with `members` taking turns on call around the
/// clock (the first is on call now) and `lead` as the last escalation step.
pub async fn network_team(store: &Store, members: &[&str], lead: Option<&str>) {
    store
        .save_team(&TeamSettings {
            name: "network".into(),
            time_zone: "Europe/Paris".parse().unwrap(),
            lead: lead.map(str::to_string),
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
            name: "always".into(),
            coverage: Coverage::Always,
            handover: Handover::Daily {
                at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            },
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            members: members.iter().map(|m| m.to_string()).collect(),
        })
        .await
        .unwrap();
}

/// A phone of `name` registered for an hour at `phone` over UDP, as `sip:{contact_user}@phone`.
pub async fn phone_at(store: &Store, name: &str, contact_user: &str, phone: SocketAddr) {
    let now = Utc::now();
    let binding = Binding {
        contact: format!("sip:{contact_user}@{phone}"),
        expires_at: now + chrono::Duration::hours(1),
        call_id: format!("{contact_user}-registration"),
        cseq: 1,
        source: phone,
        transport: Transport::Udp,
        user_agent: Some("SIPp".into()),
    };
    store
        .apply_binding_changes(name, &[BindingChange::Save(binding)], now)
        .await
        .unwrap();
}

/// A technician account `name` with a SIP password for the server's realm (their phones'
/// REGISTER and feature codes authenticate with it).
pub async fn sip_technician(server: &super::server::TestServer, name: &str, password: &str) {
    let store = server.server.as_ref().unwrap().store();
    store
        .upsert_user(name, "x", hotline::accounts::Role::Technician)
        .await
        .unwrap();
    let realm = &server.config.registrar.realm;
    let ha1 = hotline::sip::digest::Ha1Set::from_password(name, realm, password);
    assert!(store.set_sip_password(name, realm, &ha1).await.unwrap());
}
