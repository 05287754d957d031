package dev.tether

import dev.tether.ffi.HttpHeader
import dev.tether.ffi.NetworkOptions
import dev.tether.ffi.TransportKind
import dev.tether.ffi.Transports
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.JsonPrimitive
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.time.Duration.Companion.seconds

/** The network options reach the engine through the bindings. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetworkTest {
    private val resources = mutableListOf<AutoCloseable>()

    private fun <T : AutoCloseable> T.closeAfter(): T = also { resources += it }

    @AfterEach
    fun closeAll() {
        resources.asReversed().forEach { runCatching { it.close() } }
    }

    @Test
    fun `a polling-only config connects over long-polling with its headers`() = runBlocking<Unit> {
        val server = NodeServer(extraArgs = listOf("--transports", "polling")).closeAfter()
        val config = testConfig(server).copy(
            network = NetworkOptions(
                transports = Transports.Polling,
                headers = listOf(HttpHeader(name = "X-Tenant", value = "acme")),
            ),
        )
        val client = TetherClient(config).closeAfter()
        client.connect()

        val reply = client.emitWithAck("ack-echo", JsonPrimitive("over polling"), timeout = 5.seconds)

        assertEquals(buildJsonArray { add(JsonPrimitive("over polling")) }, reply)
        assertEquals(TransportKind.POLLING, client.stats().transport)
        val connection = server.awaitReport { it.string("event") == "connection" }
        assertEquals("polling", connection.string("transport"))
        assertEquals("acme", connection["headers"]?.jsonObject?.string("x-tenant"))
    }
}
