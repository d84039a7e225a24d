//! The user directory: who is calling, from their number.

use super::{query_error, Store, StoreError};
use sqlx::Row;
use std::path::Path;

/// A known caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub number: String,
    pub name: String,
    pub department: Option<String>,
    pub email: Option<String>,
}

impl DirectoryEntry {
    /// The identity stored on tickets: "Name (Department)".
    pub fn identity(&self) -> String {
        match &self.department {
            Some(d) if !d.is_empty() => format!("{} ({d})", self.name),
            _ => self.name.clone(),
        }
    }
}

impl Store {
    pub async fn lookup_caller(&self, number: &str) -> Result<Option<DirectoryEntry>, StoreError> {
        let row =
            sqlx::query("SELECT number, name, department, email FROM directory WHERE number = $1")
                .bind(number)
                .fetch_optional(self.pool())
                .await
                .map_err(query_error("looking up the caller"))?;
        Ok(row.map(|r| DirectoryEntry {
            number: r.try_get("number").unwrap_or_default(),
            name: r.try_get("name").unwrap_or_default(),
            department: r.try_get("department").ok().flatten(),
            email: r.try_get("email").ok().flatten(),
        }))
    }

    pub async fn upsert_directory(&self, entry: &DirectoryEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO directory (number, name, department, email) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (number) DO UPDATE SET name = $2, department = $3, email = $4",
        )
        .bind(&entry.number)
        .bind(&entry.name)
        .bind(&entry.department)
        .bind(&entry.email)
        .execute(self.pool())
        .await
        .map_err(query_error("saving a directory entry"))?;
        Ok(())
    }

    /// Imports `number,name,department,email` lines (a header line is skipped). Every bad line
    /// is an error naming it; nothing is imported from a file with errors.
    pub async fn import_directory_csv(&self, path: &Path) -> Result<usize, StoreError> {
        let csv_error = |line: usize, reason: String| StoreError::Csv {
            path: path.display().to_string(),
            line,
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| csv_error(0, e.to_string()))?;
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = line.trim();
            if line.is_empty()
                || line.starts_with('#')
                || (i == 0 && line.to_ascii_lowercase().starts_with("number"))
            {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < 2 || fields[0].is_empty() || fields[1].is_empty() {
                return Err(csv_error(
                    line_no,
                    "expected number,name[,department[,email]]".into(),
                ));
            }
            let opt = |i: usize| {
                fields
                    .get(i)
                    .filter(|f| !f.is_empty())
                    .map(|f| f.to_string())
            };
            entries.push(DirectoryEntry {
                number: fields[0].to_string(),
                name: fields[1].to_string(),
                department: opt(2),
                email: opt(3),
            });
        }
        for e in &entries {
            self.upsert_directory(e).await?;
        }
        Ok(entries.len())
    }
}
