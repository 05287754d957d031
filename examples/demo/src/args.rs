//! The command line: `tether-demo [--headless [--seconds N] [--log]] [--collaborators 2|3]
//! [--seed N]`.

use crate::error::DemoError;

/// How to use the binary.
pub const USAGE: &str =
    "usage: tether-demo [--headless [--seconds N] [--log]] [--collaborators 2|3] [--seed N]
  (no flags)          terminal dashboard: r restarts the embedded server, q quits
  --headless          no terminal UI: run, restart the server once midway, print a summary,
                      exit 0 only if everything converged
  --seconds N         headless run length in seconds (default 20, at least 4)
  --log               headless: print the activity log (verdicts, conflicts, reconnects) too
  --collaborators N   simulated collaborators, 2 or 3 (default 3: an owner, an editor, a viewer)
  --seed N            seed of the collaborators' behaviour (default: random)";

/// Shortest headless run: the restart in the middle needs time on both sides.
pub const MIN_SECONDS: u64 = 4;

/// Headless run length when `--seconds` is not given.
pub const DEFAULT_SECONDS: u64 = 20;

/// What to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The interactive ratatui dashboard, until `q`.
    Dashboard,
    /// No UI: run this long, then print the summary.
    Headless {
        /// Length of the simulated activity, in seconds (settling comes on top).
        seconds: u64,
    },
}

/// Everything the command line decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Dashboard or headless.
    pub mode: Mode,
    /// How many collaborators (2 or 3).
    pub collaborators: usize,
    /// Seed of the behaviour scripts; `None` picks one at random.
    pub seed: Option<u64>,
    /// Headless: print the activity log before the summary.
    pub print_log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { mode: Mode::Dashboard, collaborators: 3, seed: None, print_log: false }
    }
}

/// The outcome of parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Run the demo.
    Run(Options),
    /// Print [`USAGE`] and exit.
    Help,
}

/// Reads the arguments (without the program name).
///
/// ```
/// use tether_demo::args::{parse, Command, Mode};
/// let Command::Run(options) = parse(["--headless", "--seconds", "8"].map(String::from))? else {
///     unreachable!()
/// };
/// assert_eq!(options.mode, Mode::Headless { seconds: 8 });
/// # Ok::<(), tether_demo::DemoError>(())
/// ```
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, DemoError> {
    let mut options = Options::default();
    let mut headless = false;
    let mut seconds = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--headless" => headless = true,
            "--seconds" => seconds = Some(number(&arg, args.next())?),
            "--collaborators" => {
                let n = number(&arg, args.next())?;
                if !(2..=3).contains(&n) {
                    return Err(DemoError::Args(format!(
                        "--collaborators must be 2 or 3, not {n}"
                    )));
                }
                options.collaborators = usize::try_from(n).unwrap_or(3);
            }
            "--seed" => options.seed = Some(number(&arg, args.next())?),
            "--log" => options.print_log = true,
            other => return Err(DemoError::Args(format!("unknown argument {other:?}"))),
        }
    }
    options.mode = match (headless, seconds) {
        (true, seconds) => {
            let seconds = seconds.unwrap_or(DEFAULT_SECONDS);
            if seconds < MIN_SECONDS {
                return Err(DemoError::Args(format!(
                    "--seconds must be at least {MIN_SECONDS} (the server restarts midway)"
                )));
            }
            Mode::Headless { seconds }
        }
        (false, None) if !options.print_log => Mode::Dashboard,
        (false, _) => {
            return Err(DemoError::Args("--seconds and --log need --headless".to_owned()))
        }
    };
    Ok(Command::Run(options))
}

fn number(flag: &str, value: Option<String>) -> Result<u64, DemoError> {
    let value = value.ok_or_else(|| DemoError::Args(format!("{flag} needs a number")))?;
    value
        .parse()
        .map_err(|_| DemoError::Args(format!("{flag} needs a whole number, not {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, DemoError> {
        parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn no_arguments_means_the_dashboard_with_three_collaborators() {
        assert!(matches!(run(&[]), Ok(Command::Run(o)) if o == Options::default()));
    }

    #[test]
    fn headless_takes_seconds_and_defaults_them() {
        let Ok(Command::Run(o)) = run(&["--headless", "--seconds", "8", "--collaborators", "2"])
        else {
            panic!("should parse")
        };
        assert_eq!(o.mode, Mode::Headless { seconds: 8 });
        assert_eq!(o.collaborators, 2);
        assert!(matches!(
            run(&["--headless"]),
            Ok(Command::Run(Options { mode: Mode::Headless { seconds: DEFAULT_SECONDS }, .. }))
        ));
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        for args in [
            &["--seconds", "5"][..],
            &["--log"],
            &["--headless", "--seconds"],
            &["--headless", "--seconds", "two"],
            &["--headless", "--seconds", "1"],
            &["--collaborators", "7"],
            &["--frobnicate"],
        ] {
            assert!(matches!(run(args), Err(DemoError::Args(_))), "{args:?}");
        }
        assert!(matches!(run(&["--help"]), Ok(Command::Help)));
    }
}
