package dev.tether

import dev.tether.ffi.BackoffOptions
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.ConnectionState
import dev.tether.ffi.Event
import dev.tether.ffi.FailureReason
import dev.tether.ffi.HttpHeader
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.LogLevel
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.MessageListener
import dev.tether.ffi.NetworkOptions
import dev.tether.ffi.StateListener
import dev.tether.ffi.TetherException
import dev.tether.ffi.TokenException
import dev.tether.ffi.TransportKind
import dev.tether.ffi.Transports
import dev.tether.ffi.defaultConfig
import dev.tether.ffi.validateConfig
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonArray
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

@Serializable
data class Cursor(val x: Int, val y: Int)

/** These prove the bindings (types, errors, listeners, threads), not the engine's logic. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TetherClientTest : ClosesAfterEach() {
    @Test
    fun `connects with a token from a Kotlin provider and the state flow reaches Connected`() = runBlocking<Unit> {
        val server = NodeServer(token = "s3cret").closeAfter()
        val asked = AtomicInteger()
        val client = TetherClient(testConfig(server)) {
            asked.incrementAndGet()
            "s3cret"
        }.closeAfter()
        assertEquals(ConnectionState.Idle, client.state.value)

        client.start()
        withTimeout(10.seconds) { client.state.first { it == ConnectionState.Connected } }

        assertTrue(asked.get() >= 1, "the token provider was asked")
        val connection = server.awaitReport { it.string("event") == "connection" }
        assertEquals("<redacted>", connection["auth"]?.jsonObject?.string("token"), "the token was sent")
    }

    @Test
    fun `the record defaults are the core defaults`() {
        assertEquals(defaultConfig(), ClientConfig())
    }

    @Test
    fun `emit with ack returns the server's ack arguments`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()

        val reply = client.emitWithAck("ack-echo", buildJsonObject { put("n", 42) }, timeout = 5.seconds)

        assertEquals(buildJsonArray { add(buildJsonObject { put("n", 42) }) }, reply)
    }

    @Test
    fun `receives events through a listener and through the flow`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val viaListener = LinkedBlockingQueue<IncomingMessage>()
        client.raw.subscribeMessages(
            MessageFilter(events = listOf("echo")),
            object : MessageListener {
                override fun onMessage(message: IncomingMessage) {
                    viaListener.add(message)
                }
            },
        ).closeAfter()
        val viaFlow = inbox(client.messages("echo"))
        val events = inbox(client.events)
        client.connect()

        client.emitValue("echo", Cursor(3, 4))
        server.command("""{"cmd":"emit","event":"echo","data":{"x":5,"y":6}}""")

        val first = viaFlow.receiveWithin()
        assertEquals(Cursor(3, 4), first.decode<Cursor>())
        assertEquals(Cursor(5, 6), viaFlow.receiveWithin().decode<Cursor>())
        val fromListener = assertNotNull(viaListener.poll(10, TimeUnit.SECONDS))
        assertEquals("echo", fromListener.event)
        assertEquals(Cursor(3, 4), fromListener.decode<Cursor>())
        val asEvent = events.receiveUntil { it is Event.Message }
        assertEquals("echo", assertIs<Event.Message>(asEvent).message.event)
        viaFlow.cancel()
        events.cancel()
        coroutineContext.cancelChildren()
    }

    @Test
    fun `joins a room and receives its broadcasts`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val news = inbox(client.messages("news", room = "r1"))
        client.connect()

        client.join("r1")
        server.command("""{"cmd":"emit","room":"r1","event":"news","data":{"room":"r1","n":1}}""")

        val message = news.receiveWithin()
        assertEquals("r1", message.room)
        assertEquals(1, message.payload?.jsonObject?.get("n")?.jsonPrimitive?.int)
        coroutineContext.cancelChildren()
    }

    @Test
    fun `after a server restart it reconnects and the room is joined again`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val events = inbox(client.events)
        val news = inbox(client.messages("news"))
        client.connect()
        client.join("r1")

        val beforeRestart = server.mark()
        server.restart()

        events.receiveUntil { it is Event.StateChanged && it.state is ConnectionState.Reconnecting }
        events.receiveUntil(15.seconds) { it is Event.StateChanged && it.state == ConnectionState.Connected }
        server.awaitReceived("join-room", since = beforeRestart)
        server.command("""{"cmd":"emit","room":"r1","event":"news","data":{"after":"restart"}}""")
        assertEquals(JsonPrimitive("restart"), news.receiveWithin().payload?.jsonObject?.get("after"))
        coroutineContext.cancelChildren()
    }

    @Test
    fun `a message sent while offline is delivered after the reconnect`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()

        server.kill()
        withTimeout(10.seconds) { client.state.first { it is ConnectionState.Reconnecting } }
        client.emit("offline-note", buildJsonObject { put("n", 7) })
        assertEquals(1uL, client.stats().queued, "queued while offline")
        val since = server.mark()
        server.restart()

        val received = server.awaitReceived("offline-note", timeout = 15.seconds, since = since)
        assertEquals(7, received["args"]?.jsonArray?.get(0)?.jsonObject?.get("n")?.jsonPrimitive?.int)
    }

    @Test
    fun `an auth rejection surfaces as AuthRejected`() = runBlocking<Unit> {
        val server = NodeServer(token = "right").closeAfter()
        val wrongToken = TetherClient(testConfig(server)) { "wrong" }.closeAfter()

        assertFailsWith<TetherException.AuthRejected> { wrongToken.connect() }
        val failed = withTimeout(10.seconds) { wrongToken.state.first { it is ConnectionState.Failed } }
        assertIs<FailureReason.AuthRejected>(assertIs<ConnectionState.Failed>(failed).reason)
        server.awaitReport { it.string("event") == "rejected" }

        val signedOut = TetherClient(testConfig(server)) {
            throw TokenException.Unauthorized("signed out")
        }.closeAfter()
        val error = assertFailsWith<TetherException.AuthRejected> { signedOut.connect() }
        assertContains(error.message ?: "", "signed out")
    }

    @Test
    fun `an invalid config surfaces as InvalidConfig`() {
        val badUrl = assertFailsWith<TetherException.InvalidConfig> {
            TetherClient(ClientConfig(urls = listOf("ftp://example.com")))
        }
        assertContains(badUrl.message ?: "", "urls")
        val badFactor = assertFailsWith<TetherException.InvalidConfig> {
            validateConfig(ClientConfig(urls = listOf("ws://h"), backoff = BackoffOptions(factor = 0.5)))
        }
        assertContains(badFactor.message ?: "", "backoff.factor")
        assertFailsWith<TetherException.InvalidConfig> {
            TetherClient(ClientConfig(urls = emptyList()))
        }
    }

    @Test
    fun `the client answers a server's acknowledgement request`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val questions = inbox(client.messages("question"))
        client.connect()

        val answer = async {
            client.emitWithAck("ask-client", buildJsonObject {
                put("event", "question")
                put("data", buildJsonObject { put("q", 1) })
            })
        }
        val question = questions.receiveWithin()
        assertNotNull(question.ackId, "the server asked for an acknowledgement")
        client.ack(question, JsonPrimitive("yes"))

        val result = answer.await()[0].jsonObject
        assertEquals(JsonPrimitive(true), result["ok"])
        assertEquals(buildJsonArray { add(JsonPrimitive("yes")) }, result["reply"])
        coroutineContext.cancelChildren()
    }

    @Test
    fun `cancelling or dropping a subscription handle stops its callbacks`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()
        fun counting(counter: AtomicInteger) = object : MessageListener {
            override fun onMessage(message: IncomingMessage) {
                counter.incrementAndGet()
            }
        }
        val echoes = MessageFilter(events = listOf("echo"))
        val cancelled = AtomicInteger()
        val dropped = AtomicInteger()
        val kept = AtomicInteger()
        val cancelledHandle = client.raw.subscribeMessages(echoes, counting(cancelled))
        val droppedHandle = client.raw.subscribeMessages(echoes, counting(dropped))
        client.raw.subscribeMessages(echoes, counting(kept)).closeAfter()

        client.emit("echo", JsonPrimitive(0))
        awaitCondition(what = "every subscription got the first echo") {
            cancelled.get() == 1 && dropped.get() == 1 && kept.get() == 1
        }
        cancelledHandle.cancel()
        droppedHandle.close()
        awaitCondition(what = "the cancelled task to end") { cancelledHandle.isFinished() }

        repeat(5) { client.emit("echo", JsonPrimitive(it + 1)) }
        awaitCondition(what = "the kept subscription to get 5 more") { kept.get() == 6 }
        assertEquals(1, cancelled.get(), "no callback after cancel()")
        assertEquals(1, dropped.get(), "no callback after close()")
        cancelledHandle.close()
    }

    @Test
    fun `a listener that throws keeps getting values`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val calls = AtomicInteger()
        client.raw.subscribeMessages(
            MessageFilter(events = listOf("echo")),
            object : MessageListener {
                override fun onMessage(message: IncomingMessage) {
                    calls.incrementAndGet()
                    throw IllegalStateException("listener bug")
                }
            },
        ).closeAfter()
        val states = CopyOnWriteArrayList<ConnectionState>()
        client.raw.subscribeState(object : StateListener {
            override fun onState(state: ConnectionState) {
                states += state
                throw RuntimeException("another listener bug")
            }
        }).closeAfter()
        client.connect()

        repeat(3) { client.emit("echo", JsonPrimitive(it)) }

        awaitCondition(what = "3 calls to the throwing listener") { calls.get() == 3 }
        awaitCondition(what = "Connected after a throw on Idle") { ConnectionState.Connected in states }
    }

    @Test
    fun `log records reach a Kotlin log listener`() = runBlocking<Unit> {
        withLogRecords(LogLevel.INFO) { records ->
            val server = NodeServer().closeAfter()
            val client = TetherClient(testConfig(server)).closeAfter()
            client.connect()
            awaitCondition(what = "a connection state record") {
                records.any { it.target.startsWith("tether_core") && "connected" in it.message }
            }
            assertTrue(records.none { it.level == LogLevel.DEBUG || it.level == LogLevel.TRACE })
        }
    }

    @Test
    fun `8 threads sending 10,000 messages each lose none`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()
        val threads = 8
        val perThread = 10_000

        val started = System.nanoTime()
        val failures = CopyOnWriteArrayList<Throwable>()
        (0 until threads).map { t ->
            thread(name = "sender-$t") {
                try {
                    runBlocking {
                        repeat(perThread) { i ->
                            client.emit("bulk", buildJsonObject { put("t", t); put("i", i) })
                        }
                    }
                } catch (e: Throwable) {
                    failures += e
                }
            }
        }.forEach { it.join() }
        val sent = (System.nanoTime() - started) / 1_000_000
        assertEquals(emptyList(), failures.toList())

        val received = server.awaitReceivedCount("bulk", threads * perThread, timeout = 90.seconds)
        val all = (System.nanoTime() - started) / 1_000_000
        println("8 x 10,000 emits: accepted in $sent ms, all received by the server in $all ms")
        assertEquals(threads * perThread, received)
        val stats = client.stats()
        assertEquals((threads * perThread).toULong(), stats.messagesSent)
        assertEquals(0uL, stats.dropped)
    }

    @Test
    fun `tryEmit from plain threads and batched delivery lose nothing and keep order`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val batches = inbox(client.messageBatches("echo", maxBatch = 64))
        client.connect()
        val total = 5_000
        val refused = client.tryEmitEchoes(0 until total)

        // And as many again in batches, resent from where the lane filled up.
        val rest = (total until 2 * total).map { buildJsonObject { put("i", it) } }
        var next = 0
        while (next < rest.size) {
            next += client.tryEmitAll("echo", rest.subList(next, minOf(next + 500, rest.size)))
            if (next < rest.size) Thread.onSpinWait()
        }

        val seen = ArrayList<Int>()
        var largest = 0
        while (seen.size < 2 * total) {
            val batch = batches.receiveWithin(30.seconds)
            assertTrue(batch.isNotEmpty() && batch.size <= 64, "batch of ${batch.size}")
            largest = maxOf(largest, batch.size)
            batch.mapTo(seen) { it.payload!!.jsonObject["i"]!!.jsonPrimitive.int }
        }
        println("tryEmit and tryEmitAll: ${2 * total} echoed in batches of up to $largest; lane full $refused times")
        assertEquals((0 until 2 * total).toList(), seen)
        batches.cancel()
        coroutineContext.cancelChildren()
    }

    @Test
    fun `tryEmit refuses bad JSON and a closed client`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()
        assertFailsWith<TetherException.Other> { client.raw.tryEmit("echo", "{not json") }
        assertFailsWith<TetherException.Other> { client.raw.tryEmitBatch("echo", listOf("1", "{not json")) }
        client.disconnect()
        assertFailsWith<TetherException.Closed> { client.tryEmit("echo", JsonPrimitive(1)) }
        assertFailsWith<TetherException.Closed> { client.tryEmitAll("echo", listOf(JsonPrimitive(1))) }
    }

    @Test
    fun `a polling-only config connects over long-polling with its headers`() = runBlocking<Unit> {
        val server = NodeServer(extraArgs = listOf("--transports", "polling")).closeAfter()
        val config = testConfig(server).copy(
            network = NetworkOptions(
                transports = Transports.Polling,
                headers = listOf(HttpHeader(name = "X-Tenant", value = "acme")),
            ),
        )
        val client = TetherClient(config).closeAfter()
        client.connect()

        val reply = client.emitWithAck("ack-echo", JsonPrimitive("over polling"), timeout = 5.seconds)

        assertEquals(buildJsonArray { add(JsonPrimitive("over polling")) }, reply)
        assertEquals(TransportKind.POLLING, client.stats().transport)
        val connection = server.awaitReport { it.string("event") == "connection" }
        assertEquals("polling", connection.string("transport"))
        assertEquals("acme", connection["headers"]?.jsonObject?.string("x-tenant"))
    }

    @Test
    fun `a refused token is replaced once through tokenAfterRejection`() = runBlocking<Unit> {
        val server = NodeServer(token = "fresh").closeAfter()
        val refused = CopyOnWriteArrayList<String>()
        val provider = object : TokenProvider {
            override suspend fun token() = "expired"

            override suspend fun tokenAfterRejection(rejected: String): String {
                refused += rejected
                return "fresh"
            }
        }
        val client = TetherClient(testConfig(server), provider).closeAfter()

        client.connect()

        assertEquals(listOf("expired"), refused.toList(), "told which token was refused, once")
        server.awaitReport { it.string("event") == "rejected" }
    }
}
