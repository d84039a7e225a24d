//! The rota and presence in the database. Reads build an [`oncall::Rota`] in one go; the
//! answers (who is on call, who is available) are computed by `oncall`, not in SQL.

use super::row::{parse, parse_opt, required, time};
use super::{now_ms, query_error, Store, StoreError};
use crate::oncall::{
    BusinessHours, EscalationStep, Override, Presence, PresenceChoice, Rota, Rotation, Team,
};
use crate::tickets::Category;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// A team's settings, as given on the command line or the API.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamSettings {
    pub name: String,
    pub time_zone: chrono_tz::Tz,
    pub lead: Option<String>,
    pub business_hours: BusinessHours,
}

impl Store {
    /// Creates a team or changes its settings (members, categories and rotations stay).
    pub async fn save_team(&self, team: &TeamSettings) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO teams (name, time_zone, lead, business_hours) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET time_zone = $2, lead = $3, business_hours = $4",
        )
        .bind(&team.name)
        .bind(team.time_zone.name())
        .bind(team.lead.as_deref())
        .bind(team.business_hours.to_string())
        .execute(self.writer())
        .await
        .map_err(query_error("saving a team"))?;
        Ok(())
    }

    /// Deletes a team with its rotations, overrides and policy; `false` if there was none.
    pub async fn delete_team(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM teams WHERE name = $1")
            .bind(name)
            .execute(self.writer())
            .await
            .map_err(query_error("deleting a team"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn add_team_member(&self, team: &str, user: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO team_members (team, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(team)
        .bind(user)
        .execute(self.writer())
        .await
        .map_err(query_error("adding a team member"))?;
        Ok(())
    }

    pub async fn remove_team_member(&self, team: &str, user: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM team_members WHERE team = $1 AND user_name = $2")
            .bind(team)
            .bind(user)
            .execute(self.writer())
            .await
            .map_err(query_error("removing a team member"))?;
        Ok(())
    }

    /// Makes `team` the one handling `category` (a category has one team).
    pub async fn assign_category(&self, category: Category, team: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO team_categories (category, team) VALUES ($1, $2) \
             ON CONFLICT (category) DO UPDATE SET team = $2",
        )
        .bind(category.as_str())
        .bind(team)
        .execute(self.writer())
        .await
        .map_err(query_error("assigning a category"))?;
        Ok(())
    }

    /// Creates or replaces a rotation with its members in turn order.
    pub async fn save_rotation(&self, rotation: &Rotation) -> Result<(), StoreError> {
        const OP: &str = "saving a rotation";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(
            "INSERT INTO rotations (team, name, coverage, handover, starts_on) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team, name) DO UPDATE SET \
             coverage = $3, handover = $4, starts_on = $5",
        )
        .bind(&rotation.team)
        .bind(&rotation.name)
        .bind(rotation.coverage.as_str())
        .bind(rotation.handover.to_string())
        .bind(rotation.starts_on.to_string())
        .execute(&mut *tx)
        .await
        .map_err(query_error(OP))?;
        sqlx::query("DELETE FROM rotation_members WHERE team = $1 AND rotation = $2")
            .bind(&rotation.team)
            .bind(&rotation.name)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        for (turn, user) in rotation.members.iter().enumerate() {
            sqlx::query(
                "INSERT INTO rotation_members (team, rotation, turn, user_name) VALUES ($1, $2, $3, $4)",
            )
            .bind(&rotation.team)
            .bind(&rotation.name)
            .bind(turn as i64)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        }
        tx.commit().await.map_err(query_error(OP))
    }

    /// Saves a team as the web log's edit form gives it: its settings, and exactly these
    /// members and categories, in one transaction, so a failure leaves the team as it was.
    /// A listed category moves here from whichever team had it (a category has one team); a
    /// category this team had and no longer lists is handled by no team.
    pub async fn replace_team(
        &self,
        team: &TeamSettings,
        members: &[String],
        categories: &[Category],
    ) -> Result<(), StoreError> {
        const OP: &str = "saving a team";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(
            "INSERT INTO teams (name, time_zone, lead, business_hours) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET time_zone = $2, lead = $3, business_hours = $4",
        )
        .bind(&team.name)
        .bind(team.time_zone.name())
        .bind(team.lead.as_deref())
        .bind(team.business_hours.to_string())
        .execute(&mut *tx)
        .await
        .map_err(query_error(OP))?;
        sqlx::query("DELETE FROM team_members WHERE team = $1")
            .bind(&team.name)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        for user in members {
            sqlx::query(
                "INSERT INTO team_members (team, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&team.name)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        }
        sqlx::query("DELETE FROM team_categories WHERE team = $1")
            .bind(&team.name)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        for category in categories {
            sqlx::query(
                "INSERT INTO team_categories (category, team) VALUES ($1, $2) \
                 ON CONFLICT (category) DO UPDATE SET team = $2",
            )
            .bind(category.as_str())
            .bind(&team.name)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        }
        tx.commit().await.map_err(query_error(OP))
    }

    /// Deletes one rotation of a team with its members; `false` if there was none.
    pub async fn delete_rotation(&self, team: &str, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rotations WHERE team = $1 AND name = $2")
            .bind(team)
            .bind(name)
            .execute(self.writer())
            .await
            .map_err(query_error("deleting a rotation"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds an override; returns its id.
    pub async fn add_override(
        &self,
        team: &str,
        covering: &str,
        covered: Option<&str>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO rota_overrides (team, covering, covered, starts_at, ends_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(team)
        .bind(covering)
        .bind(covered)
        .bind(from.timestamp_millis())
        .bind(until.timestamp_millis())
        .fetch_one(self.writer())
        .await
        .map_err(query_error("adding an override"))?;
        required(&row, "id")
    }

    pub async fn remove_override(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rota_overrides WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await
            .map_err(query_error("removing an override"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes an override of `team` (an id of another team's override removes nothing);
    /// `false` if there was none.
    pub async fn remove_team_override(&self, team: &str, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rota_overrides WHERE id = $1 AND team = $2")
            .bind(id)
            .bind(team)
            .execute(self.writer())
            .await
            .map_err(query_error("removing an override"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a team's escalation policy (empty: back to the default).
    pub async fn set_escalation(
        &self,
        team: &str,
        steps: &[EscalationStep],
    ) -> Result<(), StoreError> {
        const OP: &str = "saving an escalation policy";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query("DELETE FROM escalation_steps WHERE team = $1")
            .bind(team)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        for (i, step) in steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO escalation_steps (team, step, position, ring_secs) VALUES ($1, $2, $3, $4)",
            )
            .bind(team)
            .bind(i as i64)
            .bind(step.position.as_str())
            .bind(step.ring.as_secs() as i64)
            .execute(&mut *tx)
            .await
            .map_err(query_error(OP))?;
        }
        tx.commit().await.map_err(query_error(OP))
    }

    /// The whole rota: teams (with members, categories and policy), rotations, and overrides
    /// that have not ended before `since`.
    pub async fn rota(&self, since: DateTime<Utc>) -> Result<Rota, StoreError> {
        const OP: &str = "reading the rota";
        let pool = self.pool();
        let mut teams = Vec::new();
        for row in
            sqlx::query("SELECT name, time_zone, lead, business_hours FROM teams ORDER BY name")
                .fetch_all(pool)
                .await
                .map_err(query_error(OP))?
        {
            teams.push(Team {
                name: required(&row, "name")?,
                time_zone: parse(&row, "time_zone")?,
                lead: super::row::get(&row, "lead")?,
                members: Vec::new(),
                categories: Vec::new(),
                business_hours: parse(&row, "business_hours")?,
                escalation: Vec::new(),
            });
        }
        let index: HashMap<String, usize> = teams
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        for row in sqlx::query("SELECT team, user_name FROM team_members ORDER BY team, user_name")
            .fetch_all(pool)
            .await
            .map_err(query_error(OP))?
        {
            let team: String = required(&row, "team")?;
            if let Some(&i) = index.get(&team) {
                teams[i].members.push(required(&row, "user_name")?);
            }
        }
        for row in sqlx::query("SELECT team, category FROM team_categories ORDER BY category")
            .fetch_all(pool)
            .await
            .map_err(query_error(OP))?
        {
            let team: String = required(&row, "team")?;
            if let Some(&i) = index.get(&team) {
                teams[i].categories.push(parse(&row, "category")?);
            }
        }
        for row in sqlx::query(
            "SELECT team, position, ring_secs FROM escalation_steps ORDER BY team, step",
        )
        .fetch_all(pool)
        .await
        .map_err(query_error(OP))?
        {
            let team: String = required(&row, "team")?;
            let secs: i64 = required(&row, "ring_secs")?;
            if let Some(&i) = index.get(&team) {
                teams[i].escalation.push(EscalationStep {
                    position: parse(&row, "position")?,
                    ring: Duration::from_secs(secs.max(0) as u64),
                });
            }
        }
        for team in &mut teams {
            if team.escalation.is_empty() {
                team.escalation = crate::oncall::default_escalation();
            }
        }
        let mut rotations = Vec::new();
        for row in sqlx::query(
            "SELECT team, name, coverage, handover, starts_on FROM rotations ORDER BY team, name",
        )
        .fetch_all(pool)
        .await
        .map_err(query_error(OP))?
        {
            rotations.push(Rotation {
                team: required(&row, "team")?,
                name: required(&row, "name")?,
                coverage: parse(&row, "coverage")?,
                handover: parse(&row, "handover")?,
                starts_on: parse::<NaiveDate>(&row, "starts_on")?,
                members: Vec::new(),
            });
        }
        for row in sqlx::query(
            "SELECT team, rotation, user_name FROM rotation_members ORDER BY team, rotation, turn",
        )
        .fetch_all(pool)
        .await
        .map_err(query_error(OP))?
        {
            let team: String = required(&row, "team")?;
            let name: String = required(&row, "rotation")?;
            if let Some(r) = rotations
                .iter_mut()
                .find(|r| r.team == team && r.name == name)
            {
                r.members.push(required(&row, "user_name")?);
            }
        }
        let mut overrides = Vec::new();
        for row in sqlx::query(
            "SELECT id, team, covering, covered, starts_at, ends_at FROM rota_overrides \
             WHERE ends_at > $1 ORDER BY starts_at, id",
        )
        .bind(since.timestamp_millis())
        .fetch_all(pool)
        .await
        .map_err(query_error(OP))?
        {
            overrides.push(Override {
                id: required(&row, "id")?,
                team: required(&row, "team")?,
                covering: required(&row, "covering")?,
                covered: super::row::get(&row, "covered")?,
                from: time(&row, "starts_at")?,
                until: time(&row, "ends_at")?,
            });
        }
        Ok(Rota {
            teams,
            rotations,
            overrides,
        })
    }

    /// Records what a technician chose (from `*1`/`*0` or the web log).
    pub async fn set_presence(&self, user: &str, choice: PresenceChoice) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presence (user_name, choice, busy, changed_at) VALUES ($1, $2, 0, $3) \
             ON CONFLICT (user_name) DO UPDATE SET choice = $2, changed_at = $3",
        )
        .bind(user)
        .bind(choice.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map_err(query_error("saving presence"))?;
        self.wake_queues().await;
        Ok(())
    }

    /// Hotline marks a technician busy while they are on a call, and free again after. The
    /// flag names this node while it is set, for [`Store::free_own_busy`].
    pub async fn set_busy(&self, user: &str, busy: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presence (user_name, choice, busy, busy_node, changed_at) \
             VALUES ($1, 'available', $2, $3, $4) \
             ON CONFLICT (user_name) DO UPDATE SET busy = $2, busy_node = $3, changed_at = $4",
        )
        .bind(user)
        .bind(i64::from(busy))
        .bind(busy.then(|| self.node().as_str()))
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map_err(query_error("saving presence"))?;
        if !busy {
            self.wake_queues().await;
        }
        Ok(())
    }

    /// Clears the busy flags this node's calls set (see [`Store::own_rows`]: on PostgreSQL
    /// those naming this node, on SQLite all) and returns whose, by name. Run at a restart,
    /// when no call of this node survives: a flag its stop left would keep the technician out
    /// of routing for good, whatever ticket the call was on.
    pub async fn free_own_busy(&self) -> Result<Vec<String>, StoreError> {
        // On PostgreSQL a flag with no node was set before migration 0015 and cannot say
        // whose call set it: another node may have that technician on a call right now. The
        // restart frees those through the tickets it closes (`talking_with`) instead.
        let mine = if self.own_rows().is_some() {
            "AND busy_node = $2"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE presence SET busy = 0, busy_node = NULL, changed_at = $1 \
             WHERE busy <> 0 {mine} RETURNING user_name"
        );
        let mut query = sqlx::query(&sql).bind(now_ms());
        if let Some(node) = self.own_rows() {
            query = query.bind(node.as_str());
        }
        let rows = query.fetch_all(self.writer()).await.map_err(query_error(
            "freeing the technicians busy on this node's calls",
        ))?;
        let mut freed = rows
            .iter()
            .map(|row| required::<String>(row, "user_name"))
            .collect::<Result<Vec<_>, _>>()?;
        freed.sort();
        Ok(freed)
    }

    /// A technician's presence at `now`: their choice (available until they say otherwise),
    /// busy, and offline without a reachable phone.
    pub async fn presence(&self, user: &str, now: DateTime<Utc>) -> Result<Presence, StoreError> {
        let row = sqlx::query("SELECT choice, busy FROM presence WHERE user_name = $1")
            .bind(user)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading presence"))?;
        let (choice, busy) = match row {
            Some(row) => {
                let busy: i64 = required(&row, "busy")?;
                (
                    parse_opt::<PresenceChoice>(&row, "choice")?
                        .unwrap_or(PresenceChoice::Available),
                    busy != 0,
                )
            }
            None => (PresenceChoice::Available, false),
        };
        let reachable = self.reachable_phones(user, now).await?;
        Ok(Presence::effective(choice, busy, reachable))
    }

    /// The on-call technicians for `category` at `now` who are available (rota and presence),
    /// or `None` when no team handles the category.
    pub async fn available_on_call(
        &self,
        category: Category,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError> {
        let rota = self.rota(now).await?;
        if rota.team_for(category).is_none() {
            return Ok(None);
        }
        let mut available = 0;
        for person in rota.on_call_for(category, now) {
            if self.presence(&person.user, now).await? == Presence::Available {
                available += 1;
            }
        }
        Ok(Some(available))
    }
}

/// One technician as `hotline technicians` and the web log show them: teams, where they stand
/// in the on-call order now, presence and phones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TechnicianStatus {
    pub name: String,
    pub teams: Vec<String>,
    /// (team, position) for each team whose on-call order names them now.
    pub on_call: Vec<(String, crate::oncall::Position)>,
    pub presence: Presence,
    pub phones: usize,
    pub reachable_phones: usize,
}

impl Store {
    /// Everyone the rota names (members, rotation members, leads, overrides) or who has a
    /// phone registered, with what they are doing at `now`, by name.
    pub async fn technicians(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<TechnicianStatus>, StoreError> {
        let rota = self.rota(now).await?;
        let phones = self.all_bindings(now).await?;
        let mut names: Vec<String> = rota
            .teams
            .iter()
            .flat_map(|t| t.members.iter().chain(t.lead.iter()))
            .chain(rota.rotations.iter().flat_map(|r| r.members.iter()))
            .chain(rota.overrides.iter().map(|o| &o.covering))
            .chain(phones.iter().map(|p| &p.user))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        let orders: Vec<(String, Vec<crate::oncall::OnCall>)> = rota
            .teams
            .iter()
            .map(|t| (t.name.clone(), rota.on_call(t, now)))
            .collect();
        let mut out = Vec::new();
        for name in names {
            let teams = rota
                .teams
                .iter()
                .filter(|t| {
                    t.members.contains(&name)
                        || t.lead.as_ref() == Some(&name)
                        || rota
                            .rotations
                            .iter()
                            .any(|r| r.team == t.name && r.members.contains(&name))
                })
                .map(|t| t.name.clone())
                .collect();
            let on_call = orders
                .iter()
                .filter_map(|(team, order)| {
                    order
                        .iter()
                        .find(|o| o.user == name)
                        .map(|o| (team.clone(), o.position))
                })
                .collect();
            let own: Vec<_> = phones.iter().filter(|p| p.user == name).collect();
            out.push(TechnicianStatus {
                presence: self.presence(&name, now).await?,
                phones: own.len(),
                reachable_phones: own.iter().filter(|p| p.reachable).count(),
                name,
                teams,
                on_call,
            });
        }
        Ok(out)
    }
}
