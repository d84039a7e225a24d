//! The user directory: known callers are named on their ticket, unknown ones stay numbers.

use crate::support::{call, Db};
use hotline::store::DirectoryEntry;

async fn directory_identifies_known_callers_and_keeps_unknown_numbers(Db { store, .. }: Db) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "number,name,department,email\n\
         555 1234,\"Martin, Alice\",Finance,alice@example.com\n\
         5550000,Bob,,\n",
    )
    .unwrap();
    assert_eq!(store.import_directory_csv(&csv).await.unwrap(), 2);
    let known = store.create_ticket(&call("5551234")).await.unwrap();
    assert_eq!(
        known.caller_identity.as_deref(),
        Some("Martin, Alice (Finance)")
    );
    assert_eq!(known.caller_number, "5551234");
    let no_department = store.create_ticket(&call("5550000")).await.unwrap();
    assert_eq!(no_department.caller_identity.as_deref(), Some("Bob"));
    let unknown = store.create_ticket(&call("5559999")).await.unwrap();
    assert_eq!(unknown.caller_identity, None);
    assert_eq!(unknown.caller_number, "5559999");
    assert_eq!(
        store.lookup_caller("555-1234").await.unwrap(),
        Some(DirectoryEntry {
            number: "5551234".into(),
            name: "Martin, Alice".into(),
            department: Some("Finance".into()),
            email: Some("alice@example.com".into()),
        })
    );
}

async fn a_bad_directory_file_imports_nothing_and_names_the_line(Db { store, .. }: Db) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "number,name\n5551234,Alice\n123\n").unwrap();
    let err = store
        .import_directory_csv(&csv)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: expected number,name[,department[,email]]",
            csv.display()
        )
    );
    assert_eq!(store.lookup_caller("5551234").await.unwrap(), None);
    let missing = dir.path().join("absent.csv");
    let err = store
        .import_directory_csv(&missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );
}

async fn a_new_import_updates_known_numbers(Db { store, .. }: Db) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "5551234,Alice,Finance\n").unwrap();
    store.import_directory_csv(&csv).await.unwrap();
    std::fs::write(&csv, "5551234,Alice,Legal\n").unwrap();
    store.import_directory_csv(&csv).await.unwrap();
    let t = store.create_ticket(&call("5551234")).await.unwrap();
    assert_eq!(t.caller_identity.as_deref(), Some("Alice (Legal)"));
}

on_both!(
    directory_identifies_known_callers_and_keeps_unknown_numbers,
    a_bad_directory_file_imports_nothing_and_names_the_line,
    a_new_import_updates_known_numbers,
);
