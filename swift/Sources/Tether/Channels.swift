import Foundation

// Phoenix channels (and rooms in general): joins with a payload that return the server's answer,
// pushes to a channel with its reply, and bounded AsyncStreams of one channel's messages and
// presence. Each is a thin layer over the generated `Client` (`joinWith`, `send`,
// `subscribeMessages`, `subscribePresenceChanges`, `refreshToken`).

/// Adapts a closure to `PresenceChangeListener`.
final class PresenceChangeHandler: PresenceChangeListener {
    private let handler: @Sendable (PresenceChange) -> Void
    init(_ handler: @escaping @Sendable (PresenceChange) -> Void) { self.handler = handler }
    func onPresenceChange(change: PresenceChange) { handler(change) }
}

extension ClientConfig {
    /// The defaults with one Phoenix server URL and Phoenix options (path, connect params,
    /// where the token goes): `ClientConfig(phoenixURL: "wss://app.example.com")`.
    public init(phoenixURL url: String, options: PhoenixOptions = PhoenixOptions()) {
        self.init(urls: [url], protocol: .phoenix, phoenix: options)
    }

    /// The defaults for a Supabase project's Realtime (`https://<project>.supabase.co`): path
    /// `/realtime/v1`, the project's API key as `apikey`, the token provider's token (the
    /// user's JWT) as each channel's `access_token`.
    public init(supabaseURL url: String, apiKey: String) {
        self.init(phoenixURL: url, options: supabasePhoenixOptions(apiKey: apiKey))
    }
}

extension TetherClient {
    // MARK: Channels

    /// Joins channel `topic` with `payload` (a JSON object the server reads on every join:
    /// credentials, parameters) and returns the server's answer as the first argument. Offline,
    /// it returns no arguments at once and the channel is joined on connect. Either way it is
    /// joined again, with this payload, after every reconnect and after the server lost it,
    /// until `leave`.
    ///
    /// - Throws: `TetherError.Refused` when the server refuses the join (the message says what
    ///   it answered); `EncodingError` for a payload that cannot be encoded.
    @discardableResult
    public func joinChannel<Payload: Encodable>(
        _ topic: String,
        payload: Payload
    ) async throws -> JSONArguments {
        try await joinChannel(topic, json: encodeJSON(payload, using: makeEncoder()))
    }

    /// `joinChannel(_:payload:)`, decoding the server's answer as `Reply` (`nil` when offline:
    /// the answer comes with the join, on connect, as `Event.roomJoinReply`).
    public func joinChannel<Payload: Encodable, Reply: Decodable>(
        _ topic: String,
        payload: Payload,
        as reply: Reply.Type
    ) async throws -> Reply? {
        let answer = try await joinChannel(topic, payload: payload)
        return answer.isEmpty ? nil : try answer.decode(Reply.self, using: makeDecoder())
    }

    /// `joinChannel(_:payload:)` with the payload given as JSON text (a JSON object).
    @discardableResult
    public func joinChannel(_ topic: String, json payload: String) async throws -> JSONArguments {
        let answer = try await raw.joinWith(room: topic, payloadJson: payload)
        return JSONArguments(json: answer == "null" ? "[]" : "[" + answer + "]")
    }

    /// Pushes `event` with `payload` to channel `topic` and waits for the server's reply (its
    /// response is the first argument). A push made before the channel is joined waits in the
    /// outbox until it is (its timeout runs meanwhile).
    ///
    /// - Throws: `TetherError.Refused` when the server replies with an error (the message says
    ///   what it answered; `events` carries it as JSON in `.ackSettled`), `AckTimeout` when no
    ///   reply comes within `timeout` seconds (`nil`: the configured `ackTimeoutMs`).
    @discardableResult
    public func push<Payload: Encodable>(
        topic: String,
        event: String,
        payload: Payload,
        timeout: TimeInterval? = nil
    ) async throws -> JSONArguments {
        try await push(message: channelMessage(topic, event, payload), timeout: timeout)
    }

