import Foundation
import Tether
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reproducible random sequence (SplitMix64), so every run kills at the same points.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the test learned from the child processes' lines.
final class Lineage: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    private var _next = 0
    private var _sending = Set<Int>()
    private var _accepted = Set<Int>()
    private var _restored = 0
    private var _started = false
    private var _drained = false
    private var _unexpected: [String] = []

    func read(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        let value = parts.count > 1 ? Int(parts[1].replacingOccurrences(of: "queued=", with: "")) : nil
        lock.lock()
        defer { lock.unlock() }
        switch (parts.first, value) {
        case ("start", let k?): _started = true; _restored += k
        case ("sending", let n?): _sending.insert(n)
        case ("accepted", let n?): _accepted.insert(n)
        case ("drained", _): _drained = true
        default: _unexpected.append(line)
        }
    }

    private func read<T>(_ what: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return what()
    }

    var started: Bool { read { _started } }
    var drained: Bool { read { _drained } }
    var next: Int { read { _next } }
    var sending: Set<Int> { read { _sending } }
    var accepted: Set<Int> { read { _accepted } }
    var restored: Int { read { _restored } }
    var unexpected: [String] { read { _unexpected } }
    var maxAccepted: Int { read { _accepted.max() ?? -1 } }

    /// A new life starts after the last message any life began to send.
    func newLife() {
        lock.lock()
        _next = max(_next, (_sending.max() ?? -1) + 1)
        _started = false
        lock.unlock()
    }
}

/// The durable outbox from Swift against SIGKILL (a smaller run than the Rust one in
/// core/tests/durable_kill.rs): the `TetherDurableChild` executable sends through
/// `durableOutboxPath`, the server cuts the network under it in some rounds, and it is killed
/// with SIGKILL while it sends; restarted on the same file each round, then once more to drain.
/// The server's ledger must hold every accepted message exactly once, in order.
final class DurableKillTests: TetherTestCase {
    private func childExecutable() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
        ].map { $0.appendingPathComponent("TetherDurableChild") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw TestFailure("TetherDurableChild not found in \(candidates.map(\.path))")
        }
        return found
    }

    private func startChild(
        _ server: TestServer, db: String, sender: String, count: Int, lineage: Lineage
    ) throws -> (Process, DispatchSemaphore) {
        lineage.newLife()
        let process = Process()
        process.executableURL = try childExecutable()
        var environment = ProcessInfo.processInfo.environment
        environment["TETHER_KILL_URL"] = server.url
        environment["TETHER_KILL_TOKEN"] = server.token
        environment["TETHER_KILL_DB"] = db
        environment["TETHER_KILL_SENDER"] = sender
        environment["TETHER_KILL_FROM"] = String(lineage.next)
        environment["TETHER_KILL_COUNT"] = String(count)
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let done = DispatchSemaphore(value: 0)
        let reading = output.fileHandleForReading
        Thread {
            var pending = Data()
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    lineage.read(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending = Data(pending[pending.index(after: newline)...])
                }
            }
            done.signal()
        }.start()
        return (process, done)
    }

    /// SIGKILL, then everything it printed.
    private func killChild(_ child: (Process, DispatchSemaphore)) throws {
        let (process, done) = child
        XCTAssertTrue(process.isRunning, "the child died before it was killed")
        _ = kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the child's output never ended")
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
    }

    func testMessagesSurviveSigkillAndNetworkCutsExactlyOnceInOrder() async throws {
        let server = try testServer()
        try await server.command(["cmd": "dedup", "field": "messageId"])
        let sender = unique("swift")
        let db = NSTemporaryDirectory() + "/\(sender).sqlite"
        var rng = SeededGenerator(state: 13)
        let lineage = Lineage()
        for round in 0..<4 {
            let count = Int.random(in: 100...300, using: &rng)
            let child = try startChild(server, db: db, sender: sender, count: count, lineage: lineage)
            try await eventually("the child started", timeout: 30) { lineage.started }
            let cut = round == 0 || Bool.random(using: &rng)
            if cut { try await server.command(["cmd": "cut"]) }
            let target = lineage.next + Int.random(in: 1..<count, using: &rng)
            do {
                try await eventually("message \(target) accepted", timeout: 60) { lineage.maxAccepted >= target }
            } catch {
                if cut { try await server.command(["cmd": "heal"]) }
                throw error
            }
            try killChild(child)
            if cut { try await server.command(["cmd": "heal"]) }
        }
        let last = try startChild(server, db: db, sender: sender, count: 0, lineage: lineage)
        try await eventually("the last child drained", timeout: 120) { lineage.drained }
        try killChild(last)
        try await server.command(["cmd": "dedup", "field": NSNull()])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }

        let ledger: [Int] = server.reports().compactMap { report in
            guard report.event == "received", report.name == "ack-echo", report.duplicate == false,
                  let first = report.args?.first, first["sender"] == .string(sender),
                  case .number(let n)? = first["n"] else { return nil }
            return Int(n)
        }
        XCTAssertEqual(lineage.unexpected, [])
        XCTAssertEqual(ledger, ledger.sorted(), "in order")
        XCTAssertEqual(Set(ledger).count, ledger.count, "none twice")
        XCTAssertEqual(lineage.accepted.subtracting(ledger), [], "accepted but never processed")
        XCTAssertEqual(Set(ledger).subtracting(lineage.sending), [], "processed but never sent")
        XCTAssertGreaterThan(lineage.restored, 0, "no kill left anything in the file")
        print("swift: \(lineage.accepted.count) accepted, \(ledger.count) in the ledger, \(lineage.restored) restored")
    }
}
