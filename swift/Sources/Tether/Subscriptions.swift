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
func bufferingPolicy<Value>(
    _ buffer: StreamBufferOptions,
    items: UInt64? = nil
) -> AsyncStream<Value>.Continuation.BufferingPolicy {
    let limit = max(1, Int(clamping: items ?? buffer.maxItems))
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

/// What was lost and not yet told: at the front (dropped oldest, before the oldest value still
/// waiting) and at the tail (after the newest waiting; the next value accepted carries it).
final class LagCounts: @unchecked Sendable {
    // @unchecked: both counts are only read and written under `lock`.
    private let lock = NSLock()
    private var front: UInt64 = 0
    private var tail: UInt64 = 0

    func addFront(_ n: UInt64) {
        lock.lock()
        front += n
        lock.unlock()
    }

    func addTail(_ n: UInt64) {
        lock.lock()
        tail += n
        lock.unlock()
    }

    func takeFront() -> UInt64 {
        lock.lock()
        defer { front = 0; lock.unlock() }
        return front
    }

    func takeTail() -> UInt64 {
        lock.lock()
        defer { tail = 0; lock.unlock() }
        return tail
    }
}

/// The reader's side of a bounded stream: the inner stream's iterator, and a value held back
/// while its lag notice goes first.
final class PendingReader<Value: Sendable>: @unchecked Sendable {
    // @unchecked: used by one reader at a time (an AsyncStream's unfolding closure is not
    // called again before its previous call returned).
    private var iterator: AsyncStream<Pending<Value>>.Iterator
    private var held: Value?

    init(_ stream: AsyncStream<Pending<Value>>) { iterator = stream.makeAsyncIterator() }

    func next(
        _ counts: LagCounts,
        _ announce: @Sendable (UInt64) -> Value?
    ) async -> Value? {
        if let value = held {
            held = nil
            return value
        }
        guard let entry = await iterator.next() else { return nil }
        let lost = counts.takeFront() + entry.skippedBefore
        if lost > 0, let notice = announce(lost) {
            held = entry.value
            return notice
        }
        return entry.value
    }
}

/// A subscription as an AsyncStream bounded like the Rust side's queue: at most `maxItems`
/// values (of `buffer`, or `items`) wait for a reader that falls behind, in an AsyncStream
/// buffer with the matching policy (`.bufferingNewest` for `.dropOldest`, `.bufferingOldest`
/// for `.dropNewest`). What it drops, and the Rust side's own lag notices (`subscribe`'s
/// `lagged`), are counted where the gap is and handed to `announce` right before the next value
/// the reader gets: a value it returns (`Event.lagged`) is read first, or it just reports
/// (returning nil). A gap at the very end is announced with the next value, if one comes. The
/// subscription ends like `subscriptionStream`'s.
func boundedStream<Value: Sendable>(
    buffer: StreamBufferOptions,
    items: UInt64? = nil,
    announce: @escaping @Sendable (UInt64) -> Value?,
    _ subscribe: (
        _ yield: @escaping @Sendable (Value) -> Void,
        _ lagged: @escaping @Sendable (UInt64) -> Void
    ) -> TaskHandle
) -> AsyncStream<Value> {
    let counts = LagCounts()
    let policy: AsyncStream<Pending<Value>>.Continuation.BufferingPolicy = bufferingPolicy(buffer, items: items)
    let dropsNewest = (buffer.overflow ?? .dropOldest) == .dropNewest
    let inner = AsyncStream<Pending<Value>>(bufferingPolicy: policy) { continuation in
        let handle = subscribe(
            { value in
                let entry = Pending(value: value, skippedBefore: counts.takeTail())
                if case .dropped(let lost) = continuation.yield(entry) {
                    // The oldest waiting (dropping the oldest), or this one (dropping the newest).
                    if dropsNewest {
                        counts.addTail(lost.skippedBefore + 1)
                    } else {
                        counts.addFront(lost.skippedBefore + 1)
                    }
                }
            },
            { skipped in counts.addTail(skipped) }
        )
        continuation.onTermination = { _ in handle.cancel() }
    }
    let reader = PendingReader(inner)
    return AsyncStream(unfolding: { await reader.next(counts, announce) })
}
