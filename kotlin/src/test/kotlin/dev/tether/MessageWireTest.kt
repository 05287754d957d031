package dev.tether

import org.junit.jupiter.api.Test
import java.nio.ByteBuffer
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull

/** The layout of `bindings/src/jvm/wire.rs`, from the same bytes its Rust tests expect. */
class MessageWireTest {
    private fun bytes(vararg values: Int) = ByteArray(values.size) { values[it].toByte() }

    @Test
    fun `a message with every field reads back`() {
        val burst = bytes(
            0,
            0, 0, 0, 1, '/'.code,
            0, 0, 0, 2, 0xC3, 0xA9,
            0, 0, 0, 3, '['.code, '1'.code, ']'.code,
            0, 0, 0, 1, 0, 0, 0, 2, 7, 8,
            3, 0, 0, 0, 0, 0, 0, 1, 2,
            0, 0, 0, 1, 'r'.code,
        )
        val buffer = ByteBuffer.wrap(burst)
        val message = assertIs<WireItem.Message>(MessageWire.readItem(buffer)).message
        assertEquals("/", message.namespace)
        assertEquals("é", message.event)
        assertEquals("[1]", message.argsJson)
        assertEquals(1, message.binary.size)
        assertContentEquals(bytes(7, 8), message.binary[0])
        assertEquals(258uL, message.ackId)
        assertEquals("r", message.room)
        assertEquals(burst.size, buffer.position(), "all of it read")
    }

    @Test
    fun `absent fields are null and the next message follows`() {
        val one = bytes(0, 0, 0, 0, 0, 0, 0, 0, 1, 'e'.code, 0, 0, 0, 2, '['.code, ']'.code, 0, 0, 0, 0, 0)
        val buffer = ByteBuffer.wrap(one + one)
        repeat(2) {
            val message = assertIs<WireItem.Message>(MessageWire.readItem(buffer)).message
            assertEquals("e", message.event)
            assertNull(message.ackId)
            assertNull(message.room)
        }
        assertEquals(2 * one.size, buffer.position())
    }

    @Test
    fun `a gap reads back as its count`() {
        val buffer = ByteBuffer.wrap(bytes(1, 0, 0, 0, 0, 0, 0, 1, 2))
        assertEquals(258uL, assertIs<WireItem.Lagged>(MessageWire.readItem(buffer)).skipped)
        assertEquals(9, buffer.position())
    }
}
