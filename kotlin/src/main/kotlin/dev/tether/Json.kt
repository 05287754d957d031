package dev.tether

import dev.tether.ffi.AckReply
import dev.tether.ffi.IncomingMessage
import dev.tether.ffi.OutgoingMessage
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.decodeFromJsonElement
import kotlinx.serialization.json.jsonArray

// JSON crosses the FFI as strings; these helpers turn them into kotlinx.serialization values.

/** The JSON configuration used by the helpers (lenient about unknown keys). */
val TetherJson: Json = Json { ignoreUnknownKeys = true }

/** The message's arguments. */
val IncomingMessage.args: JsonArray
    get() = TetherJson.parseToJsonElement(argsJson).jsonArray

/** The first argument, where most servers put the payload (`null` if there is none). */
val IncomingMessage.payload: JsonElement?
    get() = args.firstOrNull()

/** The first argument decoded as [T] (a `@Serializable` class). */
inline fun <reified T> IncomingMessage.decode(json: Json = TetherJson): T =
    json.decodeFromJsonElement(payload ?: throw IllegalStateException("message `$event` has no arguments"))

/** The acknowledgement's arguments. */
val AckReply.args: JsonArray
    get() = TetherJson.parseToJsonElement(argsJson).jsonArray

/** An [OutgoingMessage] with these JSON arguments. */
fun outgoingMessage(
    event: String,
    vararg args: JsonElement,
    namespace: String = "/",
    binary: List<ByteArray> = emptyList(),
): OutgoingMessage = OutgoingMessage(
    event = event,
    argsJson = JsonArray(args.toList()).toString(),
    binary = binary,
    namespace = namespace,
)

internal fun parseArgs(argsJson: String): JsonArray = TetherJson.parseToJsonElement(argsJson).jsonArray
