//! `whittle-agent run`: the daemon. Opens the account, then keeps the link to the
//! coordinator up until a fatal error or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use whittle_proto::tls::TlsFiles;

use super::account::AccountContext;
use super::{AccountArgs, DecisionArgs};
use crate::config::Config;
use crate::link::{LinkAccount, LinkSettings, Reconnect, run_link};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// The coordinator's address, `https://host:port`.
    #[arg(long, value_name = "URL", env = "WHITTLE_COORDINATOR")]
    pub coordinator: String,
    /// The fleet's CA certificate (PEM).
    #[arg(long, value_name = "FILE", env = "WHITTLE_TLS_CA")]
    pub tls_ca: PathBuf,
    /// This agent's certificate (PEM), issued for its account.
    #[arg(long, value_name = "FILE", env = "WHITTLE_TLS_CERT")]
    pub tls_cert: PathBuf,
    /// This agent's private key (PEM).
    #[arg(long, value_name = "FILE", env = "WHITTLE_TLS_KEY")]
    pub tls_key: PathBuf,
    /// Seconds between two plans of the account reported to the coordinator.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3600,
        env = "WHITTLE_PLAN_INTERVAL"
    )]
    pub plan_interval: u64,
}

pub async fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    if args.plan_interval == 0 {
        anyhow::bail!("--plan-interval must be at least 1 second");
    }
    let tls = TlsFiles {
        ca_cert: args.tls_ca.clone(),
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
    }
    .load()
    .context("reading the TLS files")?;
    let data_dir = data_dir(&args.account)?;
    let ctx = Arc::new(AccountContext::open(&args.account, &args.decision).await?);
    let saver = ctx.clone();
    let account = LinkAccount {
        account_id: ctx.account_id.clone(),
        iam: ctx.iam.clone(),
        advisor: ctx.advisor.clone(),
        engine: ctx.engine.clone(),
        settings: ctx.settings.clone(),
        protected: ctx.protected.clone(),
        poll: ctx.poll,
        data_dir,
        after_change: Some(Arc::new(move || {
            if let Err(e) = saver.save() {
                tracing::error!(error = %e, "cannot save the simulated account");
            }
        })),
    };
    let settings = LinkSettings {
        coordinator: args.coordinator.clone(),
        tls,
        plan_interval: Duration::from_secs(args.plan_interval),
        reconnect: Reconnect::default(),
        connect_timeout: Duration::from_secs(10),
    };
    tokio::select! {
        result = run_link(account, settings) => {
            result.context("the link to the coordinator failed")?;
        }
        signal = tokio::signal::ctrl_c() => {
            signal.context("cannot listen for Ctrl-C")?;
            eprintln!("stopping");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The data directory as [`AccountContext::open`] chooses it.
fn data_dir(args: &AccountArgs) -> anyhow::Result<PathBuf> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    Ok(args
        .data_dir
        .clone()
        .or(config.data_dir)
        .unwrap_or_else(|| PathBuf::from(".whittle")))
}
