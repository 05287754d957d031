import Foundation
import Tether
import XCTest

final class CollaborationTests: TetherTestCase {
    /// The Node test server answers `ack-echo` with the arguments it got, which the optimistic
    /// tracker takes as a confirmation: the verdict must reach the Swift stream, once.
    func testAnOptimisticUpdateIsConfirmedThroughTheOutcomeStream() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let collaboration = try client.collaboration(localUserId: "ana")
        let outcomes = Recorder(collaboration.outcomes)

        let id = try await collaboration.updateOptimistic(
            room: "estimate-42", event: "ack-echo", payloadJson: #"{"amount":42}"#)

        let outcome = try await outcomes.waitFor("the verdict") { $0.id == id }
        XCTAssertTrue(outcome.confirmed, outcome.reason)
        XCTAssertEqual(outcome.room, "estimate-42")
        XCTAssertEqual(outcome.event, "ack-echo")
        XCTAssertTrue(outcome.payloadJson.contains("42"), outcome.payloadJson)
        XCTAssertEqual(outcomes.all.filter { $0.id == id }.count, 1)
    }
}
