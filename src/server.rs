//! Builds Hotline from its configuration and runs it: transports, endpoint, calls, shutdown.
//!
//! `start` returns the bound addresses, so tests run the real server on port 0.

use crate::call::answer::{self, AnswerContext, Caller};
use crate::call::{CallEnded, EndCause};
use crate::config::Config;
use crate::media::port_pool::PortPool;
use crate::media::prompt::{PromptError, PromptLibrary};
use crate::media::rtp_session::RtpOptions;
use crate::sip::endpoint::{Endpoint, EndpointHandle, NewCall};
use crate::sip::transaction::Timers;
use crate::sip::transport::{TransportError, Transports};
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
    #[error("prompts: {0}")]
    Prompts(#[from] PromptError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Shared by every call task.
struct Services {
    answer: AnswerContext,
    prompts: Arc<PromptLibrary>,
}

/// A running Hotline.
pub struct Server {
    sip_addr: SocketAddr,
    endpoint: EndpointHandle,
    shutdown: watch::Sender<bool>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
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
        let (transports, inbound) = Transports::bind(config.sip.listen).await?;
        let sip_addr = transports.local_addr();
        let timers = Timers {
            t1: Duration::from_millis(config.sip.t1_ms),
            ..Timers::default()
        };
        let (endpoint, new_calls) = Endpoint::start(transports, inbound, timers);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ports = Arc::new(PortPool::new(
            config.media.rtp_ports.0.clone(),
            config.sip.listen.ip(),
        ));
        let services = Arc::new(Services {
            answer: AnswerContext {
                endpoint: endpoint.clone(),
                ports,
                public_ip: config.sip.public_ip,
                rtp: RtpOptions {
                    inactivity_timeout: config.rtp_timeout(),
                },
                shutdown: shutdown_rx.clone(),
                ring: Duration::from_millis(config.sip.ring_ms),
            },
            prompts,
        });
        let dispatcher = tokio::spawn(dispatch_calls(new_calls, services, shutdown_rx));
        tracing::info!(%sip_addr, "Hotline answering SIP on UDP and TCP");
        Ok(Server {
            sip_addr,
            endpoint,
            shutdown,
            dispatcher: Some(dispatcher),
        })
    }

    /// The SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
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
        tracing::info!("shutdown complete");
    }
}

async fn dispatch_calls(
    mut new_calls: tokio::sync::mpsc::Receiver<NewCall>,
    services: Arc<Services>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut calls = JoinSet::new();
    loop {
        tokio::select! {
            call = new_calls.recv() => match call {
                Some(call) => { calls.spawn(handle_call(call, services.clone())); }
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

async fn handle_call(call: NewCall, services: Arc<Services>) {
    let caller = Caller::of(&call.invite);
    let call_id =
        crate::sip::message::header_value(&call.invite.headers, "Call-ID").unwrap_or_default();
    let span = tracing::info_span!("call", %call_id, caller = %caller.number);
    let _guard = span.enter();
    drop(_guard);
    tracing::info!(parent: &span, display_name = ?caller.display_name, "incoming call");
    let mut control = match answer::answer(call, &services.answer).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(parent: &span, error = %e, "call not answered");
            return;
        }
    };
    tracing::info!(parent: &span, "answered");
    let cause = run_welcome(&mut control, &services)
        .await
        .err()
        .map(|e| e.0)
        .unwrap_or(EndCause::Completed);
    let stats = answer::finish(control, cause).await;
    tracing::info!(parent: &span, %cause, packets_sent = stats.packets_sent, packets_received = stats.packets_received, "call ended");
}

async fn run_welcome(
    control: &mut crate::call::CallControl,
    services: &Services,
) -> Result<(), CallEnded> {
    let welcome: Vec<_> = services.prompts.get("en", "welcome").into_iter().collect();
    if let Some(d) = control.play(welcome, true).await? {
        tracing::info!(digit = %d, "digit");
    }
    while let Some(d) = control.next_digit(Duration::from_secs(10)).await? {
        tracing::info!(digit = %d, "digit");
    }
    Ok(())
}

/// Runs until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve_until_signalled(config: Config) -> Result<(), StartError> {
    let mut server = Server::start(config).await?;
    wait_for_signal().await;
    server.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
