package dev.tether

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch

/**
 * Tells a [TetherClient] what the platform knows about the app's life: whether the device has a
 * network, and whether the app is in the foreground. Platform callbacks call [networkChanged]
 * and [foregroundChanged] from any thread without waiting; the hints reach the client in the
 * order they were given, each change once (platforms repeat themselves: a network callback for
 * every capability change, a lifecycle event per activity).
 *
 * What the client does with them: network back, it reconnects at once instead of at the next
 * backoff slot; network gone, it retries only every `offlineRetryIntervalMs`; back in the
 * foreground, it reconnects at once if it was waiting, or probes a live connection with a ping
 * that must be answered within `probeTimeoutMs` (seconds), so a socket that died while the app
 * was suspended is found at once rather than after the heartbeat timeout.
 *
 * On Android, `dev.tether.android.ConnectivityHints` and `dev.tether.android.AppLifecycleHints`
 * (in the Android library) feed one of these from `ConnectivityManager` and
 * `ProcessLifecycleOwner`.
 */
class LifecycleHints(private val client: TetherClient, scope: CoroutineScope) : AutoCloseable {
    private sealed interface Hint {
        data class Network(val available: Boolean) : Hint
        data class Foreground(val foreground: Boolean) : Hint
    }

    private val hints = Channel<Hint>(Channel.UNLIMITED)
    private val lock = Any()
    private var lastNetwork: Boolean? = null
    private var lastForeground: Boolean? = null

    private val worker: Job = scope.launch {
        for (hint in hints) {
            runCatching {
                when (hint) {
                    is Hint.Network -> client.setNetworkAvailable(hint.available)
                    is Hint.Foreground -> client.setAppForeground(hint.foreground)
                }
            }
        }
    }

    /** The device's network came ([available] true) or went. */
    fun networkChanged(available: Boolean) {
        val changed = synchronized(lock) { (lastNetwork != available).also { lastNetwork = available } }
        if (changed) hints.trySend(Hint.Network(available))
    }

    /** The app moved to the foreground ([foreground] true) or the background. */
    fun foregroundChanged(foreground: Boolean) {
        val changed = synchronized(lock) { (lastForeground != foreground).also { lastForeground = foreground } }
        if (changed) hints.trySend(Hint.Foreground(foreground))
    }

    /** Stops passing hints on (those already given still reach the client). */
    override fun close() {
        hints.close()
    }

    /** Waits until every hint given before [close] reached the client. */
    suspend fun join() = worker.join()
}
