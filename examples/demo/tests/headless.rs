//! The demo's non-interactive mode, end to end: the built binary runs `--headless --seconds 8`
//! (embedded server, three collaborators, a server restart in the middle) and must exit 0 with
//! a summary that reports convergence.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far more than 8 s of activity plus settling; only a hang gets here.
const PATIENCE: Duration = Duration::from_secs(90);

#[test]
fn headless_run_converges_after_a_server_restart() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether-demo"))
        .args(["--headless", "--seconds", "8", "--log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the demo can be waited for") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("the headless demo did not finish within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().expect("piped").read_to_string(&mut stdout).expect("utf-8 stdout");
    child.stderr.take().expect("piped").read_to_string(&mut stderr).expect("utf-8 stderr");
    assert!(status.success(), "exit {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.lines().any(|line| line == "result: converged"), "{stdout}");
    assert!(stdout.contains("server restarted 1 time(s)"), "{stdout}");
    for name in ["Ana", "Ben", "Cleo"] {
        let roster = format!("{name:<6} sees ");
        let line = stdout.lines().find(|l| l.trim_start().starts_with(&roster)).unwrap_or("");
        assert!(line.ends_with("(synced)"), "{name}'s roster line: {line:?}\n{stdout}");
        for user in ["ana", "ben", "cleo"] {
            assert!(line.contains(user), "{name} does not see {user}: {line:?}");
        }
    }
    // The log shows what the restart was for: everyone lost the server and came back.
    assert!(stdout.contains("reconnected (connection #2)"), "{stdout}");
}
