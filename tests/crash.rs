//! Nothing is lost when the server dies: a voicemail cut by `kill -9` is repaired at the next
//! start and its transcript arrives; calls that were in the menus get a final disposition.
//!
//! The server runs as a separate process (it must be killed), so the test awaits its changes
//! through the web log's `/events` stream and reads tickets from the same database: an SQLite
//! file, or a PostgreSQL database shared with another node (when HOTLINE_TEST_POSTGRES_URL is
//! set).

#[path = "support/mod.rs"]
mod support;

use hotline::store::{NewTicket, Store, Ticket};
use hotline::tickets::{CallEventKind, Disposition, PriorityMatrix};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::events::TicketEvents;
use support::postgres::PgDatabase;
use support::private_postgres::PrivatePostgres;
use support::server::repo;
use support::ua::Ua;

/// A port free for both UDP and TCP (the server binds both).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A Hotline process on fixed ports with its data in `data`, and an API token for its web log.
struct Hotline {
    data: PathBuf,
    sip: u16,
    http: u16,
    rtp: &'static str,
    token: String,
    /// A configuration file passed to `serve` (limits), if any.
    config: Option<PathBuf>,
    /// The database: `sqlite://<data>/hotline.db` unless given.
    url: String,
    /// `--node`, if given.
    node: Option<&'static str>,
    process: Option<Child>,
}

impl Hotline {
    /// Creates the database with an account whose token reads `/events`.
    fn new(data: PathBuf, rtp: &'static str) -> Hotline {
        let url = format!("sqlite://{}", data.join("hotline.db").display());
        Hotline::on(data, rtp, url)
    }

    /// The same on the database at `url`.
    fn on(data: PathBuf, rtp: &'static str, url: String) -> Hotline {
        std::fs::create_dir_all(&data).unwrap();
        let password = data.with_extension("password");
        std::fs::write(&password, "a long enough password\n").unwrap();
        let cli = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
                .args(args)
                .args(["--database-url", &url])
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let password = password.to_str().unwrap();
        cli(&[
            "user",
            "add",
            "ops",
            "--role",
            "lead",
            "--password-file",
            password,
        ]);
        let token = cli(&["user", "token", "ops"]).trim().to_string();
        Hotline {
            data,
            sip: free_port(),
            http: free_port(),
            rtp,
            token,
            config: None,
            url,
            node: None,
            process: None,
        }
    }

    fn log(&self) -> PathBuf {
        self.data.with_extension(format!("{}.log", self.sip))
    }

    /// Starts the server and waits until it answers SIP (recovery runs before that).
    async fn start(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(["serve", "--sip-listen", &format!("127.0.0.1:{}", self.sip)])
            .args(["--http-listen", &format!("127.0.0.1:{}", self.http)])
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--database-url", &self.url])
            .args(self.node.iter().flat_map(|n| ["--node", n]))
            .args(["--rtp-ports", self.rtp])
            .args(
                self.config
                    .iter()
                    .flat_map(|c| [std::ffi::OsStr::new("--config"), c.as_os_str()]),
            )
            .current_dir(repo())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.log()).unwrap())
            .spawn()
            .unwrap();
        for _ in 0..150 {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.log()).unwrap_or_default();
                panic!("server exited ({status}) before answering:\n{log}");
            }
            let mut ua = Ua::udp(self.sip_addr()).await;
            let options = ua.request("OPTIONS", None, None);
            ua.send_raw(options.as_bytes()).await;
            if ua
                .final_response(Duration::from_millis(200))
                .await
                .is_some()
            {
                self.process = Some(child);
                return;
            }
        }
        panic!("server did not start");
    }

    fn sip_addr(&self) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", self.sip).parse().unwrap()
    }

    async fn events(&self) -> TicketEvents {
        let http = format!("127.0.0.1:{}", self.http).parse().unwrap();
        TicketEvents::open(http, &self.token).await
    }

    /// SIGKILL: no shutdown, no WAV finalisation, no ticket closed.
    fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill().unwrap();
            p.wait().unwrap();
        }
    }

    async fn store(&self) -> Store {
        Store::connect(&self.url, PriorityMatrix::default())
            .await
            .unwrap()
    }
}

