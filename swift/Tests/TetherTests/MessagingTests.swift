import Foundation
import Tether
import XCTest

/// An `EventListener` written against the generated protocol, as an app might.
final class MessageCollector: EventListener {
    let messages = Collected<IncomingMessage>()

    func onEvent(event: Event) throws {
        if case .message(let message) = event { messages.append(message) }
    }
}

final class MessagingTests: TetherTestCase {
    func testEmitWithAckRoundTripsCodablePayloads() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)

        let note = Note(text: "hello, ack", n: 42)
        let echoed = try await client.emitWithAck("ack-echo", note, as: Note.self)
        XCTAssertEqual(echoed, note)

        let raw = try await client.emitWithAck("ack-echo", json: #"{"list":[1,2,"three, four"]}"#, timeout: 5)
        XCTAssertEqual(raw.json, #"[{"list":[1,2,"three, four"]}]"#)
        XCTAssertEqual(raw.count, 1)

        // Several arguments through the general send.
        let arguments = try JSONArguments.encoding("first", 2, note)
        let reply = try await client.send(
            OutgoingMessage(event: "ack-echo", argsJson: arguments.json),
            delivery: .withAck(timeoutMs: 5_000)
        )
        XCTAssertEqual(try reply.arguments.decode(String.self), "first")
        XCTAssertEqual(try reply.arguments.decode(Int.self, at: 1), 2)
        XCTAssertEqual(try reply.arguments.decode(Note.self, at: 2), note)
        XCTAssertThrowsError(try reply.arguments.decode(Note.self, at: 3))

        // A reliable send is acknowledged too.
        let reliable = try await client.sendReliable("ack-echo", note, as: Note.self, timeout: 5)
        XCTAssertEqual(reliable, note)
        try await server.waitForReport("the server saw the acknowledged sends") {
            $0.event == "received" && $0.name == "ack-echo" && $0.args?.count == 3
        }
    }

    func testServerEventsReachAListenerAndTheStreams() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let collector = MessageCollector()
        let listenerHandle = client.raw.subscribeEvents(listener: collector)
        let closureMessages = Collected<IncomingMessage>()
        let closureHandle = client.onMessage(MessageFilter(events: ["echo"])) { closureMessages.append($0) }
        let streamed = Recorder(client.messages(named: "echo"))
        let events = Recorder(client.events)

        let note = Note(text: unique("echo"), n: 7)
        try await client.emit("echo", note)

        let isOurs: (IncomingMessage) -> Bool = { $0.event == "echo" && (try? $0.decode(Note.self)) == note }
        let fromListener = try await collector.messages.waitFor("echo through the listener", where: isOurs)
        try await closureMessages.waitFor("echo through the closure", where: isOurs)
        try await streamed.waitFor("echo through messages(named:)", where: isOurs)
        try await events.waitFor("echo through events") { $0.incomingMessage.map(isOurs) ?? false }
        XCTAssertEqual(fromListener.namespace, "/")
        XCTAssertNil(fromListener.ackId)
        withExtendedLifetime((listenerHandle, closureHandle)) {}
    }

    func testASendWhileOfflineIsDeliveredAfterReconnect() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let states = Recorder(client.stateUpdates)

        try await server.stop()
        do {
            try await states.waitFor("reconnecting while the server is down") {
                if case .reconnecting = $0 { return true }
                return false
            }
            let note = Note(text: unique("offline"), n: 1)
            try await client.emit("offline-note", note)
            let queued = try await client.stats().queued
            XCTAssertEqual(queued, 1, "the note waits in the outbox")
            XCTAssertEqual(server.count { $0.name == "offline-note" && $0.args?.first?["text"] == .string(note.text) }, 0)

            try await server.start()
            try await server.waitForReport("the queued note, after the reconnect") {
                $0.event == "received" && $0.name == "offline-note"
                    && $0.args?.first?["text"] == .string(note.text)
            }
            try await eventually("connected again") { client.state.isConnected }
        } catch {
            try? await server.start()
            throw error
        }
    }

    func testTryEmitAndBatchedDeliveryLoseNothingAndKeepOrder() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let run = unique("seq")
        let batches = Recorder(client.messageBatches(MessageFilter(events: ["echo"]), maxBatch: 64))
        let total = 2_000

        // One at a time (no await), retrying while the send lane is full...
        for i in 0..<total {
            while true {
                do {
                    try client.tryEmit("echo", Seq(run: run, i: i))
                    break
                } catch TetherError.QueueFull {
                    await Task.yield()
                }
            }
        }
        // ...then as many again in batches, resent from where the lane filled.
        let rest = try (total..<2 * total).map { try String(decoding: JSONEncoder().encode(Seq(run: run, i: $0)), as: UTF8.self) }
        var next = 0
        while next < rest.count {
            next += try client.tryEmitAll("echo", json: Array(rest[next..<min(next + 500, rest.count)]))
            if next < rest.count { await Task.yield() }
        }

        let seen: [Int] = try await eventually("\(2 * total) echoes", timeout: 60) {
            let all = batches.all.flatMap { $0 }.compactMap { try? $0.decode(Seq.self) }.filter { $0.run == run }
            return all.count >= 2 * total ? all.map(\.i) : nil
        }
        XCTAssertEqual(seen, Array(0..<2 * total), "every message once, in order")
        XCTAssertTrue(batches.all.allSatisfy { !$0.isEmpty && $0.count <= 64 })

        XCTAssertThrowsError(try client.tryEmit("echo", json: "{not json"))
        XCTAssertThrowsError(try client.tryEmitAll("echo", json: ["1", "{not json"]))
        try await client.disconnect()
        XCTAssertThrowsError(try client.tryEmit("echo", json: "1")) { error in
            guard case TetherError.Closed = error else { return XCTFail("\(error)") }
        }
    }
}

/// One numbered message of the tryEmit test.
struct Seq: Codable, Sendable, Equatable {
    var run: String
    var i: Int
}
