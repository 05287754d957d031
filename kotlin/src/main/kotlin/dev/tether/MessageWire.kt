package dev.tether

import dev.tether.ffi.IncomingMessage
import java.nio.ByteBuffer

/**
 * Reads the messages of a burst as the library lays them out (`bindings/src/jvm/wire.rs`;
 * change both together). Big-endian. Per message: text namespace, text event, text argsJson;
 * u32 attachment count, then each as u32 length and bytes; u8 flags (1: a u64 ack id follows,
 * 2: a text room follows). A text is a u32 length in bytes, then UTF-8.
 */
internal object MessageWire {
    fun read(buffer: ByteBuffer): IncomingMessage {
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
