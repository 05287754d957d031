import Foundation
import Tether
import XCTest

final class ConnectionTests: TetherTestCase {
    func testConnectsWithATokenFromASwiftProviderAndTheStateStreamReachesConnected() async throws {
        let server = try testServer()
        let asked = Counter()
        let token = server.token
        let client = try TetherClient(config: config(server), tokenProvider: ClosureTokenProvider {
            asked.increment()
            return token
        })
        let states = Recorder(client.stateUpdates)
        let health = Recorder(client.healthUpdates)
        try await states.waitFor("the current state at once") { $0 == .idle }
        try await health.waitFor("the current health at once") { $0.health == .disconnected }

        try await client.connect()

        try await states.waitFor("Connected on the stream") { $0 == .connected }
        try await health.waitFor("health once connected") { $0.health != .disconnected }
        XCTAssertTrue(client.state.isConnected)
        XCTAssertGreaterThanOrEqual(asked.value, 1, "the Swift token provider was asked")
        let stats = try await client.stats()
        XCTAssertTrue(stats.connected)
        XCTAssertEqual(stats.connectCount, 1)
        // The server's middleware accepted the token (it is redacted in its reports).
        try await server.waitForReport("the server saw the token") {
            $0.event == "connection" && $0.auth?["token"] == .string("<redacted>")
        }
    }

    func testAnAuthRejectionSurfacesAsTheTypedError() async throws {
        let server = try testServer()
        let wrong = try TetherClient(url: server.url, token: { "not-the-token" })
        do {
            try await wrong.connect()
            XCTFail("connect with a wrong token succeeded")
        } catch TetherError.AuthRejected(let message) {
            XCTAssertFalse(message.isEmpty)
        }
        guard case .failed(reason: .authRejected) = wrong.state else {
            return XCTFail("expected Failed(AuthRejected), got \(wrong.state)")
        }
        try await server.waitForReport("the server's rejection") {
            $0.event == "rejected" && $0.auth?["token"] == .string("<redacted>")
        }

        // A Swift provider that throws TokenError.Unauthorized stops the client the same way.
        let signedOut = try TetherClient(url: server.url, token: {
            throw TokenError.Unauthorized(reason: "signed out")
        })
        do {
            try await signedOut.connect()
            XCTFail("connect without credentials succeeded")
        } catch let error as TetherError {
            guard case .AuthRejected = error else { return XCTFail("expected AuthRejected, got \(error)") }
            XCTAssertTrue(error.message.contains("signed out"), error.message)
        }
    }

    func testAnInvalidConfigSurfacesAsTheTypedError() throws {
        XCTAssertThrowsError(try TetherClient(config: ClientConfig())) { error in
            guard case TetherError.InvalidConfig(let message) = error else {
                return XCTFail("expected InvalidConfig, got \(error)")
            }
            XCTAssertTrue(message.contains("urls"), message)
        }

        var slowerThanNothing = ClientConfig(url: "ws://127.0.0.1:1")
        slowerThanNothing.backoff.factor = 0.5
        XCTAssertThrowsError(try slowerThanNothing.validate()) { error in
            XCTAssertEqual((error as? TetherError)?.message.contains("factor"), true, "\(error)")
        }
        XCTAssertThrowsError(try TetherClient(config: slowerThanNothing)) { error in
            guard case TetherError.InvalidConfig = error else {
                return XCTFail("expected InvalidConfig, got \(error)")
            }
        }

        var notAnObject = ClientConfig(url: "ws://127.0.0.1:1")
        notAnObject.socketIo.authJson = "[1]"
        XCTAssertThrowsError(try TetherClient(config: notAnObject)) { error in
            guard case TetherError.InvalidConfig = error else {
                return XCTFail("expected InvalidConfig, got \(error)")
            }
        }

        // The record's defaults are the core's.
        XCTAssertEqual(ClientConfig(), defaultConfig())
        XCTAssertEqual(ClientConfig().ackTimeoutMs, 10_000)
        XCTAssertNoThrow(try ClientConfig(url: "wss://example.com").validate())
    }

    func testLifecycleHintsAndAReconnectBringTheConnectionBack() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let events = Recorder(client.events)

        try await client.setAppForeground(false)
        try await client.setAppForeground(true)
        try await client.setNetworkAvailable(false)
        try await client.setNetworkAvailable(true)
        var faster = config(server)
        faster.ackTimeoutMs = 3_000
        try await client.updateConfig(faster)

        try await client.reconnectNow()
        let dropped = try await events.waitFor("the requested disconnect") {
            if case .disconnected(reason: .reconnectRequested, willReconnect: true) = $0 { return true }
            return false
        }
        XCTAssertNotNil(dropped)
        try await events.waitFor("connected again") {
            if case .connected = $0 { return true }
            return false
        }
        try await eventually("connected state") { client.state.isConnected }
        let stats = try await client.stats()
        XCTAssertGreaterThanOrEqual(stats.connectCount, 2)

        try await client.disconnect()
        try await eventually("closed after disconnect") { client.state == .closed }
        do {
            try await client.emitWithAck("ack-echo", Note(text: "closed", n: 0), timeout: 1)
            XCTFail("an acknowledged send on a closed client succeeded")
        } catch let error as TetherError {
            XCTAssertFalse(error.message.isEmpty)
        }
    }
}
