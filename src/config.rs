//! Configuration: `hotline.toml` (every key optional), overridden by command-line flags and
//! environment variables. Documented in docs/configuration.md.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// A range of UDP ports for RTP, written `10000-19999`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange(pub RangeInclusive<u16>);

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not a range like 10000-19999"))?;
        let a: u16 = a
            .trim()
            .parse()
            .map_err(|_| format!("`{a}` is not a port"))?;
        let b: u16 = b
            .trim()
            .parse()
            .map_err(|_| format!("`{b}` is not a port"))?;
        if a == 0 || a > b || b - a < 1 {
            return Err(format!(
                "`{s}` must be two ports, low-high, with room for at least one call"
            ));
        }
        Ok(PortRange(a..=b))
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// SIP settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Where UDP and TCP listen (one port for both).
    pub listen: SocketAddr,
    /// The address written in Contact, Via and SDP when listening on 0.0.0.0; by default the
    /// local address that routes towards each caller.
    pub public_ip: Option<IpAddr>,
    /// RFC 3261 T1 in milliseconds (retransmission base).
    pub t1_ms: u64,
    /// Ring (180 Ringing) this long before answering, in milliseconds; 0 answers at once.
    pub ring_ms: u64,
    /// Where call-backs to callers go (UDP): a PBX or SIP trunk that reaches the callers'
    /// numbers as `sip:NUMBER@gateway`. Unset: "Call back" is refused.
    pub outbound_gateway: Option<SocketAddr>,
    /// Where SIP over TLS listens (usually port 5061); unset: no TLS. Needs `tls_cert` and
    /// `tls_key`.
    pub tls_listen: Option<SocketAddr>,
    /// PEM file: the server certificate, then any intermediate certificates.
    pub tls_cert: Option<PathBuf>,
    /// PEM file: the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Calls over TLS must use SRTP (RTP/SAVP with SDES keys): a plain-RTP offer over TLS gets
    /// 488. Off by default: over TLS SRTP is taken when offered, plain RTP otherwise.
    pub tls_require_srtp: bool,
}

/// A certificate chain and its key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Both files or neither; one without the other is a mistake worth stopping for.
    fn pair(
        section: &'static str,
        cert: &Option<PathBuf>,
        key: &Option<PathBuf>,
    ) -> Result<Option<TlsFiles>, ConfigError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid {
                field: section,
                message: "tls_cert is set but tls_key is not".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                field: section,
                message: "tls_key is set but tls_cert is not".into(),
            }),
        }
    }
}

impl SipConfig {
    /// Where SIP over TLS listens and with which files, if it is on.
    pub fn tls(&self) -> Result<Option<(SocketAddr, TlsFiles)>, ConfigError> {
        let files = TlsFiles::pair("[sip]", &self.tls_cert, &self.tls_key)?;
        match (self.tls_listen, files) {
            (Some(addr), Some(files)) => Ok(Some((addr, files))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid {
                field: "[sip]",
                message: "tls_listen is set but tls_cert and tls_key are not".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                field: "[sip]",
                message: "tls_cert and tls_key are set but tls_listen is not \
                          (e.g. tls_listen = \"0.0.0.0:5061\")"
                    .into(),
            }),
        }
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: "0.0.0.0:5060".parse().expect("valid"),
            public_ip: None,
            t1_ms: 500,
            ring_ms: 0,
            outbound_gateway: None,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_require_srtp: false,
        }
    }
}

/// Media settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// UDP ports for RTP, one even port per call.
    pub rtp_ports: PortRange,
    /// A call whose caller sends no RTP for this long is ended (seconds).
    pub rtp_timeout_secs: u64,
    /// When the caller's audio is searched for DTMF tones: `always`, `until_rfc4733` (until
    /// the phone sends an RFC 4733 event) or `never`.
    pub inband_dtmf: crate::media::dtmf::InbandPolicy,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_ports: PortRange(10000..=19999),
            rtp_timeout_secs: 30,
            inband_dtmf: crate::media::dtmf::InbandPolicy::UntilRfc4733,
        }
    }
}

