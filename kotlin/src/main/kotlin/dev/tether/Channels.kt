package dev.tether

import dev.tether.ffi.ClientConfig
import dev.tether.ffi.Delivery
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.OutgoingMessage
import dev.tether.ffi.PhoenixOptions
import dev.tether.ffi.PresenceChange
import dev.tether.ffi.PresenceChangeListener
import dev.tether.ffi.StreamBufferOptions
import dev.tether.ffi.WireProtocol
import dev.tether.ffi.supabasePhoenixOptions
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.transform
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlin.time.Duration

// Phoenix channels (and rooms in general): joins with a payload that return the server's answer,
// pushes to a channel with its reply, and bounded Flows of one channel's messages and presence.
// Each is a thin layer over the generated `Client` (`joinWith`, `send`, `subscribeMessages`,
// `subscribePresenceChanges`, `refreshToken`).

/** A config with the defaults, one Phoenix server URL and Phoenix [options]. */
fun phoenixConfig(url: String, options: PhoenixOptions = PhoenixOptions()): ClientConfig =
    ClientConfig(urls = listOf(url), protocol = WireProtocol.PHOENIX, phoenix = options)

/**
 * A config for a Supabase project's Realtime (`https://<project>.supabase.co`): path
 * `/realtime/v1`, the project's [apiKey] as `apikey`, the token provider's token (the user's
 * JWT) as each channel's `access_token`.
 */
fun supabaseConfig(url: String, apiKey: String): ClientConfig = phoenixConfig(url, supabasePhoenixOptions(apiKey))

/**
 * Joins channel [topic] with [payload] (a JSON object the server reads on every join:
 * credentials, parameters) and returns the server's answer; `null` when offline (the channel
 * is joined on connect). Either way it is joined again, with this payload, after every
 * reconnect and after the server lost it, until [TetherClient.leave]. Throws
 * `TetherException.Refused` when the server refuses the join.
 */
suspend fun TetherClient.joinChannel(topic: String, payload: JsonObject = JsonObject(emptyMap())): JsonElement? =
    joinChannelJson(topic, payload.toString())

/** [joinChannel] with the payload as JSON text. */
internal suspend fun TetherClient.joinChannelJson(topic: String, payloadJson: String): JsonElement? =
    TetherJson.parseToJsonElement(raw.joinWith(topic, payloadJson)).takeUnless { it is JsonNull }

/**
 * Pushes [event] with [payload] to channel [topic] and returns the server's reply (its
 * response). A push made before the channel is joined waits in the outbox until it is (its
 * [timeout] runs meanwhile; `null`: the configured ack timeout). Throws
 * `TetherException.Refused` when the server replies with an error (the message says what it
 * answered; [TetherClient.events] carries it as JSON in `AckSettled`), `AckTimeout` when no
 * reply comes.
 */
suspend fun TetherClient.push(
    topic: String,
    event: String,
    payload: JsonElement = JsonObject(emptyMap()),
    timeout: Duration? = null,
): JsonElement = pushMessage(outgoingMessage(event, payload, namespace = topic), timeout)

/** Pushes [event] with [payload] to channel [topic] without waiting for a reply. */
suspend fun TetherClient.pushWithoutReply(topic: String, event: String, payload: JsonElement = JsonObject(emptyMap())) {
    raw.send(outgoingMessage(event, payload, namespace = topic), Delivery.FireAndForget)
}

/** Sends [message] with an acknowledgement and returns the reply's first argument. */
internal suspend fun TetherClient.pushMessage(message: OutgoingMessage, timeout: Duration?): JsonElement =
    raw.send(message, Delivery.WithAck(timeout?.toMillis())).args.firstOrNull() ?: JsonNull

/**
 * Asks the token provider for a token now and passes it on: with the Supabase options it is
 * pushed to every joined channel as `access_token` and used for rejoins. Call it when the
 * user's session token changes.
 */
suspend fun TetherClient.refreshToken() = raw.refreshToken()

/**
 * The messages of channel [topic] (server pushes and broadcasts), in order, from the moment
 * collection starts (subscribed before the collector first suspends): [TetherClient.messages]
 * for one room, bounded the same way (by [buffer], else the config's `streamBuffer`, here and on
 * the Rust side). [onLagged], if given, is called with how many were dropped because the
 * collector fell behind, right before the next message it gets.
 */
fun TetherClient.channelMessages(
    topic: String,
    buffer: StreamBufferOptions? = null,
    onLagged: ((ULong) -> Unit)? = null,
): Flow<IncomingMessage> = messages(room = topic, buffer = buffer, onLagged = onLagged)

/**
 * The presence changes of channel [topic] (Phoenix presence), in order, from the moment
 * collection starts: after each (re)join a `Synced` change with the whole roster, then
 * `Joined`, `Updated` and `Left`. There is no current roster first, so start collecting before
 * joining. Bounded like [TetherClient.events] (the config's `streamBuffer`, here and on the Rust
 * side, only this channel's changes counted): a collector that falls that far behind loses
 * changes, and [onLagged] is called with how many right before the next one it gets. A roster
 * built from the changes is then stale until the next `Synced` (the next join: [TetherClient.leave]
 * and [joinChannel] again to have one at once).
 */
fun TetherClient.presence(topic: String, onLagged: ((ULong) -> Unit)? = null): Flow<PresenceChange> =
    boundedSubscription<PresenceChange>(streamBuffer) { send, lagged ->
        raw.subscribePresenceChanges(
            topic,
            object : PresenceChangeListener {
                override fun onPresenceChange(change: PresenceChange) = send(change)
            },
            LagCounter(lagged),
        )
    }.transform { item ->
        when (item) {
            is StreamItem.Lost -> onLagged?.invoke(item.skipped)
            is StreamItem.Values -> item.values.forEach { emit(it) }
        }
    }

/** The channel whose presence changed. */
val PresenceChange.topic: String
    get() = when (this) {
        is PresenceChange.Joined -> room
        is PresenceChange.Left -> room
        is PresenceChange.Updated -> room
        is PresenceChange.Synced -> room
    }
