package dev.tether.bench

import dev.tether.TetherClient
import dev.tether.ffi.Client
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.MessageBatchListener
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.MessageListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.TetherException
import dev.tether.ffi.WireProtocol
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonPrimitive
import java.lang.management.ManagementFactory
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
 *
 * The calls are an app's: `TetherClient.tryEmit`, `TetherClient.subscribeMessages` and
 * `TetherClient.messages` (a Flow), which on the JVM take the JNI fast path (`emits_per_s`,
 * `callbacks_per_s`, `flow_callbacks_per_s`); the same calls through the generated JNA code
 * (`raw.tryEmit`, `raw.subscribeMessages`) are measured in the same run as `jna_emits_per_s` and
 * `jna_callbacks_per_s`; the batch calls (`tryEmitBatch`, `subscribeMessageBatches`) are JNA's.
 */
fun main(args: Array<String>) {
    val options = args.toList().chunked(2).associate { it[0] to it.getOrElse(1) { "" } }
    val url = options["--raw-url"] ?: fail("usage: W6 --raw-url ws://host:port [--n count]")
    val n = options["--n"]?.toInt() ?: 200_000
    // For profiling one part at a time: --only jna-emits,emits,batched-emits,batched-callbacks,
    // jna-callbacks,callbacks,flow (all by default).
    val only = options["--only"]?.split(",")?.toSet()
    fun run(phase: String, body: () -> Unit) {
        if (only == null || phase in only) body()
    }

    // W6 times the delivery of every message, so the listeners' streams may hold the whole
    // flood (by default they keep the newest 16,384 for a listener that falls behind).
    val wholeFlood = StreamBufferOptions(maxItems = n.toULong() + 1024u, maxBytes = ULong.MAX_VALUE)
    val config = ClientConfig(urls = listOf(url), protocol = WireProtocol.RAW_WEB_SOCKET, streamBuffer = wholeFlood)
    val client = TetherClient(config)
    runBlocking { client.connect() }
    val payload = "c" + "x".repeat(63)
    val json = JsonPrimitive(payload)
    run("jna-emits") { emits(client.raw, n, "jna_", one { client.raw.tryEmit("message", "\"$payload\"") }) }
    run("emits") { emits(client.raw, n, "", one { client.tryEmit("message", json) }) }
    run("batched-emits") { emits(client.raw, n, "batched_", batches(client.raw, n, batch = 512)) }
    run("batched-callbacks") { batchedCallbacks(client.raw, n) }
    run("jna-callbacks") {
        singleCallbacks(client.raw, n, "jna_") { filter, listener -> client.raw.subscribeMessages(filter, listener) }
    }
    run("callbacks") {
        singleCallbacks(client.raw, n, "") { filter, listener -> client.subscribeMessages(filter, listener) }
    }
    run("flow") { flowCallbacks(client, n) }
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
 * `n` emits of a 64-byte text (starting with "c", which the bare server counts instead of
 * echoing) until the server has all of them. [emit] is given how many were handed over so far
 * and hands over more; when the send lane was full it is called again after a spin.
 */
private fun emits(client: Client, n: Int, kind: String, emit: (sent: Int) -> Handed) = withControl(client) { control ->
    send(client, "reset:$n")
    expect(control, "[\"reset-ok\"]")
    var refused = 0L
    var calls = 0L
    val cpu = processCpuNanos()
    val callerCpu = threads.currentThreadCpuTime
    val started = System.nanoTime()
    var sent = 0
    while (sent < n) {
        calls++
        val handed = emit(sent)
        sent += handed.count
        if (handed.laneFull) {
            refused++
            Thread.onSpinWait()
        }
    }
    val handedOver = System.nanoTime()
    // The caller's own CPU per call, refused calls included: the bindings' cost without the
    // engine's, which runs on the library's threads.
    val callCpuUs = (threads.currentThreadCpuTime - callerCpu) / 1e3 / calls
    expect(control, "[\"done\"]")
    val done = System.nanoTime()
    figure("${kind}emits_per_s", n / seconds(started, done), "1/s")
    figure("${kind}emit_caller_cpu_us_per_call", callCpuUs, "us")
    figure("${kind}emit_cpu_us_per_msg", (processCpuNanos() - cpu) / 1e3 / n, "us")
    figure("${kind}emit_calls_per_s", n / seconds(started, handedOver), "1/s")
    figure("${kind}emit_lane_full_retries", refused.toDouble(), "count")
}

/** What one call handed over, and whether the send lane filled before all of it was. */
private class Handed(val count: Int, val laneFull: Boolean)

/** One call per message ([emit]); `QueueFull` is a full lane. */
private fun one(emit: () -> Unit): (Int) -> Handed = {
    try {
        emit()
        Handed(1, laneFull = false)
    } catch (busy: TetherException.QueueFull) {
        Handed(0, laneFull = true)
    }
}

/** `tryEmitBatch` of up to [batch] per call, resent from where the lane filled. */
private fun batches(client: Client, n: Int, batch: Int): (Int) -> Handed {
    val payloads = List(batch) { "\"c" + "x".repeat(63) + "\"" }
    return { sent ->
        val take = minOf(batch, n - sent)
        val accepted = client.tryEmitBatch("message", payloads.subList(0, take)).toInt()
        Handed(accepted, laneFull = accepted < take)
    }
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

/** The same flood to a listener called once per message, subscribed through [subscribe]. */
private fun singleCallbacks(
    client: Client,
    n: Int,
    kind: String,
    subscribe: (MessageFilter, MessageListener) -> AutoCloseable,
) {
    val received = AtomicLong()
    val all = CountDownLatch(1)
    val listener = object : MessageListener {
        override fun onMessage(message: IncomingMessage) {
            if (message.argsJson.startsWith("[\"f") && received.incrementAndGet() == n.toLong()) {
                all.countDown()
            }
        }
    }
    subscribe(MessageFilter(), listener).use {
        val cpu = processCpuNanos()
        val started = System.nanoTime()
        send(client, "flood:$n")
        await(all, "the flood")
        val done = System.nanoTime()
        figure("${kind}callbacks_per_s", n / seconds(started, done), "1/s")
        figure("${kind}callback_cpu_us_per_msg", (processCpuNanos() - cpu) / 1e3 / n, "us")
    }
}

/** The same flood collected from `TetherClient.messages()`, one Flow value per message. */
private fun flowCallbacks(client: TetherClient, n: Int) = runBlocking(Dispatchers.Default) {
    var received = 0
    val collector = launch(start = CoroutineStart.UNDISPATCHED) {
        client.messages().first { it.argsJson.startsWith("[\"f") && ++received == n }
    }
    val cpu = processCpuNanos()
    val started = System.nanoTime()
    send(client.raw, "flood:$n")
    withTimeout(300_000) { collector.join() }
    val done = System.nanoTime()
    figure("flow_callbacks_per_s", n / seconds(started, done), "1/s")
    figure("flow_callback_cpu_us_per_msg", (processCpuNanos() - cpu) / 1e3 / n, "us")
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

private val threads = ManagementFactory.getThreadMXBean()

/**
 * CPU time of this whole process (every thread: the caller, the library's runtime and delivery
 * threads, the JIT and GC), so `*_cpu_us_per_msg` is what one message costs this process.
 */
private fun processCpuNanos(): Long =
    (ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean).processCpuTime

private fun figure(name: String, value: Double, unit: String) =
    println("""{"figure":"$name","value":$value,"unit":"$unit"}""")

private fun fail(message: String): Nothing {
    System.err.println("W6: $message")
    exitProcess(1)
}
