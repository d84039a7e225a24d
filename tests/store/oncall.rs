//! The rota in the store: what is saved is what `oncall` answers from, and the estimate a
//! caller hears counts the available on-call technicians of the ticket's team.

use crate::support::{call, Db};
use chrono::{Duration, NaiveDate, Utc};
use hotline::accounts::Role;
use hotline::oncall::{
    BusinessHours, Coverage, EscalationStep, Handover, Position, PresenceChoice, Rotation,
};
use hotline::sip::registrar::{Binding, BindingChange, Transport};
use hotline::store::{Store, TeamSettings, TicketField};
use hotline::tickets::{Category, Impact, Urgency};

async fn technician_with_phone(store: &Store, name: &str) {
    store
        .upsert_user(name, "x", Role::Technician)
        .await
        .unwrap();
    let now = Utc::now();
    let phone = Binding {
        contact: format!("sip:{name}@10.0.0.1"),
        expires_at: now + Duration::hours(1),
        call_id: format!("{name}-reg"),
        cseq: 1,
        source: "10.0.0.1:5060".parse().unwrap(),
        transport: Transport::Udp,
        user_agent: None,
    };
    store
        .apply_binding_changes(name, &[BindingChange::Save(phone)], now)
        .await
        .unwrap();
}

async fn network_team(store: &Store) {
    for name in ["ana", "ben", "lea"] {
        technician_with_phone(store, name).await;
    }
    store
        .save_team(&TeamSettings {
            name: "network".into(),
            time_zone: "Europe/Paris".parse().unwrap(),
            lead: Some("lea".into()),
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
            name: "week".into(),
            coverage: Coverage::Always,
            handover: Handover::Daily {
                at: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            },
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            members: vec!["ana".into(), "ben".into()],
        })
        .await
        .unwrap();
}

async fn the_saved_rota_answers_who_is_on_call(Db { store, .. }: Db) {
    network_team(&store).await;
    store.add_team_member("network", "ana").await.unwrap();
    store
        .set_escalation(
            "network",
            &[
                EscalationStep {
                    position: Position::Primary,
                    ring: std::time::Duration::from_secs(20),
                },
                EscalationStep {
                    position: Position::Lead,
                    ring: std::time::Duration::from_secs(45),
                },
            ],
        )
        .await
        .unwrap();
    let now = Utc::now();
    let rota = store.rota(now).await.unwrap();
    let team = rota.team("network").unwrap();
    assert_eq!(team.members, ["ana"]);
    assert_eq!(team.categories, [Category::Network]);
    assert_eq!(rota.rotations[0].members, ["ana", "ben"]);
    assert_eq!(
        rota.rotations[0].handover.to_string(),
        "daily 09:00",
        "stored as text, read back as the same value"
    );
    let order = rota.on_call_for(Category::Network, now);
    assert_eq!(order.len(), 3, "{order:?}");
    assert_eq!(order[2].user, "lea");
    let steps = rota.escalation_for(Category::Network, now);
    let rings: Vec<u64> = steps.iter().map(|(_, r)| r.as_secs()).collect();
    assert_eq!(rings, [20, 45]);

    // An override for the next hour puts the cover first, and can be removed.
    technician_with_phone(&store, "dan").await;
    let id = store
        .add_override("network", "dan", None, now, now + Duration::hours(1))
        .await
        .unwrap();
    let rota = store.rota(now).await.unwrap();
    assert_eq!(rota.on_call_for(Category::Network, now)[0].user, "dan");
    assert!(store.remove_override(id).await.unwrap());
    let rota = store.rota(now).await.unwrap();
    assert_ne!(rota.on_call_for(Category::Network, now)[0].user, "dan");
    assert!(store.delete_team("network").await.unwrap());
    assert!(store.rota(now).await.unwrap().teams.is_empty());
}

