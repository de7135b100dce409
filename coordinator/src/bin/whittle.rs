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
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{text}").and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                // The reader went away (`whittle ... | head`): nothing more to say.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the result: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
