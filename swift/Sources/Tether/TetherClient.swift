import Foundation

/// A real-time connection to one server: create it, subscribe to what you need, `connect()`.
///
/// ```swift
/// let client = try TetherClient(url: "wss://rt.example.com") { try await auth.accessToken() }
/// Task { for await state in client.stateUpdates { print("state:", state) } }
/// try await client.connect()
/// try await client.join("board-7")
/// for await message in client.messages(named: "card-moved") {
///     let move = try message.decode(CardMove.self)
/// }
/// ```
///
/// Every method is safe to call from any task or thread. Sends are queued while the client is
/// offline and flushed after reconnecting; rooms are re-joined after every reconnect. The
/// connection closes when the last reference to the client goes away (or on `disconnect()`).
/// Errors thrown are `TetherError` (branch on its cases), `EncodingError` for a payload that
/// cannot be encoded, and `DecodingError` for a reply that does not decode as asked.
public final class TetherClient: Sendable {
    /// The generated client underneath, for what this wrapper does not cover.
    public let raw: Client
    /// The bounds of every stream's buffer: the config's `streamBuffer`.
    let streamBuffer: StreamBufferOptions
    /// Makes the encoder of payloads and the decoder of replies (the sugar in other files uses
    /// them too).
    let makeEncoder: @Sendable () -> JSONEncoder
    let makeDecoder: @Sendable () -> JSONDecoder

    /// A client for `config`; it does not connect until `connect()` or `start()`.
    ///
    /// - Parameters:
    ///   - tokenProvider: asked for a token before every connect and reconnect (sent as the
    ///     Socket.IO auth `token`).
    ///   - encoder: makes the `JSONEncoder` for payloads (e.g. to set a date strategy).
    ///   - decoder: makes the `JSONDecoder` for typed replies.
    /// - Throws: `TetherError.InvalidConfig` naming the first bad field.
    public init(
        config: ClientConfig,
        tokenProvider: (any TokenProvider)? = nil,
        encoder: @escaping @Sendable () -> JSONEncoder = { JSONEncoder() },
        decoder: @escaping @Sendable () -> JSONDecoder = { JSONDecoder() }
    ) throws {
        raw = try Client(config: config, tokenProvider: tokenProvider)
        streamBuffer = config.streamBuffer
        makeEncoder = encoder
        makeDecoder = decoder
    }

    /// A client for `config` whose token comes from the `token` closure, asked before every
    /// connect and reconnect (see `ClosureTokenProvider`).
    ///
    /// ```swift
    /// var config = ClientConfig(url: "wss://rt.example.com")
    /// config.ackTimeoutMs = 5_000
    /// let client = try TetherClient(config: config) { try await auth.accessToken() }
    /// ```
    public convenience init(
        config: ClientConfig,
        token: @escaping @Sendable () async throws -> String
    ) throws {
        try self.init(config: config, tokenProvider: ClosureTokenProvider(token))
    }

    /// A client for one server URL with the default config, and a token from the `token`
    /// closure if the server wants one.
    public convenience init(
        url: String,
        token: (@Sendable () async throws -> String)? = nil
    ) throws {
        try self.init(config: ClientConfig(url: url), tokenProvider: token.map { ClosureTokenProvider($0) })
    }

    // MARK: Connection

    /// Connects and waits until connected. Throws at once on what retrying cannot fix
    /// (`AuthRejected`, `InvalidConfig` for a bad URL, attempts exhausted); while the engine
    /// retries, it keeps waiting (cancel the task, or use `start()` not to wait).
    public func connect() async throws { try await raw.connect() }

    /// Starts connecting without waiting; follow `stateUpdates` to see how it goes.
    public func start() async throws { try await raw.start() }

    /// Closes the connection until `connect()` is called again.
    public func disconnect() async throws { try await raw.disconnect() }

    /// Drops the connection and connects again at once, skipping the backoff.
    public func reconnectNow() async throws { try await raw.reconnectNow() }

    /// Tells the client the device's network reachability changed (e.g. from
    /// `NWPathMonitor`): when it comes back, the client reconnects at once.
    public func setNetworkAvailable(_ available: Bool) async throws {
        try await raw.networkAvailable(available: available)
    }

    /// Tells the client the app moved to the foreground (it probes or reconnects at once) or
    /// to the background.
    public func setAppForeground(_ foreground: Bool) async throws {
        try await raw.appForeground(foreground: foreground)
    }

