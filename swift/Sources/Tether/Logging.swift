#if canImport(os)
import os
#endif

/// Where the SDK's log records go. Records come from the Rust library's `tracing`: `target` is
/// the Rust module (`tether_core::driver`), `message` the text with its fields as `key=value`.
/// They are handed over on a dedicated thread; if the handler falls 1,024 records behind, new
/// ones are dropped and a warning says how many.
///
/// ```swift
/// try TetherLog.setHandler(level: .info) { record in print("[\(record.level)] \(record.message)") }
/// ```
public enum TetherLog {
    /// Sends records at `level` and above to `handler`, replacing any previous handler. Throws
    /// `TetherError.Other` if the process already has another Rust `tracing` subscriber.
    public static func setHandler(
        level: LogLevel = .info,
        _ handler: @escaping @Sendable (LogRecord) -> Void
    ) throws {
        try setLogListener(listener: LogHandler(handler), level: level)
    }

    /// Stops forwarding records.
    public static func removeHandler() {
        removeLogListener()
    }

    #if canImport(os)
    /// Routes records to the unified logging system (Console.app, `log stream`): one `Logger`
    /// category per Rust module, under `subsystem`. Messages are marked public: the SDK never
    /// logs tokens or payloads.
    @available(iOS 14, macOS 11, tvOS 14, watchOS 7, *)
    public static func routeToOSLog(subsystem: String = "dev.tether", level: LogLevel = .info) throws {
        try setHandler(level: level) { record in
            let logger = Logger(subsystem: subsystem, category: record.target)
            switch record.level {
            case .error: logger.error("\(record.message, privacy: .public)")
            case .warn: logger.warning("\(record.message, privacy: .public)")
            case .info: logger.info("\(record.message, privacy: .public)")
            case .debug: logger.debug("\(record.message, privacy: .public)")
            case .trace: logger.trace("\(record.message, privacy: .public)")
            }
        }
    }
    #endif
}
