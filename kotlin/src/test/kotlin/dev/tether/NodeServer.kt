package dev.tether

import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.intOrNull
import java.io.BufferedWriter
import java.io.File
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.thread
import kotlin.concurrent.withLock
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * A Node test server in a child process: by default the official Socket.IO server
 * (tests/servers/node/server.js), or with [phoenix] the Phoenix Channels one
 * (tests/servers/phoenix/server.js). Both speak the same process contract (their READMEs): a
 * `listening` report with the port, one JSON report per stdout line, one JSON command per stdin
 * line answered by a `done` report. Started on a free port, killed on [close]; [restart] brings
 * it back on the same port (a server crash and recovery, as clients see it).
 */
class NodeServer(
    private val token: String? = null,
    private val extraArgs: List<String> = emptyList(),
    private val script: File = File(System.getProperty("tether.test.server") ?: "../tests/servers/node/server.js"),
) : AutoCloseable {
    companion object {
        /** The Phoenix Channels v2 test server (also Supabase Realtime shaped `realtime:*` topics). */
        fun phoenix(token: String? = null, extraArgs: List<String> = emptyList()): NodeServer = NodeServer(
            token,
            extraArgs,
            File(System.getProperty("tether.test.phoenix.server") ?: "../tests/servers/phoenix/server.js"),
        )
    }

    private val lock = ReentrantLock()
    private val changed = lock.newCondition()
    private val reports = ArrayList<JsonObject>()
    private val receivedCounts = HashMap<String, Int>()
    private var process: Process? = null
    private var stdin: BufferedWriter? = null

    /** The port, fixed by the first start. */
    var port: Int = 0
        private set

    /** `http://127.0.0.1:<port>` (the client maps it to `ws://`). */
    val url: String get() = "http://127.0.0.1:$port"

    init {
        start()
    }

    private fun start() {
        check(script.isFile) { "test server not found at $script (run scripts/install-deps.sh?)" }
        val command = mutableListOf("node", script.path, "--port", port.toString())
        if (token != null) command += listOf("--token", token)
        command += extraArgs
        val log = File("target/${script.parentFile.name}-server.log").apply { parentFile.mkdirs() }
        val started = ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.appendTo(log))
            .start()
        process = started
        stdin = started.outputStream.bufferedWriter()
        val firstReport = mark()
        thread(name = "node-server-stdout", isDaemon = true) { collectReports(started) }
        val listening = awaitReport(10.seconds, since = firstReport) { it.string("event") == "listening" }
        port = listening["port"]?.jsonPrimitive?.intOrNull ?: error("no port in $listening")
    }

    /** Reads the server's stdout until the process dies (the stream then closes: expected). */
    private fun collectReports(server: Process) = runCatching {
        server.inputStream.bufferedReader().useLines { lines ->
            for (line in lines) {
                val report = runCatching { Json.parseToJsonElement(line).jsonObject }.getOrNull() ?: continue
                lock.withLock {
                    reports += report
                    if (report.string("event") == "received") {
                        val name = report.string("name") ?: ""
                        receivedCounts[name] = (receivedCounts[name] ?: 0) + 1
                    }
                    changed.signalAll()
                }
            }
        }
    }

    /** Every report so far, in order. */
    fun reports(): List<JsonObject> = lock.withLock { reports.toList() }

    /** How many reports have arrived so far (a mark for [awaitReport]'s `since`). */
    fun mark(): Int = lock.withLock { reports.size }

    /** Waits for a report (at index [since] or later) matching [predicate]. */
    fun awaitReport(timeout: Duration = 10.seconds, since: Int = 0, predicate: (JsonObject) -> Boolean): JsonObject {
        val deadline = TimeSource.Monotonic.markNow() + timeout
        lock.withLock {
            var checked = since
            while (true) {
                while (checked < reports.size) {
                    val report = reports[checked++]
                    if (predicate(report)) return report
                }
                val left = -deadline.elapsedNow()
                if (!left.isPositive()) {
                    throw AssertionError("no matching report within $timeout; last: ${reports.takeLast(5)}")
                }
                changed.await(left.inWholeMilliseconds.coerceAtLeast(1), TimeUnit.MILLISECONDS)
            }
        }
    }

    /** Waits for a `received` report of [name] from a client. */
    fun awaitReceived(name: String, timeout: Duration = 10.seconds, since: Int = 0): JsonObject =
        awaitReport(timeout, since) { it.string("event") == "received" && it.string("name") == name }

    /** Waits until [count] `received` reports of [name] have arrived; returns how many did. */
    fun awaitReceivedCount(name: String, count: Int, timeout: Duration): Int {
        val deadline = TimeSource.Monotonic.markNow() + timeout
        lock.withLock {
            while (true) {
                val seen = receivedCounts[name] ?: 0
                val left = -deadline.elapsedNow()
                if (seen >= count || !left.isPositive()) return seen
                changed.await(left.inWholeMilliseconds.coerceAtLeast(1), TimeUnit.MILLISECONDS)
            }
        }
    }

    /**
     * With the ledger on (`--dedup-field`): the first argument of every first sighting of
     * [name], in arrival order (what the application processed, exactly once), and how many
     * duplicates the ledger held back.
     */
    fun ledger(name: String): Pair<List<JsonObject>, Int> = lock.withLock {
        val received = reports.filter { it.string("event") == "received" && it.string("name") == name }
        val first = received.filter { it.string("duplicate") == "false" }
            .map { it["args"]!!.jsonArray[0].jsonObject }
        first to received.count { it.string("duplicate") == "true" }
    }

    /** Sends one stdin command (a JSON object line) and waits for its `done` report. */
    fun command(json: String) {
        val since = mark()
        val writer = stdin ?: error("server not running")
        writer.write(json)
        writer.newLine()
        writer.flush()
        val done = awaitReport(since = since) { it.string("event") == "done" }
        check(done["ok"]?.jsonPrimitive?.content == "true") { "command failed: $done" }
    }

    /** Kills the process (SIGKILL: a crash, as the client sees it) and waits for it to exit. */
    fun kill() {
        val running = process ?: return
        running.destroyForcibly()
        running.waitFor(10, TimeUnit.SECONDS)
        process = null
        stdin = null
    }

    /** A crash and a restart on the same port. */
    fun restart() {
        kill()
        start()
    }

    override fun close() = kill()
}

fun JsonObject.string(key: String): String? = this[key]?.jsonPrimitive?.content
