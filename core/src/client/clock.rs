//! The driver's time. The session's deadlines (outbox TTLs, acknowledgement timeouts, backoff,
//! heartbeats) are `Instant`s on tokio's clock, which is the monotonic clock: on Linux, Android
//! and Apple platforms it stops while the device is suspended, so an app that slept an hour
//! would find a 24-hour TTL with 25 hours to go. The driver's `now` is tokio's clock plus the
//! time the device spent suspended, measured by a [`DeviceClock`]: deadlines count sleep.
//!
//! Timers are armed on tokio's clock (the time left, less nothing for the sleep that has not
//! happened yet); a timer armed before a suspend fires late by the suspend, so the driver
//! re-reads the clock on every input, and the app's return to the foreground (the resume hint
//! the Swift and Kotlin adapters send) is one.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What the driver asks the device about time beyond the monotonic clock: how long it was
/// suspended, and the wall clock (which ages a durable outbox's messages across restarts).
/// [`SystemClock`] is the default; tests give a client a clock of their own through
/// [`crate::ClientBuilder::clock`] to move through a suspend on virtual time.
pub trait DeviceClock: Send + Sync + 'static {
    /// How long the device has been suspended since this clock was made.
    fn suspended(&self) -> Duration;

    /// The wall clock.
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The platform's clocks: time suspended is how far a clock that counts sleep ran ahead of
/// Rust's `Instant` (which does not). On Linux and Android that clock is `CLOCK_BOOTTIME`. On
/// Apple platforms it is `CLOCK_MONOTONIC`, which there keeps counting during sleep (the clock
/// of `mach_continuous_time`), while `Instant` reads `CLOCK_UPTIME_RAW` (that of
/// `mach_absolute_time`), which stops. Elsewhere no suspend is seen and deadlines follow the
/// monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    monotonic: Instant,
    boot: Option<Duration>,
}

impl SystemClock {
    /// Starts measuring now.
    pub fn new() -> Self {
        Self { monotonic: Instant::now(), boot: since_boot() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceClock for SystemClock {
    fn suspended(&self) -> Duration {
        let (Some(start), Some(boot)) = (self.boot, since_boot()) else { return Duration::ZERO };
        boot.saturating_sub(start).saturating_sub(self.monotonic.elapsed())
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn since_boot() -> Option<Duration> {
    timespec(rustix::time::clock_gettime(rustix::time::ClockId::Boottime))
}

#[cfg(target_vendor = "apple")]
fn since_boot() -> Option<Duration> {
    timespec(rustix::time::clock_gettime(rustix::time::ClockId::Monotonic))
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn since_boot() -> Option<Duration> {
    None
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn timespec(t: rustix::time::Timespec) -> Option<Duration> {
    Some(Duration::new(u64::try_from(t.tv_sec).ok()?, u32::try_from(t.tv_nsec).ok()?))
}

/// The driver's clock: tokio's, so `tokio::time::pause()` gives tests virtual time, plus the
/// time suspended. The device is asked once per wake-up of the driver (the first `now` after
/// [`DriverClock::wake`]), not once per command: a burst of sends costs one reading.
pub(crate) struct DriverClock {
    device: Arc<dyn DeviceClock>,
    /// Never decreases, so `now` never goes back even if two readings jitter.
    suspended: Duration,
    /// The device was asked since the driver last waited.
    fresh: bool,
}

impl DriverClock {
    pub(crate) fn new(device: Arc<dyn DeviceClock>) -> Self {
        Self { device, suspended: Duration::ZERO, fresh: false }
    }

    /// The driver is about to wait: the device may sleep before it wakes, so the next `now`
    /// asks it again.
    pub(crate) fn wake(&mut self) {
        self.fresh = false;
    }

    /// Now, for the session: deadlines computed from it count the device's sleep.
    pub(crate) fn now(&mut self) -> Instant {
        if !self.fresh {
            self.suspended = self.suspended.max(self.device.suspended());
            self.fresh = true;
        }
        tokio::time::Instant::now().into_std() + self.suspended
    }

    /// The tokio instant to sleep until for a session deadline.
    pub(crate) fn timer(&self, deadline: Instant) -> tokio::time::Instant {
        let on_tokio_clock = deadline.checked_sub(self.suspended).unwrap_or(deadline);
        tokio::time::Instant::from_std(on_tokio_clock)
    }

    /// The wall clock (for the durable outbox).
    pub(crate) fn wall(&self) -> SystemTime {
        self.device.wall()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Jump(Mutex<Duration>);

    impl DeviceClock for Jump {
        fn suspended(&self) -> Duration {
            self.0.lock().map(|d| *d).unwrap_or_default()
        }
    }

    #[test]
    fn the_system_clock_sees_no_suspend_while_awake() {
        let clock = SystemClock::new();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.suspended() < Duration::from_millis(20), "{:?}", clock.suspended());
        if cfg!(target_os = "linux") {
            assert!(since_boot().is_some(), "CLOCK_BOOTTIME is there on Linux");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_suspend_moves_now_and_timers_by_as_much_and_never_back() {
        let device = Arc::new(Jump(Mutex::new(Duration::ZERO)));
        let mut clock = DriverClock::new(device.clone());
        let before = clock.now();
        let deadline = before + Duration::from_secs(600);
        assert_eq!(clock.timer(deadline), tokio::time::Instant::from_std(deadline));
        *device.0.lock().unwrap_or_else(|e| e.into_inner()) = Duration::from_secs(3600);
        assert_eq!(clock.now(), before, "asked once per wake-up");
        clock.wake();
        let after = clock.now();
        assert_eq!(after - before, Duration::from_secs(3600), "tokio's clock did not move");
        assert!(clock.timer(deadline) < tokio::time::Instant::now(), "the deadline is past");
        *device.0.lock().unwrap_or_else(|e| e.into_inner()) = Duration::from_secs(10);
        clock.wake();
        assert!(clock.now() >= after, "a smaller reading never turns the clock back");
    }
}
