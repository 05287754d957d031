package dev.tether.android

import android.util.Log
import dev.tether.ffi.LogLevel
import dev.tether.ffi.LogListener
import dev.tether.ffi.LogRecord
import dev.tether.ffi.removeLogListener
import dev.tether.ffi.setLogListener

/**
 * Routes the SDK's log records to Logcat, as `TetherLog.routeToOSLog` does to the unified
 * logging system on Apple platforms: one tag for the SDK (`adb logcat -s Tether`), the Rust
 * module first in each message. Records arrive on a dedicated thread; the SDK never logs tokens
 * or payloads.
 *
 * ```
 * TetherLogcat.install(LogLevel.INFO)   // e.g. in Application.onCreate
 * ```
 */
object TetherLogcat {
    /**
     * Sends records at [level] and above to Logcat under [tag] (23 characters at most before
     * Android 8), replacing any other log listener. Throws `TetherException.Other` if the
     * process already has another Rust `tracing` subscriber.
     */
    fun install(level: LogLevel = LogLevel.INFO, tag: String = "Tether") {
        setLogListener(
            object : LogListener {
                override fun onLog(record: LogRecord) {
                    val text = "${record.target}: ${record.message}"
                    when (record.level) {
                        LogLevel.ERROR -> Log.e(tag, text)
                        LogLevel.WARN -> Log.w(tag, text)
                        LogLevel.INFO -> Log.i(tag, text)
                        LogLevel.DEBUG -> Log.d(tag, text)
                        LogLevel.TRACE -> Log.v(tag, text)
                    }
                }
            },
            level,
        )
    }

    /** Stops forwarding records. */
    fun uninstall() = removeLogListener()
}
