import Foundation

// Listeners made of closures, and AsyncStreams built on them. The Rust side calls a listener
// from its own thread pool, one call at a time per subscription and in order; a slow listener
// delays only its own subscription, never the connection.

/// Adapts a closure to `StateListener`.
final class StateHandler: StateListener {
    private let handler: @Sendable (ConnectionState) -> Void
    init(_ handler: @escaping @Sendable (ConnectionState) -> Void) { self.handler = handler }
    func onState(state: ConnectionState) { handler(state) }
}

/// Adapts a closure to `HealthListener`.
final class HealthHandler: HealthListener {
    private let handler: @Sendable (HealthStatus) -> Void
    init(_ handler: @escaping @Sendable (HealthStatus) -> Void) { self.handler = handler }
    func onHealth(status: HealthStatus) { handler(status) }
}

/// Adapts a closure to `EventListener`.
final class EventHandler: EventListener {
    private let handler: @Sendable (Event) -> Void
    init(_ handler: @escaping @Sendable (Event) -> Void) { self.handler = handler }
    func onEvent(event: Event) { handler(event) }
}

/// Adapts a closure to `MessageListener`.
final class MessageHandler: MessageListener {
    private let handler: @Sendable (IncomingMessage) -> Void
    init(_ handler: @escaping @Sendable (IncomingMessage) -> Void) { self.handler = handler }
    func onMessage(message: IncomingMessage) { handler(message) }
}

/// Adapts a closure to `MessageBatchListener`.
final class MessageBatchHandler: MessageBatchListener {
    private let handler: @Sendable ([IncomingMessage]) -> Void
    init(_ handler: @escaping @Sendable ([IncomingMessage]) -> Void) { self.handler = handler }
    func onMessages(messages: [IncomingMessage]) { handler(messages) }
}

/// Adapts a closure to `LagListener`.
final class LagHandler: LagListener {
    private let handler: @Sendable (UInt64) -> Void
    init(_ handler: @escaping @Sendable (UInt64) -> Void) { self.handler = handler }
    func onLagged(skipped: UInt64) { handler(skipped) }
}

/// Adapts a closure to `LogListener`.
final class LogHandler: LogListener {
    private let handler: @Sendable (LogRecord) -> Void
    init(_ handler: @escaping @Sendable (LogRecord) -> Void) { self.handler = handler }
    func onLog(record: LogRecord) { handler(record) }
}

/// An AsyncStream fed by a subscription: `subscribe` registers a listener that yields into
/// the stream and returns its handle; the handle is cancelled when the stream terminates
/// (its consuming task is cancelled, or the stream is released: a `for await` loop over a
/// stream that nothing else holds releases it when the loop ends). Breaking out of a loop over a
/// stream still held elsewhere keeps the subscription until that reference goes too.
/// `bufferingPolicy` says what waits for a reader that falls behind: every stream names it.
func subscriptionStream<Value: Sendable>(
    bufferingPolicy: AsyncStream<Value>.Continuation.BufferingPolicy,
    _ subscribe: (@escaping @Sendable (Value) -> Void) -> TaskHandle
) -> AsyncStream<Value> {
    AsyncStream(bufferingPolicy: bufferingPolicy) { continuation in
        let handle = subscribe { value in continuation.yield(value) }
        continuation.onTermination = { _ in handle.cancel() }
    }
}

/// The buffering policy that matches the Rust side's `StreamOverflow` for `maxItems` values:
/// drop the oldest → keep the newest, drop the newest → keep the oldest.
func bufferingPolicy<Value>(_ buffer: StreamBufferOptions) -> AsyncStream<Value>.Continuation.BufferingPolicy {
    let limit = max(1, Int(clamping: buffer.maxItems))
    switch buffer.overflow ?? .dropOldest {
    case .dropOldest: return .bufferingNewest(limit)
    case .dropNewest: return .bufferingOldest(limit)
    }
}

/// A value on its way to the reader, and how many were lost right before it.
struct Pending<Value: Sendable>: Sendable {
    let value: Value
    let skippedBefore: UInt64
}

/// What the reader of a bounded stream gets: a gap, or values with no gap between them.
enum Chunk<Value: Sendable>: Sendable {
    /// This many values were lost right here.
    case lost(UInt64)
    /// The next values (one, or what was ready up to the batch size).
    case values([Value])
}

