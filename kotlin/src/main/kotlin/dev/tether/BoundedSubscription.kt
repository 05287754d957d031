package dev.tether

import dev.tether.ffi.LagListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.StreamOverflow
import dev.tether.ffi.TaskHandle
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.FlowCollector
import kotlinx.coroutines.flow.flow
import java.util.concurrent.atomic.AtomicLong

/** A value on its way to the collector, and how many were lost right before it. */
private class Entry<T>(val value: T, val skippedBefore: Long)

/** Adds the Rust side's lag notices (a message subscription's [LagListener]) to a count. */
internal class LagCounter(private val lagged: (ULong) -> Unit) : LagListener {
    override fun onLagged(skipped: ULong) = lagged(skipped)
}

/**
 * A cold flow over a listener subscription: subscribes in the collector's coroutine as
 * collection starts and closes the [TaskHandle] when collection ends. Listener calls never
 * wait for the collector; what they hand over waits in a channel bounded as [buffer] says,
 * with the same policy as the Rust side's queue:
 *
 * - `DROP_OLDEST` (the default): `Channel(maxItems, BufferOverflow.DROP_OLDEST)`; each value
 *   it drops is counted as it goes (`onUndeliveredElement`), and the count reaches the collector
 *   ([onLag]) right before the next value it gets, where the gap is.
 * - `DROP_NEWEST`: `BufferOverflow.DROP_LATEST`, done as `trySend` on a channel of `maxItems`
 *   that refuses while full (a `DROP_LATEST` channel's `trySend` reports success whether or not
 *   it dropped, so its drops could not be counted); the count travels with the next value
 *   accepted, where the gap is.
 *
 * The Rust side's own notices ([subscribe]'s `lagged`) join the count at their place. A gap at
 * the very end is announced with the next value, if one comes. Only `maxItems` bounds this
 * buffer; bytes are bounded on the Rust side.
 */
internal fun <T> boundedSubscription(
    buffer: StreamBufferOptions,
    onLag: suspend FlowCollector<T>.(ULong) -> Unit,
    subscribe: (send: (T) -> Unit, lagged: (ULong) -> Unit) -> TaskHandle,
): Flow<T> = flow {
    // Channel(Int.MAX_VALUE) would mean UNLIMITED, which ignores the overflow policy.
    val capacity = buffer.maxItems.coerceIn(1uL, (Int.MAX_VALUE - 1).toULong()).toInt()
    val dropNewest = buffer.overflow == StreamOverflow.DROP_NEWEST
    // Dropped at the front, before the oldest value still waiting (DROP_OLDEST only).
    val front = AtomicLong()
    // Dropped after the newest value waiting: the next value accepted carries it.
    val tail = AtomicLong()
    val inbox = if (dropNewest) {
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
        for (entry in inbox) {
            val lost = front.getAndSet(0) + entry.skippedBefore
            if (lost > 0) onLag(lost.toULong())
            emit(entry.value)
        }
    } finally {
        handle.close()
    }
}
