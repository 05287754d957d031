package dev.tether

import dev.tether.ffi.AckReply
import dev.tether.ffi.Client
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.ConnectionState
import dev.tether.ffi.Delivery
import dev.tether.ffi.Event
import dev.tether.ffi.EventListener
import dev.tether.ffi.HealthListener
import dev.tether.ffi.HealthStatus
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.LagListener
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.MessageBatchListener
import dev.tether.ffi.MessageListener
import dev.tether.ffi.OutgoingMessage
import dev.tether.ffi.RateLimit
import dev.tether.ffi.StateListener
import dev.tether.ffi.Stats
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.TaskHandle
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.transform
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.encodeToJsonElement
import kotlin.time.Duration

/**
 * A real-time connection to one server, the Kotlin way: `suspend` functions, [StateFlow]s for
 * state and health, cold [Flow]s for events and messages, JSON as kotlinx.serialization values.
 *
 * ```
 * TetherClient(ClientConfig(urls = listOf("wss://example.com"))) { auth.token() }.use { client ->
 *     client.connect()
 *     client.join("estimate-42")
 *     client.messages("pricing-updated").collect { println(it.payload) }
 * }
 * ```
 *
 * Every method throws [dev.tether.ffi.TetherException] subclasses (`AuthRejected`,
 * `InvalidConfig`, `AckTimeout`, ...). [close] disconnects and releases the native client.
 */
