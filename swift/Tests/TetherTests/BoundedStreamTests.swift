import Foundation
@testable import Tether
import XCTest

/// A reader that stops while the server floods (issue 15): the streams' buffers are bounded
/// with the Rust side's policy, and the reader is told how many it missed.
final class BoundedStreamTests: TetherTestCase {
    private struct Flooded: Decodable {
        let n: Int
    }

    /// Has the server flood `count` events named `name` into a room only `client` is in, and
    /// waits until the client got them all and its Rust-side queues handed everything over.
    private func flood(_ server: TestServer, _ client: TetherClient, room: String, name: String, count: Int) async throws {
        try await server.command(["cmd": "flood", "room": room, "events": [name], "count": count])
        try await eventually("the flood delivered and handed over", timeout: 30) {
            let stats = try await client.stats()
            return stats.messagesIn >= UInt64(count) && stats.streamQueued == 0
        }
    }

    func testAnUnreadEventsStreamHoldsAtMostItsBoundAndGetsALaggedEvent() async throws {
        let server = try testServer()
        let bound: UInt64 = 64
        let client = try client(server) { $0.streamBuffer = StreamBufferOptions(maxItems: bound) }
        try await client.connect()
        let room = unique("flood")
        try await client.join(room)
        do {
            let events = client.events // subscribed now; read only after the flood
            var messages: [Int] = []
            var skipped: UInt64 = 0
            let count = 5_000
            try await flood(server, client, room: room, name: "tick", count: count)
            for await event in events {
                if case .lagged(let n) = event {
                    skipped += n
                } else if let message = event.incomingMessage, message.event == "tick" {
                    messages.append(try message.decode(Flooded.self).n)
                    if messages.last == count - 1 { break }
                }
            }
            XCTAssertGreaterThan(skipped, 0, "the reader is told it missed events")
            XCTAssertLessThanOrEqual(UInt64(messages.count), bound, "at most the bound waited")
            XCTAssertEqual(UInt64(messages.count) + skipped, UInt64(count), "every event read or announced")
            XCTAssertEqual(messages, messages.sorted(), "in order")
        }
        // The stream is gone: its Rust subscription ends and its queue leaves the client.
        try await eventually("the released stream's queue to leave the client") {
            try await client.stats().streams == 0
        }
    }

    func testAnUnreadMessagesStreamDroppingTheNewestKeepsTheOldestAndIsToldAtTheGap() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let room = unique("flood")
        try await client.join(room)
        let bound: UInt64 = 32
        let seen = Collected<String>()
        let filter = MessageFilter(
            events: ["tick", "tock"],
            buffer: StreamBufferOptions(maxItems: bound, overflow: .dropNewest)
        )
        let messages = client.messages(filter, onLagged: { seen.append("lagged \($0)") })
        let count = 2_000
        try await flood(server, client, room: room, name: "tick", count: count)

        let finished = Counter()
        let reader = Task {
            for await message in messages {
                let n = (try? message.decode(Flooded.self).n) ?? -1
                seen.append("\(message.event) \(n)")
                if message.event == "tock" { break }
            }
            finished.increment()
        }
        // The gap after what waited is announced with the next message accepted: send one until
        // the reader, having read what waited, takes it (one sent while the buffer is still full
        // is dropped too, and counted in the same gap).
        var tocks = 0
        while finished.value == 0 {
            try await server.command(["cmd": "flood", "room": room, "events": ["tock"], "count": 1])
            tocks += 1
            try? await eventually("the reader to take a tock", timeout: 2) { finished.value > 0 }
        }
        await reader.value

        let log = seen.all
        let ticks = log.filter { $0.hasPrefix("tick ") }.compactMap { Int($0.dropFirst(5)) }
        let skipped = log.filter { $0.hasPrefix("lagged ") }.compactMap { UInt64($0.dropFirst(7)) }.reduce(0, +)
        XCTAssertEqual(ticks.first, 0, "the oldest is kept (.bufferingOldest): \(log)")
        XCTAssertEqual(ticks, ticks.sorted(), "in order")
        XCTAssertLessThanOrEqual(UInt64(ticks.count), bound, "at most the bound waited")
        XCTAssertEqual(UInt64(ticks.count) + skipped, UInt64(count + tocks - 1), "every message read or announced")
        XCTAssertEqual(log.last, "tock 0")
        XCTAssertTrue(log.dropLast().last?.hasPrefix("lagged ") == true, "the gap is announced right before it: \(log)")
    }
}
