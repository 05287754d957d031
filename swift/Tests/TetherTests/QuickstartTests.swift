import Foundation
import Tether
import XCTest

/// The README's quickstart, against the test server (so the README keeps compiling and working).
final class QuickstartTests: TetherTestCase {
    struct CardMoved: Codable, Equatable { var card: String; var column: String }

    func testTheReadmeQuickstartWorks() async throws {
        let server = try testServer()
        let token = server.token

        var config = ClientConfig(url: server.url)
        config.ackTimeoutMs = 5_000
        let client = try TetherClient(config: config) { token }

        let seen = Collected<ConnectionState>()
        let watcher = Task { for await state in client.stateUpdates { seen.append(state) } }
        defer { watcher.cancel() }

        try await client.connect()
        let board = unique("board")
        try await client.join(board)
        let moves = Recorder(client.messages(named: "card-moved"))
        try await client.emit("card-moved", CardMoved(card: "c1", column: "done"))
        let card = try await client.emitWithAck("ack-echo", CardMoved(card: "c2", column: "todo"), as: CardMoved.self)
        XCTAssertEqual(card, CardMoved(card: "c2", column: "todo"))

        try await server.emit(room: board, event: "card-moved", data: ["card": "c3", "column": "doing"])
        let message = try await moves.waitFor("a card move") { _ in true }
        XCTAssertEqual(try message.decode(CardMoved.self), CardMoved(card: "c3", column: "doing"))
        try await seen.waitFor("Connected through the state stream") { $0 == .connected }
    }
}
