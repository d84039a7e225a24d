//! Builds Hotline from its configuration and runs it: transports, endpoint, the helpdesk, the
//! web log, transcription, shutdown. Wiring only: what a call does is `helpdesk`'s.
//!
//! `start` returns the bound addresses, so tests run the real server on port 0.

use crate::call::answer::AnswerContext;
use crate::config::Config;
use crate::helpdesk::voicemail::{TranscriptionQueue, Voicemail};
use crate::helpdesk::{self, Helpdesk};
use crate::ivr::{self, DialplanReport};
use crate::media::port_pool::PortPool;
use crate::media::prompt::{PromptError, PromptLibrary};
use crate::media::rtp_session::RtpOptions;
use crate::sip::endpoint::{Endpoint, EndpointHandle, NewCall};
use crate::sip::transaction::Timers;
use crate::sip::transport::{TransportError, Transports};
use crate::store::{Store, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Why the server cannot start. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Prompts(#[from] PromptError),
    #[error(transparent)]
    Dialplan(#[from] DialplanReport),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Recover(#[from] crate::helpdesk::restart::RecoverError),
    #[error(transparent)]
    BrowserPhones(#[from] crate::browser::GatewayError),
    #[error(transparent)]
    Transcription(#[from] crate::transcribe::worker::TranscriberError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen for the web log on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// A running Hotline.
pub struct Server {
    sip_addr: SocketAddr,
    sip_tls_addr: Option<SocketAddr>,
    http_addr: SocketAddr,
    web: Option<tokio::task::JoinHandle<()>>,
    endpoint: EndpointHandle,
    helpdesk: Arc<Helpdesk>,
    config: Config,
    shutdown: watch::Sender<bool>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
    phones: crate::phones::Phones,
    transcriber: Option<crate::transcribe::worker::Transcriber>,
}

/// How long calls in progress get to end cleanly (BYE sent and answered) at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Server {
    /// Starts everything; fails before binding anything if the prompts or dialplan are invalid.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let prompts = Arc::new(PromptLibrary::load(&config.prompts)?);
        let dialplan = ivr::check_file(&config.dialplan, &config.prompts)?;
        // Certificates are read before anything binds: a wrong file stops the start, naming it.
        let sip_tls = match config.sip.tls()? {
            Some((addr, files)) => Some((
                addr,
                crate::tls::server_config(&files.cert, &files.key, &[])?,
            )),
            None => None,
        };
        let http_tls = match config.http.tls()? {
            Some(files) => Some(crate::tls::server_config(
                &files.cert,
                &files.key,
                &[b"http/1.1"],
            )?),
            None => None,
        };
        let store = Store::connect(&config.database_url(), config.priorities.clone())
            .await?
            .with_node(config.node());
        if let Some(csv) = &config.directory_csv {
            let n = store.import_directory_csv(csv).await?;
            tracing::info!(entries = n, file = %csv.display(), "caller directory imported");
        }
        let transcript_part = config.transcription.chunk_policy();
        // Recovery queues parts before the workers start; they find them at their first claim.
        let recovery = Voicemail::new(
            &config.data_dir,
            transcript_part,
            store.clone(),
            TranscriptionQueue::new(store.clone(), None),
        )
        .with_final_pass(config.transcription.final_pass());
        let kept_writes = helpdesk::kept_writes::KeptWrites::new(&config.data_dir);
        helpdesk::restart::recover(&store, &recovery, &kept_writes).await?;
        let transcriber = start_transcription(&config, &store)?;
        let (transports, inbound) =
            Transports::bind_with(config.sip.listen, config.limits.clone()).await?;
        let sip_addr = transports.local_addr();
        let sip_tls_addr = match sip_tls {
            Some((addr, tls)) => Some(transports.listen_tls(addr, tls).await?),
            None => None,
        };
        let timers = Timers {
            t1: Duration::from_millis(config.sip.t1_ms),
            ..Timers::default()
        };
        let http = crate::web::bind(config.http.listen)
            .await
            .map_err(|source| StartError::Http {
                addr: config.http.listen,
                source,
            })?;
        let http_addr = http.local_addr().map_err(|source| StartError::Http {
            addr: config.http.listen,
            source,
        })?;
        let (endpoint, new_calls, registers) =
            Endpoint::start_with_registrar(transports, inbound, timers);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let phones = crate::phones::start(
            endpoint.clone(),
            registers,
            store.clone(),
            config.registrar.clone(),
            config.sip.listen,
            config.sip.public_ip,
            shutdown_rx.clone(),
        );
        let ports = Arc::new(PortPool::new(
            config.media.rtp_ports.0.clone(),
            config.sip.listen.ip(),
        ));
        let browser_phones = if config.browser_phone.enabled {
            Some(
                crate::browser::BrowserPhones::start(
                    SocketAddr::new(config.sip.listen.ip(), config.browser_phone.sip_port),
                    config.sip.public_ip,
                    store.clone(),
                    ports.clone(),
                    crate::browser::peer::IceSettings {
                        servers: config.browser_phone.ice_servers.clone(),
                        include_loopback: config.browser_phone.include_loopback,
                    },
                    timers,
                )
                .await?,
            )
        } else {
            None
        };
        let voicemail = Voicemail::new(
            &config.data_dir,
            transcript_part,
            store.clone(),
            TranscriptionQueue::new(
                store.clone(),
                transcriber.as_ref().map(|t| t.wakeup.clone()),
            ),
        )
        .with_final_pass(config.transcription.final_pass())
        .keep_free(config.recordings.min_free_kib.saturating_mul(1024));
        let answer = AnswerContext {
            endpoint: endpoint.clone(),
            ports,
            public_ip: config.sip.public_ip,
            rtp: RtpOptions {
                inactivity_timeout: config.rtp_timeout(),
                inband_dtmf: config.media.inband_dtmf,
            },
            shutdown: shutdown_rx.clone(),
            ring: Duration::from_millis(config.sip.ring_ms),
            tls_require_srtp: config.sip.tls_require_srtp,
        };
        // A technician freed on another node wakes this node's waiting callers at once, and
        // every node's pages see every node's calls live.
        store.join_other_nodes();
        let helpdesk = Arc::new(
            Helpdesk::new(
                answer,
                prompts,
                dialplan,
                store,
                voicemail,
                phones.clone(),
                helpdesk::CallsOut {
                    gateway: config.sip.outbound_gateway,
                    conversations: helpdesk::routing::recorded::ConversationPolicy {
                        dir: config.data_dir.join("recordings"),
                        teams: config.routing.record_teams.clone(),
                    },
                },
            )
            .with_kept_writes(kept_writes),
        );
        let web_store = helpdesk.store().clone();
        let web_helpdesk = Some(helpdesk.clone());
        let web_shutdown = shutdown_rx.clone();
        let web_config = config.http.clone();
        let https = http_tls.is_some();
        let web = tokio::spawn(async move {
            if let Err(e) = crate::web::serve_over(
                http,
                crate::web::Serving {
                    tls: http_tls,
                    browser_phones,
                },
                web_store,
                web_helpdesk,
                web_config,
                Some(sip_addr),
                web_shutdown,
            )
            .await
            {
                tracing::error!(error = %e, "web log stopped");
            }
        });
        // Take requests from other nodes for this node's waiting callers (PostgreSQL only).
        let _remote_take =
            helpdesk::routing::remote_take::start(helpdesk.clone(), shutdown_rx.clone());
        let dispatcher = tokio::spawn(dispatch_calls(new_calls, helpdesk.clone(), shutdown_rx));
        tracing::info!(%sip_addr, "Hotline answering SIP on UDP and TCP");
        if let Some(tls) = sip_tls_addr {
            tracing::info!(%tls, "Hotline answering SIP over TLS");
        }
        let scheme = if https { "https" } else { "http" };
        tracing::info!(%http_addr, "web log on {scheme}://{http_addr}/");
        Ok(Server {
            sip_addr,
            sip_tls_addr,
            http_addr,
            web: Some(web),
            endpoint,
            helpdesk,
            config,
            shutdown,
            dispatcher: Some(dispatcher),
            phones,
            transcriber,
        })
    }

    /// The SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
    }

    /// The SIP over TLS address, when `[sip] tls_listen` is set.
    pub fn sip_tls_addr(&self) -> Option<SocketAddr> {
        self.sip_tls_addr
    }

    /// The web log's address (HTTP, or HTTPS with `[http] tls_cert`).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The ticket store, for tests and the web log.
    pub fn store(&self) -> &Store {
        self.helpdesk.store()
    }

    /// Technicians' registered phones (for routing and tests).
    pub fn phones(&self) -> &crate::phones::Phones {
        &self.phones
    }

    /// Re-reads and checks the dialplan; new calls use it, calls in progress keep theirs. An
    /// invalid file leaves the running dialplan in place.
    pub fn reload_dialplan(&self) -> Result<(), DialplanReport> {
        let plan = ivr::check_file(&self.config.dialplan, &self.config.prompts)?;
        self.helpdesk.set_dialplan(plan);
        tracing::info!(file = %self.config.dialplan.display(), "dialplan reloaded");
        Ok(())
    }

    /// Graceful shutdown: new INVITEs get 503, calls in progress are ended with BYE. The SIP
    /// transports keep answering (503) until the `Server` is dropped.
    pub async fn shutdown(&mut self) {
        tracing::info!("shutting down: refusing new calls, ending calls in progress");
        self.endpoint.stop_accepting().await;
        let _ = self.shutdown.send(true);
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.await;
        }
        if let Some(web) = self.web.take() {
            // Graceful: requests in flight finish; a stuck client cannot hold the shutdown.
            if tokio::time::timeout(Duration::from_secs(5), web)
                .await
                .is_err()
            {
                tracing::warn!("web requests still running at shutdown; dropping them");
            }
        }
        if let Some(t) = self.transcriber.take() {
            // A job cut short stays in the queue and is done after the next start.
            let _ = tokio::task::spawn_blocking(move || t.stop()).await;
        }
        tracing::info!("shutdown complete");
    }
}

/// Loads the speech models and starts the workers. A missing or broken model does not stop the
/// server: calls are answered and voicemails queued until the model is fetched.
fn start_transcription(
    config: &Config,
    store: &Store,
) -> Result<Option<crate::transcribe::worker::Transcriber>, StartError> {
    use crate::transcribe::worker::{Models, Transcriber, TranscriberError};
    if !config.transcription.enabled {
        return Ok(None);
    }
    // A word list that cannot be read is a configuration mistake: it stops the server.
    let settings = config
        .transcription
        .decode_settings()
        .map_err(TranscriberError::from)?;
    match Models::load(&config.transcription) {
        Ok(models) => Ok(Some(Transcriber::start(
            store.clone(),
            Arc::new(models),
            &config.transcription,
            settings,
            tokio::runtime::Handle::current(),
        ))),
        Err(
            e @ (TranscriberError::WrongLanguage { .. }
            | TranscriberError::EnglishOnlyDefault { .. }),
        ) => Err(e.into()),
        Err(e) => {
            tracing::error!(
                "{e}; voicemails are queued and will be transcribed once the model is available"
            );
            Ok(None)
        }
    }
}

async fn dispatch_calls(
    mut new_calls: tokio::sync::mpsc::Receiver<NewCall>,
    helpdesk: Arc<Helpdesk>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut calls = JoinSet::new();
    loop {
        tokio::select! {
            call = new_calls.recv() => match call {
                Some(call) => { calls.spawn(helpdesk::handle_call(call, helpdesk.clone())); }
                None => break,
            },
            Some(_) = calls.join_next(), if !calls.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    let drain = async { while calls.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tracing::warn!("calls still running after the shutdown grace period; aborting them");
        calls.shutdown().await;
    }
}

/// Runs until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve_until_signalled(config: Config) -> Result<(), StartError> {
    let mut server = Server::start(config).await?;
    wait_for_signal(&server).await;
    server.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM; SIGHUP reloads the dialplan meanwhile.
async fn wait_for_signal(server: &Server) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                if let Err(report) = server.reload_dialplan() {
                    tracing::error!("dialplan not reloaded, keeping the running one:\n{report}");
                }
            }
        }
    }
}
