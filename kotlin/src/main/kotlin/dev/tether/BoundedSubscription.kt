package dev.tether

import dev.tether.ffi.LagListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.StreamOverflow
import dev.tether.ffi.TaskHandle
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/** A value on its way to the collector, and how many were lost right before it. */
private class Entry<T>(val value: T, val skippedBefore: Long)

/** What a bounded subscription hands its collector: values in order, or a gap between them. */
internal sealed interface StreamItem<out T> {
    /** The next values (one, or up to the batch size), with no gap between them. */
    class Values<T>(val values: List<T>) : StreamItem<T>

    /** [skipped] values were lost right here. */
    class Lost(val skipped: ULong) : StreamItem<Nothing>
}

/** Adds the Rust side's lag notices (a message subscription's [LagListener]) to a count. */
internal class LagCounter(private val lagged: (ULong) -> Unit) : LagListener {
    override fun onLagged(skipped: ULong) = lagged(skipped)
}

/**
 * A cold flow over a listener subscription: subscribes in the collector's coroutine as
 * collection starts and closes the subscription (a [TaskHandle], or the JNI fast path's) when
 * collection ends. Listener calls never
 * wait for the collector; each value they hand over waits in a channel bounded as [buffer]
 * says (in values, however the listener batched them), with the same policy as the Rust side's
 * queue:
 *
 * - `DROP_OLDEST` (the default): `Channel(maxItems, BufferOverflow.DROP_OLDEST)`; each value
 *   it drops is counted as it goes (`onUndeliveredElement`), and the count reaches the collector
 *   right before the next value it gets, where the gap is.
 * - `DROP_NEWEST`: `BufferOverflow.DROP_LATEST`, done as `trySend` on a channel of `maxItems`
 *   that refuses while full (a `DROP_LATEST` channel's `trySend` reports success whether or not
 *   it dropped, so its drops could not be counted); the count travels with the next value
 *   accepted, where the gap is.
 *
 * The Rust side's own notices ([subscribe]'s `lagged`) join the count at their place. The
 * collector gets [StreamItem.Lost] at each gap and [StreamItem.Values] of what is ready, up to
 * [maxBatch] at a time, never across a gap. A gap at the very end is announced with the next
 * value, if one comes. Only `maxItems` bounds this buffer; bytes are bounded on the Rust side.
 */
internal fun <T> boundedSubscription(
    buffer: StreamBufferOptions,
    maxBatch: Int = 1,
    subscribe: (send: (T) -> Unit, lagged: (ULong) -> Unit) -> AutoCloseable,
): Flow<StreamItem<T>> = flow {
    // Channel(Int.MAX_VALUE) would mean UNLIMITED, which ignores the overflow policy.
    val capacity = buffer.maxItems.coerceIn(1uL, (Int.MAX_VALUE - 1).toULong()).toInt()
    // Dropped at the front, before the oldest value still waiting (DROP_OLDEST only).
    val front = java.util.concurrent.atomic.AtomicLong()
    // Dropped after the newest value waiting: the next value accepted carries it.
    val tail = java.util.concurrent.atomic.AtomicLong()
    val inbox = if (buffer.overflow == StreamOverflow.DROP_NEWEST) {
        Channel<Entry<T>>(capacity)
    } else {
        Channel(capacity, BufferOverflow.DROP_OLDEST) { dropped: Entry<T> ->
            front.addAndGet(dropped.skippedBefore + 1)
        }
    }
    val handle = subscribe(
        { value ->
            val entry = Entry(value, tail.getAndSet(0))
            val result = inbox.trySend(entry)
            if (result.isFailure && !result.isClosed) tail.addAndGet(entry.skippedBefore + 1)
        },
        { skipped -> tail.addAndGet(skipped.toLong()) },
    )
    try {
        var held: Entry<T>? = null
        while (true) {
            val first = held ?: inbox.receiveCatching().getOrNull() ?: break
            held = null
            val lost = front.getAndSet(0) + first.skippedBefore
            if (lost > 0) emit(StreamItem.Lost(lost.toULong()))
            val values = ArrayList<T>(minOf(maxBatch, 16))
            values += first.value
            while (values.size < maxBatch && front.get() == 0L) {
                val next = inbox.tryReceive().getOrNull() ?: break
                if (next.skippedBefore > 0) {
                    held = next
                    break
                }
                values += next.value
            }
            emit(StreamItem.Values(values))
        }
    } finally {
        handle.close()
    }
}