impl Drop for Hotline {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn ticket(store: &Store, call_id: &str) -> Ticket {
    store
        .ticket_by_call_id(call_id)
        .await
        .unwrap()
        .expect("the ticket survived")
}

#[tokio::test]
async fn a_voicemail_cut_by_a_crash_is_repaired_and_transcribed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut hotline = Hotline::new(dir.path().join("data"), "41000-41999");
    hotline.start().await;

    let mut ua = Ua::udp(hotline.sip_addr()).await;
    ua.connect().await;
    ua.send_silence(200).await;
    for key in ['#', '1', '2', '3', '2', '#'] {
        ua.press_rfc4733(key).await; // English, software, only me, degraded, skip instructions
    }
    ua.send_silence(600).await;
    let speech: Vec<i16> =
        hound::WavReader::open(repo().join("tests/fixtures/speech/en-printer.wav"))
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
    ua.send_audio(&speech).await;
    ua.send_silence(600).await; // the recorder flushes every half second
    hotline.kill(); // mid-recording

    let store = hotline.store().await;
    let cut = ticket(&store, &ua.call_id).await;
    assert_eq!(
        cut.recording_end_cause.as_deref(),
        Some("recording"),
        "the crash cut the recording"
    );
    assert_eq!(cut.disposition, Disposition::InProgress);
    let path = cut.recording_path.clone().unwrap();

    hotline.start().await;
    let mut events = hotline.events().await;
    let reader = hound::WavReader::open(&path).expect("repaired at start-up");
    assert!(
        reader.duration() > 8000 * 4,
        "most of the 5.8 s of speech kept: {} samples",
        reader.duration()
    );
    let t = events
        .ticket_when(
            &store,
            &ua.call_id,
            Duration::from_secs(90),
            "transcript",
            |t| t.transcript.is_some(),
        )
        .await;
    // The recording is cut into parts again (the draft) and gets its final pass.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !store.transcript_final(t.id).await.unwrap() {
        assert!(std::time::Instant::now() < deadline, "no final pass");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let parts = store.transcript_parts_done(t.id).await.unwrap();
    let t = store.ticket(t.id).await.unwrap().unwrap();
    hotline.kill();
    let text = t.transcript.clone().unwrap().to_lowercase();
    assert!(text.contains("printer"), "{text}");
    assert_eq!(t.recording_end_cause.as_deref(), Some("interrupted"));
    assert_eq!(t.disposition, Disposition::Voicemail, "the message is kept");
    assert_eq!(
        t.disposition_detail.as_deref(),
        Some("server restarted at voicemail")
    );
    assert_eq!(
        store.transcription_counts().await.unwrap().done,
        parts + 1,
        "each part and the whole recording transcribed exactly once"
    );
}

#[tokio::test]
async fn calls_in_the_menus_when_the_server_dies_are_closed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let hotline = Hotline::new(dir.path().join("data"), "42000-42999");
    calls_in_the_menus_are_closed_at_the_next_start(hotline).await;
}

/// The same on PostgreSQL, where another node runs a call meanwhile: the restarted node
/// closes the calls its own crash cut, and leaves the other node's running call alone.
#[tokio::test]
async fn on_postgres_a_node_killed_closes_its_own_cut_calls_and_not_another_nodes() {
    let Some(db) = PgDatabase::create("hotline_crash").await else {
        return;
    };
    let url = db.url.clone();
    // In a task of its own, so a failing assertion still drops the database.
    let outcome = tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let mut hotline = Hotline::on(dir.path().join("data"), "44000-44999", url.clone());
        hotline.node = Some("pbx-a");
        let other = Store::connect(&url, PriorityMatrix::default())
            .await
            .unwrap()
            .with_node("pbx-b".parse().unwrap());
        let running = other
            .create_ticket(&NewTicket {
                call_id: "running-on-pbx-b@test".into(),
                caller_number: "5551234".into(),
                caller_name: None,
            })
            .await
            .unwrap();
        calls_in_the_menus_are_closed_at_the_next_start(hotline).await;
        let running = other.ticket(running.id).await.unwrap().unwrap();
        other.close().await;
        assert_eq!(
            running.disposition,
            Disposition::InProgress,
            "pbx-b's call is still running"
        );
    })
    .await;
    db.drop().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Hotline killed while PostgreSQL is down: what the caller chose during the outage was kept