/// Web log settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (the
    /// client's address for the login limiter; HTTPS for Secure cookies and HSTS).
    pub trusted_proxies: Vec<IpAddr>,
    /// Browsers always reach the web log over HTTPS (a TLS proxy in front of it): cookies are
    /// Secure and HSTS is sent whatever the proxy says.
    pub https: bool,
    /// A client has this long to send a request's headers (slowloris), in milliseconds.
    pub header_read_timeout_ms: u64,
    /// Who may read `GET /metrics` (docs/operations.md).
    pub metrics: MetricsAccess,
    /// Serve HTTPS with this certificate chain (PEM; may be the SIP one) instead of HTTP.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub tls_key: Option<PathBuf>,
}

impl HttpConfig {
    /// The certificate and key the web log serves HTTPS with, if set.
    pub fn tls(&self) -> Result<Option<TlsFiles>, ConfigError> {
        TlsFiles::pair("[http]", &self.tls_cert, &self.tls_key)
    }
}

/// Who may read the Prometheus metrics. They name no caller, but they tell anyone how busy the
/// helpdesk is and how a flood is being refused, so the default keeps them on the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAccess {
    /// Clients on the loopback address only (after `trusted_proxies`: a request a proxy
    /// forwards from elsewhere is refused).
    #[default]
    Local,
    /// Any client with a web log API token (`Authorization: Bearer …`), or a logged-in session.
    Token,
    /// Anyone who reaches the port: firewall it.
    Open,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".parse().expect("valid"),
            trusted_proxies: Vec::new(),
            https: false,
            header_read_timeout_ms: 10_000,
            metrics: MetricsAccess::Local,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// The registrar for technicians' phones (`[registrar]`, docs/phones.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarConfig {
    /// The digest realm phones authenticate in. HA1 digests include it: changing it means
    /// setting every SIP password again.
    pub realm: String,
    /// Digest challenges offered, in this order (MD5, SHA-256 by default: many clients only
    /// read the first one).
    pub algorithms: Vec<crate::sip::digest::Algorithm>,
    /// Shortest registration granted (seconds); shorter requests get 423 with Min-Expires.
    pub min_expires: u32,
    /// Longest registration granted (seconds); longer requests are shortened.
    pub max_expires: u32,
    /// Granted when a REGISTER names no expiry.
    pub default_expires: u32,
    /// Devices one technician may have registered at once.
    pub max_devices: usize,
    /// How long a challenge's nonce may be answered (seconds); later answers get `stale=true`.
    pub nonce_lifetime_secs: u64,
    /// OPTIONS keep-alive to each registered phone every this many seconds (0: never).
    pub keepalive_secs: u64,
    /// Failed authentications tolerated per source address within the window.
    pub failures_per_source: u32,
    /// Failed authentications tolerated per user name within the window.
    pub failures_per_user: u32,
    /// The rate-limit window (seconds).
    pub failure_window_secs: u64,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            realm: "hotline".into(),
            algorithms: crate::sip::digest::Algorithm::DEFAULT_OFFER.to_vec(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_devices: 10,
            nonce_lifetime_secs: 300,
            keepalive_secs: 30,
            failures_per_source: 10,
            failures_per_user: 20,
            failure_window_secs: 300,
        }
    }
}

impl RegistrarConfig {
    pub fn expiry_limits(&self) -> crate::sip::registrar::ExpiryLimits {
        crate::sip::registrar::ExpiryLimits {
            min: self.min_expires,
            max: self.max_expires.max(self.min_expires),
            default: self
                .default_expires
                .clamp(self.min_expires, self.max_expires.max(self.min_expires)),
            max_bindings: self.max_devices,
        }
    }

    pub fn failure_limits(&self) -> crate::sip::digest::FailureLimits {
        crate::sip::digest::FailureLimits {
            per_source: self.failures_per_source.max(1),
            per_user: self.failures_per_user.max(1),
            window: Duration::from_secs(self.failure_window_secs),
        }
    }
}

