import Foundation
import Tether
import XCTest

/// One message of the load test.
struct Bulk: Codable, Sendable {
    var run: String
    var task: Int
    var n: Int
}

final class LoadTests: TetherTestCase {
    func testEightTasksSendingTenThousandMessagesEachLoseNone() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let tasks = 8
        let perTask = 10_000
        let event = unique("bulk")
        let started = Date()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for n in 0..<perTask {
                        try await client.emit(event, Bulk(run: event, task: task, n: n))
                    }
                }
            }
            try await group.waitForAll()
        }
        let sent = Date().timeIntervalSince(started)

        let total = tasks * perTask
        try await eventually("\(total) received reports", timeout: 120) {
            server.count { $0.name == event } >= total
        }
        let received = server.reports().filter { $0.name == event }
        XCTAssertEqual(received.count, total, "duplicates or losses")
        // Every (task, n) exactly once, and each task's messages in order.
        var next = [Int](repeating: 0, count: tasks)
        for report in received {
            guard case .number(let task)? = report.args?.first?["task"],
                  case .number(let n)? = report.args?.first?["n"] else {
                return XCTFail("unexpected report \(report.line)")
            }
            XCTAssertEqual(Int(n), next[Int(task)], "task \(Int(task)) out of order")
            next[Int(task)] = Int(n) + 1
        }
        XCTAssertEqual(next, [Int](repeating: perTask, count: tasks))
        let stats = try await client.stats()
        XCTAssertEqual(stats.dropped, 0)
        XCTAssertGreaterThanOrEqual(stats.messagesSent, UInt64(total))
        print("load: \(total) messages from \(tasks) tasks accepted in \(String(format: "%.2f", sent)) s, " +
              "all received after \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    }
}
