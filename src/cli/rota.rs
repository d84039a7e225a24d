//! `hotline teams …`, `hotline oncall …`, `hotline phones`, `hotline technicians list` and
//! `hotline user sip-password`: the rota and the phones from the command line, so a rota can be
//! scripted. Parsing only; the answers come from `oncall` and `store`.

use super::StoreArgs;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use hotline::config::Config;
use hotline::oncall::{
    BusinessHours, Coverage, EscalationStep, Handover, Position, PresenceChoice, Rotation,
};
use hotline::store::{PhoneView, Store, TeamSettings};
use hotline::tickets::Category;

#[derive(Subcommand)]
pub enum TeamsCommand {
    /// Create a team or change its settings.
    Set {
        name: String,
        /// IANA time zone its shifts and business hours are in, e.g. Europe/Paris.
        #[arg(long)]
        time_zone: String,
        /// The team lead, rung after the primary and the secondary.
        #[arg(long)]
        lead: Option<String>,
        #[arg(long, default_value = "mon-fri 08:00-18:00")]
        business_hours: BusinessHours,
        /// Ticket categories this team handles (comma-separated).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<Category>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add a member to a team (or remove one with --remove).
    Member {
        team: String,
        user: String,
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set the escalation policy: steps such as `primary:30 secondary:30 lead:60` (seconds of
    /// ringing each); none restores that default.
    Escalation {
        team: String,
        steps: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a team with its rotations and overrides.
    Delete {
        team: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Teams with their categories, members, rotations and policy.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum OncallCommand {
    /// Create or replace a rotation: MEMBERS take turns, the first from the first handover on or
    /// after --starts-on.
    Rotation {
        team: String,
        name: String,
        /// `daily HH:MM` or `weekly DAY HH:MM`, in the team's time zone.
        #[arg(long)]
        handover: Handover,
        #[arg(long)]
        starts_on: NaiveDate,
        /// always, business_hours or out_of_hours
        #[arg(long, default_value = "always")]
        coverage: Coverage,
        #[arg(required = true)]
        members: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Someone covers a colleague (--covered) or the whole shift from --from to --until
    /// (RFC 3339, e.g. 2026-12-24T18:00:00+01:00).
    Override {
        team: String,
        #[arg(long)]
        covering: String,
        #[arg(long)]
        covered: Option<String>,
        #[arg(long)]
        from: DateTime<chrono::FixedOffset>,
        #[arg(long)]
        until: DateTime<chrono::FixedOffset>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an override by its id.
    RemoveOverride {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Who is on call now (or --at), per team, in ringing order, with presence.
    Now {
        #[arg(long)]
        at: Option<DateTime<chrono::FixedOffset>>,
        /// Only the team handling this category.
        #[arg(long)]
        category: Option<Category>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A team's on-call order over the next days, one line per change.
    Timeline {
        team: String,
        #[arg(long, default_value_t = 14)]
        days: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a technician's presence: available or away (as *1 and *0 do from the phone).
    Presence {
        user: String,
        choice: PresenceChoice,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// The configuration named by the store arguments (for the registrar's realm).
fn config(store: &StoreArgs) -> anyhow::Result<Config> {
    Ok(match &store.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    })
}

fn parse_step(text: &str) -> anyhow::Result<EscalationStep> {
    let (position, secs) = text
        .split_once(':')
        .with_context(|| format!("escalation step `{text}`: expected POSITION:SECONDS"))?;
    Ok(EscalationStep {
        position: position.parse::<Position>()?,
        ring: std::time::Duration::from_secs(
            secs.parse()
                .with_context(|| format!("escalation step `{text}`: `{secs}` is not seconds"))?,
        ),
    })
}

pub async fn teams(command: TeamsCommand) -> anyhow::Result<()> {
    match command {
        TeamsCommand::Set {
            name,
            time_zone,
            lead,
            business_hours,
            categories,
            store,
        } => {
            let store = store.open().await?;
            store
                .save_team(&TeamSettings {
                    name: name.clone(),
                    time_zone: hotline::oncall::parse_time_zone(&time_zone)?,
                    lead,
                    business_hours,
                })
                .await?;
            for category in categories {
                store.assign_category(category, &name).await?;
            }
            println!("team {name} saved");
        }
        TeamsCommand::Member {
            team,
            user,
            remove,
            store,
        } => {
            let store = store.open().await?;
            if remove {
                store.remove_team_member(&team, &user).await?;
                println!("{user} left {team}");
            } else {
                store.add_team_member(&team, &user).await?;
                println!("{user} joined {team}");
            }
        }
        TeamsCommand::Escalation { team, steps, store } => {
            let steps = steps
                .iter()
                .map(|s| parse_step(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            store.open().await?.set_escalation(&team, &steps).await?;
            println!("escalation of {team}: {} steps", steps.len());
        }
        TeamsCommand::Delete { team, store } => {
            if !store.open().await?.delete_team(&team).await? {
                anyhow::bail!("no team `{team}`");
            }
            println!("team {team} deleted");
        }
        TeamsCommand::List { json, store } => {
            let rota = store.open().await?.rota(Utc::now()).await?;
            if json {
                let teams: Vec<serde_json::Value> = rota
                    .teams
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "name": t.name,
                            "time_zone": t.time_zone.name(),
                            "lead": t.lead,
                            "members": t.members,
                            "categories": t.categories,
                            "business_hours": t.business_hours.to_string(),
                            "escalation": t.escalation,
                            "rotations": rota.rotations.iter().filter(|r| r.team == t.name).map(|r| serde_json::json!({
                                "name": r.name,
                                "coverage": r.coverage,
                                "handover": r.handover.to_string(),
                                "starts_on": r.starts_on,
                                "members": r.members,
                            })).collect::<Vec<_>>(),
                            "overrides": rota.overrides.iter().filter(|o| o.team == t.name).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&teams)?);
            } else {
                for t in &rota.teams {
                    let categories: Vec<&str> = t.categories.iter().map(|c| c.as_str()).collect();
                    println!(
                        "{} ({}, {}) lead: {} categories: {} members: {}",
                        t.name,
                        t.time_zone.name(),
                        t.business_hours,
                        t.lead.as_deref().unwrap_or("-"),
                        categories.join(","),
                        t.members.join(",")
                    );
                    for r in rota.rotations.iter().filter(|r| r.team == t.name) {
                        println!(
                            "  rotation {}: {} {} from {}: {}",
                            r.name,
                            r.coverage.as_str(),
                            r.handover,
                            r.starts_on,
                            r.members.join(", ")
                        );
                    }
                    for o in rota.overrides.iter().filter(|o| o.team == t.name) {
                        println!(
                            "  override #{}: {} covers {} from {} until {}",
                            o.id,
                            o.covering,
                            o.covered.as_deref().unwrap_or("the shift"),
                            o.from.to_rfc3339(),
                            o.until.to_rfc3339()
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn oncall(command: OncallCommand) -> anyhow::Result<()> {
    match command {
        OncallCommand::Rotation {
            team,
            name,
            handover,
            starts_on,
            coverage,
            members,
            store,
        } => {
            store
                .open()
                .await?
                .save_rotation(&Rotation {
                    team: team.clone(),
                    name: name.clone(),
                    coverage,
                    handover,
                    starts_on,
                    members,
                })
                .await?;
            println!("rotation {team}/{name} saved");
        }
        OncallCommand::Override {
            team,
            covering,
            covered,
            from,
            until,
            store,
        } => {
            if until <= from {
                anyhow::bail!("--until must be after --from");
            }
            let id = store
                .open()
                .await?
                .add_override(
                    &team,
                    &covering,
                    covered.as_deref(),
                    from.with_timezone(&Utc),
                    until.with_timezone(&Utc),
                )
                .await?;
            println!("override #{id} saved");
        }
        OncallCommand::RemoveOverride { id, store } => {
            if !store.open().await?.remove_override(id).await? {
                anyhow::bail!("no override #{id}");
            }
            println!("override #{id} removed");
        }
        OncallCommand::Now {
            at,
            category,
            json,
            store,
        } => {
            let store = store.open().await?;
            let at = at.map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            let rota = store.rota(at).await?;
            let teams: Vec<_> = match category {
                Some(c) => rota.team_for(c).into_iter().collect(),
                None => rota.teams.iter().collect(),
            };
            let mut out = Vec::new();
            for team in teams {
                let mut people = Vec::new();
                for o in rota.on_call(team, at) {
                    let presence = store.presence(&o.user, Utc::now()).await?;
                    people.push((o, presence));
                }
                out.push((team.name.clone(), people));
            }
            if json {
                let value: Vec<serde_json::Value> = out
                    .iter()
                    .map(|(team, people)| {
                        serde_json::json!({
                            "team": team,
                            "at": at,
                            "on_call": people.iter().map(|(o, p)| serde_json::json!({
                                "user": o.user, "position": o.position, "presence": p,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                for (team, people) in out {
                    let line: Vec<String> = people
                        .iter()
                        .map(|(o, p)| format!("{} {} ({p})", o.position.as_str(), o.user))
                        .collect();
                    println!(
                        "{team}: {}",
                        if line.is_empty() {
                            "nobody".to_string()
                        } else {
                            line.join(", ")
                        }
                    );
                }
            }
        }
        OncallCommand::Timeline {
            team,
            days,
            json,
            store,
        } => {
            let now = Utc::now();
            let rota = store.open().await?.rota(now).await?;
            let Some(t) = rota.team(&team) else {
                anyhow::bail!("no team `{team}`");
            };
            let segments = rota.timeline(t, now, now + chrono::Duration::days(i64::from(days)));
            if json {
                println!("{}", serde_json::to_string_pretty(&segments)?);
            } else {
                for s in segments {
                    let people: Vec<String> = s
                        .on_call
                        .iter()
                        .map(|o| format!("{} {}", o.position.as_str(), o.user))
                        .collect();
                    println!(
                        "{} → {}  {}",
                        s.from
                            .with_timezone(&t.time_zone)
                            .format("%a %Y-%m-%d %H:%M %Z"),
                        s.until
                            .with_timezone(&t.time_zone)
                            .format("%a %Y-%m-%d %H:%M %Z"),
                        people.join(", ")
                    );
                }
            }
        }
        OncallCommand::Presence {
            user,
            choice,
            store,
        } => {
            store.open().await?.set_presence(&user, choice).await?;
            println!("{user}: {}", choice.as_str());
        }
    }
    Ok(())
}

/// `hotline technicians list`: everyone the rota names, with where they stand now.
pub async fn technicians(store: Store, json: bool) -> anyhow::Result<()> {
    let list = store.technicians(Utc::now()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{:<16} {:<10} {:<8} {:<24} TEAMS",
        "NAME", "PRESENCE", "PHONES", "ON CALL NOW"
    );
    for t in list {
        let on_call: Vec<String> = t
            .on_call
            .iter()
            .map(|(team, p)| format!("{team}:{}", p.as_str()))
            .collect();
        println!(
            "{:<16} {:<10} {:<8} {:<24} {}",
            t.name,
            t.presence.as_str(),
            format!("{}/{}", t.reachable_phones, t.phones),
            if on_call.is_empty() {
                "-".to_string()
            } else {
                on_call.join(",")
            },
            t.teams.join(",")
        );
    }
    Ok(())
}

/// `hotline phones`: every registered device.
pub async fn phones(store: StoreArgs, json: bool) -> anyhow::Result<()> {
    let phones = store.open().await?.all_bindings(Utc::now()).await?;
    let views: Vec<PhoneView> = phones.iter().map(PhoneView::from).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
    } else {
        for p in views {
            println!(
                "{:<16} {:<40} {} {} {} until {}",
                p.user,
                p.contact,
                p.transport,
                p.source,
                if p.reachable {
                    "reachable"
                } else {
                    "unreachable"
                },
                p.expires_at.to_rfc3339()
            );
        }
    }
    Ok(())
}

/// `hotline user sip-password NAME`: the password from standard input's first line, stored as
/// HA1 digests for the configured realm.
pub async fn sip_password(name: String, store: StoreArgs) -> anyhow::Result<()> {
    let realm = config(&store)?.registrar.realm;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the SIP password from standard input")?;
    let password = line.lines().next().unwrap_or("");
    if password.len() < 8 {
        anyhow::bail!("a SIP password needs at least 8 characters");
    }
    let ha1 = hotline::sip::digest::Ha1Set::from_password(&name, &realm, password);
    if !store
        .open()
        .await?
        .set_sip_password(&name, &realm, &ha1)
        .await?
    {
        anyhow::bail!("no user `{name}` (add one with `hotline user add`)");
    }
    println!("SIP password of {name} set (realm {realm})");
    Ok(())
}
