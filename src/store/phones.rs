//! Technicians' phones: SIP digest secrets (HA1 only) and registered devices (bindings).
//!
//! Bindings are rows, not process memory, so they survive a restart and every Hotline node on
//! one PostgreSQL sees the same phones. Expired rows are ignored by every read and purged by
//! [`Store::purge_expired_bindings`].

use super::row::{get, parse, required, time};
use super::{now_ms, query_error, Store, StoreError};
use crate::sip::digest::Ha1Set;
use crate::sip::registrar::{Binding, BindingChange};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A registered device and what the keep-alive last found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub user: String,
    pub binding: Binding,
    pub registered_at: DateTime<Utc>,
    /// False once a keep-alive OPTIONS went unanswered.
    pub reachable: bool,
    pub checked_at: Option<DateTime<Utc>>,
}

/// A phone as the web log and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneView {
    pub user: String,
    pub contact: String,
    pub source: String,
    pub transport: &'static str,
    pub user_agent: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reachable: bool,
}

impl From<&Phone> for PhoneView {
    fn from(p: &Phone) -> Self {
        PhoneView {
            user: p.user.clone(),
            contact: p.binding.contact.clone(),
            source: p.binding.source.to_string(),
            transport: p.binding.transport.as_str(),
            user_agent: p.binding.user_agent.clone(),
            registered_at: p.registered_at,
            expires_at: p.binding.expires_at,
            reachable: p.reachable,
        }
    }
}

const PHONE_COLUMNS: &str = "user_name, contact, call_id, cseq, expires_at, source, transport, \
    user_agent, registered_at, reachable, checked_at";

fn phone_from_row(row: &sqlx::any::AnyRow) -> Result<Phone, StoreError> {
    let cseq: i64 = required(row, "cseq")?;
    let reachable: i64 = required(row, "reachable")?;
    let checked: Option<i64> = get(row, "checked_at")?;
    Ok(Phone {
        user: required(row, "user_name")?,
        binding: Binding {
            contact: required(row, "contact")?,
            expires_at: time(row, "expires_at")?,
            call_id: required(row, "call_id")?,
            cseq: u32::try_from(cseq).map_err(|e| StoreError::Corrupt {
                column: "cseq",
                reason: e.to_string(),
            })?,
            source: parse(row, "source")?,
            transport: parse(row, "transport")?,
            user_agent: get(row, "user_agent")?,
        },
        registered_at: time(row, "registered_at")?,
        reachable: reachable != 0,
        checked_at: checked.and_then(DateTime::from_timestamp_millis),
    })
}

