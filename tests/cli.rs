//! The `hotline` command line, run as a user would.

use hotline::store::{NewTicket, Store};
use hotline::tickets::{PriorityMatrix, TicketField, Urgency};
use std::process::Command;

fn hotline(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn dialplan_check_accepts_the_bundled_plan_and_reports_a_broken_one() {
    let (ok, out, _) = hotline(&["dialplan", "check", "dialplans/hotline.toml"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        "dialplans/hotline.toml: ok (17 nodes, languages: en, fr)"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[dialplan]\nstart = \"a\"\nlanguages = [\"en\"]\n[nodes.a]\nkind = \"goto\"\nnext = \"b\"\n").unwrap();
    let (ok, _, err) = hotline(&["dialplan", "check", bad.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!(
            "{}:6:8: node `a`: next refers to unknown node `b`",
            bad.display()
        )
    );
}

#[test]
fn serve_refuses_an_invalid_dialplan_with_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[dialplan]\nstart = \"a\"\n").unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = hotline(&[
        "serve",
        "--dialplan",
        bad.to_str().unwrap(),
        "--sip-listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("bad.toml:1:1: missing field `languages`"),
        "{err}"
    );
}

#[tokio::test]
async fn tickets_list_and_show_print_tables_and_stable_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let store = Store::connect(&url, PriorityMatrix::default())
        .await
        .unwrap();
    let t = store
        .create_ticket(&NewTicket {
            call_id: "c1".into(),
            caller_number: "5551234".into(),
            caller_name: Some("Alice".into()),
        })
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Urgency(Urgency::Blocked))
        .await
        .unwrap();
    store.close().await;
    let reference = t.reference.to_string();

    let (ok, out, err) = hotline(&["tickets", "list", "--database-url", &url]);
    assert!(ok, "{err}");
    assert!(out.lines().nth(1).unwrap().starts_with(&reference), "{out}");

    let (ok, out, _) = hotline(&["tickets", "list", "--json", "--database-url", &url]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["reference"], reference.as_str());
    assert_eq!(v[0]["urgency"], "blocked");
    assert_eq!(v[0]["disposition"], "in_progress");

    let (ok, out, _) = hotline(&[
        "tickets",
        "show",
        &reference,
        "--json",
        "--database-url",
        &url,
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["caller_number"], "5551234");
    assert_eq!(v["events"][0]["kind"], "received");

    let (ok, _, err) = hotline(&["tickets", "show", "HD-1999-000042", "--database-url", &url]);
    assert!(!ok);
    assert_eq!(err.trim(), "error: no ticket HD-1999-000042");
    let (ok, _, err) = hotline(&["tickets", "show", "bogus", "--database-url", &url]);
    assert!(!ok);
    assert!(
        err.contains("`bogus` is not a ticket reference like HD-2026-000123"),
        "{err}"
    );
}

#[test]
fn reading_tickets_where_there_is_no_database_says_so_and_creates_nothing() {
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [
        &["tickets", "list"][..],
        &["tickets", "show", "HD-2026-000001"],
        &["technicians", "set", "alice"],
        &["user", "token", "alice"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .current_dir(elsewhere.path())
            .env_remove("HOTLINE_CONFIG")
            .env_remove("HOTLINE_DATABASE_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        let looked_at = elsewhere.path().join("data/hotline.db");
        assert!(
            err.contains(&format!("no database at {}", looked_at.display())),
            "{args:?}: {err}"
        );
        assert!(
            !elsewhere.path().join("data").exists(),
            "{args:?} created a data directory"
        );
    }
}

/// `scripts/install-deps.sh --print-contrib-source` against apt sources in `apt_dir`.
fn contrib_source(apt_dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new("bash")
        .arg("scripts/install-deps.sh")
        .arg("--print-contrib-source")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOTLINE_APT_DIR", apt_dir)
        .env("HOTLINE_CODENAME", "bookworm")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn install_deps_adds_contrib_from_the_machines_own_debian_mirror() {
    // deb822, as Debian 12 writes it, pointing at a company mirror; security comes first.
    let apt = tempfile::tempdir().unwrap();
    std::fs::create_dir(apt.path().join("sources.list.d")).unwrap();
    std::fs::write(
        apt.path().join("sources.list.d/debian.sources"),
        "Types: deb\nURIs: http://mirror.corp.example/debian-security\nSuites: bookworm-security\n\
         Components: main\nSigned-By: /usr/share/keyrings/corp.gpg\n\n\
         Types: deb deb-src\n# a comment inside the stanza\nURIs: http://mirror.corp.example/debian\n\
         Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/corp.gpg\n",
    )
    .unwrap();
    let (ok, out, err) = contrib_source(apt.path());
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "Types: deb\nURIs: http://mirror.corp.example/debian\nSuites: bookworm bookworm-updates\n\
         Components: contrib non-free\nSigned-By: /usr/share/keyrings/corp.gpg\n"
    );

    // One-line sources.list with options.
    let apt = tempfile::tempdir().unwrap();
    std::fs::write(
        apt.path().join("sources.list"),
        "# mirror\ndeb [arch=amd64 signed-by=/etc/apt/keyrings/corp.asc] http://10.0.0.5/debian bookworm main\n\
         deb http://10.0.0.5/debian-security bookworm-security main\n\
         deb [signed-by=/etc/apt/keyrings/corp.asc] http://10.0.0.5/debian bookworm-updates main\n",
    )
    .unwrap();
    let (ok, out, err) = contrib_source(apt.path());
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "Types: deb\nURIs: http://10.0.0.5/debian\nSuites: bookworm bookworm-updates\n\
         Components: contrib non-free\nSigned-By: /etc/apt/keyrings/corp.asc\n"
    );

    // No Debian source at all: say so rather than invent a mirror.
    let apt = tempfile::tempdir().unwrap();
    let (ok, out, err) = contrib_source(apt.path());
    assert!(!ok);
    assert_eq!(out, "");
    assert!(err.contains("no Debian source for bookworm"), "{err}");
}
