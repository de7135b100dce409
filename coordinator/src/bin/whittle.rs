//! `whittle`: the operators' command line for a Whittle fleet. See [`whittle_coordinator::cli`].

use std::process::ExitCode;

use clap::Parser;
use whittle_coordinator::cli::{self, Cli};

fn main() -> ExitCode {
    // clap exits with code 2 on usage errors, as `whittle` does for its own.
    let args = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
