// The collaboration helpers (presence, cursors, typing, optimistic updates) as Swift streams.
// The generated `Collaboration` object already has async methods; this adds AsyncStreams over
// its listeners, in the same way as the client's state and event streams.

/// Adapts a closure to `PresenceListener`.
final class PresenceHandler: PresenceListener {
    private let handler: @Sendable (String, [Member]) -> Void
    init(_ handler: @escaping @Sendable (String, [Member]) -> Void) { self.handler = handler }
    func onRoster(room: String, members: [Member]) { handler(room, members) }
}

/// Adapts a closure to `OutcomeListener`.
final class OutcomeHandler: OutcomeListener {
    private let handler: @Sendable (OptimisticOutcome) -> Void
    init(_ handler: @escaping @Sendable (OptimisticOutcome) -> Void) { self.handler = handler }
    func onOutcome(outcome: OptimisticOutcome) { handler(outcome) }
}

extension TetherClient {
    /// The collaboration helpers over this client (`localUserId` marks yourself in rosters).
    public func collaboration(localUserId: String? = nil) throws -> Collaboration {
        try Collaboration(client: raw, config: CollabConfig(localUserId: localUserId))
    }
}

extension Collaboration {
    /// The members of `room`: the current roster at once, then every change. Only the latest
    /// roster is kept if the consumer falls behind (an old roster is of no use).
    public func presenceUpdates(room: String) -> AsyncStream<[Member]> {
        subscriptionStream(bufferingPolicy: .bufferingNewest(1)) { yield in
            self.subscribePresence(listener: PresenceHandler { updated, members in
                if updated == room { yield(members) }
            })
        }
    }

    /// Every optimistic update's verdict (confirmed, or rolled back with the payload to undo),
    /// exactly one per id, to a reader that keeps up: one that falls behind holds at most 16,384
    /// here (and as many on the Rust side), dropping the oldest (`.bufferingNewest`, as the
    /// Rust side's default `StreamBufferOptions`).
    public var outcomes: AsyncStream<OptimisticOutcome> {
        boundedStream(buffer: StreamBufferOptions(), element: { (chunk: Chunk<OptimisticOutcome>) in
            if case .values(let outcomes) = chunk { return outcomes.first }
            return nil
        }) { yield, lagged in
            self.subscribeOutcomes(listener: OutcomeHandler(yield), lagListener: LagHandler(lagged))
        }
    }
}