impl Store {
    /// Stores the digests of a technician's SIP password for `realm`. `false` when there is
    /// no such account (the phone account is the web log account).
    pub async fn set_sip_password(
        &self,
        user: &str,
        realm: &str,
        ha1: &Ha1Set,
    ) -> Result<bool, StoreError> {
        let exists = sqlx::query("SELECT 1 AS one FROM users WHERE name = $1")
            .bind(user)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("finding the account"))?
            .is_some();
        if !exists {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO sip_credentials (user_name, realm, ha1_md5, ha1_sha256, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_name) DO UPDATE SET \
             realm = $2, ha1_md5 = $3, ha1_sha256 = $4, updated_at = $5",
        )
        .bind(user)
        .bind(realm)
        .bind(&ha1.md5)
        .bind(&ha1.sha256)
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map_err(query_error("saving SIP credentials"))?;
        Ok(true)
    }

    /// The HA1 digests of `user` for `realm`; `None` if the user has no SIP password, or one
    /// set for another realm (HA1 includes the realm: it would never match).
    pub async fn sip_credentials(
        &self,
        user: &str,
        realm: &str,
    ) -> Result<Option<Ha1Set>, StoreError> {
        let row = sqlx::query(
            "SELECT ha1_md5, ha1_sha256 FROM sip_credentials WHERE user_name = $1 AND realm = $2",
        )
        .bind(user)
        .bind(realm)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading SIP credentials"))?;
        row.map(|row| {
            Ok(Ha1Set {
                md5: required(&row, "ha1_md5")?,
                sha256: required(&row, "ha1_sha256")?,
            })
        })
        .transpose()
    }

    /// The live (unexpired at `now`) bindings of `user`, oldest first.
    pub async fn bindings(&self, user: &str, now: DateTime<Utc>) -> Result<Vec<Phone>, StoreError> {
        let sql = format!(
            "SELECT {PHONE_COLUMNS} FROM phone_bindings WHERE user_name = $1 AND expires_at > $2 \
             ORDER BY registered_at, contact"
        );
        let rows = sqlx::query(&sql)
            .bind(user)
            .bind(now.timestamp_millis())
            .fetch_all(self.pool())
            .await
            .map_err(query_error("reading bindings"))?;
        rows.iter().map(phone_from_row).collect()
    }

    /// Every live binding at `now` (for the keep-alive and the phones page).
    pub async fn all_bindings(&self, now: DateTime<Utc>) -> Result<Vec<Phone>, StoreError> {
        let sql = format!(
            "SELECT {PHONE_COLUMNS} FROM phone_bindings WHERE expires_at > $1 \
             ORDER BY user_name, registered_at, contact"
        );
        let rows = sqlx::query(&sql)
            .bind(now.timestamp_millis())
            .fetch_all(self.pool())
            .await
            .map_err(query_error("reading bindings"))?;
        rows.iter().map(phone_from_row).collect()
    }

    /// How many bindings are live at `now` (for `/metrics`), without reading them.
    pub async fn count_bindings(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM phone_bindings WHERE expires_at > $1")
            .bind(now.timestamp_millis())
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting bindings"))?;
        let n: i64 = required(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Applies what the registrar decided for `user`'s REGISTER, in one transaction.
    pub async fn apply_binding_changes(
        &self,
        user: &str,
        changes: &[BindingChange],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const OP: &str = "saving bindings";
        let mut tx = self.begin_write(OP).await?;
        for change in changes {
            match change {
                BindingChange::Save(b) => {
                    // A refresh keeps the first registration time and counts as reachable: the
                    // phone just spoke to us.
                    sqlx::query(
                        "INSERT INTO phone_bindings (user_name, contact, call_id, cseq, expires_at, \
                         source, transport, user_agent, registered_at, reachable, checked_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $9) \
                         ON CONFLICT (user_name, contact) DO UPDATE SET call_id = $3, cseq = $4, \
                         expires_at = $5, source = $6, transport = $7, user_agent = $8, \
                         reachable = 1, checked_at = $9, registered_at = CASE \
                         WHEN phone_bindings.expires_at > $9 THEN phone_bindings.registered_at \
                         ELSE $9 END",
                    )
                    .bind(user)
                    .bind(&b.contact)
                    .bind(&b.call_id)
                    .bind(i64::from(b.cseq))
                    .bind(b.expires_at.timestamp_millis())
                    .bind(b.source.to_string())
                    .bind(b.transport.as_str())
                    .bind(b.user_agent.as_deref())
                    .bind(now.timestamp_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(query_error(OP))?;
                }
                BindingChange::Remove { contact } => {
                    sqlx::query("DELETE FROM phone_bindings WHERE user_name = $1 AND contact = $2")
                        .bind(user)
                        .bind(contact)
                        .execute(&mut *tx)
                        .await
                        .map_err(query_error(OP))?;
                }
            }
        }
        tx.commit().await.map_err(query_error(OP))?;
        // A phone that registers may be the one a waiting caller can ring now.
        if changes.iter().any(|c| matches!(c, BindingChange::Save(_))) {
            self.wake_queues().await;
        }
        Ok(())
    }

    /// Records what a keep-alive found for one binding.
    pub async fn set_binding_reachable(
        &self,
        user: &str,
        contact: &str,
        reachable: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE phone_bindings SET reachable = $3, checked_at = $4 \
             WHERE user_name = $1 AND contact = $2",
        )
        .bind(user)
        .bind(contact)
        .bind(i64::from(reachable))
        .bind(now.timestamp_millis())
        .execute(self.writer())
        .await
        .map_err(query_error("saving a keep-alive result"))?;
        Ok(())
    }

    /// Deletes bindings that expired before `now`; returns how many.
    pub async fn purge_expired_bindings(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM phone_bindings WHERE expires_at <= $1")
            .bind(now.timestamp_millis())
            .execute(self.writer())
            .await
            .map_err(query_error("purging expired bindings"))?;
        Ok(done.rows_affected())
    }

    /// How many live, reachable phones `user` has at `now`.
    pub async fn reachable_phones(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .bindings(user, now)
            .await?
            .iter()
            .filter(|p| p.reachable)
            .count())
    }
}
