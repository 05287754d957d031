package dev.tether

import kotlinx.serialization.json.long
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.io.File
import java.nio.file.Files
import java.nio.file.Paths
import java.util.TreeSet
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/**
 * The durable outbox from Kotlin against SIGKILL (a smaller run than the Rust one in
 * core/tests/durable_kill.rs): a JVM child process ([main] in DurableChild.kt) sends through
 * `durableOutboxPath`, the server cuts the network under it in some rounds, and it is killed
 * with SIGKILL (`destroyForcibly`) while it sends; restarted on the same file each round, then
 * once more to drain. The server's ledger must hold every accepted message exactly once, in
 * order.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DurableKillTest {
    /** What the parent learned from one sender's processes. */
    private class Lineage(val db: String) {
        var next = 0L
        val sending = TreeSet<Long>()
        val accepted = TreeSet<Long>()
        var restored = 0L
        var started = false
        var drained = false

        @Synchronized
        fun read(line: String) {
            val (what, value) = line.split(' ', limit = 2).let { it[0] to it.getOrNull(1) }
            when (what) {
                "start" -> {
                    started = true
                    restored += value!!.removePrefix("queued=").toLong()
                }
                "sending" -> sending += value!!.toLong()
                "accepted" -> accepted += value!!.toLong()
                "drained" -> drained = true
                else -> throw AssertionError("unexpected line from the child: $line")
            }
        }

        @Synchronized
        fun <T> look(what: Lineage.() -> T): T = what()
    }

    private fun startChild(server: NodeServer, lineage: Lineage, count: Long): Pair<Process, Thread> {
        val java = Paths.get(System.getProperty("java.home"), "bin", "java").toString()
        val classpath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
        val builder = ProcessBuilder(
            java,
            "-Djna.library.path=${System.getProperty("jna.library.path")}",
            "-cp", classpath,
            "dev.tether.DurableChildKt",
        )
        builder.environment() += mapOf(
            "TETHER_KILL_URL" to server.url,
            "TETHER_KILL_DB" to lineage.db,
            "TETHER_KILL_SENDER" to "kotlin",
            "TETHER_KILL_FROM" to lineage.next.toString(),
            "TETHER_KILL_COUNT" to count.toString(),
        )
        builder.redirectError(ProcessBuilder.Redirect.appendTo(File("target/durable-child.log")))
        lineage.look { started = false }
        val process = builder.start()
        val reader = thread(name = "durable-child-stdout") {
            process.inputStream.bufferedReader().forEachLine { lineage.read(it) }
        }
        return process to reader
    }

    /** SIGKILL, then everything it printed. */
    private fun kill(child: Pair<Process, Thread>, lineage: Lineage) {
        val (process, reader) = child
        process.destroyForcibly()
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the child did not die")
        reader.join()
        assertEquals(137, process.exitValue(), "the child was alive until SIGKILL (see target/durable-child.log)")
        lineage.look { next = maxOf(next, (sending.lastOrNull() ?: -1) + 1) }
    }

    @Test
    fun `messages survive SIGKILL and network cuts exactly once and in order`() {
        val rounds = 6
        val rng = Random(13)
        val dir = Files.createTempDirectory("tether-kill")
        try {
            NodeServer(extraArgs = listOf("--dedup-field", "messageId")).use { server ->
                val lineage = Lineage(dir.resolve("outbox.sqlite").toString())
                repeat(rounds) { round ->
                    val count = rng.nextLong(100, 400)
                    val child = startChild(server, lineage, count)
                    awaitCondition(30.seconds, "the child started") { lineage.look { started } }
                    val from = lineage.look { next }
                    val cut = round == 0 || rng.nextBoolean()
                    if (cut) server.command("""{"cmd":"cut"}""")
                    val target = from + rng.nextLong(1, count)
                    awaitCondition(60.seconds, "message $target accepted") {
                        lineage.look { accepted.any { it >= target } }
                    }
                    kill(child, lineage)
                    if (cut) server.command("""{"cmd":"heal"}""")
                }
                val last = startChild(server, lineage, 0)
                awaitCondition(120.seconds, "the last child drained") { lineage.look { drained } }
                kill(last, lineage)

                val (ledger, duplicates) = server.ledger("ack-echo")
                val ns = ledger.map { it["n"]!!.jsonPrimitive.long }
                lineage.look {
                    assertTrue(ns.zipWithNext().all { (a, b) -> a < b }, "in order, none twice: $ns")
                    val lost = accepted - ns.toSet()
                    assertTrue(lost.isEmpty(), "accepted but never processed: $lost")
                    val phantom = ns.toSet() - sending
                    assertTrue(phantom.isEmpty(), "processed but never sent: $phantom")
                    assertTrue(restored > 0, "no kill left anything in the file")
                    println("kotlin: ${accepted.size} accepted, ${ns.size} in the ledger, $restored restored, $duplicates duplicates held back")
                }
            }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }
}
