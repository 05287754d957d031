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
}
