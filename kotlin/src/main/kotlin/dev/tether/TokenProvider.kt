package dev.tether

import dev.tether.ffi.TokenException

/**
 * Supplies a fresh token (e.g. a JWT) before every connect and reconnect.
 *
 * ```
 * val client = TetherClient(config) { authRepository.freshToken() }
 * ```
 *
 * Throw [TokenException.Unauthorized] when the user must sign in again: the client stops
 * retrying and `connect` throws `TetherException.AuthRejected`. Anything else thrown (or
 * [TokenException.Unavailable]) is a passing failure: the client retries with backoff.
 */
fun interface TokenProvider {
    /** The token for the next connection. */
    suspend fun token(): String

    /**
     * The server refused [rejected] (expired or revoked since it was fetched): a token for one
     * more try. Asked once per refusal; if that one is refused too, `connect` throws
     * `TetherException.AuthRejected`. By default [token] is asked again; a provider with a cache
     * drops [rejected] and fetches a fresh one.
     */
    suspend fun tokenAfterRejection(rejected: String): String = token()
}

/** The app's provider in the shape the bindings call. */
internal class FfiTokenProvider(private val provider: TokenProvider) : dev.tether.ffi.TokenProvider {
    override suspend fun token(): String = provider.token()

    override suspend fun tokenAfterRejection(rejected: String): String = provider.tokenAfterRejection(rejected)
}
