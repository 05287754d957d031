/// A `TokenProvider` made from an async closure, asked for a fresh token before every connect
/// and reconnect:
///
/// ```swift
/// let client = try TetherClient(url: "wss://rt.example.com", token: {
///     try await session.freshAccessToken()
/// })
/// ```
///
/// Throw `TokenError.Unauthorized(reason:)` when the user must sign in again: the client stops
/// retrying (state `.failed(.authRejected)`, and `connect()` throws `TetherError.AuthRejected`).
/// Anything else the closure throws is a passing failure (`TokenError.Unavailable`): the client
/// retries with backoff.
public final class ClosureTokenProvider: TokenProvider {
    private let fetch: @Sendable () async throws -> String

    /// A provider calling `fetch` for each token.
    public init(_ fetch: @escaping @Sendable () async throws -> String) {
        self.fetch = fetch
    }

    /// A provider that always hands out the same token (tests, long-lived API keys).
    public static func constant(_ token: String) -> ClosureTokenProvider {
        ClosureTokenProvider { token }
    }

    public func token() async throws -> String {
        do {
            return try await fetch()
        } catch let error as TokenError {
            throw error
        } catch {
            // Name the Swift error in the reason; uniffi would only say "unexpected error".
            throw TokenError.Unavailable(reason: String(describing: error))
        }
    }
}

extension TokenProvider {
    /// The server refused `rejected`: by default the provider is simply asked again
    /// (`token()`). Implement it to drop a cached token and fetch a fresh one; it is asked once
    /// per refusal, and a second refusal fails with `TetherError.AuthRejected`.
    public func tokenAfterRejection(rejected: String) async throws -> String {
        try await token()
    }
}
