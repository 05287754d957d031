package dev.tether

import dev.tether.ffi.BackoffOptions
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.LogLevel
import dev.tether.ffi.LogListener
import dev.tether.ffi.LogRecord
import dev.tether.ffi.TetherException
import dev.tether.ffi.removeLogListener
import dev.tether.ffi.setLogListener
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.junit.jupiter.api.AfterEach
import java.util.concurrent.LinkedBlockingQueue
import kotlin.concurrent.thread
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** A test class whose tests register what must be closed after them (servers, clients) with [closeAfter]. */
abstract class ClosesAfterEach {
    private val resources = mutableListOf<AutoCloseable>()

    /** Closes this after the test, after everything registered later (last first). */
    protected fun <T : AutoCloseable> T.closeAfter(): T = also { resources += it }

    @AfterEach
    fun closeAll() {
        resources.asReversed().forEach { runCatching { it.close() } }
        resources.clear()
    }
}

/** A config for a local test server: quick reconnects so restarts take well under a second. */
fun testConfig(server: NodeServer): ClientConfig = ClientConfig(
    urls = listOf(server.url),
    backoff = BackoffOptions(minDelayMs = 100u, maxDelayMs = 500u),
    connectTimeoutMs = 5_000u,
)

/**
 * Collects [flow] into a channel. UNDISPATCHED: the collection (and so the subscription) has
 * started when this returns, so nothing sent afterwards can be missed.
 */
fun <T> CoroutineScope.inbox(flow: Flow<T>): Channel<T> {
    val channel = Channel<T>(Channel.UNLIMITED)
    launch(start = CoroutineStart.UNDISPATCHED) { flow.collect { channel.send(it) } }
    return channel
}

suspend fun <T> Channel<T>.receiveWithin(timeout: Duration = 10.seconds): T = withTimeout(timeout) { receive() }

/** Receives until [predicate] matches (skipping the rest). */
suspend fun <T> Channel<T>.receiveUntil(timeout: Duration = 10.seconds, predicate: (T) -> Boolean): T =
    withTimeout(timeout) {
        while (true) {
            val value = receive()
            if (predicate(value)) return@withTimeout value
        }
        @Suppress("UNREACHABLE_CODE")
        error("unreachable")
    }

/**
 * `tryEmit` until the send lane takes it (spinning while it throws `QueueFull`), as a caller
 * that cannot suspend would; returns how often the lane was full.
 */
fun TetherClient.tryEmitUntilTaken(event: String, payload: JsonElement): Int {
    var full = 0
    while (true) {
        try {
            tryEmit(event, payload)
            return full
        } catch (busy: TetherException.QueueFull) {
            full++
            Thread.onSpinWait()
        }
    }
}

/**
 * `tryEmit`s `echo` with `{"i": i}` for each i of [range], in order, from a plain thread (not a
 * coroutine: `tryEmit` is for callers that cannot suspend); returns how often the lane was full.
 */
fun TetherClient.tryEmitEchoes(range: IntRange): Int {
    var full = 0
    thread(name = "try-emitter") {
        for (i in range) full += tryEmitUntilTaken("echo", buildJsonObject { put("i", i) })
    }.join()
    return full
}

/**
 * Runs [body] with the library's log records of [level] and above collected into the queue it
 * is given; the log listener is removed afterwards.
 */
inline fun <T> withLogRecords(level: LogLevel, body: (LinkedBlockingQueue<LogRecord>) -> T): T {
    val records = LinkedBlockingQueue<LogRecord>()
    setLogListener(object : LogListener {
        override fun onLog(record: LogRecord) {
            records.add(record)
        }
    }, level)
    try {
        return body(records)
    } finally {
        removeLogListener()
    }
}

/** Waits (without sleeping a fixed time) until [condition] holds. */
fun awaitCondition(timeout: Duration = 10.seconds, what: String, condition: () -> Boolean) {
    val lock = Object()
    val deadline = System.nanoTime() + timeout.inWholeNanoseconds
    while (!condition()) {
        val left = deadline - System.nanoTime()
        if (left <= 0) throw AssertionError("timed out after $timeout waiting for $what")
        // Re-check on a short period: the conditions are set by listener threads of the library.
        synchronized(lock) { lock.wait(minOf(left / 1_000_000 + 1, 20)) }
    }
}
