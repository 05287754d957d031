import Foundation
import Tether
import XCTest

/// What the Phoenix test server's `whoami` push answers.
struct WhoAmI: Decodable, Equatable {
    var socket: String
    var user: String
}

/// The `push_me` push: the server pushes `event` with `payload` back on the channel.
struct PushMe: Encodable {
    var event: String
    var payload: [String: Int]
}

/// Phoenix channels through the bindings against tests/servers/phoenix (its README is the
/// contract). Every test uses topics of its own: the server is shared by the whole run. These
/// prove the Swift surface and the FFI, not the engine's logic (the Rust tests do that).
final class PhoenixChannelTests: TetherTestCase {
    private let noPayload: [String: String] = [:]

    func testAJoinCarriesItsPayloadAndReturnsTheAnswerAndARefusalThrowsRefused() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server)
        let topic = unique("room:join")

        let answer = try await client.joinChannel(topic, payload: ["color": "blue"], as: [String: String].self)

        XCTAssertEqual(answer, [:], "room:* answers {}")
        try await server.waitForReport("the join with its payload") {
            $0.event == "received" && $0.name == "phx_join" && $0.topic == topic
                && $0.payload?["color"] == .string("blue")
        }
        do {
            try await client.joinChannel("room:forbidden", payload: noPayload)
            XCTFail("the server's refusal was not thrown")
        } catch TetherError.Refused(let message) {
            XCTAssertTrue(message.contains("unauthorized"), message)
        }
    }

    func testPushesGetTheOkReplyAndAnErrorReplyThrowsRefusedWithItsResponse() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server)
        let topic = unique("room:push")
        let events = Recorder(client.events)
        try await client.joinChannel(topic, payload: noPayload)

        let note = Note(text: "ping", n: 7)
        let echoed = try await client.push(topic: topic, event: "ping", payload: note, as: Note.self)
        XCTAssertEqual(echoed, note)

        do {
            try await client.push(topic: topic, event: "nack", payload: ["why": "no"])
            XCTFail("the error reply was not thrown")
        } catch TetherError.Refused(let message) {
            XCTAssertTrue(message.contains(#""why":"no""#), message)
        }
        let settled = try await events.waitFor("the refused acknowledgement") {
            if case .ackSettled(_, .failed(.refused)) = $0 { return true }
            return false
        }
        guard case .ackSettled(_, .failed(.refused(let responseJson))) = settled else { return }
        XCTAssertEqual(try JSONDecoder().decode([String: String].self, from: Data(responseJson.utf8)), ["why": "no"])
    }

    func testAChannelsMessageStreamHasItsPushesAndBroadcastsAndNothingOfOtherChannels() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server)
        let lobby = unique("room:lobby")
        let other = unique("room:other")
        let messages = Recorder(client.channelMessages(topic: lobby))
        try await client.joinChannel(lobby, payload: noPayload)
        try await client.joinChannel(other, payload: noPayload)

        try await server.command(["cmd": "broadcast", "topic": other, "event": "server_news", "payload": ["n": 1]])
        try await server.command(["cmd": "broadcast", "topic": lobby, "event": "server_news", "payload": ["n": 2]])
        try await client.pushWithoutReply(topic: lobby, event: "push_me", payload: PushMe(event: "pushed", payload: ["n": 3]))

        let broadcast = try await messages.waitFor("the broadcast") { _ in true }
        XCTAssertEqual(broadcast.event, "server_news")
        XCTAssertEqual(try broadcast.decode([String: Int].self), ["n": 2], "the other channel's came first")
        XCTAssertEqual(broadcast.namespace, lobby)
        XCTAssertEqual(broadcast.room, lobby)
        let pushed = try await messages.waitFor("the push", after: 1) { _ in true }
        XCTAssertEqual(pushed.event, "pushed")
        XCTAssertEqual(try pushed.decode([String: Int].self), ["n": 3])
    }

    func testThePresenceStreamShowsTheJoinerUnderItsUserParamThenOthersComingAndGoing() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server, params: ["user": "dana"])
        let topic = unique("room:presence")
        let changes = Recorder(client.presence(topic: topic))
        try await client.joinChannel(topic, payload: noPayload)

        let synced = try await changes.waitFor("the roster after the join") {
            if case .synced = $0 { return true }
            return false
        }
        guard case .synced(let room, let members) = synced else { return }
        XCTAssertEqual(room, topic)
        XCTAssertEqual(members.map(\.userId), ["dana"])
        XCTAssertTrue(members.first?.metasJson.contains("phx_ref") == true, "the server's metas")

        try await server.command(["cmd": "track", "topic": topic, "key": "bot", "meta": ["name": "Robot"]])
        let joined = try await changes.waitFor("the bot joining") {
            if case .joined(_, let member) = $0 { return member.userId == "bot" }
            return false
        }
        guard case .joined(_, let bot) = joined else { return }
        XCTAssertEqual(bot.name, "Robot")
        XCTAssertEqual(joined.topic, topic)
        try await server.command(["cmd": "untrack", "topic": topic, "key": "bot"])
        try await changes.waitFor("the bot leaving") {
            if case .left(_, "bot", _) = $0 { return true }
            return false
        }
    }

    func testAChannelThatCrashedOnTheServerIsJoinedAgainOnTheSameSocket() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server)
        let topic = unique("room:crash")
        let events = Recorder(client.events)
        try await client.joinChannel(topic, payload: noPayload)
        let before = try await client.push(topic: topic, event: "whoami", payload: noPayload, as: WhoAmI.self)
        let joins: (Report) -> Bool = { $0.event == "join" && $0.topic == topic && $0.status == "ok" }

        try await server.command(["cmd": "crash", "topic": topic])

        try await events.waitFor("RoomError") {
            if case .roomError(topic, _) = $0 { return true }
            return false
        }
        let crashed = events.all.firstIndex { if case .roomError = $0 { return true } else { return false } } ?? 0
        try await events.waitFor("RoomJoined after the crash", after: crashed) { $0 == .roomJoined(room: topic) }
        try await eventually("a second join of the channel") { server.count(where: joins) == 2 }
        let after = try await client.push(topic: topic, event: "whoami", payload: noPayload, as: WhoAmI.self)
        XCTAssertEqual(after, before, "joined again without reconnecting")
    }

    func testAfterAServerSideDisconnectTheClientReconnectsAndJoinsItsChannelsAgain() async throws {
        let server = try phoenixServer()
        let client = try await connectedPhoenixClient(server)
        let topic = unique("room:rejoin")
        try await client.joinChannel(topic, payload: ["color": "blue"])
        let before = try await client.push(topic: topic, event: "whoami", payload: noPayload, as: WhoAmI.self)
        let events = Recorder(client.events)

        try await server.command(["cmd": "disconnect", "socket": before.socket])

        try await events.waitFor("Disconnected, reconnecting") {
            if case .disconnected(_, true) = $0 { return true }
            return false
        }
        let lost = events.all.firstIndex { if case .disconnected = $0 { return true } else { return false } } ?? 0
        try await events.waitFor("RoomJoined after the reconnect", after: lost, timeout: 15) {
            $0 == .roomJoined(room: topic)
        }
        let after = try await client.push(topic: topic, event: "whoami", payload: noPayload, as: WhoAmI.self)
        XCTAssertNotEqual(after.socket, before.socket, "a new socket")
        try await server.waitForReport("the rejoin with the same payload") {
            $0.event == "received" && $0.name == "phx_join" && $0.topic == topic && $0.socket == after.socket
                && $0.payload?["color"] == .string("blue")
        }
    }

    func testAJoinMadeOfflineAnswersNothingAndHappensOnConnect() async throws {
        let server = try phoenixServer()
        let token = server.token
        let client = try TetherClient(config: phoenixConfig(server)) { token }
        let topic = unique("room:offline")
        let events = Recorder(client.events)

        let answer = try await client.joinChannel(topic, payload: noPayload)
        XCTAssertTrue(answer.isEmpty, "no answer while offline: \(answer)")
        try await client.connect()

        try await events.waitFor("RoomJoined on connect") { $0 == .roomJoined(room: topic) }
        try await server.waitForReport("the join on connect") {
            $0.event == "received" && $0.name == "phx_join" && $0.topic == topic
        }
    }
}
