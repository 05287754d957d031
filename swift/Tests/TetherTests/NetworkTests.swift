import Foundation
import Tether
import XCTest

/// The network options reach the engine: a client told to use long-polling only connects over
/// polling (the official server says so) and reports that transport in its stats.
final class NetworkTests: TetherTestCase {
    func testPollingOnlyFromSwiftReachesTheEngine() async throws {
        let server = try testServer()
        let header = unique("tenant")
        let client = try client(server) { config in
            config.network.transports = .polling
            config.network.headers = [HttpHeader(name: "X-Tenant", value: header)]
        }
        try await client.connect()

        let reply = try await client.emitWithAck("ack-echo", Note(text: "over polling", n: 1), as: Note.self)
        XCTAssertEqual(reply, Note(text: "over polling", n: 1))
        let stats = try await client.stats()
        XCTAssertEqual(stats.transport, .polling)
        try await server.waitForReport("a polling connection with the header") {
            $0.event == "connection" && $0.transport == "polling" && $0.line.contains(header)
        }
    }

    func testARefusedTokenIsReplacedOnceThroughTokenAfterRejection() async throws {
        let server = try testServer()
        let provider = RotatingProvider(fresh: server.token)
        let client = try TetherClient(config: config(server), tokenProvider: provider)
        try await client.connect()
        XCTAssertEqual(provider.refused, ["stale-token"], "told which token was refused, once")
    }
}

/// Hands out a stale token first, and the right one once told the stale one was refused.
final class RotatingProvider: TokenProvider, @unchecked Sendable {
    // @unchecked: `refusedTokens` is guarded by `lock`.
    private let fresh: String
    private let lock = NSLock()
    private var refusedTokens: [String] = []

    init(fresh: String) {
        self.fresh = fresh
    }

    var refused: [String] {
        lock.lock()
        defer { lock.unlock() }
        return refusedTokens
    }

    private func record(_ token: String) {
        lock.lock()
        refusedTokens.append(token)
        lock.unlock()
    }

    func token() async throws -> String {
        "stale-token"
    }

    func tokenAfterRejection(rejected: String) async throws -> String {
        record(rejected)
        return fresh
    }
}