async fn the_estimate_grows_when_an_on_call_technician_goes_away(Db { store, .. }: Db) {
    network_team(&store).await;
    let mut tickets = Vec::new();
    for n in 0..7 {
        let t = store.create_ticket(&call(&n.to_string())).await.unwrap();
        for field in [
            TicketField::Category(Category::Network),
            TicketField::Impact(Impact::Organisation),
            TicketField::Urgency(Urgency::Blocked),
        ] {
            store.set_field(t.id, field).await.unwrap();
        }
        tickets.push(t.id);
    }
    let last = *tickets.last().unwrap();
    let minutes = |m: u64| Some(std::time::Duration::from_secs(m * 60));
    // Six P1 tickets ahead, three available on call (primary, secondary, lead): two rounds.
    assert_eq!(
        store
            .available_on_call(Category::Network, Utc::now())
            .await
            .unwrap(),
        Some(3)
    );
    assert_eq!(store.estimate_for(last).await.unwrap(), minutes(40));
    store
        .set_presence("ana", PresenceChoice::Away)
        .await
        .unwrap();
    store
        .set_presence("ben", PresenceChoice::Away)
        .await
        .unwrap();
    // Only the lead is left: six tickets, 20 minutes each.
    assert_eq!(store.estimate_for(last).await.unwrap(), minutes(120));
    store.set_busy("lea", true).await.unwrap();
    assert_eq!(
        store
            .available_on_call(Category::Network, Utc::now())
            .await
            .unwrap(),
        Some(0)
    );
    store
        .set_presence("ana", PresenceChoice::Available)
        .await
        .unwrap();
    assert_eq!(store.estimate_for(last).await.unwrap(), minutes(120));
    // A category no team handles falls back to the manual on-duty list.
    assert_eq!(
        store
            .available_on_call(Category::Software, Utc::now())
            .await
            .unwrap(),
        None
    );
}

/// What the web log's edit forms write: a team with exactly the members and categories given
/// (a category moving from another team), and one rotation or one team's override removed.
async fn a_team_is_replaced_whole_and_rotations_and_overrides_are_removed_one_by_one(
    Db { store, .. }: Db,
) {
    network_team(&store).await;
    technician_with_phone(&store, "dan").await;
    assert_eq!(
        store.user_names().await.unwrap(),
        ["ana", "ben", "dan", "lea"]
    );
    store
        .save_team(&TeamSettings {
            name: "accounts".into(),
            time_zone: "UTC".parse().unwrap(),
            lead: None,
            business_hours: BusinessHours::default(),
        })
        .await
        .unwrap();
    store
        .assign_category(Category::Account, "accounts")
        .await
        .unwrap();
    store.add_team_member("network", "dan").await.unwrap();
    let settings = TeamSettings {
        name: "network".into(),
        time_zone: "America/New_York".parse().unwrap(),
        lead: Some("ben".into()),
        business_hours: BusinessHours::parse("mon-thu 09:00-17:00").unwrap(),
    };
    store
        .replace_team(
            &settings,
            &["ana".into(), "ben".into()],
            &[Category::Account, Category::Hardware],
        )
        .await
        .unwrap();
    let now = Utc::now();
    let rota = store.rota(now).await.unwrap();
    let network = rota.team("network").unwrap();
    assert_eq!(network.members, ["ana", "ben"], "dan was left out");
    assert_eq!(network.categories, [Category::Account, Category::Hardware]);
    assert_eq!(network.lead.as_deref(), Some("ben"));
    assert_eq!(network.time_zone.name(), "America/New_York");
    assert_eq!(
        network.business_hours.to_string(),
        "mon,tue,wed,thu 09:00-17:00"
    );
    assert!(
        rota.team("accounts").unwrap().categories.is_empty(),
        "account moved to network"
    );
    assert_eq!(
        rota.team_for(Category::Network),
        None,
        "network was left out"
    );
    assert_eq!(rota.rotations.len(), 1, "rotations stay");

    let first = store
        .add_override("network", "dan", None, now, now + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        !store.remove_team_override("accounts", first).await.unwrap(),
        "another team's override is not removed"
    );
    assert_eq!(store.rota(now).await.unwrap().overrides.len(), 1);
    assert!(store.remove_team_override("network", first).await.unwrap());
    assert!(!store.remove_team_override("network", first).await.unwrap());
    assert!(store.rota(now).await.unwrap().overrides.is_empty());

    assert!(!store.delete_rotation("network", "nights").await.unwrap());
    assert!(store.delete_rotation("network", "week").await.unwrap());
    assert!(store.rota(now).await.unwrap().rotations.is_empty());
}

on_both!(
    the_saved_rota_answers_who_is_on_call,
    the_estimate_grows_when_an_on_call_technician_goes_away,
    a_team_is_replaced_whole_and_rotations_and_overrides_are_removed_one_by_one,
);
