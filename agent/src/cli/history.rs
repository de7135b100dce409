//! `whittle-agent history`: the changes in the local journal.
//!
//! Reads only the journal: it needs no AWS access.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::SecondsFormat;
use clap::Args;

use super::Output;
use crate::config::Config;
use crate::journal::{ChangeFilter, ChangeKind, Journal};

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Configuration file (for data_dir).
    #[arg(long, value_name = "FILE", env = "WHITTLE_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the journal lives [default: .whittle].
    #[arg(long, value_name = "DIR", env = "WHITTLE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only this role's changes.
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn run(args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let dir = args
        .data_dir
        .clone()
        .or(config.data_dir)
        .unwrap_or_else(|| PathBuf::from(".whittle"));
    if !dir.join(crate::journal::FILE_NAME).is_file() {
        anyhow::bail!(
            "no journal in {}: no change was made from this data directory",
            dir.display()
        );
    }
    let journal = Journal::open(&dir)?;
    let filter = ChangeFilter {
        role_name: args.role.clone(),
        ..ChangeFilter::default()
    };
    let records = journal.list(&filter)?;
    match args.output {
        Output::Json => crate::say!("{}", serde_json::to_string_pretty(&records)?),
        Output::Table => {
            let width = records
                .iter()
                .map(|r| r.role_name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            crate::say!(
                "{:<26}  {:<20}  {:<width$}  {:<8}  {:<11}  {:>5}  DETAIL",
                "CHANGE",
                "TIME",
                "ROLE",
                "KIND",
                "STATE",
                "STEPS"
            );
            for r in &records {
                let kind = match &r.kind {
                    ChangeKind::Apply => "apply".to_string(),
                    ChangeKind::Rollback { .. } => "rollback".to_string(),
                    ChangeKind::Restore => "restore".to_string(),
                };
                let detail = match (&r.kind, &r.rolled_back_by, &r.error) {
                    (_, _, Some(e)) => e.clone(),
                    (ChangeKind::Rollback { of }, _, _) => format!("undoes {of}"),
                    (_, Some(by), _) => format!("rolled back by {by}"),
                    _ => String::new(),
                };
                crate::say!(
                    "{:<26}  {:<20}  {:<width$}  {:<8}  {:<11}  {:>2}/{:<2}  {detail}",
                    r.id.to_string(),
                    r.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    r.role_name,
                    kind,
                    r.state.to_string(),
                    r.steps_done,
                    r.diff.changes.len(),
                );
            }
            if records.is_empty() {
                crate::say!("(no changes)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
