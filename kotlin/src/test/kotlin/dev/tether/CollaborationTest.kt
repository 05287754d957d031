package dev.tether

import dev.tether.ffi.CollabConfig
import dev.tether.ffi.Collaboration
import dev.tether.ffi.OptimisticOutcome
import dev.tether.ffi.OutcomeListener
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** The collaboration bindings; the Node test server speaks no collaboration protocol, but acks. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CollaborationTest : ClosesAfterEach() {
    @Test
    fun `an acknowledged optimistic update reaches the outcome listener as confirmed`() = runBlocking<Unit> {
        val server = NodeServer().closeAfter()
        val client = TetherClient(testConfig(server)).closeAfter()
        client.connect()
        val collab = Collaboration(client.raw, CollabConfig(localUserId = "kotlin")).closeAfter()
        val outcomes = LinkedBlockingQueue<OptimisticOutcome>()
        collab.subscribeOutcomes(
            object : OutcomeListener {
                override fun onOutcome(outcome: OptimisticOutcome) {
                    outcomes.add(outcome)
                }
            },
        ).closeAfter()

        val id = collab.updateOptimistic("estimate-42", "ack-echo", """{"n":42}""")

        val outcome = assertNotNull(outcomes.poll(10, TimeUnit.SECONDS), "a verdict arrived")
        assertEquals(id, outcome.id)
        assertTrue(outcome.confirmed, "the ack confirms it: ${outcome.reason}")
        assertEquals("", outcome.reason)
        assertEquals("estimate-42", outcome.room)
        assertEquals("ack-echo", outcome.event)
        val payload = Json.parseToJsonElement(outcome.payloadJson).jsonObject
        assertEquals(42, payload["n"]?.jsonPrimitive?.int)
        assertEquals(id, payload["optimisticId"]?.jsonPrimitive?.content, "the id travels in the payload")
        assertTrue(collab.roster("estimate-42").isEmpty(), "not joined: no roster")
    }
}
