import Foundation
@testable import Tether
import XCTest

final class SubscriptionTests: TetherTestCase {
    func testCancellingOrReleasingASubscriptionHandleStopsItsCallbacks() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        let echoes = MessageFilter(events: ["echo"])
        let cancelled = Counter()
        let released = Counter()
        let witness = Counter()
        let cancelledHandle = client.onMessage(echoes) { _ in cancelled.increment() }
        var releasedHandle: TaskHandle? = client.onMessage(echoes) { _ in released.increment() }
        let witnessHandle = client.onMessage(echoes) { _ in witness.increment() }
        XCTAssertNotNil(releasedHandle)

        try await client.emit("echo", Note(text: "before", n: 0))
        try await eventually("the first echo on all three") {
            cancelled.value == 1 && released.value == 1 && witness.value == 1
        }

        cancelledHandle.cancel()
        releasedHandle = nil // the last reference: the Rust handle is dropped, which cancels
        for n in 1...3 {
            try await client.emit("echo", Note(text: "after", n: n))
        }
        // The witness subscription sees the later echoes; once it has, the other two would have
        // had their chance too.
        try await eventually("the later echoes on the witness") { witness.value == 4 }
        XCTAssertEqual(cancelled.value, 1, "a cancelled handle's callback ran again")
        XCTAssertEqual(released.value, 1, "a released handle's callback ran again")
        try await eventually("the cancelled task finished") { cancelledHandle.isFinished() }
        withExtendedLifetime(witnessHandle) {}
    }

    func testEndingAStreamEndsItsSubscriptionOnTheRustSide() async throws {
        let server = try testServer()
        let client = try await connectedClient(server)
        // The streams of TetherClient, built here so the test can watch their Rust handles.
        let handles = Collected<TaskHandle>()
        func echoes() -> AsyncStream<IncomingMessage> {
            boundedStream(buffer: StreamBufferOptions(), element: { (chunk: Chunk<IncomingMessage>) in
                if case .values(let messages) = chunk { return messages.first }
                return nil
            }) { yield, lagged in
                let handle = client.raw.subscribeMessageBatches(
                    filter: MessageFilter(events: ["echo"]),
                    maxBatch: 1,
                    listener: MessageBatchHandler { $0.forEach(yield) },
                    lagListener: LagHandler(lagged)
                )
                handles.append(handle)
                return handle
            }
        }

        // A loop that ends, over a stream nothing else holds (`for await x in client.messages()`).
        let seen = Counter()
        let consumer = Task {
            for await _ in echoes() {
                seen.increment()
                break
            }
        }
        try await eventually("the loop's subscription") { handles.count == 1 }
        try await client.emit("echo", Note(text: "one", n: 1))
        await consumer.value
        XCTAssertEqual(seen.value, 1)
        try await eventually("the ended loop's subscription to finish") { handles.all[0].isFinished() }

        // A loop whose task is cancelled.
        let unseen = Counter()
        let cancelledStream = echoes()
        let cancelled = Task { for await _ in cancelledStream { unseen.increment() } }
        cancelled.cancel()
        await cancelled.value
        try await eventually("the cancelled loop's subscription to finish") { handles.all[1].isFinished() }

        // A stream dropped without being consumed.
        do { _ = echoes() }
        try await eventually("the dropped stream's subscription to finish") { handles.all[2].isFinished() }

        // The public streams end the same way (TetherClient.messages is built like echoes()).
        let publicSeen = Counter()
        let publicStream = client.messages(named: "echo") // subscribed now, before the emit
        let publicConsumer = Task {
            for await _ in publicStream {
                publicSeen.increment()
                break
            }
        }
        try await client.emit("echo", Note(text: "two", n: 2))
        await publicConsumer.value
        XCTAssertEqual(publicSeen.value, 1)
        XCTAssertEqual(unseen.value, 0)
    }

    func testLogRecordsReachASwiftHandler() async throws {
        let server = try testServer()
        let records = Collected<LogRecord>()
        try TetherLog.setHandler(level: .debug) { records.append($0) }
        defer { TetherLog.removeHandler() }

        let client = try await connectedClient(server)
        let record = try await records.waitFor("a record from the engine") { $0.target.hasPrefix("tether") }
        XCTAssertFalse(record.message.isEmpty)
        XCTAssertFalse(records.all.contains { $0.message.contains(server.token) }, "a token was logged")
        try await client.disconnect()
    }
}
