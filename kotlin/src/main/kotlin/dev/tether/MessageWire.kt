package dev.tether

import dev.tether.ffi.IncomingMessage
import java.nio.ByteBuffer

/** One item of a burst: a message, or a gap where messages were dropped. */
internal sealed interface WireItem {
    class Message(val message: IncomingMessage) : WireItem

    /** [skipped] messages were dropped here because the listener fell behind. */
    class Lagged(val skipped: ULong) : WireItem
}

/**
 * Reads the items of a burst as the library lays them out (`bindings/src/jvm/wire.rs`; change
 * both together). Big-endian. Each item starts with a u8 tag. Tag 0, a message: text
 * namespace, text event, text argsJson; u32 attachment count, then each as u32 length and
 * bytes; u8 flags (1: a u64 ack id follows, 2: a text room follows). Tag 1, a gap: u64 how many
 * were dropped. A text is a u32 length in bytes, then UTF-8.
 */
internal object MessageWire {
    fun readItem(buffer: ByteBuffer): WireItem = when (val tag = buffer.get().toInt()) {
        0 -> WireItem.Message(read(buffer))
        1 -> WireItem.Lagged(buffer.long.toULong())
        else -> throw IllegalStateException("unknown item tag $tag in a burst")
    }

    private fun read(buffer: ByteBuffer): IncomingMessage {
        val namespace = text(buffer)
        val event = text(buffer)
        val argsJson = text(buffer)
        val binary = List(buffer.int) { bytes(buffer) }
        val flags = buffer.get().toInt()
        val ackId = if (flags and 1 != 0) buffer.long.toULong() else null
        val room = if (flags and 2 != 0) text(buffer) else null
        return IncomingMessage(namespace, event, argsJson, binary, ackId, room)
    }

    private fun text(buffer: ByteBuffer): String {
        val length = buffer.int
        val text = String(buffer.array(), buffer.arrayOffset() + buffer.position(), length, Charsets.UTF_8)
        buffer.position(buffer.position() + length)
        return text
    }

    private fun bytes(buffer: ByteBuffer): ByteArray = ByteArray(buffer.int).also { buffer.get(it) }
}
