//! Nothing is lost when the server dies: a voicemail cut by `kill -9` is repaired at the next
//! start, and its transcript arrives.

#[path = "support/mod.rs"]
mod support;

use hotline::store::Store;
use hotline::tickets::PriorityMatrix;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
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

fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "serve",
            "--sip-listen",
            &format!("127.0.0.1:{port}"),
            "--http-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data)
        .args(["--rtp-ports", "41000-41999"])
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.with_extension(format!("{port}.log"))).unwrap())
        .spawn()
        .unwrap()
}

async fn wait_until_listening(server: &mut Child, data: &std::path::Path, port: u16) {
    for _ in 0..150 {
        if let Ok(Some(status)) = server.try_wait() {
            let log = std::fs::read_to_string(data.with_extension(format!("{port}.log")))
                .unwrap_or_default();
            panic!("server exited ({status}) before answering:\n{log}");
        }
        let mut ua = Ua::udp(format!("127.0.0.1:{port}").parse().unwrap()).await;
        let options = ua.request("OPTIONS", None, None);
        ua.send_raw(options.as_bytes()).await;
        if ua
            .final_response(Duration::from_millis(200))
            .await
            .is_some()
        {
            return;
        }
    }
    panic!("server did not start");
}

#[tokio::test]
async fn a_voicemail_cut_by_a_crash_is_repaired_and_transcribed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);
    wait_until_listening(&mut server, &data, port).await;

    let mut ua = Ua::udp(format!("127.0.0.1:{port}").parse().unwrap()).await;
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
    server.kill().unwrap(); // SIGKILL mid-recording: no shutdown, no WAV finalisation
    server.wait().unwrap();

    let url = format!("sqlite://{}", data.join("hotline.db").display());
    let store = Store::connect(&url, PriorityMatrix::default())
        .await
        .unwrap();
    let ticket = store
        .ticket_by_call_id(&ua.call_id)
        .await
        .unwrap()
        .expect("the ticket survived");
    assert_eq!(
        ticket.recording_end_cause.as_deref(),
        Some("recording"),
        "the crash cut the recording"
    );
    let path = ticket.recording_path.clone().unwrap();

    let mut server = start(&data, port);
    wait_until_listening(&mut server, &data, port).await;
    let reader = hound::WavReader::open(&path).expect("repaired at start-up");
    assert!(
        reader.duration() > 8000 * 4,
        "most of the 5.8 s of speech kept: {} samples",
        reader.duration()
    );
    let mut transcript = None;
    for _ in 0..900 {
        if let Some(t) = store
            .ticket(ticket.id)
            .await
            .unwrap()
            .and_then(|t| t.transcript)
        {
            transcript = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    let _ = server.wait();
    let text = transcript.expect("transcript after restart").to_lowercase();
    assert!(text.contains("printer"), "{text}");
    let t = store.ticket(ticket.id).await.unwrap().unwrap();
    assert_eq!(t.recording_end_cause.as_deref(), Some("interrupted"));
    assert_eq!(
        store.transcription_counts().await.unwrap().done,
        1,
        "transcribed exactly once"
    );
}
