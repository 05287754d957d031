//! `tether-demo [--headless [--seconds N] [--log]] [--collaborators 2|3] [--seed N]`
//!
//! Exit codes: 0 (dashboard quit, or headless run converged), 1 (headless run did not
//! converge; the summary says why), 2 (bad arguments or the demo could not run).

use std::io::IsTerminal;
use std::process::ExitCode;
use tether_demo::args::{parse, USAGE};
use tether_demo::{dashboard, headless, Command, DemoError, Mode, Options};

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("tether-demo: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tether-demo: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(options: Options) -> Result<ExitCode, DemoError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    match options.mode {
        Mode::Dashboard => {
            runtime.block_on(dashboard::run(options.collaborators, seed))?;
            Ok(ExitCode::SUCCESS)
        }
        Mode::Headless { seconds } => {
            init_logging();
            let report = runtime.block_on(headless::run(seconds, options.collaborators, seed))?;
            if options.print_log {
                println!("activity log:");
                for entry in &report.log {
                    println!("{entry}");
                }
                println!();
            }
            println!("{}", report.summary);
            Ok(if report.summary.converged() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// Headless runs log to stderr when `RUST_LOG` asks for it (the dashboard never logs: it owns
/// the screen).
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
}
