//! baresip driven as a softphone: a configuration directory per process (accounts line,
//! aufile microphone, sndfile recording), `ctrl_tcp` netstrings for commands and events, the
//! process killed when the softphone is dropped.

use crate::support::server::TestServer;
use hotline::sip::registrar::Transport;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The SIP password every softphone's account carries.
pub const PASSWORD: &str = "correct-horse-battery";

/// The longest any baresip here lives (`-t`), whatever happens to the test.
const LIFETIME_SECS: u32 = 90;

/// A port free on loopback for both UDP and TCP (baresip's `sip_listen` takes both).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whose phone a baresip is.
#[derive(Clone, Copy)]
pub enum Line {
    /// A technician's: registers over the transport with the SIP password, answers by itself.
    Technician(Transport),
    /// An employee calling the helpdesk: no registration, no password.
    Caller,
    /// The same, over TLS to the server's TLS port.
    CallerOverTls,
    /// The same with SRTP required (`mediaenc=srtp-mand`: RTP/SAVP with SDES keys).
    CallerOverTlsWithSrtp,
}

/// The server's address for `transport`: its TLS port for TLS.
fn server_for(server: &TestServer, transport: Transport) -> SocketAddr {
    match transport {
        Transport::Tls => server.sip_tls.expect("the server listens for TLS"),
        _ => server.sip,
    }
}

/// The CA a TLS server's certificate is signed by: `ca.pem` beside the certificate, where
/// `support::tls::TestPki` writes it.
fn trusted_ca(server: &TestServer) -> Option<PathBuf> {
    let cert = server.config.sip.tls_cert.as_ref()?;
    Some(cert.with_file_name("ca.pem"))
}

/// One baresip process with its configuration directory and its `ctrl_tcp` connection.
pub struct Softphone {
    pub child: Child,
    dir: tempfile::TempDir,
    /// Where baresip listens for SIP (UDP and TCP).
    pub sip: SocketAddr,
    ctrl: TcpStream,
    /// Bytes read from `ctrl` not yet parsed into a netstring.
    pending: Vec<u8>,
    /// Events read while waiting for something else, oldest first.
    events: Vec<Value>,
}

