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
}
