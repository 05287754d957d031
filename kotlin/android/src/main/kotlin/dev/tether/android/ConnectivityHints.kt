package dev.tether.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import dev.tether.LifecycleHints

/**
 * Feeds [hints] the device's network from [ConnectivityManager]: available while the default
 * network (the one the app's sockets use) can reach the internet, gone when it is lost. A
 * switch from Wi-Fi to cellular is a loss and then a new network: the client probes or
 * reconnects at once instead of waiting for its heartbeat to fail.
 *
 * ```
 * val hints = LifecycleHints(client, lifecycleScope)
 * val network = ConnectivityHints(context, hints)      // close() to stop
 * val app = AppLifecycleHints(hints)                   // on the main thread
 * ```
 *
 * Needs `ACCESS_NETWORK_STATE`, which this library's manifest declares. Android 7.0 (API 24)
 * and later: `registerDefaultNetworkCallback`.
 */
class ConnectivityHints(context: Context, private val hints: LifecycleHints) : AutoCloseable {
    private val manager: ConnectivityManager =
        context.getSystemService(ConnectivityManager::class.java)
            ?: throw IllegalStateException("no ConnectivityManager on this device")

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            hints.networkChanged(true)
        }

        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
            hints.networkChanged(capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET))
        }

        override fun onLost(network: Network) {
            hints.networkChanged(false)
        }
    }

    init {
        // The state now, then every change of the default network.
        val capabilities = manager.activeNetwork?.let { manager.getNetworkCapabilities(it) }
        hints.networkChanged(capabilities?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true)
        manager.registerDefaultNetworkCallback(callback)
    }

    /** Stops listening to the network. */
    override fun close() {
        manager.unregisterNetworkCallback(callback)
    }
}
