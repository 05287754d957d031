package dev.tether

import dev.tether.ffi.AckFailure
import dev.tether.ffi.AckOutcome
import dev.tether.ffi.ClientConfig
import dev.tether.ffi.Event
import dev.tether.ffi.PhoenixOptions
import dev.tether.ffi.PresenceChange
import dev.tether.ffi.RejoinOptions
import dev.tether.ffi.TetherException
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.TimeUnit
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/** A config for the Phoenix test server: quick reconnects and rejoins, [params] as connect params. */
fun phoenixTestConfig(server: NodeServer, params: JsonObject = JsonObject(emptyMap())): ClientConfig =
    phoenixConfig(server.url, PhoenixOptions(paramsJson = params.toString())).copy(
        backoff = testConfig(server).backoff,
        rejoin = RejoinOptions(minDelayMs = 50u, maxDelayMs = 500u),
        connectTimeoutMs = 5_000u,
    )

/**
 * Phoenix channels through the bindings against tests/servers/phoenix (its README is the
 * contract: `room:*` channels, presence key from the `user` param, stdin commands). These prove
 * the Kotlin surface and the FFI, not the engine's logic (the Rust tests do that).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PhoenixChannelsTest : ClosesAfterEach() {
    private suspend fun connected(server: NodeServer, params: JsonObject = JsonObject(emptyMap())): TetherClient {
        val client = TetherClient(phoenixTestConfig(server, params)) { "s3cret" }.closeAfter()
        client.connect()
        return client
    }

    private fun NodeServer.awaitReceivedOn(topic: String, name: String, since: Int = 0, socket: String? = null) =
        awaitReport(since = since) {
            it.string("event") == "received" && it.string("topic") == topic && it.string("name") == name &&
                (socket == null || it.string("socket") == socket)
        }

    @Test
    fun `a join carries its payload and returns the server's answer, a refusal throws Refused`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)

        val answer = client.joinChannel("room:lobby", buildJsonObject { put("color", "blue") })

        assertEquals(JsonObject(emptyMap()), answer, "room:* answers {}")
        val join = server.awaitReceivedOn("room:lobby", "phx_join")
        assertEquals("blue", join["payload"]!!.jsonObject["color"]!!.jsonPrimitive.content)
        val refused = assertFailsWith<TetherException.Refused> { client.joinChannel("room:forbidden") }
        assertContains(refused.message!!, "unauthorized")
    }

    @Test
    fun `a join payload that is not JSON is refused before anything is sent`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)

        assertFailsWith<TetherException.Other> { client.raw.joinWith("room:bad", "{oops") }
        client.joinChannel("room:after")

        // One socket's reports come in the order it sent: a join of room:bad would be reported first.
        server.awaitReceivedOn("room:after", "phx_join")
        val badJoins = server.reports().count { it.string("topic") == "room:bad" }
        assertEquals(0, badJoins)
    }

    @Test
    fun `pushes get the server's ok reply, and an error reply throws Refused with its response`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)
        val events = inbox(client.events)
        client.joinChannel("room:lobby")

        val reply = client.push("room:lobby", "ping", buildJsonObject { put("n", 7) })
        assertEquals(7, reply.jsonObject["n"]!!.jsonPrimitive.int)

        val refused = assertFailsWith<TetherException.Refused> {
            client.push("room:lobby", "nack", buildJsonObject { put("why", "no") })
        }
        assertContains(refused.message!!, """"why":"no"""")
        val settled = events.receiveUntil {
            it is Event.AckSettled && it.outcome is AckOutcome.Failed
        } as Event.AckSettled
        val failure = assertIs<AckFailure.Refused>((settled.outcome as AckOutcome.Failed).failure)
        assertEquals(buildJsonObject { put("why", "no") }, TetherJson.parseToJsonElement(failure.responseJson))
        coroutineContext.cancelChildren()
    }

    @Test
    fun `a channel's message flow has its pushes and broadcasts and nothing of other channels`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)
        val lobby = inbox(client.channelMessages("room:lobby"))
        client.joinChannel("room:lobby")
        client.joinChannel("room:other")

        server.command("""{"cmd":"broadcast","topic":"room:other","event":"server_news","payload":{"n":1}}""")
        server.command("""{"cmd":"broadcast","topic":"room:lobby","event":"server_news","payload":{"n":2}}""")
        client.pushWithoutReply("room:lobby", "push_me", buildJsonObject {
            put("event", "pushed")
            put("payload", buildJsonObject { put("n", 3) })
        })

        val broadcast = lobby.receiveWithin()
        assertEquals("server_news", broadcast.event)
        assertEquals(2, broadcast.payload!!.jsonObject["n"]!!.jsonPrimitive.int, "room:other's came first")
        assertEquals("room:lobby", broadcast.namespace)
        assertEquals("room:lobby", broadcast.room)
        val pushed = lobby.receiveWithin()
        assertEquals("pushed", pushed.event)
        assertEquals(3, pushed.payload!!.jsonObject["n"]!!.jsonPrimitive.int)
        coroutineContext.cancelChildren()
    }

    @Test
    fun `the presence flow shows the joiner under its user param, then others coming and going`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server, buildJsonObject { put("user", "dana") })
        val changes = inbox(client.presence("room:lobby"))
        client.joinChannel("room:lobby")

        val synced = changes.receiveUntil { it is PresenceChange.Synced } as PresenceChange.Synced
        assertEquals("room:lobby", synced.topic)
        assertEquals(listOf("dana"), synced.members.map { it.userId })
        val metas = TetherJson.parseToJsonElement(synced.members.single().metasJson).jsonArray
        assertTrue(metas.single().jsonObject.containsKey("phx_ref"), "the server's metas: $metas")

        server.command("""{"cmd":"track","topic":"room:lobby","key":"bot","meta":{"name":"Robot"}}""")
        val joined = changes.receiveUntil { it is PresenceChange.Joined } as PresenceChange.Joined
        assertEquals("bot", joined.member.userId)
        assertEquals("Robot", joined.member.name)
        server.command("""{"cmd":"untrack","topic":"room:lobby","key":"bot"}""")
        val left = changes.receiveUntil { it is PresenceChange.Left } as PresenceChange.Left
        assertEquals("bot", left.userId)
        coroutineContext.cancelChildren()
    }

    @Test
    fun `a channel that crashed on the server (phx_error) is joined again while connected`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)
        val events = inbox(client.events)
        client.joinChannel("room:crash")
        val since = server.mark()

        server.command("""{"cmd":"crash","topic":"room:crash"}""")

        events.receiveUntil { it is Event.RoomError && it.room == "room:crash" }
        events.receiveUntil { it is Event.RoomJoined && it.room == "room:crash" }
        server.awaitReport(since = since) {
            it.string("event") == "join" && it.string("topic") == "room:crash" && it.string("status") == "ok"
        }
        val reply = client.push("room:crash", "ping", buildJsonObject { put("n", 1) })
        assertEquals(1, reply.jsonObject["n"]!!.jsonPrimitive.int)
        assertEquals(1, server.reports().count { it.string("event") == "connect" }, "on the same socket")
        coroutineContext.cancelChildren()
    }

    @Test
    fun `after a server-side disconnect the client reconnects and joins its channels again`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = connected(server)
        client.joinChannel("room:lobby", buildJsonObject { put("color", "blue") })
        val events = inbox(client.events)

        server.command("""{"cmd":"disconnect"}""")

        events.receiveUntil { it is Event.Disconnected && it.willReconnect }
        events.receiveUntil(15.seconds) { it is Event.RoomJoined && it.room == "room:lobby" }
        val rejoin = server.awaitReceivedOn("room:lobby", "phx_join", socket = "s2")
        assertEquals("blue", rejoin["payload"]!!.jsonObject["color"]!!.jsonPrimitive.content, "the same payload")
        val reply = client.push("room:lobby", "ping", buildJsonObject { put("n", 2) })
        assertEquals(2, reply.jsonObject["n"]!!.jsonPrimitive.int)
        coroutineContext.cancelChildren()
    }

    @Test
    fun `a join made offline answers nothing and happens on connect`() = runBlocking<Unit> {
        val server = NodeServer.phoenix(token = "s3cret").closeAfter()
        val client = TetherClient(phoenixTestConfig(server)) { "s3cret" }.closeAfter()

        assertNull(client.joinChannel("room:lobby"), "no answer while offline")
        val events = inbox(client.events)
        client.connect()

        events.receiveUntil { it is Event.RoomJoined && it.room == "room:lobby" }
        server.awaitReceivedOn("room:lobby", "phx_join")
        coroutineContext.cancelChildren()
    }
}
