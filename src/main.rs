//! The `hotline` command line: parse, then call into the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hotline::config::{Config, PortRange};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hotline", version, about = "An IT-helpdesk phone line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer calls: SIP on UDP and TCP, the IVR, tickets, the web log.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Configuration file (TOML); every key is optional. See docs/configuration.md.
    #[arg(long, env = "HOTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// SIP listen address, UDP and TCP [default: 0.0.0.0:5060]
    #[arg(long, env = "HOTLINE_SIP_LISTEN")]
    sip_listen: Option<SocketAddr>,
    /// Web log listen address [default: 127.0.0.1:8080]
    #[arg(long, env = "HOTLINE_HTTP_LISTEN")]
    http_listen: Option<SocketAddr>,
    /// RTP port range, e.g. 10000-19999
    #[arg(long, env = "HOTLINE_RTP_PORTS")]
    rtp_ports: Option<PortRange>,
    /// Data directory (recordings, SQLite database) [default: ./data]
    #[arg(long, env = "HOTLINE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://… or postgres://… [default: sqlite://<data-dir>/hotline.db]
    #[arg(long, env = "HOTLINE_DATABASE_URL")]
    database_url: Option<String>,
    /// Dialplan file [default: dialplans/hotline.toml]
    #[arg(long, env = "HOTLINE_DIALPLAN")]
    dialplan: Option<PathBuf>,
    /// Prompts directory [default: prompts]
    #[arg(long, env = "HOTLINE_PROMPTS")]
    prompts: Option<PathBuf>,
}

impl ServeArgs {
    fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.sip_listen {
            config.sip.listen = v;
        }
        if let Some(v) = self.http_listen {
            config.http.listen = v;
        }
        if let Some(v) = self.rtp_ports {
            config.media.rtp_ports = v;
        }
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = self.database_url {
            config.database_url = Some(v);
        }
        if let Some(v) = self.dialplan {
            config.dialplan = v;
        }
        if let Some(v) = self.prompts {
            config.prompts = v;
        }
        Ok(config)
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            runtime.block_on(hotline::server::serve_until_signalled(config))?;
        }
    }
    Ok(())
}