    /// Applies a new config to the running client (the protocol cannot change).
    public func updateConfig(_ config: ClientConfig) async throws {
        try await raw.updateConfig(config: config)
    }

    /// The connection state now.
    public var state: ConnectionState { raw.state() }

    /// Health and quality now.
    public var health: HealthStatus { raw.health() }

    /// A snapshot of the counters (sent, received, queued, latency...).
    public func stats() async throws -> Stats { try await raw.stats() }

    // MARK: Sending

    /// Sends `event` without arguments.
    public func emit(_ event: String) async throws {
        _ = try await raw.send(
            message: OutgoingMessage(event: event, argsJson: "[]"),
            delivery: .fireAndForget
        )
    }

    /// Sends `event` with `payload` encoded as JSON. Returns once the client accepted it
    /// (queued while offline, then sent in order).
    public func emit<Payload: Encodable>(_ event: String, _ payload: Payload) async throws {
        let json = try encodeJSON(payload, using: makeEncoder())
        try await raw.emit(event: event, payloadJson: json)
    }

    /// Sends `event` with one argument given as JSON text.
    public func emit(_ event: String, json: String) async throws {
        try await raw.emit(event: event, payloadJson: json)
    }

    /// Hands `event` with `payload` (encoded as JSON) to the engine without waiting, from any
    /// thread or actor, no `await`. Throws `TetherError.QueueFull` when the engine's send lane
    /// is full (nothing was sent: retry shortly, or use `emit`); a refusal afterwards arrives
    /// on `events` as an error.
    public func tryEmit<Payload: Encodable>(_ event: String, _ payload: Payload) throws {
        try raw.tryEmit(event: event, payloadJson: encodeJSON(payload, using: makeEncoder()))
    }

    /// `tryEmit` with the argument given as JSON text.
    public func tryEmit(_ event: String, json: String) throws {
        try raw.tryEmit(event: event, payloadJson: json)
    }

    /// `tryEmit` for many payloads (JSON texts) in one call into the library: for high-rate
    /// streams. Bad JSON throws and sends nothing; otherwise returns how many were handed over,
    /// in order, before the send lane filled: send the rest again shortly.
    @discardableResult
    public func tryEmitAll(_ event: String, json payloads: [String]) throws -> Int {
        Int(try raw.tryEmitBatch(event: event, payloadsJson: payloads))
    }

    /// Sends `event` with `payload` and waits for the acknowledgement (`timeout` in seconds;
    /// `nil`: the configured `ackTimeoutMs`). Throws `TetherError.AckTimeout` when none comes.
    @discardableResult
    public func emitWithAck<Payload: Encodable>(
        _ event: String,
        _ payload: Payload,
        timeout: TimeInterval? = nil
    ) async throws -> JSONArguments {
        let json = try encodeJSON(payload, using: makeEncoder())
        return try await emitWithAck(event, json: json, timeout: timeout)
    }

    /// Sends `event` with `payload`, waits for the acknowledgement and decodes its first
    /// argument as `Reply`.
    public func emitWithAck<Payload: Encodable, Reply: Decodable>(
        _ event: String,
        _ payload: Payload,
        as reply: Reply.Type,
        timeout: TimeInterval? = nil
    ) async throws -> Reply {
        let arguments = try await emitWithAck(event, payload, timeout: timeout)
        return try arguments.decode(Reply.self, using: makeDecoder())
    }

    /// Sends `event` with one argument given as JSON text and waits for the acknowledgement.
    @discardableResult
    public func emitWithAck(
        _ event: String,
        json: String,
        timeout: TimeInterval? = nil
    ) async throws -> JSONArguments {
        let reply = try await raw.emitWithAck(
            event: event, payloadJson: json, timeoutMs: milliseconds(timeout))
        return JSONArguments(json: reply)
    }

    /// Sends at least once: re-sent with the same id after reconnects until acknowledged or
    /// `timeout` passes. Returns the acknowledgement's arguments.
    @discardableResult
    public func sendReliable<Payload: Encodable>(
        _ event: String,
        _ payload: Payload,
        timeout: TimeInterval? = nil
    ) async throws -> JSONArguments {
        let json = try encodeJSON(payload, using: makeEncoder())
        let reply = try await raw.sendReliable(
            event: event, payloadJson: json, timeoutMs: milliseconds(timeout))
        return JSONArguments(json: reply)
    }