class TetherClient private constructor(
    /** The generated client, for what the sugar does not cover. */
    val raw: Client,
    /** The bounds of every flow's buffer: the config's `streamBuffer`. */
    internal val streamBuffer: StreamBufferOptions,
    fastPath: Boolean,
) : AutoCloseable {

    /**
     * A client for [config]; throws `TetherException.InvalidConfig` for a bad config. It does
     * not connect until [connect] or [start].
     */
    constructor(config: ClientConfig, tokenProvider: TokenProvider? = null) :
        this(config, tokenProvider, fastPath = true)

    /** [fastPath] false: every call through the generated JNA code (for tests comparing both). */
    internal constructor(config: ClientConfig, tokenProvider: TokenProvider?, fastPath: Boolean) :
        this(Client(config, tokenProvider?.let(::FfiTokenProvider)), config.streamBuffer, fastPath)

    /**
     * The client's id for the JNI fast path of [tryEmit] and [subscribeMessages]
     * ([JvmFastPath]), or 0 where there is none: then the generated JNA code is used.
     */
    @Volatile
    private var fastId: Long = if (fastPath) JvmFastPath.idOf(raw) else 0L

    /** Whether [tryEmit] and [subscribeMessages] go through JNI (tests check it). */
    internal val usesFastPath: Boolean get() = fastId != 0L

    private val stateValue = MutableStateFlow(raw.state())
    private val healthValue = MutableStateFlow(raw.health())

    private val stateSubscription: TaskHandle = raw.subscribeState(object : StateListener {
        override fun onState(state: ConnectionState) {
            stateValue.value = state
        }
    })
    private val healthSubscription: TaskHandle = raw.subscribeHealth(object : HealthListener {
        override fun onHealth(status: HealthStatus) {
            healthValue.value = status
        }
    })

    /** The connection state now and as it changes (conflated, like every [StateFlow]). */
    val state: StateFlow<ConnectionState> = stateValue.asStateFlow()

    /** Health and quality now and as they change. */
    val health: StateFlow<HealthStatus> = healthValue.asStateFlow()

    /**
     * Every event from the moment collection starts, in order (each state transition included,
     * as [Event.StateChanged]). A collector that falls behind holds at most the config's
     * `streamBuffer.maxItems` events here (and as many on the Rust side); what the policy drops
     * (`DROP_OLDEST` by default) is announced by an [Event.Lagged] before the next event it
     * gets. The subscription is made when collection starts (before the collector first
     * suspends) and cancelled when it stops.
     */
    val events: Flow<Event> = boundedSubscription<Event>(streamBuffer) { send, lagged ->
        raw.subscribeEvents(object : EventListener {
            override fun onEvent(event: Event) = if (event is Event.Lagged) lagged(event.skipped) else send(event)
        })
    }.transform { item ->
        when (item) {
            is StreamItem.Lost -> emit(Event.Lagged(item.skipped))
            is StreamItem.Values -> item.values.forEach { emit(it) }
        }
    }

    /**
     * Server messages named [events] (all if none), optionally only those naming [room], paced
     * by [rate], bounded by [buffer] (else the config's `streamBuffer`) on the Rust side and
     * here; [onLagged], if given, is called with how many were dropped (because the collector
     * fell behind) right before the next message it gets. Subscribed when collection starts,
     * like [TetherClient.events].
     */
    fun messages(
        vararg events: String,
        room: String? = null,
        rate: RateLimit? = null,
        buffer: StreamBufferOptions? = null,
        onLagged: ((ULong) -> Unit)? = null,
    ): Flow<IncomingMessage> =
        messageItems(MessageFilter(events = events.toList(), room = room, rate = rate, buffer = buffer), 1)
            .transform { item ->
                when (item) {
                    is StreamItem.Lost -> onLagged?.invoke(item.skipped)
                    is StreamItem.Values -> item.values.forEach { emit(it) }
                }
            }

    /**
     * Calls [listener] once per server message that [filter] lets through, in order, one call
     * at a time, from a thread of the library (never the caller's), until the returned handle
     * is closed; what the listener throws is logged and delivery goes on. Bounded like the
     * flows (by `filter.buffer`, else the config's `streamBuffer`): [lagListener], if given, is
     * told how many messages were dropped where a listener that fell behind lost them. The same
     * as `raw.subscribeMessages`, but on the JVM the messages cross into Kotlin a burst at a
     * time through JNI (hundreds of thousands a second) instead of one JNA call each.
     */
    fun subscribeMessages(filter: MessageFilter, listener: MessageListener, lagListener: LagListener? = null): AutoCloseable {
        val id = fastId
        if (id != 0L) {
            val receiver = MessageReceiver(listener, lagListener)
            val subscription = JvmFastPath.subscribe(id, filter, MAX_BURST, receiver)
            if (subscription != 0L) return FastSubscription(subscription, receiver)
        }
        return raw.subscribeMessages(filter, listener, lagListener)
    }

    /**
     * Like [messages], but each item is every matching message that was ready, up to
     * [maxBatch], in order: one native callback per burst instead of one per message, for
     * streams of thousands of messages a second. The bound counts messages, however they are
     * batched; a batch never spans a gap ([onLagged] is called between the two).
     */
    fun messageBatches(
        vararg events: String,
        room: String? = null,
        rate: RateLimit? = null,
        maxBatch: Int = 256,
        buffer: StreamBufferOptions? = null,
        onLagged: ((ULong) -> Unit)? = null,
    ): Flow<List<IncomingMessage>> =
        messageItems(MessageFilter(events = events.toList(), room = room, rate = rate, buffer = buffer), maxBatch)
            .transform { item ->
                when (item) {
                    is StreamItem.Lost -> onLagged?.invoke(item.skipped)
                    is StreamItem.Values -> emit(item.values)
                }
            }

    /**
     * The messages matching [filter]: through the JNI fast path's listener where this process
     * has it (a burst of ready messages per call, [subscribeMessages]), else from a batch
     * listener through JNA (one call per burst of up to [NATIVE_BURST], whatever [maxBatch] the
     * collector gets them in: a JNA call costs tens of microseconds, so one per message would
     * cap the flow near 10,000 a second). Bounded the same way either way.
     */
    private fun messageItems(filter: MessageFilter, maxBatch: Int): Flow<StreamItem<IncomingMessage>> {
        val batch = maxBatch.coerceAtLeast(1)
        return boundedSubscription(filter.buffer ?: streamBuffer, batch) { send, lagged ->
            if (usesFastPath) {
                subscribeMessages(
                    filter,
                    object : MessageListener {
                        override fun onMessage(message: IncomingMessage) = send(message)
                    },
                    LagCounter(lagged),
                )
            } else {
                raw.subscribeMessageBatches(
                    filter,
                    maxOf(batch, NATIVE_BURST).toUInt(),
                    object : MessageBatchListener {
                        override fun onMessages(messages: List<IncomingMessage>) = messages.forEach(send)
                    },
                    LagCounter(lagged),
                )
            }
        }
    }

    /** Connects and waits until connected (throws on what retrying cannot fix). */
    suspend fun connect() = raw.connect()

    /** Starts connecting without waiting. */
    suspend fun start() = raw.start()

    /** Closes the connection until [connect] is called again. */
    suspend fun disconnect() = raw.disconnect()

    /** Drops the connection and connects again at once. */
    suspend fun reconnectNow() = raw.reconnectNow()

    /** Tell the client when the device's network comes and goes (back: reconnect at once). */
    suspend fun setNetworkAvailable(available: Boolean) = raw.networkAvailable(available)

    /** Tell the client when the app moves to the foreground or the background. */
    suspend fun setAppForeground(foreground: Boolean) = raw.appForeground(foreground)

    /** Sends [event] with one JSON argument (queued while offline). */
    suspend fun emit(event: String, payload: JsonElement) = raw.emit(event, payload.toString())

    /**
     * Hands [event] with [payload] to the engine without suspending, from any thread. Throws
     * `TetherException.QueueFull` when the engine's send lane is full (nothing was sent: retry
     * shortly, or use [emit]); a refusal afterwards arrives on [events] as an error. On the
     * JVM this is a JNI call of about a microsecond ([JvmFastPath]), so one call per message
     * is fine at hundreds of thousands a second.
     */
    fun tryEmit(event: String, payload: JsonElement) {
        val id = fastId
        if (id != 0L) JvmFastPath.tryEmit(id, event, payload.toString()) else raw.tryEmit(event, payload.toString())
    }

    /**
     * [tryEmit] for many payloads in one native call (worth it for high-rate streams: a native
     * call costs microseconds). Bad JSON throws and sends nothing; otherwise returns how many
     * were handed over, in order, before the send lane filled: send the rest again shortly.
     */
    fun tryEmitAll(event: String, payloads: List<JsonElement>): Int =
        raw.tryEmitBatch(event, payloads.map { it.toString() }).toInt()

    /** Sends [event] without arguments. */
    suspend fun emit(event: String) {
        raw.send(outgoingMessage(event), Delivery.FireAndForget)
    }

    /** Sends [event] with [value] (a `@Serializable` class) as its argument. */
    suspend inline fun <reified T> emitValue(event: String, value: T) =
        emit(event, TetherJson.encodeToJsonElement(value))

    /**
     * Sends [event] (with [payload] as its argument, or none) and waits for the
     * acknowledgement; returns its arguments. [timeout] `null`: the configured ack timeout.
     */
    suspend fun emitWithAck(event: String, payload: JsonElement? = null, timeout: Duration? = null): JsonArray =
        if (payload == null) {
            raw.send(outgoingMessage(event), Delivery.WithAck(timeout?.toMillis())).args
        } else {
            parseArgs(raw.emitWithAck(event, payload.toString(), timeout?.toMillis()))
        }

    /**
     * Sends at-least-once: re-sent after reconnects with the same id until acknowledged or
     * timed out (pair it with a `messageId` field so receivers can drop duplicates).
     */
    suspend fun sendReliable(event: String, payload: JsonElement, timeout: Duration? = null): JsonArray =
        parseArgs(raw.sendReliable(event, payload.toString(), timeout?.toMillis()))

    /**
     * Hands [event] with [payload] to the engine and returns once it accepted it, without
     * waiting for the acknowledgement: with a durable outbox (`durableOutboxPath`), once the
     * message is on disk, so it survives the app being killed. Returns the acknowledgement id;
     * the answer arrives on [events] as `Event.AckSettled` with that id.
     */
    suspend fun enqueue(
        event: String,
        payload: JsonElement,
        delivery: Delivery = Delivery.AtLeastOnce(null),
    ): ULong? = raw.enqueue(outgoingMessage(event, payload), delivery)

    /**
     * Why the durable outbox fell back to memory (the file is corrupt, in use, or not writable),
     * or `null` while it works and without one.
     */
    fun storageError(): String? = raw.storageError()

    /** Sends any message (see [outgoingMessage]) and waits as [delivery] says. */
    suspend fun send(message: OutgoingMessage, delivery: Delivery = Delivery.FireAndForget): AckReply =
        raw.send(message, delivery)

    /** Answers a server message that asked for an acknowledgement. */
    suspend fun ack(message: IncomingMessage, vararg args: JsonElement) =
        raw.ack(message, JsonArray(args.toList()).toString())

    /** Joins a room (re-joined after every reconnect until [leave]). */
    suspend fun join(room: String) = raw.join(room)

    /** Leaves a room. */
    suspend fun leave(room: String) = raw.leave(room)

    /** Empties the outbox; returns how many messages were dropped. */
    suspend fun clearOutbox(): Long = raw.clearOutbox().toLong()

    /** A snapshot of the counters. */
    suspend fun stats(): Stats = raw.stats()

    /** Applies a new config to the running client. */
    suspend fun updateConfig(config: ClientConfig) = raw.updateConfig(config)

    /** Stops the state and health subscriptions and releases the native client (disconnecting). */
    override fun close() {
        // From now on the generated code answers (and throws as it does for a closed object).
        fastId = 0
        stateSubscription.close()
        healthSubscription.close()
        raw.close()
    }
}

/**
 * Messages handed to Kotlin per JNI call at most (they are the ones ready at that moment, so
 * a quiet stream gets them one at a time). `-Dtether.jvmFastPath.maxBurst` overrides it for
 * the W6 measurements of BENCHMARKS.md.
 */
private val MAX_BURST: Int = System.getProperty("tether.jvmFastPath.maxBurst")?.toIntOrNull() ?: 256

/** Messages a flow's native listener takes per call at most (those ready at that moment). */
private const val NATIVE_BURST: Int = 256

/** Milliseconds for the native library (negative durations: zero). */
internal fun Duration.toMillis(): ULong = inWholeMilliseconds.coerceAtLeast(0).toULong()
