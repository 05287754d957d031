import Foundation
import Tether
import XCTest

/// A row of the `todos` table the tests pretend to have.
struct Todo: Codable, Equatable, Sendable {
    var id: Int
    var title: String
}

/// The answer to a Realtime join: the database bindings with the ids the server gave them.
struct RealtimeJoinAnswer: Decodable {
    struct Binding: Decodable {
        var id: UInt64
        var table: String?
    }

    var postgres_changes: [Binding]
}

/// Supabase Realtime through the bindings against the Phoenix test server's `realtime:*` topics,
/// on `/realtime/v1` as a Supabase project serves them.
final class SupabaseRealtimeTests: TetherTestCase {
    /// A client with the Supabase options and `token()` as the user's token.
    private func supabaseClient(
        _ server: TestServer,
        token: @escaping @Sendable () -> String
    ) throws -> TetherClient {
        var config = ClientConfig(supabaseURL: server.url, apiKey: "anon-key")
        config.backoff = BackoffOptions(minDelayMs: 20, maxDelayMs: 200)
        config.rejoin = RejoinOptions(minDelayMs: 20, maxDelayMs: 200)
        return try TetherClient(config: config) { token() }
    }

    func testARealtimeChannelReceivesADatabaseChangeAndItsOwnAcknowledgedBroadcast() async throws {
        let server = try phoenixServer()
        let client = try supabaseClient(server) { "user-jwt" }
        try await client.connect()
        let topic = unique("realtime:todos")
        let messages = Recorder(client.channelMessages(topic: topic))
        let config = RealtimeChannelConfig(
            broadcastAck: true,
            broadcastSelf: true,
            postgresChanges: [PostgresChangesFilter(event: "INSERT", table: "todos")]
        )

        let answer = try await client.joinRealtimeChannel(topic, config: config).decode(RealtimeJoinAnswer.self)
        XCTAssertEqual(answer.postgres_changes.map(\.table), ["todos"])
        try await server.waitForReport("the join, with the user's token") {
            $0.event == "received" && $0.name == "phx_join" && $0.topic == topic
                && $0.payload?["access_token"] == .string("<redacted>")
        }

        try await server.command([
            "cmd": "postgres_change", "topic": topic, "type": "INSERT", "schema": "public", "table": "todos",
            "record": ["id": 1, "title": "milk"] as [String: Any],
        ])
        let changed = try await messages.waitFor("the database change") { postgresChange(in: $0) != nil }
        let change = try XCTUnwrap(postgresChange(in: changed))
        XCTAssertEqual(change.eventType, "INSERT")
        XCTAssertEqual(try change.decodeNew(Todo.self), Todo(id: 1, title: "milk"))
        XCTAssertEqual(change.ids, answer.postgres_changes.map(\.id))

        try await client.broadcast(topic: topic, event: "cursor", payload: ["x": 3], acknowledged: true)
        let broadcast = try await messages.waitFor("the broadcast, to ourselves") {
            if case .broadcast? = try? $0.realtimeEvent() { return true }
            return false
        }
        guard case .broadcast(let event, let payloadJson)? = try broadcast.realtimeEvent() else { return }
        XCTAssertEqual(event, "cursor")
        XCTAssertEqual(try JSONDecoder().decode([String: Int].self, from: Data(payloadJson.utf8)), ["x": 3])
    }

    func testRefreshingTheTokenPushesAccessTokenToTheJoinedChannel() async throws {
        let server = try phoenixServer()
        let generation = Counter()
        let client = try supabaseClient(server) { "jwt-\(generation.value)" }
        try await client.connect()
        let topic = unique("realtime:auth")
        try await client.joinRealtimeChannel(topic)

        generation.increment()
        try await client.refreshToken()

        try await server.waitForReport("the access_token push") {
            $0.event == "received" && $0.name == "access_token" && $0.topic == topic
                && $0.payload?["access_token"] == .string("jwt-1")
        }
    }

    func testPresenceTrackAndUntrackComeBackAsPresenceChanges() async throws {
        let server = try phoenixServer()
        let client = try supabaseClient(server) { "user-jwt" }
        try await client.connect()
        let topic = unique("realtime:room")
        let changes = Recorder(client.presence(topic: topic))
        try await client.joinRealtimeChannel(topic, config: RealtimeChannelConfig(presenceKey: "ann", presenceEnabled: true))

        try await client.track(topic: topic, payload: ["status": "online"])
        let joined = try await changes.waitFor("ann joining") {
            if case .joined(_, let member) = $0 { return member.userId == "ann" }
            return false
        }
        guard case .joined(_, let ann) = joined else { return }
        XCTAssertTrue(ann.metasJson.contains(#""status":"online""#), ann.metasJson)
        try await client.untrack(topic: topic)
        try await changes.waitFor("ann leaving") {
            if case .left(_, "ann", _) = $0 { return true }
            return false
        }
    }
}

/// The database change `message` carries, if it is one.
private func postgresChange(in message: IncomingMessage) -> PostgresChange? {
    if case .postgresChanges(let change)? = try? message.realtimeEvent() { return change }
    return nil
}
