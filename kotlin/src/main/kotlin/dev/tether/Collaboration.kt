package dev.tether

import dev.tether.ffi.Collaboration
import dev.tether.ffi.Member
import dev.tether.ffi.PresenceListener
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The roster of [room]: its members now (once the room is joined), then after every change
 * (an empty list once it is left). Only the latest roster waits for a collector that falls
 * behind (`Channel.CONFLATED`, as Swift's `.bufferingNewest(1)`): an old roster is of no use.
 * The subscription is made when collection starts (before the collector first suspends) and
 * cancelled when it stops.
 */
fun Collaboration.presence(room: String): Flow<List<Member>> = flow {
    val wanted = room
    val inbox = Channel<List<Member>>(Channel.CONFLATED)
    val handle = subscribePresence(object : PresenceListener {
        override fun onRoster(room: String, members: List<Member>) {
            if (room == wanted) inbox.trySend(members)
        }
    })
    try {
        for (members in inbox) emit(members)
    } finally {
        handle.close()
    }
}