    /// `push(topic:event:payload:timeout:)`, decoding the reply's response as `Reply`.
    public func push<Payload: Encodable, Reply: Decodable>(
        topic: String,
        event: String,
        payload: Payload,
        as reply: Reply.Type,
        timeout: TimeInterval? = nil
    ) async throws -> Reply {
        let arguments = try await push(topic: topic, event: event, payload: payload, timeout: timeout)
        return try arguments.decode(Reply.self, using: makeDecoder())
    }

    /// Pushes `event` with `payload` to channel `topic` without waiting for a reply (queued
    /// until the channel is joined).
    public func pushWithoutReply<Payload: Encodable>(topic: String, event: String, payload: Payload) async throws {
        _ = try await raw.send(message: channelMessage(topic, event, payload), delivery: .fireAndForget)
    }

    /// Asks the token provider for a token now and passes it on: with the Supabase options it
    /// is pushed to every joined channel as `access_token` and used for rejoins. Call it when
    /// the user's session token changes.
    public func refreshToken() async throws { try await raw.refreshToken() }

    /// The messages of channel `topic` (server pushes and broadcasts), from now on, in order:
    /// `messages(_:onLagged:)` for one room, bounded the same way (by `buffer`, else the
    /// config's `streamBuffer`, here and on the Rust side). `onLagged`, if given, is called with
    /// how many were dropped because the reader fell behind, right before the next message.
    public func channelMessages(
        topic: String,
        buffer: StreamBufferOptions? = nil,
        onLagged: (@Sendable (UInt64) -> Void)? = nil
    ) -> AsyncStream<IncomingMessage> {
        messages(MessageFilter(room: topic, buffer: buffer), onLagged: onLagged)
    }

    /// The presence changes of channel `topic` (Phoenix presence), from now on, in order: after
    /// each (re)join a `.synced` change with the whole roster, then `.joined`, `.updated` and
    /// `.left`. There is no current roster first, so make the stream before joining. Bounded
    /// like `events` (the config's `streamBuffer`, here and on the Rust side, only this
    /// channel's changes counted): a reader that falls that far behind loses changes, and
    /// `onLagged` is called with how many right before the next one it gets. A roster built
    /// from the changes is then stale until the next `.synced` (the next join: `leave` and
    /// `joinChannel` again to have one at once).
    public func presence(
        topic: String,
        onLagged: (@Sendable (UInt64) -> Void)? = nil
    ) -> AsyncStream<PresenceChange> {
        boundedStream(buffer: streamBuffer, element: { (chunk: Chunk<PresenceChange>) -> PresenceChange? in
            switch chunk {
            case .lost(let skipped):
                onLagged?(skipped)
                return nil
            case .values(let changes):
                return changes.first
            }
        }) { yield, lagged in
            raw.subscribePresenceChanges(
                room: topic,
                listener: PresenceChangeHandler(yield),
                lagListener: LagHandler(lagged)
            )
        }
    }

    /// Sends `message` with an acknowledgement and returns the reply's arguments.
    func push(message: OutgoingMessage, timeout: TimeInterval?) async throws -> JSONArguments {
        let reply = try await raw.send(message: message, delivery: .withAck(timeoutMs: milliseconds(timeout)))
        return reply.arguments
    }

    /// A message to channel `topic` with `payload` as its one argument.
    func channelMessage<Payload: Encodable>(
        _ topic: String,
        _ event: String,
        _ payload: Payload
    ) throws -> OutgoingMessage {
        let json = try encodeJSON(payload, using: makeEncoder())
        return OutgoingMessage(event: event, argsJson: "[" + json + "]", namespace: topic)
    }
}

extension PresenceChange {
    /// The channel whose presence changed.
    public var topic: String {
        switch self {
        case .joined(let room, _), .left(let room, _, _), .updated(let room, _), .synced(let room, _):
            return room
        }
    }
}
