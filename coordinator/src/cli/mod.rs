//! `whittle`, the operators' command line: each command is one AdminService call over
//! mutual TLS, printed as a table or as JSON.
//!
//! - [`args`]: the command line.
//! - [`connect`]: connection settings (flags, environment, config file) and the channel.
//! - [`commands`]: each command's call and its rendered result; [`plan`] and [`diff`] for
//!   `plan show`; [`campaign`] and [`fleetops`] for campaigns, opt-outs, decisions, the
//!   report and rollback results; [`render`] for tables and JSON.
//! - [`error`]: what can go wrong and the exit code: 1 when the coordinator refused,
//!   2 for usage and connection errors.

pub mod args;
pub mod campaign;
pub mod commands;
pub mod connect;
pub mod diff;
pub mod error;
pub mod fleetops;
pub mod plan;
pub mod render;

use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;

pub use args::{Cli, OutputFormat};
pub use error::CliError;

/// Runs one command line and returns what to print on standard output.
pub async fn run(cli: Cli) -> Result<String, CliError> {
    let Cli {
        connection,
        output,
        command,
    } = cli;
    commands::check(&command)?;
    if output == OutputFormat::Csv && !matches!(command, args::Command::Report { .. }) {
        return Err(CliError::Usage(
            "--output csv is available for `whittle report` only".into(),
        ));
    }
    let settings = connect::Settings::resolve(&connection)?;
    let (channel, context) = connect::connect(&settings).await?;
    let mut session = commands::Session {
        client: AdminServiceClient::new(channel)
            .max_decoding_message_size(whittle_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(whittle_proto::MAX_MESSAGE_BYTES),
        context,
    };
    let rendered = commands::run(&mut session, command).await?;
    match output {
        OutputFormat::Table => Ok(rendered.table),
        OutputFormat::Json => serde_json::to_string_pretty(&rendered.json)
            .map_err(|e| CliError::Usage(format!("cannot print the result as json: {e}"))),
        OutputFormat::Csv => rendered.csv.ok_or_else(|| {
            CliError::Usage("--output csv is available for `whittle report` only".into())
        }),
    }
}
