//! Technicians' phones in the store: HA1 digests only, bindings that outlive the process and
//! are shared by every node, expiry and keep-alive state.

use crate::support::Db;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hotline::accounts::Role;
use hotline::sip::digest::Ha1Set;
use hotline::sip::registrar::{Binding, BindingChange, Transport};
use hotline::store::Store;
use sqlx::Row;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

fn binding(contact: &str, expires_in: i64) -> Binding {
    Binding {
        contact: contact.into(),
        expires_at: t0() + Duration::seconds(expires_in),
        call_id: format!("{contact}-call"),
        cseq: 1,
        source: "198.51.100.4:5062".parse().unwrap(),
        transport: Transport::Tcp,
        user_agent: Some("baresip".into()),
    }
}

async fn technician(store: &Store, name: &str) {
    store
        .upsert_user(name, "x", Role::Technician)
        .await
        .unwrap();
}

async fn only_digests_are_stored_never_the_password(db: Db) {
    let store = &db.store;
    let ha1 = Ha1Set::from_password("bob", "hotline", "correct horse");
    assert!(
        !store
            .set_sip_password("bob", "hotline", &ha1)
            .await
            .unwrap(),
        "no account yet"
    );
    technician(store, "bob").await;
    assert!(store
        .set_sip_password("bob", "hotline", &ha1)
        .await
        .unwrap());
    assert_eq!(
        store.sip_credentials("bob", "hotline").await.unwrap(),
        Some(ha1)
    );
    assert_eq!(
        store.sip_credentials("bob", "elsewhere").await.unwrap(),
        None
    );
    let raw = db.raw().await;
    let row = sqlx::query("SELECT * FROM sip_credentials")
        .fetch_one(&raw)
        .await
        .unwrap();
    for i in 0..row.len() {
        if let Ok(text) = row.try_get::<String, _>(i) {
            assert!(
                !text.contains("correct horse"),
                "column {i} holds the password"
            );
        }
    }
    raw.close().await;
}

async fn bindings_survive_a_restart_and_another_node_sees_them(db: Db) {
    technician(&db.store, "bob").await;
    let desk = binding("sip:bob@10.0.0.1", 600);
    let soft = binding("sip:bob@10.0.0.2;transport=tcp", 60);
    db.store
        .apply_binding_changes(
            "bob",
            &[
                BindingChange::Save(desk.clone()),
                BindingChange::Save(soft.clone()),
            ],
            t0(),
        )
        .await
        .unwrap();
    let other = db.node(Default::default()).await;
    let seen: Vec<Binding> = other
        .bindings("bob", t0())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.binding)
        .collect();
    assert_eq!(seen, [desk.clone(), soft.clone()]);
    // After 60 s the softphone's binding is gone from every read, then purged.
    let later = t0() + Duration::seconds(60);
    let left = other.bindings("bob", later).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].binding, desk);
    assert_eq!(other.purge_expired_bindings(later).await.unwrap(), 1);
    assert_eq!(other.all_bindings(t0()).await.unwrap().len(), 1);
    other.close().await;
}

async fn a_dead_phone_is_unreachable_and_its_owner_offline(db: Db) {
    let store = &db.store;
    technician(store, "bob").await;
    let desk = binding("sip:bob@10.0.0.1", 600);
    store
        .apply_binding_changes("bob", &[BindingChange::Save(desk.clone())], t0())
        .await
        .unwrap();
    assert_eq!(
        store.presence("bob", t0()).await.unwrap(),
        hotline::oncall::Presence::Available
    );
    store
        .set_binding_reachable("bob", &desk.contact, false, t0())
        .await
        .unwrap();
    let phones = store.bindings("bob", t0()).await.unwrap();
    assert!(!phones[0].reachable);
    assert_eq!(
        store.presence("bob", t0()).await.unwrap(),
        hotline::oncall::Presence::Offline
    );
    // A re-REGISTER proves the phone is back.
    store
        .apply_binding_changes("bob", &[BindingChange::Save(desk.clone())], t0())
        .await
        .unwrap();
    assert!(store.bindings("bob", t0()).await.unwrap()[0].reachable);
    store
        .apply_binding_changes(
            "bob",
            &[BindingChange::Remove {
                contact: desk.contact.clone(),
            }],
            t0(),
        )
        .await
        .unwrap();
    assert!(store.bindings("bob", t0()).await.unwrap().is_empty());
}

on_both!(
    only_digests_are_stored_never_the_password,
    bindings_survive_a_restart_and_another_node_sees_them,
    a_dead_phone_is_unreachable_and_its_owner_offline,
);
