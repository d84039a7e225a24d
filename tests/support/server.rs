//! Starts the real Hotline server on ephemeral ports with the bundled dialplan and prompts, a
//! temporary data directory and its own SQLite database.

use hotline::config::{Config, PortRange};
use hotline::server::Server;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub struct TestServer {
    pub server: Option<Server>,
    pub sip: SocketAddr,
    /// SIP over TLS, when the configuration turns it on.
    pub sip_tls: Option<SocketAddr>,
    /// The web log (HTTP).
    pub http: SocketAddr,
    pub data: tempfile::TempDir,
    pub config: Config,
}

/// Whether the tests run as root (effective uid 0): mounting a tmpfs or running a private
/// PostgreSQL needs it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A configuration for tests: loopback, port 0, RTP ports unique to this process and test.
pub fn test_config(data: &Path) -> Config {
    // A random slice of the port space per server, so parallel tests rarely meet; the pool
    // skips ports another process holds anyway.
    let base = 20000 + 2 * (rand::random::<u16>() % 17000);
    let mut config = Config::default();
    config.sip.listen = "127.0.0.1:0".parse().unwrap();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.media.rtp_ports = PortRange(base..=base + 999);
    config.data_dir = data.to_path_buf();
    config.dialplan = repo().join("dialplans/hotline.toml");
    config.prompts = repo().join("prompts");
    // Most tests don't need speech recognition; the ones that do turn it on.
    config.transcription.enabled = false;
    // Workers at nice 19 (the default) would wait behind every other test on a busy CI
    // machine, and a test waiting for a transcript would time out instead of checking it.
    // tests/crash.rs runs the binary with the defaults.
    config.transcription.nice = 0;
    // Test servers share the process (and its media-lag gauge) and a busy CI machine: a call
    // refused because another test's loop ran late would fail the wrong test.
    config.limits.max_media_lag_ms = 0;
    config
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut config = test_config(data.path());
        adjust(&mut config);
        let server = Server::start(config.clone()).await.expect("server starts");
        TestServer {
            sip: server.sip_addr(),
            sip_tls: server.sip_tls_addr(),
            http: server.http_addr(),
            server: Some(server),
            data,
            config,
        }
    }

    pub async fn shutdown(&mut self) {
        if let Some(s) = self.server.as_mut() {
            s.shutdown().await;
        }
    }
}