/// for the database (journalled on disk, `kept_writes`), and the next start stores it before
/// it closes the cut call. Without the journal those answers died with the process.
#[tokio::test]
async fn a_kill_9_during_a_database_outage_loses_none_of_the_writes_kept_for_it() {
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut hotline = Hotline::on(data.clone(), "46000-46999", pg.url());
    hotline.start().await;
    let mut ua = Ua::udp(hotline.sip_addr()).await;
    ua.connect().await;
    ua.send_silence(200).await;
    ua.press_rfc4733('#').await;
    ua.press_rfc4733('1').await; // English
    ua.send_silence(300).await;

    pg.stop();
    // Software, only me: answered while the database is down.
    for key in ['2', '3'] {
        ua.press_rfc4733(key).await;
        ua.send_silence(300).await;
    }
    // The first write after the stop gives up waiting after 2 s, then the rest are kept at
    // once: wait until the journal holds the last key.
    let journal = data.join("kept-writes");
    let holds_last_key = || {
        std::fs::read_dir(&journal).ok().is_some_and(|files| {
            files.flatten().any(|f| {
                std::fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .contains(r#""kind":"digit","detail":"3""#)
            })
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !holds_last_key() {
        assert!(
            std::time::Instant::now() < deadline,
            "the key pressed during the outage is journalled"
        );
        ua.send_silence(100).await;
    }
    hotline.kill();

    pg.start();
    hotline.start().await;
    let store = hotline.store().await;
    let t = ticket(&store, &ua.call_id).await;
    assert_eq!(t.language, Some(hotline::tickets::Language::English));
    assert_eq!(t.category, Some(hotline::tickets::Category::Software));
    assert_eq!(t.impact, Some(hotline::tickets::Impact::Individual));
    assert_eq!(t.disposition, Disposition::Failed, "cut by the crash");
    let events = store.events(t.id).await.unwrap();
    let digits: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Digit)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(digits, ["# (skipped prompt)", "1", "2", "3"], "{events:#?}");
    let last = events.last().unwrap();
    assert_eq!(last.kind, CallEventKind::Hangup, "{events:#?}");
    assert!(last.detail.contains("server restarted"), "{last:?}");
    let left = std::fs::read_dir(&journal).map_or(0, |d| d.count());
    assert_eq!(left, 0, "the journal is emptied once stored");
    store.close().await;
}

/// Three calls stopped at different menu steps, `kill -9`, restart: each is closed as failed
/// at its step, its timeline ending with the restart.
async fn calls_in_the_menus_are_closed_at_the_next_start(mut hotline: Hotline) {
    hotline.start().await;
    let store = hotline.store().await;
    let mut events = hotline.events().await;

    // Three callers, each stopped at a different step: the keys are pressed during the
    // welcome, so each goes straight on (type-ahead).
    let mut calls = Vec::new();
    for (keys, step) in [
        (&[][..], "language"),
        (&['1'][..], "category"),
        (&['2', '1'][..], "impact"),
    ] {
        let mut ua = Ua::udp(hotline.sip_addr()).await;
        ua.connect().await;
        ua.send_silence(200).await;
        for &key in keys {
            ua.press_rfc4733(key).await;
        }
        if keys.is_empty() {
            ua.press_rfc4733('#').await; // skip the welcome, answer nothing
        }
        events
            .ticket_when(&store, &ua.call_id, Duration::from_secs(15), step, |t| {
                t.disposition_detail.as_deref() == Some(step)
            })
            .await;
        calls.push((ua, step));
    }
    hotline.kill();
    // The phones are done with; their calls are known by Call-ID from here on (a `Ua` holds
    // SRTP state that is Send but not Sync, so a reference to one cannot cross an await in a
    // spawned task).
    let calls: Vec<(String, &str)> = calls
        .into_iter()
        .map(|(ua, step)| (ua.call_id.clone(), step))
        .collect();
    for (call_id, _) in &calls {
        let t = ticket(&store, call_id).await;
        assert_eq!(t.disposition, Disposition::InProgress, "cut by the crash");
    }

    hotline.start().await;
    for (call_id, step) in &calls {
        let t = ticket(&store, call_id).await;
        assert_eq!(t.disposition, Disposition::Failed, "{}", t.reference);
        assert_eq!(
            t.disposition_detail.as_deref(),
            Some(format!("server restarted at {step}").as_str())
        );
        let timeline = store.events(t.id).await.unwrap();
        let last = timeline.last().unwrap();
        assert_eq!(
            (last.kind, last.detail.as_str()),
            (CallEventKind::Hangup, "server restarted")
        );
    }
    hotline.kill();
}

/// SIPp places `calls` calls from one address (`-sn uac`: INVITE, ACK, then silence for a
/// minute), or with `keys` through the menu by RFC 4733 (uac_welcome_digits.xml), staying on.
fn sipp_callers(
    target: std::net::SocketAddr,
    calls: usize,
    keys: Option<[&str; 5]>,
    first_number: u32,
) -> std::process::Child {
    let dir = tempfile::tempdir().unwrap().keep();
    let inf = dir.join("numbers.csv");
    let numbers: String = (0..calls)
        .map(|i| format!("{}\n", first_number + i as u32))
        .collect();
    std::fs::write(&inf, format!("SEQUENTIAL\n{numbers}")).unwrap();
    let mut command = Command::new("sipp");
    match keys {
        Some(keys) => {
            let mut xml =
                std::fs::read_to_string(repo().join("tests/sipp/uac_welcome_digits.xml")).unwrap();
            for (i, key) in keys.iter().enumerate() {
                let pcap = format!("/usr/share/sip-tester/dtmf_2833_{key}.pcap");
                xml = xml.replace(&format!("@KEY{i}@"), &pcap);
            }
            xml = xml.replace("@HOLD_MS@", "60000");
            std::fs::write(dir.join("caller.xml"), xml).unwrap();
            command.args(["-sf", "caller.xml", "-inf", "numbers.csv"]);
        }
        None => {
            command.args(["-sn", "uac", "-d", "60000", "-inf", "numbers.csv"]);
        }
    }
    command
        .args(["-s", "helpdesk", &target.to_string()])
        .args(["-i", "127.0.0.1", "-p", "0", "-mi", "127.0.0.1", "-mp", "0"])
        .args([
            "-m",
            &calls.to_string(),
            "-l",
            &calls.to_string(),
            "-r",
            "25",
        ])
        .args(["-timeout", "120s", "-nostdin"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp runs (scripts/install-deps.sh --test installs it)")
}

#[tokio::test]
async fn a_hundred_calls_cut_by_kill_9_get_a_final_disposition_and_queued_callers_keep_their_place()
{
    let dir = tempfile::tempdir().unwrap();
    let hotline = Hotline::new(dir.path().join("data"), "43000-43999");
    a_hundred_calls_cut_by_kill_9_are_closed_at_restart(hotline, dir.path()).await;
}

/// The same on PostgreSQL, the server being one named node (issue 15: PostgreSQL serves
/// several nodes, and each closes its own cut calls).
#[tokio::test]
async fn on_postgres_a_hundred_calls_cut_by_kill_9_get_a_final_disposition_and_queued_callers_keep_their_place(
) {
    let Some(db) = PgDatabase::create("hotline_crash").await else {
        return;
    };
    let url = db.url.clone();
    // In a task of its own, so a failing assertion still drops the database.
    let outcome = tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let mut hotline = Hotline::on(dir.path().join("data"), "45000-45999", url);
        hotline.node = Some("pbx-a");
        a_hundred_calls_cut_by_kill_9_are_closed_at_restart(hotline, dir.path()).await;
    })
    .await;
    db.drop().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// 100 SIPp calls (50 in the menus, 30 recording a voicemail, 20 waiting in a queue), `kill
/// -9`, restart: every ticket has a final disposition, the queued callers' a call-back request.
async fn a_hundred_calls_cut_by_kill_9_are_closed_at_restart(
    mut hotline: Hotline,
    dir: &std::path::Path,
) {
    // One address places all the calls: lift the per-source limits for it.
    let config = dir.join("hotline.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_calls_per_source = 200\nnew_calls_per_source_per_minute = 500\nmax_media_lag_ms = 0\n\
         [media]\nrtp_timeout_secs = 300\n",
    )
    .unwrap();
    hotline.config = Some(config);
    // A network team with nobody on call: its callers wait in the queue.
    let team = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["teams", "set", "network", "--time-zone", "Europe/Paris"])
        .args(["--categories", "network", "--database-url", &hotline.url])
        .output()
        .unwrap();
    assert!(team.status.success(), "{team:?}");
    hotline.start().await;
    let store = hotline.store().await;
    let mut events = hotline.events().await;
    let all = hotline::store::TicketFilter {
        limit: 1000,
        ..Default::default()
    };

    // 50 callers in the menus (no key pressed); 30 through the menu to the voicemail: skip the
    // welcome, English, software, only me, degraded (P4: voicemail); 20 to the network team's
    // queue: English, network, the whole company, a request (P3). No key twice in a row: the
    // pcaps replay the same RTP timestamps, so a repeat is the same event.
    let target = hotline.sip_addr();
    let menus = sipp_callers(target, 50, None, 5_550_000);
    let voicemail = sipp_callers(target, 30, Some(["pound", "1", "2", "3", "2"]), 5_560_000);
    let queue = sipp_callers(target, 20, Some(["pound", "1", "3", "1", "3"]), 5_570_000);
    // Each answer and each menu step is announced on /events: look again after each.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let tickets = store.list_tickets(&all).await.unwrap();
        let at = |node: &str| {
            tickets
                .iter()
                .filter(|t| t.disposition_detail.as_deref() == Some(node))
                .count()
        };
        // Waiting means joined: the queue's own event is written just after the node is entered.
        let mut waiting = 0;
        for t in tickets
            .iter()
            .filter(|t| t.disposition_detail.as_deref() == Some("queue"))
        {
            let events = store.events(t.id).await.unwrap();
            waiting += usize::from(events.iter().any(|e| e.kind == CallEventKind::Queued));
        }
        let recording = at("voicemail");
        if tickets.len() == 100 && recording == 30 && waiting == 20 {
            break;
        }
        assert!(
            events.next_change(deadline).await,
            "{} tickets, {recording} recording a voicemail, {waiting} queued ({:?}); server log:\n{}",
            tickets.len(),
            tickets
                .iter()
                .map(|t| t.disposition_detail.clone().unwrap_or_default())
                .collect::<std::collections::BTreeSet<_>>(),
            std::fs::read_to_string(hotline.log()).unwrap_or_default()
        );
    }
    hotline.kill();
    let cut = store.list_tickets(&all).await.unwrap();
    assert_eq!(cut.len(), 100);
    assert!(cut.iter().all(|t| t.disposition == Disposition::InProgress));

    hotline.start().await;
    let after = store.list_tickets(&all).await.unwrap();
    assert_eq!(after.len(), 100, "no ticket lost, none added");
    let still_open: Vec<_> = after
        .iter()
        .filter(|t| t.disposition == Disposition::InProgress)
        .map(|t| t.reference.to_string())
        .collect();
    assert!(still_open.is_empty(), "left in progress: {still_open:?}");
    let count = |disposition: Disposition| {
        after
            .iter()
            .filter(|t| t.disposition == disposition)
            .count()
    };
    // Recordings without speech (SIPp sends none) close as failed calls, like the menus; the
    // callers who were waiting keep their place as call-back requests.
    assert_eq!(count(Disposition::CallbackRequested), 20);
    assert_eq!(count(Disposition::Failed), 80);
    let cut_at_voicemail = after
        .iter()
        .filter(|t| t.disposition_detail.as_deref() == Some("server restarted at voicemail"))
        .count();
    assert_eq!(
        cut_at_voicemail, 30,
        "the voicemail callers say where they were cut"
    );
    for mut sipp in [menus, voicemail, queue] {
        let _ = sipp.kill();
        let _ = sipp.wait();
    }
    hotline.kill();
}
