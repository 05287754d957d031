//! What a simulated collaborator does next, as a pure function of time and a seeded RNG: move
//! the cursor all the time, focus a field, type in it for a moment, commit a price, sometimes
//! leave the field. Editors commit every time and now and then send a deliberately stale write
//! (a conflict the server refuses); viewers only sometimes try to commit (refused: `forbidden`).
//!
//! No I/O and no clock: [`crate::collaborator`] calls [`Script::step`] with the elapsed time and
//! carries the actions out, so the behaviour is testable and reproducible from `--seed`.

use crate::persona::FIELDS;
use std::f64::consts::TAU;
use std::time::Duration;

/// The canvas the cursors move on, in the app's coordinates.
pub const CANVAS: (f64, f64) = (1000.0, 600.0);

/// One thing to do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The mouse moved (called far more often than the 20 Hz the helper lets out).
    MoveCursor {
        /// Horizontal position.
        x: f64,
        /// Vertical position.
        y: f64,
    },
    /// Clicked into a field.
    Focus(&'static str),
    /// A keystroke in a field.
    Type(&'static str),
    /// Commit a new price for a field (a versioned optimistic update).
    Commit {
        /// The field.
        field: &'static str,
        /// The new amount.
        value: i64,
    },
    /// Write a field based on an outdated version on purpose: the server answers with a
    /// conflict and the optimistic update rolls back.
    StaleWrite {
        /// The field.
        field: &'static str,
        /// The amount.
        value: i64,
    },
    /// Left a field.
    Blur(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Thinking; the next field is picked at `until`.
    Idle { until: Duration },
    /// Typing in `field` until `until`, the next keystroke at `next_key`.
    Typing { field: &'static str, until: Duration, next_key: Duration },
}

/// A cursor path: a slow Lissajous figure, different for each collaborator.
#[derive(Debug, Clone, Copy)]
struct Path {
    speed_x: f64,
    speed_y: f64,
    offset: f64,
}

/// One collaborator's behaviour.
#[derive(Debug, Clone)]
pub struct Script {
    rng: fastrand::Rng,
    can_write: bool,
    phase: Phase,
    focused: Option<&'static str>,
    path: Path,
}

impl Script {
    /// A script from `seed`; `can_write` says whether the person may edit prices.
    pub fn new(seed: u64, can_write: bool) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let path = Path {
            speed_x: 0.15 + rng.f64() * 0.2,
            speed_y: 0.22 + rng.f64() * 0.2,
            offset: rng.f64() * TAU,
        };
        let first = Duration::from_millis(rng.u64(100..600));
        Self { rng, can_write, phase: Phase::Idle { until: first }, focused: None, path }
    }

    /// The field in focus.
    pub fn focused(&self) -> Option<&'static str> {
        self.focused
    }

    /// What to do at `at` (time since the collaborator started). Call it every few tens of
    /// milliseconds; the cursor moves on every call.
    pub fn step(&mut self, at: Duration) -> Vec<Action> {
        let mut actions = vec![self.cursor_at(at)];
        match self.phase {
            Phase::Idle { until } if at >= until => {
                let field = FIELDS[self.rng.usize(..FIELDS.len())].0;
                if self.focused != Some(field) {
                    self.focused = Some(field);
                    actions.push(Action::Focus(field));
                }
                let until = at + self.millis(300..900);
                self.phase = Phase::Typing { field, until, next_key: at };
            }
            Phase::Idle { .. } => {}
            Phase::Typing { field, until, next_key } => {
                if at >= until {
                    self.commit(field, &mut actions);
                    self.phase = Phase::Idle { until: at + self.millis(200..700) };
                } else if at >= next_key {
                    actions.push(Action::Type(field));
                    let next_key = at + self.millis(80..200);
                    self.phase = Phase::Typing { field, until, next_key };
                }
            }
        }
        actions
    }

    fn commit(&mut self, field: &'static str, actions: &mut Vec<Action>) {
        // Viewers try only now and then: an occasional refused edit, not a stream of them.
        if self.can_write || self.rng.u32(..4) == 0 {
            let value = self.amount(field);
            actions.push(Action::Commit { field, value });
        }
        if self.can_write && self.rng.u32(..7) == 0 {
            let value = self.amount(field);
            actions.push(Action::StaleWrite { field, value });
        }
        if self.rng.bool() {
            self.focused = None;
            actions.push(Action::Blur(field));
        }
    }

    /// A plausible amount for `field`: its base, give or take 10 %.
    fn amount(&mut self, field: &str) -> i64 {
        let base = FIELDS.iter().find(|(name, _)| *name == field).map_or(100, |(_, base)| *base);
        let spread = (base / 10).max(1);
        base + self.rng.i64(-spread..=spread)
    }

    fn millis(&mut self, range: std::ops::Range<u64>) -> Duration {
        Duration::from_millis(self.rng.u64(range))
    }

    fn cursor_at(&self, at: Duration) -> Action {
        let t = at.as_secs_f64() * TAU;
        let (width, height) = CANVAS;
        let x = width / 2.0 + width * 0.4 * (t * self.path.speed_x + self.path.offset).sin();
        let y = height / 2.0 + height * 0.4 * (t * self.path.speed_y).sin();
        Action::MoveCursor { x: x.round(), y: y.round() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &mut Script, seconds: u64) -> Vec<Action> {
        (0..seconds * 30).flat_map(|tick| script.step(Duration::from_millis(tick * 33))).collect()
    }

    #[test]
    fn the_same_seed_does_the_same_things() {
        assert_eq!(run(&mut Script::new(7, true), 5), run(&mut Script::new(7, true), 5));
    }

    #[test]
    fn editors_commit_prices_every_cycle_and_sometimes_write_stale() {
        let actions = run(&mut Script::new(1, true), 60);
        let commits = actions.iter().filter(|a| matches!(a, Action::Commit { .. })).count();
        let stale = actions.iter().filter(|a| matches!(a, Action::StaleWrite { .. })).count();
        assert!(commits >= 30, "about one commit a second, got {commits}");
        assert!(stale >= 1 && stale < commits / 2, "occasional stale writes, got {stale}");
    }

    #[test]
    fn viewers_try_to_commit_only_occasionally() {
        let actions = run(&mut Script::new(1, false), 60);
        let commits = actions.iter().filter(|a| matches!(a, Action::Commit { .. })).count();
        assert!((1..30).contains(&commits), "got {commits}");
        assert!(!actions.iter().any(|a| matches!(a, Action::StaleWrite { .. })));
    }

    #[test]
    fn keystrokes_only_go_to_the_focused_field_and_cursors_stay_on_the_canvas() {
        let mut script = Script::new(3, true);
        for tick in 0..3000 {
            for action in script.step(Duration::from_millis(tick * 33)) {
                match action {
                    Action::Type(field) => assert_eq!(script.focused(), Some(field)),
                    Action::MoveCursor { x, y } => {
                        assert!((0.0..=CANVAS.0).contains(&x) && (0.0..=CANVAS.1).contains(&y));
                    }
                    _ => {}
                }
            }
        }
    }
}