impl Softphone {
    /// Starts baresip as `user` on `line` (a technician's registers every 60 s and answers by
    /// itself), its microphone playing `microphone` (8 kHz mono), everything it hears and sends
    /// dumped to WAV files (sndfile).
    pub async fn start(
        server: &TestServer,
        user: &str,
        line: Line,
        microphone: &[i16],
    ) -> Softphone {
        let dir = tempfile::tempdir().unwrap();
        let (sip_port, ctrl_port) = (free_port(), free_port());
        let speak = dir.path().join("speak.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(&speak, spec).unwrap();
        for &s in microphone {
            wav.write_sample(s).unwrap();
        }
        wav.finalize().unwrap();
        // No sound card: aufile is the microphone, sndfile records both directions, and no
        // player is needed. `net_interface` keeps the SDP on loopback (not the first interface's address).
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             net_interface 127.0.0.1\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module srtp.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             snd_path {dir}\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n\
             audio_source aufile,{speak}\n",
            dir = dir.path().display(),
            speak = speak.display(),
        );
        let mut config = config;
        if let Some(ca) = trusted_ca(server) {
            // Given the test CA as a phone would be given the company's. Debian's baresip 1.0
            // (libre 1.1) does not enforce it: with a CA that did not sign Hotline's
            // certificate it connects all the same (tried by hand); tests/tls.rs proves a
            // verifying client accepts the certificate and a stranger's CA is refused.
            config.push_str(&format!("sip_cafile {}\n", ca.display()));
        }
        std::fs::write(dir.path().join("config"), config).unwrap();
        let account = match line {
            // Hotline rings a phone on TLS with an SRTP offer, which baresip refuses (488)
            // unless the account has SRTP on.
            Line::Technician(Transport::Tls) => format!(
                "<sip:{user}@{};transport=tls>;auth_pass={PASSWORD};regint=60;answermode=auto;\
                 mediaenc=srtp-mand\n",
                server_for(server, Transport::Tls),
            ),
            Line::Technician(transport) => format!(
                "<sip:{user}@{};transport={}>;auth_pass={PASSWORD};regint=60;answermode=auto\n",
                server_for(server, transport),
                transport.as_str(),
            ),
            Line::Caller => format!("<sip:{user}@{}>;regint=0\n", server.sip),
            Line::CallerOverTls => format!(
                "<sip:{user}@{};transport=tls>;regint=0\n",
                server_for(server, Transport::Tls)
            ),
            Line::CallerOverTlsWithSrtp => format!(
                "<sip:{user}@{};transport=tls>;regint=0;mediaenc=srtp-mand\n",
                server_for(server, Transport::Tls)
            ),
        };
        std::fs::write(dir.path().join("accounts"), account).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            // -s: the SIP trace goes to the log too, for the assertions and for a failure.
            .args(["-v", "-s", "-t", &LIFETIME_SECS.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("baresip runs (scripts/install-deps.sh --test installs baresip-core)");
        let ctrl_addr: SocketAddr = format!("127.0.0.1:{ctrl_port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let ctrl = loop {
            match TcpStream::connect(ctrl_addr).await {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline || child.try_wait().unwrap().is_some() => {
                    panic!("baresip's ctrl_tcp never listened ({e}):\n{}", log_of(&dir))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        Softphone {
            child,
            sip: format!("127.0.0.1:{sip_port}").parse().unwrap(),
            dir,
            ctrl,
            pending: Vec::new(),
            events: Vec::new(),
        }
    }

    /// baresip's verbose log so far.
    pub fn log(&self) -> String {
        log_of(&self.dir)
    }

    /// The next netstring from `ctrl_tcp` (`LEN:JSON,`), parsed; None after `deadline`.
    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            if let Some(colon) = self.pending.iter().position(|&b| b == b':') {
                let len: usize = std::str::from_utf8(&self.pending[..colon])
                    .unwrap()
                    .parse()
                    .unwrap();
                if self.pending.len() > colon + len + 1 {
                    let body = self.pending[colon + 1..colon + 1 + len].to_vec();
                    self.pending.drain(..colon + len + 2);
                    return Some(serde_json::from_slice(&body).unwrap());
                }
            }
            let mut buf = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.ctrl.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => self.pending.extend_from_slice(&buf[..n]),
                _ => return None,
            }
        }
    }

    /// Sends a `ctrl_tcp` command and waits for its response; events read meanwhile are kept.
    pub async fn command(&mut self, command: &str, params: &str) -> Value {
        let token = format!("t{}", rand::random::<u32>());
        let body = json!({"command": command, "params": params, "token": token}).to_string();
        let netstring = format!("{}:{body},", body.len());
        self.ctrl.write_all(netstring.as_bytes()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.next_message(deadline).await {
                Some(m) if m["response"] == true && m["token"] == token.as_str() => return m,
                Some(m) => self.events.push(m),
                None => panic!("no response to {command} {params}:\n{}", self.log()),
            }
        }
    }

    /// Waits for the event of `kind` (e.g. `CALL_ESTABLISHED`), at most `limit`.
    pub async fn event(&mut self, kind: &str, limit: Duration) -> Value {
        if let Some(pos) = self.events.iter().position(|e| e["type"] == kind) {
            return self.events.remove(pos);
        }
        let deadline = Instant::now() + limit;
        loop {
            match self.next_message(deadline).await {
                Some(m) if m["event"] == true && m["type"] == kind => return m,
                Some(m) => self.events.push(m),
                None => panic!(
                    "baresip reported no {kind} within {limit:?}; events: {:?}\n{}",
                    self.events,
                    self.log()
                ),
            }
        }
    }

    /// Asks baresip to quit (it unregisters first) and waits for it to exit.
    pub async fn quit(&mut self) {
        self.command("quit", "").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "baresip did not quit:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What baresip heard on its last call (sndfile's `dump-…-dec.wav`), 8 kHz PCM.
    pub fn heard(&self) -> Vec<i16> {
        let mut dumps: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        dumps.sort();
        let last = dumps
            .last()
            .unwrap_or_else(|| panic!("baresip recorded no call:\n{}", self.log()));
        wav_samples(last)
    }
}

impl Drop for Softphone {
    fn drop(&mut self) {
        // Only this test's process, by its handle; already gone after `quit`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
}

/// The samples of a 16-bit mono WAV: everything after the `data` chunk's header, so a file
/// whose sizes were not finalised still reads.
fn wav_samples(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .unwrap_or_else(|| panic!("{} has no data chunk", path.display()));
    bytes[data + 8..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}
