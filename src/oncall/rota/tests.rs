use super::*;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn team(name: &str, tz: &str, categories: &[Category]) -> Team {
    Team {
        name: name.into(),
        time_zone: parse_time_zone(tz).unwrap(),
        lead: Some("lea".into()),
        members: vec![],
        categories: categories.to_vec(),
        business_hours: BusinessHours::default(),
        escalation: default_escalation(),
    }
}

fn weekly(team: &str, members: &[&str]) -> Rotation {
    Rotation {
        team: team.into(),
        name: "weekly".into(),
        coverage: Coverage::Always,
        handover: Handover::Weekly {
            day: Weekday::Mon,
            at: time(9, 0),
        },
        starts_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

fn names(order: &[OnCall]) -> Vec<(&str, Position)> {
    order
        .iter()
        .map(|o| (o.user.as_str(), o.position))
        .collect()
}

fn paris_rota() -> Rota {
    Rota {
        teams: vec![team("network", "Europe/Paris", &[Category::Network])],
        rotations: vec![weekly("network", &["ana", "ben", "cid"])],
        overrides: vec![],
    }
}

use Position::{Lead, Primary, Secondary};

#[test]
fn before_the_first_shift_only_the_lead_is_on_call() {
    let rota = paris_rota();
    // Monday 2 March 2026, 08:59 in Paris (UTC+1).
    assert_eq!(
        names(&rota.on_call_for(Category::Network, utc(2026, 3, 2, 7, 59))),
        [("lea", Lead)]
    );
}

#[test]
fn the_weekly_handover_passes_the_shift_at_nine_local() {
    let rota = paris_rota();
    let first = rota.on_call_for(Category::Network, utc(2026, 3, 2, 8, 0));
    assert_eq!(
        names(&first),
        [("ana", Primary), ("ben", Secondary), ("lea", Lead)]
    );
    let before = rota.on_call_for(Category::Network, utc(2026, 3, 9, 7, 59));
    assert_eq!(names(&before)[0], ("ana", Primary));
    let after = rota.on_call_for(Category::Network, utc(2026, 3, 9, 8, 0));
    assert_eq!(
        names(&after),
        [("ben", Primary), ("cid", Secondary), ("lea", Lead)]
    );
    // Third week: cid, then ana again as secondary (the rotation wraps).
    let third = rota.on_call_for(Category::Network, utc(2026, 3, 16, 12, 0));
    assert_eq!(names(&third)[..2], [("cid", Primary), ("ana", Secondary)]);
}

#[test]
fn the_handover_stays_at_nine_local_after_the_clocks_go_forward() {
    let rota = paris_rota();
    // Paris moves to UTC+2 on Sunday 29 March 2026: Monday 30 March 09:00 is 07:00 UTC.
    let at_0659 = rota.on_call_for(Category::Network, utc(2026, 3, 30, 6, 59));
    assert_eq!(names(&at_0659)[0], ("ana", Primary), "week 3 (ana) still");
    let at_0700 = rota.on_call_for(Category::Network, utc(2026, 3, 30, 7, 0));
    assert_eq!(
        names(&at_0700)[0],
        ("ben", Primary),
        "week 4 starts at 09:00 CEST"
    );
}

#[test]
fn a_daily_handover_in_the_skipped_hour_still_hands_over_once() {
    // New York skips 02:00-03:00 on 8 March 2026: a shift handed over at 02:30 passes when
    // the clocks jump (03:00 EDT, 07:00 UTC) that night, and at 02:30 EDT (06:30 UTC) the next.
    let mut rota = Rota {
        teams: vec![team("accounts", "America/New_York", &[Category::Account])],
        rotations: vec![Rotation {
            team: "accounts".into(),
            name: "nights".into(),
            coverage: Coverage::Always,
            handover: Handover::Daily { at: time(2, 30) },
            starts_on: NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
            members: vec!["ana".into(), "ben".into()],
        }],
        overrides: vec![],
    };
    rota.teams[0].lead = None;
    let who = |t| {
        names(&rota.on_call_for(Category::Account, t))[0]
            .0
            .to_string()
    };
    assert_eq!(
        who(utc(2026, 3, 8, 6, 59)),
        "ana",
        "01:59 EST: the 7 March shift"
    );
    assert_eq!(
        who(utc(2026, 3, 8, 7, 0)),
        "ben",
        "03:00 EDT, the clocks jumped past 02:30"
    );
    assert_eq!(who(utc(2026, 3, 9, 6, 29)), "ben");
    assert_eq!(who(utc(2026, 3, 9, 6, 30)), "ana", "02:30 EDT next night");
    let team = rota.team("accounts").unwrap().clone();
    let segments = rota.timeline(&team, utc(2026, 3, 8, 0, 0), utc(2026, 3, 10, 0, 0));
    let edges: Vec<DateTime<Utc>> = segments.iter().skip(1).map(|s| s.from).collect();
    assert_eq!(edges, [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]);
}

#[test]
fn an_override_covers_a_colleague_only_for_its_span() {
    let mut rota = paris_rota();
    rota.overrides.push(Override {
        id: 1,
        team: "network".into(),
        covering: "dan".into(),
        covered: Some("ana".into()),
        from: utc(2026, 3, 3, 12, 0),
        until: utc(2026, 3, 4, 12, 0),
    });
    let during = rota.on_call_for(Category::Network, utc(2026, 3, 3, 12, 0));
    assert_eq!(
        names(&during),
        [("dan", Primary), ("ben", Secondary), ("lea", Lead)]
    );
    let after = rota.on_call_for(Category::Network, utc(2026, 3, 4, 12, 0));
    assert_eq!(names(&after)[0], ("ana", Primary));
    // A whole-shift override puts the cover first and keeps the primary as secondary.
    rota.overrides.push(Override {
        id: 2,
        team: "network".into(),
        covering: "eve".into(),
        covered: None,
        from: utc(2026, 3, 5, 0, 0),
        until: utc(2026, 3, 6, 0, 0),
    });
    let whole = rota.on_call_for(Category::Network, utc(2026, 3, 5, 1, 0));
    assert_eq!(
        names(&whole),
        [("eve", Primary), ("ana", Secondary), ("lea", Lead)]
    );
}

#[test]
fn business_hours_and_out_of_hours_rotations_split_the_day_in_local_time() {
    let mut day = weekly("network", &["ana", "ben"]);
    day.coverage = Coverage::BusinessHours;
    let mut night = weekly("network", &["cid", "dan"]);
    night.coverage = Coverage::OutOfHours;
    let rota = Rota {
        teams: vec![team("network", "Europe/Paris", &[Category::Network])],
        rotations: vec![day, night],
        overrides: vec![],
    };
    // Tuesday 3 March: 17:59 Paris is business hours, 18:00 is not; Saturday is out of hours.
    let who = |t| {
        names(&rota.on_call_for(Category::Network, t))[0]
            .0
            .to_string()
    };
    assert_eq!(who(utc(2026, 3, 3, 16, 59)), "ana");
    assert_eq!(who(utc(2026, 3, 3, 17, 0)), "cid");
    assert_eq!(who(utc(2026, 3, 7, 12, 0)), "cid");
}

#[test]
fn the_same_instant_is_day_in_paris_and_night_in_tokyo() {
    let mut paris_day = weekly("workstation", &["ana"]);
    paris_day.coverage = Coverage::BusinessHours;
    let mut tokyo_day = weekly("network", &["kei"]);
    tokyo_day.coverage = Coverage::BusinessHours;
    let rota = Rota {
        teams: vec![
            team("workstation", "Europe/Paris", &[Category::Hardware]),
            team("network", "Asia/Tokyo", &[Category::Network]),
        ],
        rotations: vec![paris_day, tokyo_day],
        overrides: vec![],
    };
    // Wednesday 4 March 2026, 10:00 UTC: 11:00 in Paris, 19:00 in Tokyo.
    let t = utc(2026, 3, 4, 10, 0);
    assert_eq!(
        names(&rota.on_call_for(Category::Hardware, t))[0],
        ("ana", Primary)
    );
    assert_eq!(
        names(&rota.on_call_for(Category::Network, t)),
        [("lea", Lead)]
    );
    assert!(
        rota.on_call_for(Category::Software, t).is_empty(),
        "no team"
    );
}

#[test]
fn escalation_follows_the_policy_with_its_ring_times() {
    let rota = paris_rota();
    let steps = rota.escalation_for(Category::Network, utc(2026, 3, 10, 12, 0));
    let got: Vec<(&str, u64)> = steps
        .iter()
        .map(|(o, ring)| (o.user.as_str(), ring.as_secs()))
        .collect();
    assert_eq!(got, [("ben", 30), ("cid", 30), ("lea", 60)]);
}

#[test]
fn the_timeline_shows_each_weekly_handover_over_two_weeks() {
    let rota = paris_rota();
    let team = rota.team("network").unwrap().clone();
    let segments = rota.timeline(&team, utc(2026, 3, 4, 0, 0), utc(2026, 3, 18, 0, 0));
    let primaries: Vec<(&str, DateTime<Utc>)> = segments
        .iter()
        .map(|s| (s.on_call[0].user.as_str(), s.from))
        .collect();
    assert_eq!(
        primaries,
        [
            ("ana", utc(2026, 3, 4, 0, 0)),
            ("ben", utc(2026, 3, 9, 8, 0)),
            ("cid", utc(2026, 3, 16, 8, 0)),
        ]
    );
}

#[test]
fn handovers_and_business_hours_parse_from_text() {
    assert_eq!(
        Handover::parse("weekly mon 09:00").unwrap(),
        Handover::Weekly {
            day: Weekday::Mon,
            at: time(9, 0)
        }
    );
    assert!(Handover::parse("fortnightly").is_err());
    let hours = BusinessHours::parse("mon-fri 08:30-17:00").unwrap();
    assert_eq!(hours.days.len(), 5);
    assert_eq!(hours.to_string(), "mon,tue,wed,thu,fri 08:30-17:00");
    assert!(parse_time_zone("Mars/Olympus").is_err());
}
