// The client process of DurableKillTests (swift/Tests/TetherTests/DurableKillTests.swift),
// started by the test and killed with SIGKILL. Sends messages TETHER_KILL_FROM until
// + TETHER_KILL_COUNT at least once through a durable outbox (TETHER_KILL_DB), and prints one
// line per step: `start queued=K` (K came back from the file), `sending N`, `accepted N` (the
// send returned: on disk), `drained`. Built with the tests so it cannot rot.
import Foundation
import Tether

struct Payload: Encodable {
    let sender: String
    let n: Int
}

func value(_ name: String) -> String {
    guard let value = ProcessInfo.processInfo.environment[name] else { fatalError("\(name) is not set") }
    return value
}

/// One line on stdout, written at once (the parent reads it after a SIGKILL).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

var config = ClientConfig(url: value("TETHER_KILL_URL"))
config.durableOutboxPath = value("TETHER_KILL_DB")
config.atLeastOnce = true
config.ackTimeoutMs = 3_600_000
config.outboxMaxMessages = 1_000_000
config.outboxMaxBytes = 256 << 20
config.maxPendingAcks = 1_000_000
config.backoff = BackoffOptions(minDelayMs: 20, maxDelayMs: 300)
config.connectTimeoutMs = 2_000
let token = value("TETHER_KILL_TOKEN")
let client = try TetherClient(config: config) { token }
if let error = client.storageError { fatalError("the durable outbox did not open: \(error)") }
let sender = value("TETHER_KILL_SENDER")
let from = Int(value("TETHER_KILL_FROM")) ?? 0
let count = Int(value("TETHER_KILL_COUNT")) ?? 0

say("start queued=\(try await client.stats().queued)")
try await client.start()
for n in from..<(from + count) {
    say("sending \(n)")
    try await client.enqueue("ack-echo", Payload(sender: sender, n: n))
    say("accepted \(n)")
}
while true {
    let stats = try await client.stats()
    if stats.queued == 0 && stats.pendingAcks == 0 { break }
    try await Task.sleep(nanoseconds: 10_000_000)
}
say("drained")
// Stays until killed: closing the client is not what the test is about.
while true { try await Task.sleep(nanoseconds: 1_000_000_000) }
