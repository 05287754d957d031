import Foundation
import Tether
import XCTest

/// A test failure with a message (thrown, so a test stops at the first unmet condition).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `probe` returns a value, checking every few milliseconds, and fails after
/// `timeout` seconds naming `what`. Tests wait for conditions this way, never for fixed times.
func eventually<T>(
    _ what: String,
    timeout: TimeInterval = 10,
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try await probe() { return value }
        if Date() >= deadline {
            throw TestFailure("timed out after \(timeout) s waiting for \(what)")
        }
        try await Task.sleep(nanoseconds: 5_000_000)
    }
}

/// `eventually` for a condition.
func eventually(
    _ what: String,
    timeout: TimeInterval = 10,
    _ condition: () async throws -> Bool
) async throws {
    let _: Bool = try await eventually(what, timeout: timeout) { try await condition() ? true : nil }
}

/// A thread-safe box of values appended from listener callbacks or stream loops.
final class Collected<Element: Sendable>: @unchecked Sendable {
    // @unchecked: `items` is only read and written under `lock`.
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    var count: Int { all.count }

    /// Waits for an element (after the first `index` ones) that satisfies `predicate`.
    @discardableResult
    func waitFor(
        _ what: String,
        after index: Int = 0,
        timeout: TimeInterval = 10,
        where predicate: (Element) -> Bool
    ) async throws -> Element {
        try await eventually(what, timeout: timeout) { all.dropFirst(index).first(where: predicate) }
    }
}

/// Records everything an AsyncStream yields, from a task of its own, until `stop()` (or the
/// recorder goes away), which cancels the task and so ends the stream's subscription.
final class Recorder<Element: Sendable>: Sendable {
    let values = Collected<Element>()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<Element>) {
        let values = self.values
        task = Task {
            for await value in stream { values.append(value) }
        }
    }

    deinit { task.cancel() }

    func stop() { task.cancel() }

    var all: [Element] { values.all }

    @discardableResult
    func waitFor(
        _ what: String,
        after index: Int = 0,
        timeout: TimeInterval = 10,
        where predicate: (Element) -> Bool
    ) async throws -> Element {
        try await values.waitFor(what, after: index, timeout: timeout, where: predicate)
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    // @unchecked: `value` is only read and written under `lock`.
    private let lock = NSLock()
    private var count = 0

    @discardableResult
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
