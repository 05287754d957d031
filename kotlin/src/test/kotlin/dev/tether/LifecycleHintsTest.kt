package dev.tether

import dev.tether.ffi.BackoffOptions
import dev.tether.ffi.ConnectionState
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.TimeUnit
import kotlin.test.assertIs
import kotlin.time.Duration.Companion.seconds

/** The shared lifecycle plumbing the Android adapters feed, proven on the JVM. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LifecycleHintsTest {
    @Test
    fun `back in the foreground, a client waiting out a long backoff reconnects at once`() = runBlocking<Unit> {
        NodeServer().use { server ->
            // Backoff of a minute: without the hint the client would wait that long.
            val config = testConfig(server).copy(backoff = BackoffOptions(minDelayMs = 60_000u, maxDelayMs = 60_000u))
            TetherClient(config).use { client ->
                LifecycleHints(client, this).use { hints ->
                    client.connect()
                    hints.foregroundChanged(true)
                    server.command("""{"cmd":"cut"}""")
                    withTimeout(10.seconds) { client.state.first { it is ConnectionState.Reconnecting } }
                    server.command("""{"cmd":"heal"}""")
                    hints.foregroundChanged(false)
                    hints.foregroundChanged(false)
                    hints.foregroundChanged(true)
                    withTimeout(10.seconds) { client.state.first { it == ConnectionState.Connected } }
                }
            }
        }
    }

    @Test
    fun `network back reconnects at once, and hints reach the client in order`() = runBlocking<Unit> {
        NodeServer().use { server ->
            val config = testConfig(server).copy(
                backoff = BackoffOptions(minDelayMs = 60_000u, maxDelayMs = 60_000u),
                offlineRetryIntervalMs = 60_000u,
            )
            TetherClient(config).use { client ->
                val hints = LifecycleHints(client, this)
                client.connect()
                server.command("""{"cmd":"cut"}""")
                withTimeout(10.seconds) { client.state.first { it is ConnectionState.Reconnecting } }
                server.command("""{"cmd":"heal"}""")
                hints.networkChanged(false)
                hints.networkChanged(true)
                hints.close()
                hints.join()
                assertIs<ConnectionState>(withTimeout(10.seconds) { client.state.first { it == ConnectionState.Connected } })
            }
        }
    }
}
