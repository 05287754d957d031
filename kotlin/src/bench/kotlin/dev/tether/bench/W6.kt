package dev.tether.bench

import dev.tether.ffi.Client
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.MessageBatchListener
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.MessageListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.TetherException
import dev.tether.ffi.WireProtocol
import kotlinx.coroutines.runBlocking
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import kotlin.system.exitProcess

/**
 * W6 of BENCHMARKS.md from Kotlin: how many emits per second the bindings take, and how many
 * server messages per second they deliver to Kotlin code. Run by `kotlin/bench-w6.sh`, which the
 * benchmark orchestrator calls with the bare WebSocket bench server's URL; prints one JSON line
 * per figure, as every benchmark client does.
 *
 * The bare server is the sink and the source because it is not the bottleneck (it takes and
 * sends several hundred thousand small messages a second; the Node Socket.IO server does not).
 * The calls go through the generated API (`dev.tether.ffi.Client`), as an app would make them.
 */
fun main(args: Array<String>) {
    val options = args.toList().chunked(2).associate { it[0] to it.getOrElse(1) { "" } }
    val url = options["--raw-url"] ?: fail("usage: W6 --raw-url ws://host:port [--n count]")
    val n = options["--n"]?.toInt() ?: 200_000

    // W6 times the delivery of every message, so the listeners' streams may hold the whole
    // flood (by default they keep the newest 16,384 for a listener that falls behind).
    val wholeFlood = StreamBufferOptions(maxItems = n.toULong() + 1024u, maxBytes = ULong.MAX_VALUE)
    val config = ClientConfig(urls = listOf(url), protocol = WireProtocol.RAW_WEB_SOCKET, streamBuffer = wholeFlood)
    val client = Client(config, null)
    runBlocking { client.connect() }
    emits(client, n, batch = 1)
    emits(client, n, batch = 512)
    batchedCallbacks(client, n)
    singleCallbacks(client, n)
    client.close()
}

/**
 * The server's answers to `reset:N` and the W2 counting ("reset-ok", "done"). Subscribed only
 * while emits are measured, so that no listener but the measured one sees the floods.
 */
private fun <T> withControl(client: Client, body: (LinkedBlockingQueue<String>) -> T): T {
    val control = LinkedBlockingQueue<String>()
    return client.subscribeMessages(MessageFilter(), object : MessageListener {
        override fun onMessage(message: IncomingMessage) {
            control.add(message.argsJson)
        }
    }).use { body(control) }
}

/**
 * `n` emits of 64 bytes until the server has all of them: one `tryEmit` per message
 * (`batch` 1) or `tryEmitBatch` of `batch` messages, retried from where the send lane filled.
 */
private fun emits(client: Client, n: Int, batch: Int) = withControl(client) { control ->
    send(client, "reset:$n")
    expect(control, "[\"reset-ok\"]")
    // A 64-byte text starting with "c", which the bare server counts instead of echoing.
    val payload = "\"c" + "x".repeat(63) + "\""
    val payloads = List(batch) { payload }
    var refused = 0L
    val started = System.nanoTime()
    var sent = 0
    while (sent < n) {
        try {
            if (batch == 1) {
                client.tryEmit("message", payload)
                sent++
            } else {
                val take = minOf(batch, n - sent)
                val accepted = client.tryEmitBatch("message", if (take == batch) payloads else payloads.subList(0, take)).toInt()
                sent += accepted
                if (accepted < take) {
                    refused++
                    Thread.onSpinWait()
                }
            }
        } catch (busy: TetherException.QueueFull) {
            refused++
            Thread.onSpinWait()
        }
    }
    val handedOver = System.nanoTime()
    expect(control, "[\"done\"]")
    val done = System.nanoTime()
    val kind = if (batch == 1) "" else "batched_"
    figure("${kind}emits_per_s", n / seconds(started, done), "1/s")
    figure("${kind}emit_calls_per_s", n / seconds(started, handedOver), "1/s")
    figure("${kind}emit_lane_full_retries", refused.toDouble(), "count")
}

/** The server floods `n` texts; a batch listener counts them. */
private fun batchedCallbacks(client: Client, n: Int) {
    val received = AtomicLong()
    val calls = AtomicLong()
    val all = CountDownLatch(1)
    val listener = object : MessageBatchListener {
        override fun onMessages(messages: List<IncomingMessage>) {
            calls.incrementAndGet()
            val flood = messages.count { it.argsJson.startsWith("[\"f") }
            if (received.addAndGet(flood.toLong()) == n.toLong()) all.countDown()
        }
    }
    client.subscribeMessageBatches(MessageFilter(), 1024u, listener).use {
        val started = System.nanoTime()
        send(client, "flood:$n")
        await(all, "the batched flood")
        val done = System.nanoTime()
        figure("batched_events_per_s", n / seconds(started, done), "1/s")
        figure("batched_events_per_call", n.toDouble() / calls.get(), "count")
    }
}

/** The same flood to a listener called once per message. */
private fun singleCallbacks(client: Client, n: Int) {
    val received = AtomicLong()
    val all = CountDownLatch(1)
    val listener = object : MessageListener {
        override fun onMessage(message: IncomingMessage) {
            if (message.argsJson.startsWith("[\"f") && received.incrementAndGet() == n.toLong()) {
                all.countDown()
            }
        }
    }
    client.subscribeMessages(MessageFilter(), listener).use {
        val started = System.nanoTime()
        send(client, "flood:$n")
        await(all, "the flood")
        val done = System.nanoTime()
        figure("callbacks_per_s", n / seconds(started, done), "1/s")
    }
}

private fun send(client: Client, text: String) = runBlocking { client.emit("message", "\"$text\"") }

private fun expect(control: LinkedBlockingQueue<String>, wanted: String) {
    while (true) {
        val next = control.poll(120, TimeUnit.SECONDS) ?: fail("no $wanted from the server within 120 s")
        if (next == wanted) return
    }
}

private fun await(latch: CountDownLatch, what: String) {
    if (!latch.await(300, TimeUnit.SECONDS)) fail("$what did not arrive within 300 s")
}

private fun seconds(from: Long, to: Long) = (to - from) / 1e9

private fun figure(name: String, value: Double, unit: String) =
    println("""{"figure":"$name","value":$value,"unit":"$unit"}""")

private fun fail(message: String): Nothing {
    System.err.println("W6: $message")
    exitProcess(1)
}
