//! SIPVicious (`svmap`, `svwar`, `svcrack`, Debian `sipvicious`) against the real server, as a
//! toll-fraud scan would run them: they must learn nothing and leave no ticket, and a real call
//! placed afterwards is still answered. Each tool runs under a time limit and is killed past it.

#[path = "support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::Duration;
use support::server::TestServer;
use support::ua::Ua;

/// Longest a tool may run; they give up on a silent host within a few seconds.
const TOOL_LIMIT: Duration = Duration::from_secs(60);

/// Runs a SIPVicious tool under coreutils' `timeout` (killed past [`TOOL_LIMIT`]) and returns
/// what it printed (stdout and stderr).
async fn run(tool: &str, args: &[&str]) -> String {
    // SIPVicious listens on 5060 (or the next free port) for answers: give each run a port of
    // its own on loopback, so parallel tests and a local SIP server do not meet.
    let local_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut command = std::process::Command::new("timeout");
    command
        .arg(TOOL_LIMIT.as_secs().to_string())
        .arg(tool)
        .args(["-b", "127.0.0.1", "-P", &local_port])
        .args(args)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run timeout: {e}"));
    // 124: killed by timeout; 127: not installed.
    match output.status.code() {
        Some(124) => panic!("{tool} still running after {TOOL_LIMIT:?}"),
        Some(127) => panic!("{tool} is not installed: run `make test-deps` (Debian sipvicious)"),
        _ => {}
    }
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // What the tool learned, for whoever runs the test with --nocapture.
    eprintln!("$ {tool} {}\n{printed}", args.join(" "));
    printed
}

async fn ticket_count(server: &TestServer) -> usize {
    let store = server.server.as_ref().unwrap().store();
    store
        .list_tickets(&hotline::store::TicketFilter::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn sipvicious_scans_learn_nothing_and_leave_no_ticket() {
    let mut server = TestServer::start().await;
    let port = server.sip.port().to_string();

    let map = run("svmap", &["127.0.0.1", "-p", &port]).await;
    // svmap lists each SIP device it found with its User-Agent; a silent host is not one.
    assert!(!map.contains("Hotline"), "svmap found us:\n{map}");
    assert!(map.contains("found nothing"), "svmap output:\n{map}");

    for method in ["INVITE", "REGISTER", "OPTIONS"] {
        let war = run(
            "svwar",
            &["-m", method, "-e100-200", "127.0.0.1", "-p", &port],
        )
        .await;
        // svwar prints a table of extensions it found; with no answer it reports that the
        // server did not respond and lists none.
        assert!(
            !war.contains("| reqauth") && !war.contains("| noauth") && !war.contains("| weird"),
            "svwar -m {method} found extensions:\n{war}"
        );
        assert!(war.contains("found nothing"), "svwar -m {method}:\n{war}");
    }

    let crack = run(
        "svcrack",
        &["-u", "100", "-r", "1000-1200", "127.0.0.1", "-p", &port],
    )
    .await;
    assert!(
        !crack.to_ascii_lowercase().contains("password"),
        "svcrack found a password:\n{crack}"
    );
    assert!(crack.contains("found nothing"), "svcrack:\n{crack}");

    assert_eq!(ticket_count(&server).await, 0, "a scan left tickets");

    // A real caller is still answered, and that call (only it) has a ticket.
    let mut ua = Ua::udp(server.sip).await;
    let r = ua.invite().await;
    assert_eq!(r.status_code.code(), 200);
    ua.ack().await;
    ua.bye().await;
    assert_eq!(ticket_count(&server).await, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn with_an_empty_scanner_list_a_scanner_is_answered_like_anyone() {
    let mut server = TestServer::start_with(|c| c.limits.scanner_user_agents.clear()).await;
    let port = server.sip.port().to_string();
    let map = run("svmap", &["127.0.0.1", "-p", &port]).await;
    // The check above is not vacuous: the same tool does see the server when it is answered.
    assert!(map.contains("Hotline"), "svmap output:\n{map}");
    server.shutdown().await;
}