    /// `sendReliable`, decoding the acknowledgement's first argument as `Reply`.
    public func sendReliable<Payload: Encodable, Reply: Decodable>(
        _ event: String,
        _ payload: Payload,
        as reply: Reply.Type,
        timeout: TimeInterval? = nil
    ) async throws -> Reply {
        let arguments = try await sendReliable(event, payload, timeout: timeout)
        return try arguments.decode(Reply.self, using: makeDecoder())
    }

    /// Hands `event` with `payload` to the engine and returns once it accepted it, without
    /// waiting for the acknowledgement: with a durable outbox (`durableOutboxPath`), once the
    /// message is on disk, so it survives the app being killed. Returns the acknowledgement id;
    /// the answer arrives on `events` as `.ackSettled` with that id.
    @discardableResult
    public func enqueue<Payload: Encodable>(
        _ event: String,
        _ payload: Payload,
        delivery: Delivery = .atLeastOnce(timeoutMs: nil)
    ) async throws -> UInt64? {
        let json = try encodeJSON(payload, using: makeEncoder())
        return try await raw.enqueue(
            message: OutgoingMessage(event: event, argsJson: "[" + json + "]"),
            delivery: delivery
        )
    }

    /// Why the durable outbox fell back to memory (the file is corrupt, in use, or not
    /// writable), or nil while it works and without one.
    public var storageError: String? { raw.storageError() }

    /// Sends any message (several arguments, binary attachments, another namespace) and waits
    /// as `delivery` says; without an acknowledgement the reply has no arguments.
    @discardableResult
    public func send(
        _ message: OutgoingMessage,
        delivery: Delivery = .fireAndForget
    ) async throws -> AckReply {
        try await raw.send(message: message, delivery: delivery)
    }

    /// Answers a server message that asked for an acknowledgement (`message.ackId != nil`),
    /// with `payload` as the one argument.
    public func reply<Payload: Encodable>(to message: IncomingMessage, with payload: Payload) async throws {
        let json = try encodeJSON(payload, using: makeEncoder())
        try await raw.ack(message: message, argsJson: "[" + json + "]")
    }

    /// Answers a server message that asked for an acknowledgement with `arguments`.
    public func reply(to message: IncomingMessage, arguments: JSONArguments) async throws {
        try await raw.ack(message: message, argsJson: arguments.json)
    }

    /// Empties the outbox; returns how many queued messages were dropped.
    @discardableResult
    public func clearOutbox() async throws -> UInt64 { try await raw.clearOutbox() }

    // MARK: Rooms

    /// Joins a room: waits for the server's confirmation when connected, remembers it when
    /// not. The client re-joins after every reconnect until `leave`.
    public func join(_ room: String) async throws { try await raw.join(room: room) }

    /// Leaves a room.
    public func leave(_ room: String) async throws { try await raw.leave(room: room) }

    // MARK: Streams

    /// The connection state: the current one at once, then each change. Each access starts a
    /// new subscription, which ends when the consuming task is cancelled or the stream is
    /// released (as when `for await state in client.stateUpdates { ... }` ends).
    /// Changes that happen faster than the reader takes them are conflated to the latest
    /// (`.bufferingNewest(1)`); `events` has every transition.
    public var stateUpdates: AsyncStream<ConnectionState> {
        subscriptionStream(bufferingPolicy: .bufferingNewest(1)) { yield in
            raw.subscribeState(listener: StateHandler(yield))
        }
    }

    /// Health and quality: the current value at once, then each change (conflated, like
    /// `stateUpdates`).
    public var healthUpdates: AsyncStream<HealthStatus> {
        subscriptionStream(bufferingPolicy: .bufferingNewest(1)) { yield in
            raw.subscribeHealth(listener: HealthHandler(yield))
        }
    }

    /// Every event from now on, in order: state changes, messages, room joins, acknowledgements
    /// settled, dropped messages, non-fatal errors. A reader that falls behind holds at most the
    /// config's `streamBuffer.maxItems` events here (and as many on the Rust side), by the same
    /// policy (`.bufferingNewest` for `.dropOldest`, the default; `.bufferingOldest` for
    /// `.dropNewest`), and gets `.lagged(skipped:)` where events were dropped, before the next
    /// event.
    public var events: AsyncStream<Event> {
        boundedStream(buffer: streamBuffer, element: { (chunk: Chunk<Event>) -> Event? in
            switch chunk {
            case .lost(let skipped): return .lagged(skipped: skipped)
            case .values(let events): return events.first
            }
        }) { yield, lagged in
            raw.subscribeEvents(listener: EventHandler { event in
                if case .lagged(let skipped) = event { lagged(skipped) } else { yield(event) }
            })
        }
    }

