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
}

/** The app's provider in the shape the bindings call. */
internal class FfiTokenProvider(private val provider: TokenProvider) : dev.tether.ffi.TokenProvider {
    override suspend fun token(): String = provider.token()
}