/// Everything Hotline needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sip: SipConfig,
    pub media: MediaConfig,
    pub http: HttpConfig,
    pub registrar: RegistrarConfig,
    /// Limits that keep a public SIP port answering under scans and floods.
    pub limits: crate::sip::limits::Limits,
    /// Recordings, the SQLite database and other state.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data_dir>/hotline.db`.
    pub database_url: Option<String>,
    /// This node's name, recorded on the tickets of the calls it takes; default the host name.
    /// Nodes sharing a PostgreSQL database need distinct names: at start a node closes the
    /// calls its own crash cut, found by this name.
    pub node: Option<crate::store::NodeName>,
    /// The dialplan the calls run through.
    pub dialplan: PathBuf,
    /// Prompt audio: `<prompts>/<language>/<name>.wav`.
    pub prompts: PathBuf,
    /// The caller directory (CSV: number,name,department,email) imported at start-up, if set.
    pub directory_csv: Option<PathBuf>,
    /// Impact × urgency → priority, and the response target of each priority.
    pub priorities: crate::tickets::PriorityMatrix,
    /// Voicemail transcription.
    pub transcription: crate::transcribe::worker::TranscriptionConfig,
    /// Routing calls to technicians.
    pub routing: RoutingConfig,
    /// The recordings disk (`<data_dir>/recordings`).
    pub recordings: RecordingsConfig,
    /// The web log as a phone (WebRTC).
    pub browser_phone: BrowserPhoneConfig,
}

/// Recordings settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingsConfig {
    /// A recording is only started while the recordings disk has at least this much free
    /// (KiB); under it calls go on without recording. Default 65536 (64 MiB): a few minutes of
    /// voicemail is a few MB, and the rest of the disk may hold the database.
    pub min_free_kib: u64,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        RecordingsConfig {
            min_free_kib: 64 * 1024,
        }
    }
}

/// The browser phone gateway (docs/web.md, "Phone in the browser").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrowserPhoneConfig {
    /// Off: `/phone` is 404 and no page becomes a phone.
    pub enabled: bool,
    /// The gateway's own SIP port on the SIP listen IP; 0 picks a free one.
    pub sip_port: u16,
    /// STUN/TURN URLs (`stun:stun.example.org:3478`) for technicians outside the LAN, given
    /// to the gateway and to the pages.
    pub ice_servers: Vec<String>,
    /// Also offer loopback ICE candidates (a browser on the server's machine).
    pub include_loopback: bool,
}

impl Default for BrowserPhoneConfig {
    fn default() -> Self {
        BrowserPhoneConfig {
            enabled: true,
            sip_port: 0,
            ice_servers: Vec::new(),
            include_loopback: true,
        }
    }
}

/// Routing settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Teams whose conversations with callers are recorded (both directions, stereo), and
    /// attached to the ticket; `"*"` records every team's. Empty: nothing is recorded.
    pub record_teams: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sip: SipConfig::default(),
            media: MediaConfig::default(),
            http: HttpConfig::default(),
            registrar: RegistrarConfig::default(),
            limits: Default::default(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            node: None,
            dialplan: PathBuf::from("dialplans/hotline.toml"),
            prompts: PathBuf::from("prompts"),
            directory_csv: None,
            priorities: crate::tickets::PriorityMatrix::default(),
            transcription: Default::default(),
            routing: Default::default(),
            recordings: Default::default(),
            browser_phone: Default::default(),
        }
    }
}

