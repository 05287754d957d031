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
func subscriptionStream<Value: Sendable>(
    bufferingPolicy: AsyncStream<Value>.Continuation.BufferingPolicy = .unbounded,
    _ subscribe: (@escaping @Sendable (Value) -> Void) -> TaskHandle
) -> AsyncStream<Value> {
    AsyncStream(bufferingPolicy: bufferingPolicy) { continuation in
        let handle = subscribe { value in continuation.yield(value) }
        continuation.onTermination = { _ in handle.cancel() }
    }
}
