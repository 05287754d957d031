//! `tether-reference-server [--bind ADDR] [--redis URL]`: runs the reference server until
//! Ctrl-C or SIGTERM. The JWT secret comes from `TETHER_JWT_SECRET`. The first stdout line is
//! `{"event":"listening","port":N}`; logs go to stderr (`RUST_LOG` filters them).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use tether_reference_server::{start, ServerConfig};

const USAGE: &str = "usage: tether-reference-server [--bind ADDR] [--redis URL]
  --bind ADDR   listen address (default 127.0.0.1:0, a free port)
  --redis URL   run as one node of several through Redis (redis://host:port)
environment: TETHER_JWT_SECRET (required, >= 16 bytes), RUST_LOG (default info)";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse_args(args.into_iter()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match start(config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("tether-reference-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let line = serde_json::json!({"event": "listening", "port": server.addr().port()});
    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
        tracing::warn!("stdout closed; the listening line was not printed");
    }
    drop(stdout);
    wait_for_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<ServerConfig, String> {
    let secret = std::env::var("TETHER_JWT_SECRET")
        .map_err(|_| "TETHER_JWT_SECRET is not set".to_owned())?;
    let mut config = ServerConfig::new(secret);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => {
                let value = args.next().ok_or("--bind needs an address")?;
                config.bind =
                    value.parse::<SocketAddr>().map_err(|e| format!("--bind {value:?}: {e}"))?;
            }
            "--redis" => config.redis_url = Some(args.next().ok_or("--redis needs a URL")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
