import Foundation

// Supabase Realtime over Phoenix channels: joining a `realtime:*` channel with its config,
// broadcast and presence track/untrack, and reading what arrives as a `RealtimeEvent`. The
// shapes are built and read by the Rust library (`realtimeChannelJoinPayload`,
// `supabaseBroadcast`, `supabaseTrack`, `supabaseUntrack`, `readRealtimeEvent`); this adds
// Codable payloads.

extension TetherClient {
    /// Joins Supabase Realtime channel `topic` (`"realtime:<name>"`) with `config`, and returns
    /// the server's answer as the first argument (`{"postgres_changes": [{…, "id": N}]}`; no
    /// arguments when offline). The user's token goes with it as `access_token`.
    ///
    /// - Throws: `TetherError.Refused` when the server refuses the join, or answers with
    ///   database bindings other than those asked for (then the channel is left, as
    ///   realtime-js does).
    @discardableResult
    public func joinRealtimeChannel(
        _ topic: String,
        config: RealtimeChannelConfig = RealtimeChannelConfig()
    ) async throws -> JSONArguments {
        try await joinChannel(topic, json: realtimeChannelJoinPayload(config: config))
    }

    /// Broadcasts `event` with `payload` to everyone on channel `topic`. With
    /// `acknowledged` (for channels whose config has `broadcastAck`) it waits for the server's
    /// acknowledgement; otherwise it returns once the client accepted it.
    public func broadcast<Payload: Encodable>(
        topic: String,
        event: String,
        payload: Payload,
        acknowledged: Bool = false,
        timeout: TimeInterval? = nil
    ) async throws {
        let json = try encodeJSON(payload, using: makeEncoder())
        let message = try supabaseBroadcast(topic: topic, event: event, payloadJson: json)
        if acknowledged {
            _ = try await push(message: message, timeout: timeout)
        } else {
            _ = try await raw.send(message: message, delivery: .fireAndForget)
        }
    }

    /// Tracks this client's presence on channel `topic` with `payload` as its meta (an object),
    /// and waits for the server's acknowledgement.
    public func track<Payload: Encodable>(
        topic: String,
        payload: Payload,
        timeout: TimeInterval? = nil
    ) async throws {
        let json = try encodeJSON(payload, using: makeEncoder())
        _ = try await push(message: supabaseTrack(topic: topic, payloadJson: json), timeout: timeout)
    }

    /// Stops tracking this client's presence on channel `topic`, and waits for the server's
    /// acknowledgement.
    public func untrack(topic: String, timeout: TimeInterval? = nil) async throws {
        _ = try await push(message: supabaseUntrack(topic: topic), timeout: timeout)
    }
}

extension IncomingMessage {
    /// This message read as a Supabase Realtime event (broadcast, database change, system
    /// notice); `nil` for any other message.
    public func realtimeEvent() throws -> RealtimeEvent? {
        try readRealtimeEvent(message: self)
    }
}

extension PostgresChange {
    /// The row after the change (INSERT, UPDATE), decoded as `Row`.
    public func decodeNew<Row: Decodable>(_ type: Row.Type = Row.self, using decoder: JSONDecoder = JSONDecoder()) throws -> Row {
        try decoder.decode(Row.self, from: Data(newJson.utf8))
    }

    /// The row before the change (UPDATE, DELETE), decoded as `Row`.
    public func decodeOld<Row: Decodable>(_ type: Row.Type = Row.self, using decoder: JSONDecoder = JSONDecoder()) throws -> Row {
        try decoder.decode(Row.self, from: Data(oldJson.utf8))
    }
}
