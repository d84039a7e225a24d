//! Real SIP clients against the registrar: SIPp registers with MD5 digest, and the
//! sipvicious scanners learn nothing (`svwar`) and are slowed down (`svcrack`). Each runs a
//! Debian package that `scripts/install-deps.sh --test` installs, bounded in time.

#[path = "support/mod.rs"]
mod support;

use chrono::Utc;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::oncall::sip_technician;
use support::server::{repo, TestServer};

fn installed(tool: &str) {
    assert!(
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap()
            .status
            .success(),
        "{tool} is missing: `make test` installs it (scripts/install-deps.sh --test)"
    );
}

/// Runs `program args` to completion in a blocking task, at most `limit`; (status, output).
async fn run(
    program: &str,
    args: Vec<String>,
    dir: &std::path::Path,
    limit: Duration,
) -> (bool, String) {
    let mut cmd = Command::new("timeout");
    cmd.arg(limit.as_secs().to_string())
        .arg(program)
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Waits until `user` has `n` live bindings (the client registers in the background).
async fn until_bindings(
    server: &TestServer,
    user: &str,
    n: usize,
    limit: Duration,
) -> Vec<hotline::store::Phone> {
    let store = server.server.as_ref().unwrap().store();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let phones = store.bindings(user, Utc::now()).await.unwrap();
        if phones.len() == n || tokio::time::Instant::now() > deadline {
            return phones;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sipp_registers_with_md5() {
    installed("sipp");
    let server = TestServer::start().await;
    sip_technician(&server, "carol", "correcthorse").await;
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(repo().join("tests/sipp/register_md5.xml"))
        .unwrap()
        .replace("@USER@", "carol")
        .replace("@PASSWORD@", "correcthorse");
    std::fs::write(dir.path().join("register.xml"), xml).unwrap();
    let args = [
        "-sf",
        "register.xml",
        "-s",
        "carol",
        &server.sip.to_string(),
        "-i",
        "127.0.0.1",
        "-p",
        "0",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "10s",
        "-timeout_error",
    ]
    .map(String::from)
    .to_vec();
    let (ok, output) = run("sipp", args, dir.path(), Duration::from_secs(30)).await;
    assert!(ok, "SIPp's REGISTER with MD5 digest succeeded:\n{output}");
    let phones = until_bindings(&server, "carol", 1, Duration::from_secs(2)).await;
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].binding.user_agent.as_deref(), Some("SIPp"));
    assert_eq!(
        phones[0].binding.remaining(Utc::now()) / 10,
        29,
        "Expires: 300 granted"
    );
}

#[tokio::test]
async fn svwar_finds_no_extension_even_the_ones_that_exist() {
    installed("svwar");
    // The registrar's own answers are under test: the scanner drop ([limits]) is turned off.
    let server = TestServer::start_with(|c| c.limits.scanner_user_agents.clear()).await;
    for name in ["150", "151", "199"] {
        sip_technician(&server, name, "a long password").await;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "-m",
        "REGISTER",
        "-e100-200",
        "127.0.0.1",
        "-p",
        &server.sip.port().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let (_, output) = run("svwar", args, dir.path(), Duration::from_secs(60)).await;
    for name in ["150", "151", "199"] {
        assert!(
            !output.lines().any(|l| l.contains(&format!("| {name} "))),
            "svwar found extension {name}:\n{output}"
        );
    }
    // svwar notices that a made-up extension is challenged like a real one, and gives up.
    assert!(
        output.contains("found nothing"),
        "svwar reports nothing:\n{output}"
    );
}

/// svcrack with a word list whose 20th word is `password` against a server that tolerates
/// `failures` per source; what it printed.
async fn svcrack(failures: u32, password: &str) -> String {
    // The registrar's rate limit is under test: the scanner drop ([limits]) is turned off.
    let server = TestServer::start_with(|c| {
        c.registrar.failures_per_source = failures;
        c.limits.scanner_user_agents.clear();
    })
    .await;
    sip_technician(&server, "150", password).await;
    let dir = tempfile::tempdir().unwrap();
    let mut words: Vec<String> = (1..=30).map(|i| format!("wrong{i}")).collect();
    words[19] = password.to_string();
    std::fs::write(dir.path().join("words.txt"), words.join("\n") + "\n").unwrap();
    let args = [
        "-u",
        "150",
        "-d",
        "words.txt",
        "127.0.0.1",
        "-p",
        &server.sip.port().to_string(),
    ]
    .map(String::from)
    .to_vec();
    // Refused with 403, svcrack keeps waiting: the time limit ends it.
    let (_, output) = run("svcrack", args, dir.path(), Duration::from_secs(15)).await;
    output
}

#[tokio::test]
async fn svcrack_is_rate_limited_and_does_not_reach_the_password() {
    installed("svcrack");
    // Control: with the limit out of the way, svcrack finds the 20th word.
    let unlimited = svcrack(1000, "1050abcd").await;
    assert!(
        unlimited.contains("1050abcd"),
        "svcrack works here:\n{unlimited}"
    );
    // Five failures from one address, then 403 even for the right password.
    let limited = svcrack(5, "1050abcd").await;
    assert!(
        !limited.contains("1050abcd"),
        "svcrack found the password despite the rate limit:\n{limited}"
    );
}