impl Config {
    /// Reads a configuration file; every key has a default.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text; the error names the line and column.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            format!("{location}{}", e.message())
        })
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hotline.db").display()))
    }

    /// The configured node name, or the host name (`hotline` if it has none usable).
    pub fn node(&self) -> crate::store::NodeName {
        self.node
            .clone()
            .unwrap_or_else(crate::store::NodeName::of_this_host)
    }

    pub fn rtp_timeout(&self) -> Duration {
        Duration::from_secs(self.media.rtp_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_documented_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.sip.listen.port(), 5060);
        assert_eq!(c.media.rtp_ports, PortRange(10000..=19999));
        assert_eq!(c.database_url(), "sqlite://data/hotline.db");
    }

    #[test]
    fn unknown_key_is_reported_with_its_line() {
        let err = Config::from_toml("[sip]\nlisten = \"0.0.0.0:5060\"\nlissten = 1\n").unwrap_err();
        assert!(
            err.starts_with("line 3, column 1: unknown field `lissten`"),
            "{err}"
        );
    }

    #[test]
    fn http_proxies_are_addresses_and_a_typo_names_its_line() {
        let c =
            Config::from_toml("[http]\ntrusted_proxies = [\"10.0.0.1\", \"::1\"]\nhttps = true\n")
                .unwrap();
        assert_eq!(c.http.trusted_proxies.len(), 2);
        assert!(c.http.https);
        assert_eq!(c.http.header_read_timeout_ms, 10_000);
        assert_eq!(c.http.metrics, MetricsAccess::Local);
        let c = Config::from_toml("[http]\nmetrics = \"token\"\n").unwrap();
        assert_eq!(c.http.metrics, MetricsAccess::Token);
        let err = Config::from_toml("[http]\nmetrics = \"public\"\n").unwrap_err();
        assert!(err.starts_with("line 2") && err.contains("open"), "{err}");
        let err = Config::from_toml("[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }

    #[test]
    fn registrar_limits_come_from_its_section() {
        let c = Config::from_toml("[registrar]\nrealm = \"corp\"\nmin_expires = 120\n").unwrap();
        assert_eq!(c.registrar.realm, "corp");
        let limits = c.registrar.expiry_limits();
        assert_eq!((limits.min, limits.max, limits.default), (120, 3600, 3600));
        assert_eq!(Config::default().registrar.keepalive_secs, 30);
    }

    #[test]
    fn inband_dtmf_policy_is_read_and_a_typo_is_refused() {
        use crate::media::dtmf::InbandPolicy;
        assert_eq!(
            Config::from_toml("").unwrap().media.inband_dtmf,
            InbandPolicy::UntilRfc4733
        );
        let c = Config::from_toml("[media]\ninband_dtmf = \"never\"\n").unwrap();
        assert_eq!(c.media.inband_dtmf, InbandPolicy::Never);
        let err = Config::from_toml("[media]\ninband_dtmf = \"sometimes\"\n").unwrap_err();
        assert!(err.contains("until_rfc4733"), "{err}");
    }

    #[test]
    fn limits_can_be_set_and_the_scanner_list_emptied() {
        let c = Config::from_toml("[limits]\nmax_calls = 7\nscanner_user_agents = []\n").unwrap();
        assert_eq!(c.limits.max_calls, 7);
        assert!(c.limits.scanner_user_agents.is_empty());
        assert_eq!(c.limits.max_message_bytes, 65536);
    }

    #[test]
    fn transcription_decoding_prompt_and_vocabulary_are_read() {
        use crate::transcribe::decoding::{AudioWindow, Search};
        let c = Config::from_toml(
            "[transcription]\ndecoding = \"greedy\"\nprompt = false\n\
             vocabulary = [\"Contoso\", \"Northwind Payroll\"]\naudio_window = \"fitted\"\n",
        )
        .unwrap()
        .transcription;
        assert_eq!(c.decoding, Search::Greedy);
        assert_eq!(c.audio_window, AudioWindow::FITTED);
        let settings = c.decode_settings().unwrap();
        assert!(!settings.prompt);
        assert_eq!(
            settings.vocabulary.words(),
            ["Contoso", "Northwind Payroll"]
        );
        let c = Config::from_toml("[transcription]\ndecoding = \"beam8\"\n").unwrap();
        assert_eq!(c.transcription.decoding, Search::Beam { beam_size: 8 });
        let parts = Config::from_toml(
            "[transcription]\ndecoding = \"beam8\"\ntemperature_fallback = true\n\
             part_decoding = \"greedy\"\npart_fallback = false\npart_tokens_per_second = 9\n",
        )
        .unwrap()
        .transcription
        .decode_settings()
        .unwrap();
        assert_eq!(
            (parts.search, parts.temperature_fallback),
            (Search::Beam { beam_size: 8 }, true),
            "the final pass keeps `decoding` and `temperature_fallback`"
        );
        assert_eq!(parts.parts.search, Search::Greedy);
        assert!(!parts.parts.temperature_fallback);
        assert_eq!(parts.parts.token_budget.map(|b| b.per_second), Some(9));
        let none = Config::from_toml("[transcription]\npart_tokens_per_second = 0\n").unwrap();
        assert_eq!(
            none.transcription
                .decode_settings()
                .unwrap()
                .parts
                .token_budget,
            None,
            "0: whisper's own limit"
        );
    }

    #[test]
    fn transcription_defaults_are_the_measured_best() {
        use crate::transcribe::decoding::{AudioWindow, Search};
        let c = Config::from_toml("").unwrap().transcription;
        assert_eq!(c.decoding, Search::BEAM5);
        assert!(c.prompt);
        assert_eq!(c.audio_window, AudioWindow::Fitted { at_least_secs: 10 });
        assert!(c.part_context);
        let policy = c.chunk_policy();
        assert_eq!(
            (policy.min, policy.max),
            (
                std::time::Duration::from_secs(6),
                std::time::Duration::from_secs(10)
            ),
            "parts of 6–10 s cut at pauses"
        );
        // The parts' 10 s window: the whole recording gets its final pass.
        assert_eq!(c.final_pass(), crate::transcribe::worker::FinalPass::Always);
        let settings = c.decode_settings().unwrap();
        assert!(settings.vocabulary.words().is_empty());
        // The draft: beam 5 too, no fallback, 8 tokens a second; the final pass falls back.
        assert_eq!(settings.parts.search, Search::BEAM5);
        assert!(!settings.parts.temperature_fallback && settings.temperature_fallback);
        assert_eq!(settings.parts.token_budget.map(|b| b.per_second), Some(8));
        assert_eq!(c.threads, 0, "a job alone takes every core");
    }

    #[test]
    fn a_wrong_decoding_or_window_names_its_line_and_the_choices() {
        let err = Config::from_toml("[transcription]\nenabled = true\ndecoding = \"beam1\"\n")
            .unwrap_err();
        assert!(err.starts_with("line 3") && err.contains("beam5"), "{err}");
        let err = Config::from_toml("[transcription]\naudio_window = \"half\"\n").unwrap_err();
        assert!(err.starts_with("line 2") && err.contains("fitted"), "{err}");
    }

    #[test]
    fn a_vocabulary_file_is_read_at_start_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("names.txt");
        std::fs::write(&file, "# products\nFabrikam Portal\n").unwrap();
        let toml = format!(
            "[transcription]\nvocabulary = [\"Contoso\"]\nvocabulary_file = \"{}\"\n",
            file.display()
        );
        let c = Config::from_toml(&toml).unwrap().transcription;
        let words = c.decode_settings().unwrap().vocabulary;
        assert_eq!(words.words(), ["Contoso", "Fabrikam Portal"]);
        std::fs::remove_file(&file).unwrap();
        let err = c.decode_settings().unwrap_err().to_string();
        assert!(err.contains("names.txt"), "{err}");
    }

    #[test]
    fn tls_is_off_by_default_and_needs_all_its_keys() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.sip.tls().unwrap(), None);
        assert_eq!(c.http.tls().unwrap(), None);
        let c = Config::from_toml(
            "[sip]\ntls_listen = \"0.0.0.0:5061\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [http]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        )
        .unwrap();
        let (addr, files) = c.sip.tls().unwrap().unwrap();
        assert_eq!(addr.port(), 5061);
        assert_eq!(files.key, PathBuf::from("k.pem"));
        assert_eq!(c.http.tls().unwrap().unwrap().cert, PathBuf::from("c.pem"));
        let no_key =
            Config::from_toml("[sip]\ntls_listen = \"0.0.0.0:5061\"\ntls_cert = \"c.pem\"\n")
                .unwrap();
        let err = no_key.sip.tls().unwrap_err().to_string();
        assert!(err.contains("[sip]") && err.contains("tls_key"), "{err}");
        let no_listen =
            Config::from_toml("[sip]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n").unwrap();
        let err = no_listen.sip.tls().unwrap_err().to_string();
        assert!(err.contains("tls_listen"), "{err}");
        let http_half = Config::from_toml("[http]\ntls_key = \"k.pem\"\n").unwrap();
        let err = http_half.http.tls().unwrap_err().to_string();
        assert!(err.contains("[http]") && err.contains("tls_cert"), "{err}");
    }

    #[test]
    fn the_node_name_is_read_and_a_bad_one_names_its_line() {
        let c = Config::from_toml("node = \"pbx-2\"\n").unwrap();
        assert_eq!(c.node().as_str(), "pbx-2");
        assert_eq!(
            Config::from_toml("").unwrap().node(),
            crate::store::NodeName::of_this_host()
        );
        for bad in ["node = \"\"", "node = \"pbx 2\""] {
            let err = Config::from_toml(&format!("data_dir = \"d\"\n{bad}\n")).unwrap_err();
            assert!(
                err.starts_with("line 2") && err.contains("node name"),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_port_range_is_explained() {
        let err = Config::from_toml("[media]\nrtp_ports = \"20000-10000\"\n").unwrap_err();
        assert!(err.contains("low-high"), "{err}");
    }
}
