import Foundation
import Tether
import XCTest

/// The payload the server broadcasts to a room.
struct Pricing: Codable, Equatable, Sendable {
    var room: String
    var amount: Int
}

final class RoomTests: TetherTestCase {
    func testAJoinedRoomReceivesTheServersBroadcast() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let room = unique("estimate")
        let events = Recorder(client.events)
        let updates = Recorder(client.messages(MessageFilter(events: ["pricing-updated"], room: room)))

        try await client.join(room)
        try await events.waitFor("RoomJoined") { $0 == .roomJoined(room: room) }
        try await server.waitForReport("the join-room event the engine sends") {
            $0.event == "received" && $0.name == "join-room" && $0.args?.first?["room"] == .string(room)
        }

        try await server.emit(room: room, event: "pricing-updated", data: ["room": room, "amount": 5])
        let update = try await updates.waitFor("the broadcast") { _ in true }
        XCTAssertEqual(try update.decode(Pricing.self), Pricing(room: room, amount: 5))
        XCTAssertEqual(update.room, room)

        try await client.leave(room)
        try await server.waitForReport("the leave-room event") {
            $0.event == "received" && $0.name == "leave-room" && $0.args?.first?["room"] == .string(room)
        }
    }

    func testAServerRestartReconnectsAndRejoinsTheRoom() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let room = unique("restart")
        try await client.join(room)
        let states = Recorder(client.stateUpdates)
        let events = Recorder(client.events)
        let joins: (Report) -> Bool = {
            $0.event == "received" && $0.name == "join-room" && $0.args?.first?["room"] == .string(room)
        }
        try await eventually("the first join-room report") { server.count(where: joins) == 1 }

        try await server.stop()
        do {
            try await states.waitFor("Reconnecting") {
                if case .reconnecting = $0 { return true }
                return false
            }
            try await server.start()
        } catch {
            try? await server.start()
            throw error
        }
        let reconnecting = states.all.firstIndex { if case .reconnecting = $0 { return true } else { return false } } ?? 0
        try await states.waitFor("Connected after Reconnecting", after: reconnecting) { $0 == .connected }
        let lost = events.all.firstIndex { if case .disconnected = $0 { return true } else { return false } } ?? 0
        try await events.waitFor("RoomJoined after the reconnect", after: lost) { $0 == .roomJoined(room: room) }
        try await eventually("a second join-room on the new connection") { server.count(where: joins) == 2 }

        let updates = Recorder(client.messages(named: "pricing-updated"))
        try await server.emit(room: room, event: "pricing-updated", data: ["room": room, "amount": 9])
        let update = try await updates.waitFor("the broadcast to the re-joined room") { _ in true }
        XCTAssertEqual(try update.decode(Pricing.self), Pricing(room: room, amount: 9))
    }
}
