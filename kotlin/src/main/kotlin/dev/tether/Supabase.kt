package dev.tether

import dev.tether.ffi.Delivery
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.PostgresChange
import dev.tether.ffi.RealtimeChannelConfig
import dev.tether.ffi.RealtimeEvent
import dev.tether.ffi.readRealtimeEvent
import dev.tether.ffi.realtimeChannelJoinPayload
import dev.tether.ffi.supabaseBroadcast
import dev.tether.ffi.supabaseTrack
import dev.tether.ffi.supabaseUntrack
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject
import kotlin.time.Duration

// Supabase Realtime over Phoenix channels: joining a `realtime:*` channel with its config,
// broadcast and presence track/untrack, and reading what arrives as a `RealtimeEvent`. The
// shapes are built and read by the native library (`realtimeChannelJoinPayload`,
// `supabaseBroadcast`, `supabaseTrack`, `supabaseUntrack`, `readRealtimeEvent`); this adds
// kotlinx.serialization values.

/**
 * Joins Supabase Realtime channel [topic] (`"realtime:<name>"`) with [config] and returns the
 * server's answer (`{"postgres_changes": [{…, "id": N}]}`; `null` when offline). The user's
 * token goes with it as `access_token`. Throws `TetherException.Refused` when the server
 * refuses the join, or answers with database bindings other than those asked for (then the
 * channel is left, as realtime-js does).
 */
suspend fun TetherClient.joinRealtimeChannel(
    topic: String,
    config: RealtimeChannelConfig = RealtimeChannelConfig(),
): JsonElement? = joinChannelJson(topic, realtimeChannelJoinPayload(config))

/**
 * Broadcasts [event] with [payload] to everyone on channel [topic]. With [acknowledged] (for
 * channels whose config has `broadcastAck`) it waits for the server's acknowledgement;
 * otherwise it returns once the client accepted it.
 */
suspend fun TetherClient.broadcast(
    topic: String,
    event: String,
    payload: JsonElement,
    acknowledged: Boolean = false,
    timeout: Duration? = null,
) {
    val message = supabaseBroadcast(topic, event, payload.toString())
    if (acknowledged) pushMessage(message, timeout) else raw.send(message, Delivery.FireAndForget)
}

/** Tracks this client's presence on channel [topic] with [payload] as its meta; waits for the server's ok. */
suspend fun TetherClient.track(topic: String, payload: JsonObject, timeout: Duration? = null) {
    pushMessage(supabaseTrack(topic, payload.toString()), timeout)
}

/** Stops tracking this client's presence on channel [topic]; waits for the server's ok. */
suspend fun TetherClient.untrack(topic: String, timeout: Duration? = null) {
    pushMessage(supabaseUntrack(topic), timeout)
}

/** This message read as a Supabase Realtime event (broadcast, database change, system notice); `null` for others. */
val IncomingMessage.realtimeEvent: RealtimeEvent?
    get() = readRealtimeEvent(this)

/** The row after the change (INSERT, UPDATE); empty for DELETE. */
val PostgresChange.newRow: JsonObject
    get() = TetherJson.parseToJsonElement(newJson).jsonObject

/** The row before the change (UPDATE, DELETE), as far as the table's replica identity shows it; empty for INSERT. */
val PostgresChange.oldRow: JsonObject
    get() = TetherJson.parseToJsonElement(oldJson).jsonObject
