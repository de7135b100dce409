//! `whittle-agent`: the Whittle agent's command line.

use std::process::ExitCode;

use clap::Parser;

use whittle_agent::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
