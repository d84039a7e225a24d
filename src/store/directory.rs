//! The user directory: who is calling, from their number. Filled from a CSV export of the
//! company's phone book (`number,name,department,email`).

use super::row::{get, required};
use super::{query_error, Store, StoreError};
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

/// A phone number as it is matched: phone books write `+33 1 23-45.67 (89)`, phones send
/// `+33123456789`, so spaces and the usual separators are dropped on both sides.
pub fn normalise_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\t'))
        .collect()
}

/// Splits one CSV line into fields: commas separate, double quotes protect commas, `""` is a
/// quote inside a quoted field (RFC 4180, without line breaks inside fields).
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("never empty");
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(String::new()),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field");
    }
    Ok(fields.into_iter().map(|f| f.trim().to_string()).collect())
}

/// Reads a directory CSV: a header line starting with `number` is skipped, as are blank lines
/// and `#` comments. A bad line is reported as (line number, reason).
pub fn parse_directory_csv(text: &str) -> Result<Vec<DirectoryEntry>, (usize, String)> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || (entries.is_empty() && trimmed.to_ascii_lowercase().starts_with("number"))
        {
            continue;
        }
        let fields = csv_fields(trimmed).map_err(|reason| (line_no, reason.to_string()))?;
        if fields.len() < 2 || fields.len() > 4 || fields[0].is_empty() || fields[1].is_empty() {
            return Err((
                line_no,
                "expected number,name[,department[,email]]".to_string(),
            ));
        }
        let opt = |i: usize| fields.get(i).filter(|f| !f.is_empty()).cloned();
        entries.push(DirectoryEntry {
            number: normalise_number(&fields[0]),
            name: fields[1].clone(),
            department: opt(2),
            email: opt(3),
        });
    }
    Ok(entries)
}

impl Store {
    /// The directory entry for a caller's number, if any.
    pub async fn lookup_caller(&self, number: &str) -> Result<Option<DirectoryEntry>, StoreError> {
        let row =
            sqlx::query("SELECT number, name, department, email FROM directory WHERE number = $1")
                .bind(normalise_number(number))
                .fetch_optional(self.pool())
                .await
                .map_err(query_error("looking up the caller"))?;
        row.map(|r| {
            Ok(DirectoryEntry {
                number: required(&r, "number")?,
                name: required(&r, "name")?,
                department: get(&r, "department")?,
                email: get(&r, "email")?,
            })
        })
        .transpose()
    }

    /// Adds or replaces the entry for a number.
    pub async fn upsert_directory(&self, entry: &DirectoryEntry) -> Result<(), StoreError> {
        upsert(self.writer(), entry).await
    }

    /// Imports a directory CSV (see `parse_directory_csv`), replacing entries with the same
    /// number. The whole file is checked first and written in one transaction: a file with a
    /// bad line imports nothing, and the error names the file and the line.
    pub async fn import_directory_csv(&self, path: &Path) -> Result<usize, StoreError> {
        let csv_error = |line: usize, reason: String| StoreError::Csv {
            path: path.display().to_string(),
            line,
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let entries =
            parse_directory_csv(&text).map_err(|(line, reason)| csv_error(line, reason))?;
        let mut tx = self.begin_write("starting the directory import").await?;
        for e in &entries {
            upsert(&mut *tx, e).await?;
        }
        tx.commit()
            .await
            .map_err(query_error("committing the directory import"))?;
        Ok(entries.len())
    }
}

async fn upsert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    entry: &DirectoryEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory (number, name, department, email) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (number) DO UPDATE SET name = $2, department = $3, email = $4",
    )
    .bind(normalise_number(&entry.number))
    .bind(&entry.name)
    .bind(&entry.department)
    .bind(&entry.email)
    .execute(executor)
    .await
    .map_err(query_error("saving a directory entry"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        let entries = parse_directory_csv(
            "number,name,department,email\n\
             \"+33 1 23 45 67 89\",\"Martin, Alice\",\"R&D \"\"Labs\"\"\",alice@example.com\n\
             # a comment\n\
             \n\
             555-0100,Bob,,\n",
        )
        .unwrap();
        assert_eq!(
            entries,
            vec![
                DirectoryEntry {
                    number: "+33123456789".into(),
                    name: "Martin, Alice".into(),
                    department: Some("R&D \"Labs\"".into()),
                    email: Some("alice@example.com".into()),
                },
                DirectoryEntry {
                    number: "5550100".into(),
                    name: "Bob".into(),
                    department: None,
                    email: None,
                },
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_by_number() {
        assert_eq!(
            parse_directory_csv("number,name\n123\n"),
            Err((2, "expected number,name[,department[,email]]".into()))
        );
        assert_eq!(
            parse_directory_csv("1,\"Alice\n"),
            Err((1, "unterminated quoted field".into()))
        );
        assert_eq!(
            parse_directory_csv("1,A,B,C,D\n"),
            Err((1, "expected number,name[,department[,email]]".into()))
        );
    }

    #[test]
    fn numbers_match_whatever_the_separators() {
        assert_eq!(normalise_number("+33 (0)1 23-45.67"), "+3301234567");
        assert_eq!(normalise_number("5551234"), "5551234");
    }
}
