import Foundation
import Tether
import XCTest

/// Base of the tests that need the Socket.IO server: skips them when it is not running (plain
/// `swift test` without swift/run-tests.sh), and makes clients for it.
class TetherTestCase: XCTestCase {
    /// The test server. Without one the test fails (it must never pass by skipping).
    func testServer() throws -> TestServer {
        guard let server = TestServer.shared else {
            XCTFail("no test server: run the tests through swift/run-tests.sh")
            throw CancellationError()
        }
        return server
    }

    /// A config for the test server: fast reconnects, so restarts take milliseconds.
    func config(_ server: TestServer) -> ClientConfig {
        var config = ClientConfig(url: server.url)
        config.backoff = BackoffOptions(minDelayMs: 20, maxDelayMs: 200)
        config.connectTimeoutMs = 5_000
        return config
    }

    /// A client with the right token from a Swift closure.
    func client(_ server: TestServer, configure: (inout ClientConfig) -> Void = { _ in }) throws -> TetherClient {
        var config = config(server)
        configure(&config)
        let token = server.token
        return try TetherClient(config: config) { token }
    }

    /// A connected client.
    func connectedClient(_ server: TestServer) async throws -> TetherClient {
        let client = try client(server)
        try await client.connect()
        return client
    }

    /// The Phoenix Channels test server. Without one the test fails.
    func phoenixServer() throws -> TestServer {
        guard let server = TestServer.phoenix else {
            XCTFail("no Phoenix test server: run the tests through swift/run-tests.sh")
            throw CancellationError()
        }
        return server
    }

    /// A Phoenix config for `server` (the token as the `token` param, `params` as connect
    /// params): fast reconnects and rejoins.
    func phoenixConfig(_ server: TestServer, params: [String: String] = [:]) throws -> ClientConfig {
        let paramsJson = String(decoding: try JSONEncoder().encode(params), as: UTF8.self)
        var config = ClientConfig(phoenixURL: server.url, options: PhoenixOptions(paramsJson: paramsJson))
        config.backoff = BackoffOptions(minDelayMs: 20, maxDelayMs: 200)
        config.rejoin = RejoinOptions(minDelayMs: 20, maxDelayMs: 200)
        config.connectTimeoutMs = 5_000
        return config
    }

    /// A connected Phoenix client with the server's token.
    func connectedPhoenixClient(_ server: TestServer, params: [String: String] = [:]) async throws -> TetherClient {
        let token = server.token
        let client = try TetherClient(config: phoenixConfig(server, params: params)) { token }
        try await client.connect()
        return client
    }

    /// A name no other test uses.
    func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A JSON payload the tests send and expect back.
struct Note: Codable, Equatable, Sendable {
    var text: String
    var n: Int
}
