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
    /**
     * What the parent learned from one sender's processes. Each life writes its lines to a file
     * of its own (not a pipe: the JDK closes a dead process's pipe under a reader's feet), which
     * is read again whenever the test looks; re-reading is harmless (sets, and one count per life).
     */
    private class Lineage(val db: String, val dir: File) {
        var next = 0L
        val sending = TreeSet<Long>()
        val accepted = TreeSet<Long>()
        private val restoredBy = HashMap<Int, Long>()
        private var life = -1
        private var startedLife = -1
        private var drainedLife = -1

        val restored: Long get() = restoredBy.values.sum()
        val started: Boolean get() = absorb().let { startedLife == life }
        val drained: Boolean get() = absorb().let { drainedLife == life }
        val lastAccepted: Long get() = absorb().let { accepted.lastOrNull() ?: -1 }

        fun output(of: Int = life) = File(dir, "life-$of.out")

        /** A new life starts after the last message any earlier life began to send. */
        fun newLife(): File {
            absorb()
            next = maxOf(next, (sending.lastOrNull() ?: -1) + 1)
            life += 1
            return output()
        }

        /** Reads the current life's complete lines. */
        fun absorb() {
            val file = output()
            if (life < 0 || !file.exists()) return
            val complete = file.readText().split('\n').dropLast(1)
            for (line in complete) {
                val (what, value) = line.split(' ', limit = 2).let { it[0] to it.getOrNull(1) }
                when (what) {
                    "start" -> {
                        startedLife = life
                        restoredBy[life] = value!!.removePrefix("queued=").toLong()
                    }
                    "sending" -> sending += value!!.toLong()
                    "accepted" -> accepted += value!!.toLong()
                    "drained" -> drainedLife = life
                    else -> throw AssertionError("unexpected line from the child: $line")
                }
            }
        }
    }

    private fun startChild(server: NodeServer, lineage: Lineage, count: Long): Process {
        val java = Paths.get(System.getProperty("java.home"), "bin", "java").toString()
        val classpath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
        val output = lineage.newLife()
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
        builder.redirectOutput(output)
        builder.redirectError(ProcessBuilder.Redirect.appendTo(File("target/durable-child.log")))
        return builder.start()
    }

    /** SIGKILL, then everything it wrote. */
    private fun kill(process: Process, lineage: Lineage) {
        process.destroyForcibly()
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the child did not die")
        assertEquals(137, process.exitValue(), "the child was alive until SIGKILL (see target/durable-child.log)")
        lineage.absorb()
    }

    @Test
    fun `messages survive SIGKILL and network cuts exactly once and in order`() {
        val rounds = 6
        val rng = Random(13)
        val dir = Files.createTempDirectory("tether-kill")
        try {
            NodeServer(extraArgs = listOf("--dedup-field", "messageId")).use { server ->
                val lineage = Lineage(dir.resolve("outbox.sqlite").toString(), dir.toFile())
                repeat(rounds) { round ->
                    val count = rng.nextLong(100, 400)
                    val child = startChild(server, lineage, count)
                    awaitCondition(30.seconds, "the child started") { lineage.started }
                    val cut = round == 0 || rng.nextBoolean()
                    if (cut) server.command("""{"cmd":"cut"}""")
                    val target = lineage.next + rng.nextLong(1, count)
                    awaitCondition(60.seconds, "message $target accepted") { lineage.lastAccepted >= target }
                    kill(child, lineage)
                    if (cut) server.command("""{"cmd":"heal"}""")
                }
                val last = startChild(server, lineage, 0)
                awaitCondition(120.seconds, "the last child drained") { lineage.drained }
                kill(last, lineage)

                val (ledger, duplicates) = server.ledger("ack-echo")
                val ns = ledger.map { it["n"]!!.jsonPrimitive.long }
                with(lineage) {
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
