//! SIPp (Debian's sip-tester) drives a full call with RFC 4733 digits from its bundled pcaps.

#[path = "support/mod.rs"]
mod support;

use hotline::tickets::{Category, Disposition, Impact, Language, Urgency};
use std::process::Command;
use std::time::Duration;
use support::server::{repo, TestServer};

const PCAPS: &str = "/usr/share/sip-tester";

#[tokio::test]
async fn sipp_caller_goes_through_the_menu_with_rfc4733_digits() {
    assert!(
        Command::new("sipp").arg("-v").output().is_ok(),
        "sipp is missing: `make test` installs Debian's sip-tester (scripts/install-deps.sh --test)"
    );
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let inf = dir.path().join("calls.csv");
    let pcap = |k: &str| format!("{PCAPS}/dtmf_2833_{k}.pcap");
    // # skips the welcome, 1 English, 3 network, 2 team, 3 request; hang up during the hint.
    std::fs::write(&inf, "SEQUENTIAL\n5550100\n").unwrap();
    let mut xml =
        std::fs::read_to_string(repo().join("tests/sipp/uac_welcome_digits.xml")).unwrap();
    for (i, key) in ["pound", "1", "3", "2", "3"].iter().enumerate() {
        xml = xml.replace(&format!("@KEY{i}@"), &pcap(key));
    }
    xml = xml.replace("@HOLD_MS@", "1500");
    let scenario = dir.path().join("caller.xml");
    std::fs::write(&scenario, xml).unwrap();
    let sip = server.sip;
    let output = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .args([
                "-sf",
                scenario.to_str().unwrap(),
                "-inf",
                inf.to_str().unwrap(),
            ])
            .args(["-s", "helpdesk", &sip.to_string()])
            .args(["-i", "127.0.0.1", "-p", "0", "-mi", "127.0.0.1", "-mp", "0"])
            .args([
                "-m",
                "1",
                "-l",
                "1",
                "-timeout",
                "60s",
                "-timeout_error",
                "-nostdin",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(Duration::from_secs(90), output)
        .await
        .expect("sipp finished")
        .unwrap();
    assert!(
        output.status.success(),
        "sipp failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let store = server.server.as_ref().unwrap().store();
    let mut ticket = None;
    for _ in 0..400 {
        let list = store.list_tickets(&Default::default()).await.unwrap();
        if let Some(t) = list
            .into_iter()
            .find(|t| t.caller_number == "5550100" && t.disposition != Disposition::InProgress)
        {
            ticket = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ticket = ticket.expect("SIPp's call left a settled ticket");
    assert_eq!(ticket.caller_name.as_deref(), Some("SIPp caller"));
    assert_eq!(ticket.language, Some(Language::English));
    assert_eq!(ticket.category, Some(Category::Network));
    assert_eq!(ticket.impact, Some(Impact::Team));
    assert_eq!(ticket.urgency, Some(Urgency::Request));
    assert_eq!(ticket.priority.unwrap().to_string(), "P4");
    assert_eq!(ticket.disposition, Disposition::Abandoned);
    assert_eq!(ticket.disposition_detail.as_deref(), Some("hint_network"));
}
