package dev.tether

import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.LagListener
import dev.tether.ffi.LogLevel
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.MessageListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.StreamOverflow
import dev.tether.ffi.TetherException
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/**
 * The JNI fast path of `tryEmit` and message delivery (`JvmFastPath`): that it is the path in
 * use, that it delivers what the JNA path delivers, and fails as the JNA path fails.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JvmFastPathTest : ClosesAfterEach() {

    /**
     * Every `echo` message's `i`, in delivery order, through a fast-path listener. These tests
     * want every echo, and a copy-on-write list falls behind a burst of thousands by more than
     * the default bound of 16,384, so the subscription may hold a whole run (the bound itself is
     * tested below).
     */
    private fun TetherClient.echoesInto(seen: MutableList<Int>): AutoCloseable =
        subscribeMessages(MessageFilter(events = listOf("echo"), buffer = StreamBufferOptions(maxItems = 65_536uL)), object : MessageListener {
            override fun onMessage(message: IncomingMessage) {
                seen += message.payload!!.jsonObject["i"]!!.jsonPrimitive.int
            }
        })

    @Test
    fun `on the JVM tryEmit and subscribeMessages take the fast path`() {
        val server = NodeServer().closeAfter()
        assertTrue(TetherClient(testConfig(server)).closeAfter().usesFastPath, "the JNI entry points loaded")
        val jna = TetherClient(testConfig(server), null, fastPath = false).closeAfter()
        assertTrue(!jna.usesFastPath)
    }

    @Test
    fun `tryEmit and a listener deliver everything in order exactly once`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val seen = CopyOnWriteArrayList<Int>()
        client.echoesInto(seen).closeAfter()
        client.connect()
        val total = 20_000
        val refused = client.tryEmitEchoes(0 until total)

        assertEquals(total, server.awaitReceivedCount("echo", total, timeout = 60.seconds), "each once at the server")
        awaitCondition(60.seconds, "all $total echoes") { seen.size >= total }
        println("fast path: $total emitted and echoed; lane full $refused times")
        assertEquals((0 until total).toList(), seen.toList(), "in order, none lost, none twice")
    }

    @Test
    fun `listeners through JNA and through the fast path side by side both get everything`() = runBlocking<Unit> {
        // JNA detaches native threads it once attached, even when someone else attached them
        // since: the fast path must never share its threads with JNA's callbacks (this test
        // crashed the JVM when it did).
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val viaJni = CopyOnWriteArrayList<Int>()
        val viaJna = CopyOnWriteArrayList<Int>()
        client.echoesInto(viaJni).closeAfter()
        client.raw.subscribeMessages(MessageFilter(events = listOf("echo")), object : MessageListener {
            override fun onMessage(message: IncomingMessage) {
                viaJna += message.payload!!.jsonObject["i"]!!.jsonPrimitive.int
            }
        }).closeAfter()
        client.connect()
        val total = 3_000
        client.tryEmitEchoes(0 until total)
        awaitCondition(60.seconds, "every echo through both paths") { viaJni.size >= total && viaJna.size >= total }
        assertEquals((0 until total).toList(), viaJni.toList())
        assertEquals((0 until total).toList(), viaJna.toList())
    }

    @Test
    fun `errors are the exceptions of the JNA path`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val fast = TetherClient(testConfig(server)).closeAfter()
        val jna = TetherClient(testConfig(server), null, fastPath = false).closeAfter()
        fun failure(client: TetherClient, payload: JsonPrimitive): Throwable? =
            runCatching { client.tryEmit("echo", payload) }.exceptionOrNull()
        fun sameFailure(payload: JsonPrimitive, expected: Class<*>) {
            val (viaJni, viaJna) = failure(fast, payload) to failure(jna, payload)
            assertEquals<Any?>(expected, viaJni?.javaClass, "$viaJni")
            assertEquals<Any?>(viaJna?.javaClass, viaJni?.javaClass)
            assertEquals(viaJna?.message, viaJni?.message)
        }
        // Not JSON once printed: NaN.
        sameFailure(JsonPrimitive(Double.NaN), TetherException.Other::class.java)
        fast.disconnect()
        jna.disconnect()
        sameFailure(JsonPrimitive(1), TetherException.Closed::class.java)
        fast.close()
        jna.close()
        sameFailure(JsonPrimitive(1), IllegalStateException::class.java)
    }

    @Test
    fun `a listener that throws does not stop delivery and the throw is logged`() = runBlocking<Unit> {
        withLogRecords(LogLevel.WARN) { records ->
            val server = NodeServer().closeAfter()
            val client = TetherClient(testConfig(server)).closeAfter()
            val seen = CopyOnWriteArrayList<Int>()
            client.subscribeMessages(MessageFilter(events = listOf("echo")), object : MessageListener {
                override fun onMessage(message: IncomingMessage) {
                    val i = message.payload!!.jsonObject["i"]!!.jsonPrimitive.int
                    seen += i
                    if (i % 2 == 0) throw IllegalStateException("listener bug on $i")
                }
            }).closeAfter()
            client.connect()
            repeat(200) { client.tryEmit("echo", buildJsonObject { put("i", it) }) }

            awaitCondition(30.seconds, "all 200 echoes") { seen.size >= 200 }
            assertEquals((0 until 200).toList(), seen.toList())
            awaitCondition(what = "a log record of a throw") {
                records.any { it.target.startsWith("tether_ffi") && "listener bug on" in it.message }
            }
        }
    }

    @Test
    fun `a fast-path listener that falls behind is bounded and told where it lost messages`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        assertTrue(client.usesFastPath)
        val bound = 16
        val flood = 3_000
        val buffer = StreamBufferOptions(maxItems = bound.toULong(), overflow = StreamOverflow.DROP_OLDEST)
        val release = CountDownLatch(1)
        val got = CopyOnWriteArrayList<Int>()
        val lost = AtomicLong()
        client.subscribeMessages(
            MessageFilter(events = listOf("tick"), buffer = buffer),
            object : MessageListener {
                override fun onMessage(message: IncomingMessage) {
                    // The first call holds the listener's thread until the flood is in.
                    if (got.isEmpty()) release.await()
                    got += message.payload!!.jsonObject["n"]!!.jsonPrimitive.int
                }
            },
            object : LagListener {
                override fun onLagged(skipped: ULong) {
                    lost.addAndGet(skipped.toLong())
                }
            },
        ).closeAfter()
        client.connect()

        server.command("""{"cmd":"flood","events":["tick"],"count":$flood}""")
        awaitCondition(what = "the flood to arrive and overflow the bound") {
            val stats = runBlocking { client.stats() }
            stats.messagesIn >= flood.toULong() && stats.streamDropped > 0uL
        }
        release.countDown()
        awaitCondition(what = "every message delivered or announced as lost") { got.size + lost.get() == flood.toLong() }

        assertTrue(lost.get() > 0, "the slow listener was told it lost messages")
        assertEquals(got.sorted(), got.toList(), "in order")
        assertEquals(flood - 1, got.last(), "the newest is kept (DROP_OLDEST)")
        assertTrue(client.stats().streamDropped >= lost.get().toULong(), "the drops are counted")
    }

    @Test
    fun `closing a fast subscription stops its calls and others go on`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val closed = CopyOnWriteArrayList<Int>()
        val kept = CopyOnWriteArrayList<Int>()
        val closedHandle = client.echoesInto(closed)
        client.echoesInto(kept).closeAfter()
        client.connect()

        client.tryEmit("echo", buildJsonObject { put("i", 0) })
        awaitCondition(what = "both got the first echo") { closed.size == 1 && kept.size == 1 }
        closedHandle.close()
        closedHandle.close()
        repeat(5) { client.tryEmit("echo", buildJsonObject { put("i", it + 1) }) }
        awaitCondition(what = "the kept one to get 5 more") { kept.size == 6 }
        assertEquals(listOf(0), closed.toList(), "no call after close()")
    }

    @Test
    fun `binary attachments, rooms, filters and ack requests cross intact`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        val blobs = inbox(client.messages("blob"))
        val news = inbox(client.messages("news", room = "r1"))
        val questions = inbox(client.messages("question"))
        val counted = AtomicInteger()
        client.subscribeMessages(MessageFilter(events = listOf("other")), object : MessageListener {
            override fun onMessage(message: IncomingMessage) {
                counted.incrementAndGet()
            }
        }).closeAfter()
        client.connect()
        client.join("r1")

        val bytes = byteArrayOf(0, 1, 2, -1, 127)
        val base64 = Base64.getEncoder().encodeToString(bytes)
        server.command("""{"cmd":"emit-binary","event":"blob","base64":"$base64"}""")
        val blob = blobs.receiveWithin()
        assertEquals(1, blob.binary.size)
        assertContentEquals(bytes, blob.binary[0])

        server.command("""{"cmd":"emit","room":"r1","event":"news","data":{"room":"r1","text":"héllo ✓"}}""")
        val item = news.receiveWithin()
        assertEquals("r1", item.room)
        assertEquals("héllo ✓", item.payload!!.jsonObject["text"]!!.jsonPrimitive.content)

        val answer = async {
            client.emitWithAck("ask-client", buildJsonObject { put("event", "question"); put("data", 1) })
        }
        val question = questions.receiveWithin()
        assertNotNull(question.ackId, "the ack id crossed")
        client.ack(question, JsonPrimitive("yes"))
        assertEquals(JsonPrimitive(true), answer.await()[0].jsonObject["ok"])
        assertEquals(0, counted.get(), "a filter for another event saw none of them")
        coroutineContext.cancelChildren()
    }
}
