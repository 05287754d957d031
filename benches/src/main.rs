//! `tether-bench`: Tether against the clients users would pick instead, on loopback, in one
//! run. See BENCHMARKS.md for the workloads and the latest results; run it with
//! `scripts/bench.sh` (release build, raised fd limit).
//!
//! ```text
//! tether-bench all [--quick] [--passes N] [--only w1,w2,...]   every workload in passes; report
//! tether-bench bare-server                        the floor's tokio-tungstenite server
//! tether-bench client --workload W --kind K --url U [--n N] [--clients C] [--hint]   one measurement
//! ```

mod bare_server;
mod clients;
mod fleet;
mod idle;
mod measure;
mod orchestrator;
mod passes;
mod phoenix;
mod polling;
mod procs;
mod reconnect;
mod restarts;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether-bench: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rest = args.get(1..).unwrap_or_default();
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            None | Some("all") => orchestrator::run(rest).await,
            Some("bare-server") => bare_server::run().await,
            // On a worker thread, as an app's tasks run (block_on's thread is not a worker).
            Some("client") => {
                let options = clients::Options::parse(rest)?;
                tokio::spawn(clients::run(options)).await?
            }
            Some(other) => Err(format!("unknown command {other}").into()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
