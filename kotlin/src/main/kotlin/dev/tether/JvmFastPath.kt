package dev.tether

import com.sun.jna.NativeLibrary
import dev.tether.ffi.Client
import dev.tether.ffi.MessageFilter
import dev.tether.ffi.RateLimit
import dev.tether.ffi.StreamOverflow
import dev.tether.ffi.TetherException

/**
 * The two calls made once per message, `tryEmit` and the delivery of a subscription's messages,
 * straight through JNI (`bindings/src/jvm/` in the library) instead of the generated JNA code,
 * whose per-call cost (tens of microseconds: JNA allocates, registers and cleans a native buffer
 * for every by-value argument) capped them at ~15,000 a second (W6 of BENCHMARKS.md).
 *
 * The same library file that JNA loaded for the generated code is loaded again for JNI
 * (`System.load` of JNA's file; `System.loadLibrary` where JNA does not say, as on Android), so
 * both share one engine. A client uses the fast path only if that copy knows it
 * ([idOf]); wherever this fails the generated code is used, with the same results.
 * `-Dtether.jvmFastPath=false` turns it off.
 */
internal object JvmFastPath {
    /** Whether the entry points could be loaded (once per process). */
    private val loaded: Boolean by lazy(::load)

    private fun load(): Boolean {
        if (System.getProperty("tether.jvmFastPath") == "false") return false
        // The name the generated code gives JNA (it honours the same override).
        val name = System.getProperty("uniffi.component.tether_ffi.libraryOverride") ?: "tether_ffi"
        val file = runCatching { NativeLibrary.getInstance(name).file }.getOrNull()
        if (file != null && runCatching { System.load(file.absolutePath) }.isSuccess) return true
        // Android (libraries in the APK), or a JNA that names no file. Should this find another
        // copy of the library, `knows` says so and the client keeps to JNA.
        return runCatching { System.loadLibrary(name) }.isSuccess
    }

    /**
     * The id under which the JNI entry points find [client], or 0 when this process has no fast
     * path (the entry points did not load, or they belong to another copy of the library).
     */
    fun idOf(client: Client): Long {
        if (!loaded) return 0
        return runCatching {
            val id = client.jvmFastPathId().toLong()
            if (knows(id)) id else 0
        }.getOrDefault(0)
    }

    /** The generated `Client.tryEmit`, through JNI: the same checks, hand-over and exceptions. */
    fun tryEmit(client: Long, event: String, payloadJson: String) {
        val failure = tryEmit(client, event.encodeToByteArray(), payloadJson.encodeToByteArray()) ?: return
        throw exceptionFrom(failure)
    }

    /**
     * Subscribes [receiver] to the messages [filter] lets through, handed over in bursts of up
     * to [maxBurst]; returns the subscription's id for [cancel], or 0 if it could not be made.
     */
    fun subscribe(client: Long, filter: MessageFilter, maxBurst: Int, receiver: MessageReceiver): Long {
        val (kind, periodMs) = when (val rate = filter.rate) {
            null -> 0 to 0uL
            RateLimit.Unlimited -> 1 to 0uL
            is RateLimit.Throttle -> 2 to rate.periodMs
            is RateLimit.Debounce -> 3 to rate.periodMs
        }
        val events = filter.events.toTypedArray()
        val buffer = filter.buffer
        // Counts above Long.MAX_VALUE mean "no limit" as much as Long.MAX_VALUE does.
        val items = buffer?.maxItems?.coerceAtMost(Long.MAX_VALUE.toULong())?.toLong() ?: -1L
        val bytes = buffer?.maxBytes?.coerceAtMost(Long.MAX_VALUE.toULong())?.toLong() ?: -1L
        val overflow = when (buffer?.overflow) {
            null -> 0
            StreamOverflow.DROP_OLDEST -> 1
            StreamOverflow.DROP_NEWEST -> 2
        }
        return subscribeMessages(
            client, events, filter.room, kind, periodMs.toLong(), items, bytes, overflow, maxBurst, receiver,
        )
    }

    /** The exception the generated code throws for the same error (`bindings/src/jvm/emit.rs`). */
    internal fun exceptionFrom(failure: String): TetherException {
        val message = failure.substring(1)
        return when (failure[0]) {
            '0' -> TetherException.InvalidConfig(message)
            '1' -> TetherException.NotConnected(message)
            '2' -> TetherException.QueueFull(message)
            '3' -> TetherException.AckTimeout(message)
            '4' -> TetherException.AuthRejected(message)
            '5' -> TetherException.Closed(message)
            '6' -> TetherException.Refused(message)
            else -> TetherException.Other(message)
        }
    }

    /** Null when handed over, otherwise the error: its variant's digit, then its message. */
    @JvmStatic
    external fun tryEmit(client: Long, event: ByteArray, payloadJson: ByteArray): String?

    /** Whether this copy of the library has a client of that id. */
    @JvmStatic
    external fun knows(client: Long): Boolean

    /**
     * `rateKind`: 0 none, 1 unlimited, 2 throttle, 3 debounce; `bufferItems` negative: the
     * config's buffer; `bufferOverflow`: 0 the default, 1 drop oldest, 2 drop newest. Returns the
     * id, or 0.
     */
    @JvmStatic
    external fun subscribeMessages(
        client: Long,
        events: Array<String>,
        room: String?,
        rateKind: Int,
        ratePeriodMs: Long,
        bufferItems: Long,
        bufferBytes: Long,
        bufferOverflow: Int,
        maxBurst: Int,
        receiver: MessageReceiver,
    ): Long

    /** Stops a subscription: no burst is handed over once this returns. */
    @JvmStatic
    external fun cancel(subscription: Long)
}
