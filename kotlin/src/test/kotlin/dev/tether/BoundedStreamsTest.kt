package dev.tether

import dev.tether.ffi.Event
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.StreamOverflow
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/**
 * A collector that stops reading while the server floods (issue 15): the flows' buffers are
 * bounded with the Rust side's policy, and the collector is told how many it missed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BoundedStreamsTest : ClosesAfterEach() {
    /** `n` of a flood message (`{"n": i, ...}`), or null. */
    private fun IncomingMessage.n(): Int? =
        runCatching { Json.parseToJsonElement(argsJson).jsonArray[0].jsonObject["n"]?.jsonPrimitive?.int }.getOrNull()

    private fun Event.n(): Int? = (this as? Event.Message)?.message?.n()

    /** Waits until the client has received [count] messages and its Rust-side queues handed all over. */
    private suspend fun awaitDelivered(client: TetherClient, count: Int) = withTimeout(30.seconds) {
        while (true) {
            val stats = client.stats()
            if (stats.messagesIn >= count.toULong() && stats.streamQueued == 0uL) break
            delay(5)
        }
    }

    @Test
    fun `a paused events collector holds at most its bound and gets a Lagged event`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val bound = 64
        val config = testConfig(server).copy(streamBuffer = StreamBufferOptions(maxItems = bound.toULong()))
        val client = TetherClient(config).closeAfter()
        client.connect()
        val flood = 5_000
        val resume = CompletableDeferred<Unit>()
        val seen = CopyOnWriteArrayList<Event>()
        // UNDISPATCHED: subscribed when this returns; the collector then pauses on its first event.
        val reading = async(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
            client.events.first { event ->
                if (seen.isEmpty()) resume.await()
                seen += event
                event.n() == flood - 1
            }
        }
        server.command("""{"cmd":"flood","events":["tick"],"count":$flood}""")
        awaitDelivered(client, flood)
        resume.complete(Unit)
        withTimeout(30.seconds) { reading.await() }

        val messages = seen.mapNotNull { it.n() }
        val skipped = seen.filterIsInstance<Event.Lagged>().sumOf { it.skipped.toLong() }
        assertTrue(skipped > 0, "the paused collector was told it missed events: $seen")
        assertTrue(messages.size <= 1 + bound, "at most the bound waited, got ${messages.size}")
        assertEquals(flood.toLong(), messages.size + skipped, "every event got or announced")
        assertEquals(messages.sorted(), messages, "in order")
        assertEquals(flood - 1, messages.last(), "the newest is kept (DROP_OLDEST)")
    }

    @Test
    fun `a paused messages collector dropping the newest keeps the oldest and is told at the gap`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()
        val bound = 32
        val buffer = StreamBufferOptions(maxItems = bound.toULong(), overflow = StreamOverflow.DROP_NEWEST)
        val seen = CopyOnWriteArrayList<String>()
        val resume = CompletableDeferred<Unit>()
        val flood = 2_000
        val reading = async(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
            client.messages("tick", "tock", buffer = buffer, onLagged = { seen += "lagged $it" }).first { message ->
                if (seen.isEmpty()) resume.await()
                seen += "${message.event} ${message.n()}"
                message.event == "tock"
            }
        }
        server.command("""{"cmd":"flood","events":["tick"],"count":$flood}""")
        awaitDelivered(client, flood)
        resume.complete(Unit)
        // The gap after what waited is announced with the next message accepted: send one
        // until the collector, having read what waited, takes it (one sent while the buffer is
        // still full is dropped too, and counted in the same gap).
        var tocks = 0
        while (!reading.isCompleted) {
            server.command("""{"cmd":"flood","events":["tock"],"count":1}""")
            tocks += 1
            withTimeout(30.seconds) { while (!reading.isCompleted && client.stats().streamQueued > 0uL) delay(5) }
            runCatching { withTimeout(1.seconds) { reading.await() } }
        }

        val ticks = seen.filter { it.startsWith("tick ") }.map { it.removePrefix("tick ").toInt() }
        val skipped = seen.filter { it.startsWith("lagged ") }.sumOf { it.removePrefix("lagged ").toLong() }
        assertEquals(0, ticks.first(), "the oldest is kept (DROP_LATEST): $seen")
        assertEquals(ticks.sorted(), ticks, "in order")
        assertTrue(ticks.size <= 1 + bound, "at most the bound waited, got ${ticks.size}")
        assertEquals((flood + tocks - 1).toLong(), ticks.size + skipped, "every message got or announced")
        assertEquals("tock 0", seen.last())
        assertTrue(seen[seen.size - 2].startsWith("lagged "), "the gap is announced right before it: $seen")
    }
}
