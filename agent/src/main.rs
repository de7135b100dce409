//! `whittle-agent`: the Whittle agent's command line.

use std::process::ExitCode;

use clap::Parser;

use whittle_agent::cli::{Cli, run};

fn main() -> ExitCode {
    // Logs to stderr; spans to OTEL_EXPORTER_OTLP_ENDPOINT when set. Needs no runtime
    // (the exporter brings its own); dropping the guard at the end of main flushes.
    let _telemetry = match whittle_proto::telemetry::init(
        "whittle-agent",
        whittle_proto::telemetry::TelemetrySettings::from_env(),
    ) {
        Ok(guard) => Some(guard),
        Err(err) => {
            eprintln!("warning: {err}; continuing without telemetry");
            None
        }
    };
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the
/// message before it already includes.
fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
