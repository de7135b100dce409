//! `whittle-coordinator`: the coordinator's command line. `serve` runs the
//! coordinator's gRPC server; `ca` runs the built-in certificate authority that gives
//! every agent, operator and the coordinator itself its mutual-TLS identity.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use whittle_coordinator::ca::{Ca, IssueRequest};
use whittle_coordinator::server::{Config, Coordinator};
use whittle_proto::identity::OperatorRole;

/// The central server of a Whittle fleet.
#[derive(Debug, Parser)]
#[command(name = "whittle-coordinator", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the coordinator: serve agents and operators until SIGINT or SIGTERM.
    Serve {
        /// The configuration file (see deploy/coordinator.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// The certificate authority: mutual-TLS identities for the fleet.
    #[command(subcommand)]
    Ca(CaCommand),
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create a new CA (certificate and private key) in DIR.
    Init {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Issue a certificate and key, signed by the CA in DIR.
    #[command(subcommand)]
    Issue(Issue),
}

#[derive(Debug, Subcommand)]
enum Issue {
    /// The coordinator's server certificate.
    Server {
        #[command(flatten)]
        common: IssueArgs,
        /// DNS names (or IP addresses) agents and operators use to reach the coordinator.
        #[arg(long = "dns", value_name = "NAME", required = true)]
        dns: Vec<String>,
    },
    /// An agent's client certificate: it may speak only for this account.
    Agent {
        #[command(flatten)]
        common: IssueArgs,
        #[arg(long, value_name = "ID")]
        account: String,
    },
    /// An operator's client certificate.
    Operator {
        #[command(flatten)]
        common: IssueArgs,
        #[arg(long, value_name = "NAME")]
        name: String,
        /// viewer reads; operator also approves and rolls back; admin also manages
        /// exclusions and certificates.
        #[arg(long, value_name = "ROLE")]
        role: OperatorRole,
    },
}

#[derive(Debug, clap::Args)]
struct IssueArgs {
    /// The CA's folder (from `ca init`).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the certificate and key [default: DIR/issued].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Validity in days [default: 90].
    #[arg(long, value_name = "N")]
    days: Option<u32>,
}

fn main() -> ExitCode {
    // Logs to stderr; spans to OTEL_EXPORTER_OTLP_ENDPOINT when set. Needs no runtime
    // (the exporter brings its own); dropping the guard at the end of main flushes.
    let _telemetry = match whittle_proto::telemetry::init(
        "whittle-coordinator",
        whittle_proto::telemetry::TelemetrySettings::from_env(),
    ) {
        Ok(guard) => Some(guard),
        Err(err) => {
            eprintln!("warning: {err}; continuing without telemetry");
            None
        }
    };
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut msg = String::new();
            for cause in err.chain() {
                let text = cause.to_string();
                if !msg.contains(&text) {
                    if !msg.is_empty() {
                        msg.push_str(": ");
                    }
                    msg.push_str(&text);
                }
            }
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let now = Utc::now();
    match cli.command {
        Command::Serve { config } => serve(&config)?,
        Command::Ca(CaCommand::Init { dir }) => {
            let ca = Ca::init(&dir, now)?;
            println!(
                "created CA {} (valid until {})",
                ca.cert_path().display(),
                ca.not_after()
            );
        }
        Command::Ca(CaCommand::Issue(issue)) => {
            let (common, request) = match issue {
                Issue::Server { common, dns } => (common, IssueRequest::server(dns)),
                Issue::Agent { common, account } => (common, IssueRequest::agent(&account)?),
                Issue::Operator { common, name, role } => {
                    (common, IssueRequest::operator(&name, role)?)
                }
            };
            let request = match common.days {
                Some(d) => request.with_validity_days(d),
                None => request,
            };
            let ca = Ca::load(&common.dir)
                .with_context(|| format!("cannot use the CA in {}", common.dir.display()))?;
            let issued = match &common.out {
                Some(out) => ca.issue_to(request, out, now)?,
                None => ca.issue(request, now)?,
            };
            println!(
                "issued {} for {} (valid until {}); key {}",
                issued.path_cert.display(),
                issued.identity,
                issued.not_after,
                issued.path_key.display()
            );
        }
    }
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM, then drains the calls in flight.
fn serve(config: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let coordinator = Coordinator::open(&config.data_dir, config.tls.clone())
            .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?
            .with_campaign_settings(config.campaigns.settings());
        coordinator.serve(config.listen, shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
