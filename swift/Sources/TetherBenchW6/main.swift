// W6 of BENCHMARKS.md from Swift: how many emits per second the bindings take, and how many
// server messages per second they deliver to Swift code. Run by `swift/bench-w6.sh`, which the
// benchmark orchestrator calls with the bare WebSocket bench server's URL; prints one JSON line
// per figure, as every benchmark client does.
//
// The bare server is the sink and the source because it is not the bottleneck (it takes and
// sends several hundred thousand small messages a second; the Node Socket.IO server does not).
// The calls go through the generated API (`Client`), as an app would make them.
import Foundation
import Tether

/// Counts messages and signals once `target` have arrived. Called from the library's threads.
final class Tally: @unchecked Sendable {
    // @unchecked: the counters are only touched under `lock`.
    private let lock = NSLock()
    private var count = 0
    private(set) var calls = 0
    private let target: Int
    let done = DispatchSemaphore(value: 0)

    init(target: Int) { self.target = target }

    func add(_ n: Int) {
        lock.lock()
        let before = count
        count += n
        calls += 1
        let reached = before < target && count >= target
        lock.unlock()
        if reached { done.signal() }
    }

    /// Waits (this thread) until `target` messages arrived; false after `timeout` seconds.
    func waitAll(timeout: Double) -> Bool { done.wait(timeout: .now() + timeout) == .success }

    var callCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }
}

/// A flood message from the bare server is the text `f<i>`: args `["f<i>"]`. Compared as bytes:
/// `String.hasPrefix` is Unicode-aware and would cost more than what is measured.
func isFlood(_ message: IncomingMessage) -> Bool {
    var bytes = message.argsJson.utf8.makeIterator()
    return bytes.next() == UInt8(ascii: "[") && bytes.next() == UInt8(ascii: "\"")
        && bytes.next() == UInt8(ascii: "f")
}

final class BatchCounter: MessageBatchListener {
    let tally: Tally
    init(_ tally: Tally) { self.tally = tally }
    func onMessages(messages: [IncomingMessage]) { tally.add(messages.reduce(0) { $0 + (isFlood($1) ? 1 : 0) }) }
}

final class SingleCounter: MessageListener {
    let tally: Tally
    init(_ tally: Tally) { self.tally = tally }
    func onMessage(message: IncomingMessage) { if isFlood(message) { tally.add(1) } }
}

/// The server's answers to `reset:N` and the W2 counting ("reset-ok", "done").
final class Control: MessageListener, @unchecked Sendable {
    // @unchecked: `texts` is only touched under `lock`; `arrived` is thread-safe.
    private let lock = NSLock()
    private var texts: [String] = []
    private let arrived = DispatchSemaphore(value: 0)

    func onMessage(message: IncomingMessage) {
        lock.lock()
        texts.append(message.argsJson)
        lock.unlock()
        arrived.signal()
    }

    func expect(_ wanted: String) {
        while true {
            if arrived.wait(timeout: .now() + 120) == .timedOut { fail("no \(wanted) within 120 s") }
            lock.lock()
            let next = texts.removeFirst()
            lock.unlock()
            if next == wanted { return }
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("W6: \(message)\n".utf8))
    exit(1)
}

func figure(_ name: String, _ value: Double, _ unit: String) {
    // Unbuffered: the orchestrator reads figures as they come.
    FileHandle.standardOutput.write(Data("{\"figure\":\"\(name)\",\"value\":\(value),\"unit\":\"\(unit)\"}\n".utf8))
}

func seconds(_ from: UInt64, _ to: UInt64) -> Double { Double(to - from) / 1e9 }

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func send(_ client: Client, _ text: String) async throws {
    try await client.emit(event: "message", payloadJson: "\"\(text)\"")
}

/// `n` emits of 64 bytes until the server has all of them: one `tryEmit` per message (`batch`
/// 1) or `tryEmitBatch` of `batch` messages, retried from where the send lane filled.
func emits(_ client: Client, n: Int, batch: Int) async throws {
    let control = Control()
    let handle = client.subscribeMessages(filter: MessageFilter(), listener: control)
    defer { handle.cancel() }
    try await send(client, "reset:\(n)")
    control.expect("[\"reset-ok\"]")
    // A 64-byte text starting with "c", which the bare server counts instead of echoing.
    let payload = "\"c" + String(repeating: "x", count: 63) + "\""
    let payloads = [String](repeating: payload, count: batch)
    var refused = 0
    var sent = 0
    let started = now()
    while sent < n {
        do {
            if batch == 1 {
                try client.tryEmit(event: "message", payloadJson: payload)
                sent += 1
            } else {
                let take = min(batch, n - sent)
                let accepted = Int(try client.tryEmitBatch(
                    event: "message",
                    payloadsJson: take == batch ? payloads : Array(payloads.prefix(take))
                ))
                sent += accepted
                if accepted < take { refused += 1 }
            }
        } catch TetherError.QueueFull {
            refused += 1
        }
    }
    let handedOver = now()
    control.expect("[\"done\"]")
    let done = now()
    let kind = batch == 1 ? "" : "batched_"
    figure("\(kind)emits_per_s", Double(n) / seconds(started, done), "1/s")
    figure("\(kind)emit_calls_per_s", Double(n) / seconds(started, handedOver), "1/s")
    figure("\(kind)emit_lane_full_retries", Double(refused), "count")
}

/// The server floods `n` texts; a batch listener counts them.
func batchedCallbacks(_ client: Client, n: Int) async throws {
    let tally = Tally(target: n)
    let handle = client.subscribeMessageBatches(filter: MessageFilter(), maxBatch: 1024, listener: BatchCounter(tally))
    defer { handle.cancel() }
    let started = now()
    try await send(client, "flood:\(n)")
    if !tally.waitAll(timeout: 300) { fail("the batched flood did not arrive") }
    let done = now()
    figure("batched_events_per_s", Double(n) / seconds(started, done), "1/s")
    figure("batched_events_per_call", Double(n) / Double(tally.callCount), "count")
}

/// The same flood to a listener called once per message.
func singleCallbacks(_ client: Client, n: Int) async throws {
    let tally = Tally(target: n)
    let handle = client.subscribeMessages(filter: MessageFilter(), listener: SingleCounter(tally))
    defer { handle.cancel() }
    let started = now()
    try await send(client, "flood:\(n)")
    if !tally.waitAll(timeout: 300) { fail("the flood did not arrive") }
    let done = now()
    figure("callbacks_per_s", Double(n) / seconds(started, done), "1/s")
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let key = arguments.next() { options[key] = arguments.next() ?? "" }
guard let url = options["--raw-url"] else { fail("usage: TetherBenchW6 --raw-url ws://host:port [--n count]") }
let n = options["--n"].flatMap(Int.init) ?? 200_000

do {
    // W6 times the delivery of every message, so the listeners' streams may hold the whole
    // flood (by default they keep the newest 16,384 for a listener that falls behind).
    let wholeFlood = StreamBufferOptions(maxItems: UInt64(n) + 1024, maxBytes: UInt64.max)
    let client = try Client(config: ClientConfig(urls: [url], protocol: .rawWebSocket, streamBuffer: wholeFlood))
    try await client.connect()
    try await emits(client, n: n, batch: 1)
    try await emits(client, n: n, batch: 512)
    try await batchedCallbacks(client, n: n)
    try await singleCallbacks(client, n: n)
    try await client.disconnect()
} catch {
    fail("\(error)")
}
