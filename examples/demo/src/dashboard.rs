//! The interactive terminal dashboard (ratatui + crossterm): redraws the simulation ten times a
//! second; `r` restarts the embedded server (down for a few seconds, then back on the same
//! port) so people can watch the clients reconnect, re-join and flush their outboxes; `q`,
//! `Esc` or `Ctrl-C` quits.

use crate::dashboard_render::render;
use crate::error::DemoError;
use crate::simulation::{restart_logged, Simulation};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::DefaultTerminal;
use std::io::IsTerminal;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{interval, Instant, MissedTickBehavior};

/// Time between frames.
const FRAME: Duration = Duration::from_millis(100);

/// How long `r` keeps the server down: long enough to watch the outboxes fill.
const RESTART_DOWNTIME: Duration = Duration::from_secs(3);

/// Log lines kept on screen (the panel shows as many as fit).
const LOG_LINES: usize = 60;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Quit,
    Restart,
    Other,
}

/// Restores the terminal however the dashboard ends (error, quit; panics have ratatui's hook).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Starts the simulation and shows it until the user quits.
pub async fn run(collaborators: usize, seed: u64) -> Result<(), DemoError> {
    if !std::io::stdout().is_terminal() {
        return Err(DemoError::Args(
            "the dashboard needs a terminal; use --headless [--seconds N] elsewhere".to_owned(),
        ));
    }
    let simulation = Simulation::start(collaborators, seed).await?;
    let guard = TerminalGuard;
    let result = match ratatui::try_init() {
        Ok(mut terminal) => show(&mut terminal, &simulation).await,
        Err(error) => Err(error.into()),
    };
    drop(guard);
    simulation.shutdown().await;
    result
}

async fn show(terminal: &mut DefaultTerminal, simulation: &Simulation) -> Result<(), DemoError> {
    let mut restart: Option<JoinHandle<()>> = None;
    let mut frames = interval(FRAME);
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        frames.tick().await;
        let view = simulation.view().await?;
        let log = simulation.log().tail(LOG_LINES);
        terminal.draw(|frame| render(frame, &view, &log, Instant::now()))?;
        while event::poll(Duration::ZERO)? {
            match classify(&event::read()?) {
                Key::Quit => {
                    if let Some(task) = restart.take() {
                        task.abort();
                    }
                    return Ok(());
                }
                Key::Restart if restart.as_ref().is_none_or(JoinHandle::is_finished) => {
                    let server = simulation.server().clone();
                    let log = simulation.log().clone();
                    restart = Some(tokio::spawn(async move {
                        // The outcome, failures included, is written to the log.
                        let _ = restart_logged(&server, &log, RESTART_DOWNTIME).await;
                    }));
                }
                Key::Restart | Key::Other => {}
            }
        }
    }
}

fn classify(event: &Event) -> Key {
    let Event::Key(key) = event else { return Key::Other };
    if key.kind != KeyEventKind::Press {
        return Key::Other;
    }
    match key.code {
        KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char('r') => Key::Restart,
        _ => Key::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    #[test]
    fn keys_map_to_quit_and_restart() {
        let press = |code, modifiers| Event::Key(KeyEvent::new(code, modifiers));
        assert_eq!(classify(&press(KeyCode::Char('q'), KeyModifiers::NONE)), Key::Quit);
        assert_eq!(classify(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Key::Quit);
        assert_eq!(classify(&press(KeyCode::Char('r'), KeyModifiers::NONE)), Key::Restart);
        assert_eq!(classify(&press(KeyCode::Char('c'), KeyModifiers::NONE)), Key::Other);
    }
}
