//! Scripting a rota and phone accounts with the `hotline` command line, as a lead would.

use std::io::Write;
use std::process::{Command, Stdio};

struct Cli {
    url: String,
    _dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        Cli {
            url: format!("sqlite://{}", dir.path().join("h.db").display()),
            _dir: dir,
        }
    }

    /// Runs `hotline ARGS --database-url URL` with `stdin`; (success, stdout, stderr).
    fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .args(["--database-url", &self.url])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("HOTLINE_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args, "");
        assert!(ok, "hotline {args:?} failed: {err}");
        out
    }
}

#[test]
fn a_scripted_rota_answers_who_is_on_call_across_a_handover_and_an_override() {
    let cli = Cli::new();
    for name in ["ana", "ben", "lea", "dan"] {
        let (ok, _, err) = cli.run(&["user", "add", name], "a long password\n");
        assert!(ok, "{err}");
    }
    cli.ok(&[
        "teams",
        "set",
        "network",
        "--time-zone",
        "Europe/Paris",
        "--lead",
        "lea",
        "--categories",
        "network,account",
    ]);
    cli.ok(&["teams", "member", "network", "ana"]);
    cli.ok(&[
        "oncall",
        "rotation",
        "network",
        "weekly",
        "--handover",
        "weekly mon 09:00",
        "--starts-on",
        "2026-03-02",
        "ana",
        "ben",
    ]);
    cli.ok(&[
        "teams",
        "escalation",
        "network",
        "primary:20",
        "secondary:20",
        "lead:40",
    ]);
    // Monday 9 March 2026 08:59 Paris: still ana's week; 09:00: ben's.
    let before = cli.ok(&["oncall", "now", "--at", "2026-03-09T08:59:00+01:00"]);
    assert_eq!(
        before.trim(),
        "network: primary ana (offline), secondary ben (offline), lead lea (offline)"
    );
    let after = cli.ok(&[
        "oncall",
        "now",
        "--at",
        "2026-03-09T09:00:00+01:00",
        "--category",
        "account",
    ]);
    assert!(after.starts_with("network: primary ben"), "{after}");
    let saved = cli.ok(&[
        "oncall",
        "override",
        "network",
        "--covering",
        "dan",
        "--covered",
        "ben",
        "--from",
        "2099-03-09T09:00:00+01:00",
        "--until",
        "2099-03-10T09:00:00+01:00",
    ]);
    assert_eq!(saved.trim(), "override #1 saved");
    let listed = cli.ok(&["teams", "list"]);
    assert!(listed.contains("override #1: dan covers ben"), "{listed}");
    assert!(listed.contains("rotation weekly: always weekly mon 09:00 from 2026-03-02: ana, ben"));
    let (ok, _, err) = cli.run(&["teams", "escalation", "network", "boss:10"], "");
    assert!(!ok);
    assert!(err.contains("invalid position `boss`"), "{err}");
    let (ok, _, err) = cli.run(&["teams", "set", "x", "--time-zone", "Mars/Olympus"], "");
    assert!(!ok);
    assert!(err.contains("unknown time zone `Mars/Olympus`"), "{err}");
}

#[test]
fn technicians_list_reflects_the_rota_and_presence() {
    let cli = Cli::new();
    for name in ["ana", "ben"] {
        cli.run(&["user", "add", name], "a long password\n");
    }
    cli.ok(&[
        "teams",
        "set",
        "workstation",
        "--time-zone",
        "UTC",
        "--categories",
        "hardware",
    ]);
    cli.ok(&[
        "oncall",
        "rotation",
        "workstation",
        "daily",
        "--handover",
        "daily 00:00",
        "--starts-on",
        "2026-01-01",
        "ana",
        "ben",
    ]);
    cli.ok(&["oncall", "presence", "ana", "away"]);
    let list = cli.ok(&["technicians", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "ben"]);
    assert_eq!(list[0]["teams"], serde_json::json!(["workstation"]));
    assert_eq!(list[0]["on_call"].as_array().unwrap().len(), 1);
    // Without a registered phone nobody can be rung: offline, whatever they chose.
    assert_eq!(list[0]["presence"], "offline");
}

#[test]
fn sip_password_is_read_from_stdin_and_only_its_digests_are_kept() {
    let cli = Cli::new();
    cli.run(&["user", "add", "bob"], "a long password\n");
    let (ok, out, err) = cli.run(&["user", "sip-password", "bob"], "phone secret 42\n");
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "SIP password of bob set (realm hotline)");
    let (ok, _, err) = cli.run(&["user", "sip-password", "nobody"], "phone secret 42\n");
    assert!(!ok);
    assert!(err.contains("no user `nobody`"), "{err}");
    let (ok, _, err) = cli.run(&["user", "sip-password", "bob"], "short\n");
    assert!(!ok);
    assert!(err.contains("at least 8"), "{err}");
    let path = cli.url.trim_start_matches("sqlite://").to_string();
    for file in [path.clone(), format!("{path}-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("phone secret 42"),
            "{file} holds the password"
        );
    }
    let expected = hotline::sip::digest::Ha1Set::from_password("bob", "hotline", "phone secret 42");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stored = runtime.block_on(async {
        let store = hotline::store::Store::connect(&cli.url, Default::default())
            .await
            .unwrap();
        store.sip_credentials("bob", "hotline").await.unwrap()
    });
    assert_eq!(stored, Some(expected), "the HA1 digests are stored");
}