    /// Server messages that match `filter` (event names, room, pacing), bounded by its `buffer`
    /// (else the config's `streamBuffer`) here and on the Rust side, by the same policy;
    /// `onLagged`, if given, is called with how many were dropped (because the reader fell
    /// behind) right before the next message the reader gets.
    public func messages(
        _ filter: MessageFilter = MessageFilter(),
        onLagged: (@Sendable (UInt64) -> Void)? = nil
    ) -> AsyncStream<IncomingMessage> {
        messageStream(filter, maxBatch: 1, onLagged: onLagged) { $0.first }
    }

    /// Server messages that match `filter`, each element every message that was ready (up to
    /// `maxBatch`), in order: one call from the library per burst instead of one per message.
    /// The bound counts messages, however they are batched; a batch never spans a gap
    /// (`onLagged` is called between the two).
    public func messageBatches(
        _ filter: MessageFilter = MessageFilter(),
        maxBatch: Int = 256,
        onLagged: (@Sendable (UInt64) -> Void)? = nil
    ) -> AsyncStream<[IncomingMessage]> {
        messageStream(filter, maxBatch: maxBatch, onLagged: onLagged) { $0 }
    }

    /// The messages matching `filter` from a batch listener (one call from the library per
    /// burst), bounded like `events`, as elements made by `element` from each run of them.
    private func messageStream<Element: Sendable>(
        _ filter: MessageFilter,
        maxBatch: Int,
        onLagged: (@Sendable (UInt64) -> Void)?,
        element: @escaping @Sendable ([IncomingMessage]) -> Element?
    ) -> AsyncStream<Element> {
        let batch = UInt32(clamping: max(maxBatch, 1))
        // The library hands over up to 256 ready messages per call whatever the reader's batch:
        // one call per message would cost a foreign call each for nothing.
        let nativeBurst = max(batch, 256)
        return boundedStream(
            buffer: filter.buffer ?? streamBuffer,
            maxBatch: Int(batch),
            element: { (chunk: Chunk<IncomingMessage>) -> Element? in
                switch chunk {
                case .lost(let skipped):
                    onLagged?(skipped)
                    return nil
                case .values(let messages):
                    return element(messages)
                }
            }
        ) { yield, lagged in
            raw.subscribeMessageBatches(
                filter: filter,
                maxBatch: nativeBurst,
                listener: MessageBatchHandler { messages in messages.forEach(yield) },
                lagListener: LagHandler(lagged)
            )
        }
    }

    /// Server messages named `events` (all messages when none are named).
    public func messages(named events: String...) -> AsyncStream<IncomingMessage> {
        messages(MessageFilter(events: events))
    }

    // MARK: Callbacks

    /// Calls `handler` with the state now, then with each change, until the returned handle is
    /// cancelled or released: keep it as long as you want the calls.
    public func onState(_ handler: @escaping @Sendable (ConnectionState) -> Void) -> TaskHandle {
        raw.subscribeState(listener: StateHandler(handler))
    }

    /// Calls `handler` with health and quality now, then with each change.
    public func onHealth(_ handler: @escaping @Sendable (HealthStatus) -> Void) -> TaskHandle {
        raw.subscribeHealth(listener: HealthHandler(handler))
    }

    /// Calls `handler` with every event from now on, in order.
    public func onEvent(_ handler: @escaping @Sendable (Event) -> Void) -> TaskHandle {
        raw.subscribeEvents(listener: EventHandler(handler))
    }

    /// Calls `handler` with the server messages that match `filter`.
    public func onMessage(
        _ filter: MessageFilter = MessageFilter(),
        _ handler: @escaping @Sendable (IncomingMessage) -> Void
    ) -> TaskHandle {
        raw.subscribeMessages(filter: filter, listener: MessageHandler(handler))
    }

    /// Calls `handler` with the server messages that match `filter`, in batches of what was
    /// ready (up to `maxBatch`): for streams of thousands of messages a second.
    public func onMessages(
        _ filter: MessageFilter = MessageFilter(),
        maxBatch: Int = 256,
        _ handler: @escaping @Sendable ([IncomingMessage]) -> Void
    ) -> TaskHandle {
        raw.subscribeMessageBatches(
            filter: filter,
            maxBatch: UInt32(clamping: max(maxBatch, 1)),
            listener: MessageBatchHandler(handler)
        )
    }
}
