package dev.tether

import dev.tether.ffi.PostgresChangesFilter
import dev.tether.ffi.RealtimeChannelConfig
import dev.tether.ffi.RealtimeEvent
import dev.tether.ffi.RejoinOptions
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlin.test.assertEquals
import kotlin.test.assertIs

/**
 * Supabase Realtime through the bindings against the Phoenix test server's `realtime:*` topics
 * (on `/realtime/v1`, as a Supabase project serves them): the channel config and its database
 * bindings, a database change and a broadcast arriving on the channel's flow, and a refreshed
 * token pushed to the joined channel.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SupabaseRealtimeTest : ClosesAfterEach() {
    private fun client(server: NodeServer, token: () -> String): TetherClient {
        val config = supabaseConfig(server.url, apiKey = "anon-key").copy(
            backoff = testConfig(server).backoff,
            rejoin = RejoinOptions(minDelayMs = 50u, maxDelayMs = 500u),
        )
        return TetherClient(config) { token() }.closeAfter()
    }

    @Test
    fun `a realtime channel receives a database change and its own acknowledged broadcast`() = runBlocking<Unit> {
        val server = NodeServer.phoenix().closeAfter()
        val client = client(server) { "user-jwt" }
        client.connect()
        val topic = "realtime:todos"
        val messages = inbox(client.channelMessages(topic))
        val config = RealtimeChannelConfig(
            broadcastAck = true,
            broadcastSelf = true,
            postgresChanges = listOf(PostgresChangesFilter(event = "INSERT", table = "todos")),
        )

        val answer = client.joinRealtimeChannel(topic, config)!!
        val binding = answer.jsonObject["postgres_changes"]!!.jsonArray.single().jsonObject
        assertEquals("todos", binding["table"]!!.jsonPrimitive.content)
        val id = binding["id"]!!.jsonPrimitive.long
        val connect = server.awaitReport { it.string("event") == "connect" }
        assertEquals("/realtime/v1/websocket", connect.string("path"))
        val join = server.awaitReport { it.string("event") == "received" && it.string("name") == "phx_join" }
        assertEquals("<redacted>", join["payload"]!!.jsonObject.string("access_token"), "the user's token went with it")

        server.command(
            """{"cmd":"postgres_change","type":"INSERT","schema":"public","table":"todos","record":{"id":1,"title":"milk"}}""",
        )
        val change = messages.receiveUntil { it.realtimeEvent is RealtimeEvent.PostgresChanges }
            .realtimeEvent as RealtimeEvent.PostgresChanges
        assertEquals("INSERT", change.change.eventType)
        assertEquals("milk", change.change.newRow["title"]!!.jsonPrimitive.content)
        assertEquals(listOf(id.toULong()), change.change.ids)

        client.broadcast(topic, "cursor", buildJsonObject { put("x", 3) }, acknowledged = true)
        val broadcast = messages.receiveUntil { it.realtimeEvent is RealtimeEvent.Broadcast }
        val event = assertIs<RealtimeEvent.Broadcast>(broadcast.realtimeEvent)
        assertEquals("cursor", event.event)
        assertEquals(3, TetherJson.parseToJsonElement(event.payloadJson).jsonObject["x"]!!.jsonPrimitive.int)
        coroutineContext.cancelChildren()
    }

    @Test
    fun `refreshing the token pushes access_token to the joined channel`() = runBlocking<Unit> {
        val server = NodeServer.phoenix().closeAfter()
        val token = AtomicReference("jwt-1")
        val client = client(server) { token.get() }
        client.connect()
        client.joinRealtimeChannel("realtime:auth")

        token.set("jwt-2")
        client.refreshToken()

        val pushed = server.awaitReport {
            it.string("event") == "received" && it.string("name") == "access_token" && it.string("topic") == "realtime:auth"
        }
        assertEquals("jwt-2", pushed["payload"]!!.jsonObject.string("access_token"))
    }

    @Test
    fun `presence track and untrack reach the server and come back as presence changes`() = runBlocking<Unit> {
        val server = NodeServer.phoenix().closeAfter()
        val client = client(server) { "user-jwt" }
        client.connect()
        val topic = "realtime:room1"
        val changes = inbox(client.presence(topic))
        client.joinRealtimeChannel(topic, RealtimeChannelConfig(presenceKey = "ann", presenceEnabled = true))

        client.track(topic, buildJsonObject { put("status", "online") })
        val joined = changes.receiveUntil { it is dev.tether.ffi.PresenceChange.Joined }
            as dev.tether.ffi.PresenceChange.Joined
        assertEquals("ann", joined.member.userId)
        client.untrack(topic)
        val left = changes.receiveUntil { it is dev.tether.ffi.PresenceChange.Left } as dev.tether.ffi.PresenceChange.Left
        assertEquals("ann", left.userId)
        coroutineContext.cancelChildren()
    }
}