/// A bounded stream's counts, shared by the listener thread and the reader: what was lost and
/// not yet told, at the front (dropped oldest, before the oldest value still waiting) and at the
/// tail (after the newest waiting; the next value accepted carries it), and how many values
/// wait in the AsyncStream's buffer (never more than there are: a reader taking that many does
/// not wait).
final class StreamCounts: @unchecked Sendable {
    // @unchecked: every count is only read and written under `lock`.
    private let lock = NSLock()
    private var front: UInt64 = 0
    private var tail: UInt64 = 0
    private var buffered = 0

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func addFront(_ n: UInt64) { locked { front += n } }
    func addTail(_ n: UInt64) { locked { tail += n } }
    func takeFront() -> UInt64 { locked { defer { front = 0 }; return front } }
    func takeTail() -> UInt64 { locked { defer { tail = 0 }; return tail } }
    func enqueued() { locked { buffered += 1 } }
    func took() { locked { buffered -= 1 } }
    /// True when the next value can be taken without waiting and with no gap before it.
    var readyWithoutGap: Bool { locked { buffered > 0 && front == 0 } }
}

/// The reader's side of a bounded stream: the inner stream's iterator, and a value held back
/// while its gap is announced (or because it starts the next batch).
final class PendingReader<Value: Sendable>: @unchecked Sendable {
    // @unchecked: used by one reader at a time (an AsyncStream's unfolding closure is not
    // called again before its previous call returned).
    private var iterator: AsyncStream<Pending<Value>>.Iterator
    private var held: Pending<Value>?
    private let counts: StreamCounts

    init(_ stream: AsyncStream<Pending<Value>>, _ counts: StreamCounts) {
        iterator = stream.makeAsyncIterator()
        self.counts = counts
    }

    private func take() async -> Pending<Value>? {
        if let value = held {
            held = nil
            return value
        }
        let next = await iterator.next()
        if next != nil { counts.took() }
        return next
    }

    /// The next gap, or up to `maxBatch` values that are ready with no gap between them.
    func next(maxBatch: Int) async -> Chunk<Value>? {
        guard let first = await take() else { return nil }
        let lost = counts.takeFront() + first.skippedBefore
        if lost > 0 {
            held = Pending(value: first.value, skippedBefore: 0)
            return .lost(lost)
        }
        var values = [first.value]
        while values.count < maxBatch, counts.readyWithoutGap, let next = await take() {
            if next.skippedBefore > 0 {
                held = next
                break
            }
            values.append(next.value)
        }
        return .values(values)
    }
}

/// A subscription as an AsyncStream bounded like the Rust side's queue: at most `maxItems`
/// values of `buffer` wait for a reader that falls behind (counted one by one, however the
/// listener batched them), in an AsyncStream buffer with the matching policy
/// (`.bufferingNewest` for `.dropOldest`, `.bufferingOldest` for `.dropNewest`). What it drops,
/// and the Rust side's own lag notices (`subscribe`'s `lagged`), are counted where the gap is.
/// The reader gets `element(chunk)` for each gap and each run of values (up to `maxBatch`,
/// never across a gap); a chunk it makes nil of is skipped (after its side effects, such as an
/// `onLagged` call). A gap at the very end is announced with the next value, if one comes. The
/// subscription ends like `subscriptionStream`'s.
func boundedStream<Value: Sendable, Element: Sendable>(
    buffer: StreamBufferOptions,
    maxBatch: Int = 1,
    element: @escaping @Sendable (Chunk<Value>) -> Element?,
    _ subscribe: (
        _ yield: @escaping @Sendable (Value) -> Void,
        _ lagged: @escaping @Sendable (UInt64) -> Void
    ) -> TaskHandle
) -> AsyncStream<Element> {
    let counts = StreamCounts()
    let policy: AsyncStream<Pending<Value>>.Continuation.BufferingPolicy = bufferingPolicy(buffer)
    let dropsNewest = (buffer.overflow ?? .dropOldest) == .dropNewest
    let inner = AsyncStream<Pending<Value>>(bufferingPolicy: policy) { continuation in
        let handle = subscribe(
            { value in
                let entry = Pending(value: value, skippedBefore: counts.takeTail())
                switch continuation.yield(entry) {
                case .enqueued:
                    counts.enqueued()
                case .dropped(let lost):
                    // The oldest waiting (dropping the oldest), or this one (dropping the newest).
                    if dropsNewest {
                        counts.addTail(lost.skippedBefore + 1)
                    } else {
                        counts.addFront(lost.skippedBefore + 1)
                    }
                case .terminated:
                    break
                @unknown default:
                    break
                }
            },
            { skipped in counts.addTail(skipped) }
        )
        continuation.onTermination = { _ in handle.cancel() }
    }
    let reader = PendingReader(inner, counts)
    let batch = max(1, maxBatch)
    return AsyncStream(unfolding: {
        while let chunk = await reader.next(maxBatch: batch) {
            if let next = element(chunk) { return next }
        }
        return nil
    })
}
