package dev.tether

import dev.tether.ffi.LagListener
import dev.tether.ffi.MessageListener
import java.nio.ByteBuffer

/**
 * The Kotlin end of a fast-path subscription ([JvmFastPath.subscribe]): the library hands it
 * the messages that were ready, as one burst, from a thread of its blocking pool (one burst at
 * a time per subscription), and it calls [listener] once per message and [lagListener] once per
 * gap (where a listener that fell behind lost messages), in order, exactly as the generated code
 * would have. What a listener throws does not stop the burst: it goes back to the library, which
 * logs it (target `tether_ffi`) as it logs a throw through the generated code.
 */
internal class MessageReceiver(
    private val listener: MessageListener,
    private val lagListener: LagListener? = null,
) {
    @Volatile
    private var closed = false

    /** No listener call starts after this (one under way finishes). */
    fun close() {
        closed = true
    }

    /**
     * Called by the library (by this name and signature: `bindings/src/jvm/upcall.rs`): [count]
     * items laid out in [burst]. Returns what the listeners threw, or null if nothing.
     */
    fun deliver(burst: ByteArray, count: Int): Array<String>? {
        val buffer = ByteBuffer.wrap(burst)
        var thrown: ArrayList<String>? = null
        repeat(count) {
            val item = MessageWire.readItem(buffer)
            if (closed) return thrown?.toTypedArray()
            try {
                when (item) {
                    is WireItem.Message -> listener.onMessage(item.message)
                    is WireItem.Lagged -> lagListener?.onLagged(item.skipped)
                }
            } catch (e: Exception) {
                (thrown ?: ArrayList<String>().also { thrown = it }).add(e.toString())
            }
        }
        return thrown?.toTypedArray()
    }
}

/** A fast-path subscription as the app holds it: closing it stops the listener's calls. */
internal class FastSubscription(private val id: Long, private val receiver: MessageReceiver) : AutoCloseable {
    override fun close() {
        receiver.close()
        JvmFastPath.cancel(id)
    }
}
