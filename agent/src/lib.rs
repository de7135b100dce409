//! The Whittle agent: collects one account's roles, policies and usage, plans
//! removals with `whittle-policy`, applies them behind a write-ahead journal and
//! rolls them back.

/// `println!` that ends the process quietly when stdout is closed (as when the
/// output is piped into `head`) instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

pub mod cli;
pub mod collect;
pub mod config;
pub mod engine;
pub mod exports;
pub mod journal;
pub mod link;
pub mod render;
