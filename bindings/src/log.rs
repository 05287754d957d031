//! Forwards the SDK's `tracing` records to a listener, so apps can route them to os_log or
//! Logcat. Records are queued (bounded) and handed to the listener on a thread of their own:
//! logging never blocks the engine, and a slow listener loses records rather than time.

use crate::error::{ListenerError, TetherError};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Records waiting for the listener before new ones are dropped (and counted).
const QUEUE: usize = 1024;

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something is off (a dropped connection, a listener that threw).
    Warn,
    /// Milestones: connection state changes.
    Info,
    /// Detail for debugging.
    Debug,
    /// Everything, frames included.
    Trace,
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// Where it came from (a Rust module path, e.g. `tether_core::driver`).
    pub target: String,
    /// The message, followed by its fields as `key=value`.
    pub message: String,
}

/// Receives log records, one at a time, on a dedicated thread.
#[uniffi::export(foreign)]
pub trait LogListener: Send + Sync {
    /// One record.
    fn on_log(&self, record: LogRecord) -> Result<(), ListenerError>;
}

/// Sends the SDK's log records at `level` and above to `listener` (replacing any previous
/// listener). The first call installs the process-wide `tracing` subscriber; it fails if the
/// process already has one (a Rust host app with its own subscriber sees the records there).
#[uniffi::export]
pub fn set_log_listener(
    listener: Arc<dyn LogListener>,
    level: LogLevel,
) -> Result<(), TetherError> {
    let forwarding = forwarding()?;
    *forwarding.listener.lock().unwrap_or_else(PoisonError::into_inner) = Some(listener);
    forwarding.set_level(Some(level));
    Ok(())
}

/// Stops forwarding log records.
#[uniffi::export]
pub fn remove_log_listener() {
    if let Some(forwarding) = FORWARDING.get() {
        forwarding.set_level(None);
        *forwarding.listener.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Level code: 0 off, then 1 (error) ..= 5 (trace).
fn level_code(level: Option<LogLevel>) -> u8 {
    match level {
        None => 0,
        Some(LogLevel::Error) => 1,
        Some(LogLevel::Warn) => 2,
        Some(LogLevel::Info) => 3,
        Some(LogLevel::Debug) => 4,
        Some(LogLevel::Trace) => 5,
    }
}

fn from_tracing(level: tracing::Level) -> LogLevel {
    match level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        tracing::Level::TRACE => LogLevel::Trace,
    }
}

struct Forwarding {
    level: Arc<AtomicU8>,
    listener: Arc<Mutex<Option<Arc<dyn LogListener>>>>,
}

impl Forwarding {
    fn set_level(&self, level: Option<LogLevel>) {
        self.level.store(level_code(level), Ordering::Release);
        // Call sites cache whether they are enabled; make them ask again.
        tracing::callsite::rebuild_interest_cache();
    }
}

static FORWARDING: OnceLock<Forwarding> = OnceLock::new();
static INSTALL: Mutex<()> = Mutex::new(());

fn forwarding() -> Result<&'static Forwarding, TetherError> {
    if let Some(f) = FORWARDING.get() {
        return Ok(f);
    }
    let _once = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(f) = FORWARDING.get() {
        return Ok(f);
    }
    let level = Arc::new(AtomicU8::new(0));
    let listener: Arc<Mutex<Option<Arc<dyn LogListener>>>> = Arc::new(Mutex::new(None));
    let dropped = Arc::new(AtomicU64::new(0));
    let (tx, rx) = sync_channel(QUEUE);
    let layer = ForwardLayer { level: level.clone(), queue: tx, dropped: dropped.clone() };
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).map_err(
        |e| TetherError::Other { message: format!("cannot install the log forwarder: {e}") },
    )?;
    let sink = listener.clone();
    std::thread::Builder::new()
        .name("tether-log".to_owned())
        .spawn(move || drain(&rx, &sink, &dropped))
        .map_err(|e| TetherError::Other { message: format!("cannot start the log thread: {e}") })?;
    Ok(FORWARDING.get_or_init(|| Forwarding { level, listener }))
}

/// The log thread: hands each record to the current listener. Whatever the listener throws
/// is ignored (logging it would feed it back to the same listener).
fn drain(
    records: &Receiver<LogRecord>,
    listener: &Mutex<Option<Arc<dyn LogListener>>>,
    dropped: &AtomicU64,
) {
    while let Ok(record) = records.recv() {
        let Some(current) = listener.lock().unwrap_or_else(PoisonError::into_inner).clone() else {
            continue;
        };
        let lost = dropped.swap(0, Ordering::AcqRel);
        let mut batch = Vec::with_capacity(2);
        if lost > 0 {
            batch.push(LogRecord {
                level: LogLevel::Warn,
                target: "tether_ffi::log".to_owned(),
                message: format!("{lost} log records dropped: the log listener is too slow"),
            });
        }
        batch.push(record);
        for record in batch {
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| current.on_log(record)));
        }
    }
}

struct ForwardLayer {
    level: Arc<AtomicU8>,
    queue: SyncSender<LogRecord>,
    dropped: Arc<AtomicU64>,
}

impl ForwardLayer {
    fn allows(&self, level: &tracing::Level) -> bool {
        level_code(Some(from_tracing(*level))) <= self.level.load(Ordering::Acquire)
    }
}

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.allows(metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match self.level.load(Ordering::Acquire) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if !self.allows(metadata.level()) {
            return;
        }
        let mut text = MessageText::default();
        event.record(&mut text);
        let record = LogRecord {
            level: from_tracing(*metadata.level()),
            target: metadata.target().to_owned(),
            message: text.finish(),
        };
        if let Err(TrySendError::Full(_)) = self.queue.try_send(record) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `message key=value key=value`.
#[derive(Default)]
struct MessageText {
    message: String,
    fields: String,
}

impl MessageText {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_owned()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_from_error_to_trace() {
        assert!(level_code(Some(LogLevel::Error)) < level_code(Some(LogLevel::Trace)));
        assert_eq!(level_code(None), 0);
        assert_eq!(from_tracing(tracing::Level::WARN), LogLevel::Warn);
    }

    #[test]
    fn message_and_fields_read_as_one_line() {
        let text =
            MessageText { message: "connection state".into(), fields: " state=connected".into() };
        assert_eq!(text.finish(), "connection state state=connected");
        let only_fields = MessageText { message: String::new(), fields: " a=1".into() };
        assert_eq!(only_fields.finish(), "a=1");
    }
}
