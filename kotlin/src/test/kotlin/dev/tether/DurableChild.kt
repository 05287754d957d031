package dev.tether

import dev.tether.ffi.BackoffOptions
import dev.tether.ffi.ClientConfig
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

/**
 * The client process of [DurableKillTest], started by it with `java -cp ... dev.tether.DurableChildKt`
 * and killed with SIGKILL. Sends messages `TETHER_KILL_FROM` until `+ TETHER_KILL_COUNT` at
 * least once through a durable outbox, and prints one line per step: `start queued=K` (K came
 * back from the file), `sending N`, `accepted N` (the send returned: on disk), `drained`.
 */
fun main() {
    val env = System.getenv()
    val sender = env.getValue("TETHER_KILL_SENDER")
    val from = env.getValue("TETHER_KILL_FROM").toLong()
    val count = env.getValue("TETHER_KILL_COUNT").toLong()
    val config = ClientConfig(
        urls = listOf(env.getValue("TETHER_KILL_URL")),
        durableOutboxPath = env.getValue("TETHER_KILL_DB"),
        atLeastOnce = true,
        ackTimeoutMs = 3_600_000u,
        outboxMaxMessages = 1_000_000u,
        outboxMaxBytes = 256uL * 1024u * 1024u,
        maxPendingAcks = 1_000_000u,
        backoff = BackoffOptions(minDelayMs = 20u, maxDelayMs = 300u),
        connectTimeoutMs = 2_000u,
    )
    val client = TetherClient(config)
    client.storageError()?.let { error("the durable outbox did not open: $it") }
    fun say(line: String) {
        println(line)
        System.out.flush()
    }
    runBlocking {
        say("start queued=${client.stats().queued}")
        client.start()
        for (n in from until from + count) {
            say("sending $n")
            client.enqueue("ack-echo", buildJsonObject { put("sender", sender); put("n", n) })
            say("accepted $n")
        }
        while (true) {
            val stats = client.stats()
            if (stats.queued == 0uL && stats.pendingAcks == 0uL) break
            delay(10)
        }
        say("drained")
        awaitCancellation()
    }
}
