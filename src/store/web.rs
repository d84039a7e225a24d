//! The web log's tables: accounts, login sessions, API tokens and the ticket audit trail.
//!
//! Session cookies and API tokens are stored as SHA-256 hashes, so a leaked database does not
//! hand out live logins.

use super::{now_ms, query_error, Store, StoreError};
use crate::accounts::{Activity, ActivityKind, Role, User};
use crate::tickets::TicketStatus;
use chrono::{TimeZone, Utc};
use sqlx::Row;

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let corrupt = |column: &'static str| {
        move |e: sqlx::Error| StoreError::Corrupt {
            column,
            reason: e.to_string(),
        }
    };
    let role: String = row.try_get("role").map_err(corrupt("role"))?;
    Ok(User {
        id: row.try_get("id").map_err(corrupt("id"))?,
        name: row.try_get("name").map_err(corrupt("name"))?,
        role: role
            .parse()
            .map_err(|e: crate::accounts::UnknownRole| StoreError::Corrupt {
                column: "role",
                reason: e.to_string(),
            })?,
    })
}

impl Store {
    /// Adds an account, or replaces the password and role of an existing one.
    pub async fn upsert_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        sqlx::query(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET password_hash = $2, role = $3",
        )
        .bind(name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map_err(query_error("saving a user"))?;
        let (user, _) = self
            .user_with_hash(name)
            .await?
            .ok_or(StoreError::Corrupt {
                column: "users.name",
                reason: format!("user `{name}` vanished after being saved"),
            })?;
        Ok(user)
    }

    /// Every account's name, in order: who may be named in a team, a rotation or an override.
    pub async fn user_names(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM users ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(query_error("listing users"))?;
        rows.iter()
            .map(|row| {
                row.try_get("name")
                    .map_err(|e: sqlx::Error| StoreError::Corrupt {
                        column: "name",
                        reason: e.to_string(),
                    })
            })
            .collect()
    }

    /// The account and its password hash, for checking a login.
    pub async fn user_with_hash(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query("SELECT id, name, role, password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading a user"))?;
        row.map(|r| {
            let hash: String = r
                .try_get("password_hash")
                .map_err(|e| StoreError::Corrupt {
                    column: "password_hash",
                    reason: e.to_string(),
                })?;
            Ok((user_from_row(&r)?, hash))
        })
        .transpose()
    }

    /// Records a login session under the hash of its cookie value.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        lifetime: std::time::Duration,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(now + lifetime.as_millis() as i64)
        .execute(self.writer())
        .await
        .map_err(query_error("creating a session"))?;
        Ok(())
    }

    /// The user and CSRF token of a live session.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, s.csrf FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading a session"))?;
        row.map(|r| {
            let csrf: String = r.try_get("csrf").map_err(|e| StoreError::Corrupt {
                column: "csrf",
                reason: e.to_string(),
            })?;
            Ok((user_from_row(&r)?, csrf))
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now_ms())
            .execute(self.writer())
            .await
            .map_err(query_error("deleting a session"))?;
        Ok(())
    }

    pub async fn create_api_token(&self, token_hash: &str, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_ms())
            .execute(self.writer())
            .await
            .map_err(query_error("creating an API token"))?;
        Ok(())
    }

    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading an API token"))?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    /// Changes a ticket's status and records who did it in the audit trail.
    pub async fn set_status_by(
        &self,
        id: i64,
        status: TicketStatus,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.set_status(id, status).await?;
        self.add_activity(id, actor, ActivityKind::Status, status.as_str())
            .await
    }

    /// Assigns a ticket (None: unassigns it) and records who did it.
    pub async fn set_assignee_by(
        &self,
        id: i64,
        assignee: Option<&str>,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.set_assignee(id, assignee).await?;
        self.add_activity(id, actor, ActivityKind::Assignee, assignee.unwrap_or(""))
            .await
    }

    /// Appends to a ticket's audit trail (notes, status and assignee changes).
    pub async fn add_activity(
        &self,
        id: i64,
        actor: &str,
        kind: ActivityKind,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ticket_activity (ticket_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(now_ms())
        .bind(actor)
        .bind(kind.as_str())
        .bind(detail)
        .execute(self.writer())
        .await
        .map_err(query_error("recording ticket activity"))?;
        // An open ticket page shows colleagues' notes and changes as they are made.
        self.announce_updated(id).await
    }

    /// A ticket's audit trail, oldest first.
    pub async fn activity(&self, id: i64) -> Result<Vec<Activity>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, kind, detail FROM ticket_activity WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("reading ticket activity"))?;
        rows.iter()
            .map(|r| {
                let get = |column: &'static str| {
                    r.try_get::<String, _>(column)
                        .map_err(|e| StoreError::Corrupt {
                            column,
                            reason: e.to_string(),
                        })
                };
                let at: i64 = r.try_get("at").map_err(|e| StoreError::Corrupt {
                    column: "at",
                    reason: e.to_string(),
                })?;
                Ok(Activity {
                    at: Utc
                        .timestamp_millis_opt(at)
                        .single()
                        .ok_or(StoreError::Corrupt {
                            column: "at",
                            reason: format!("{at} is not a timestamp"),
                        })?,
                    actor: get("actor")?,
                    kind: get("kind")?.parse().map_err(
                        |e: crate::accounts::UnknownActivityKind| StoreError::Corrupt {
                            column: "kind",
                            reason: e.to_string(),
                        },
                    )?,
                    detail: get("detail")?,
                })
            })
            .collect()
    }
}
