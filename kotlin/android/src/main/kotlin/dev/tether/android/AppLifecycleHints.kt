package dev.tether.android

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import dev.tether.LifecycleHints

/**
 * Feeds [hints] the app's foreground and background from [ProcessLifecycleOwner]: foreground
 * when the first activity starts, background once the last one stopped (ProcessLifecycleOwner
 * waits 700 ms, so a rotation is not a trip to the background). Back in the foreground, the
 * client probes its connection with a ping of its own timeout (`probeTimeoutMs`, seconds) or
 * reconnects at once, instead of finding a socket that died in the background only when the
 * heartbeat times out.
 *
 * Create and close it on the main thread (the lifecycle's rule). The current state is given at
 * once: an app already in the foreground says so when this is created.
 */
class AppLifecycleHints(
    private val hints: LifecycleHints,
    private val owner: LifecycleOwner = ProcessLifecycleOwner.get(),
) : AutoCloseable {
    private val observer = object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) {
            hints.foregroundChanged(true)
        }

        override fun onStop(owner: LifecycleOwner) {
            hints.foregroundChanged(false)
        }
    }

    init {
        owner.lifecycle.addObserver(observer)
    }

    /** Stops following the app's lifecycle. */
    override fun close() {
        owner.lifecycle.removeObserver(observer)
    }
}
