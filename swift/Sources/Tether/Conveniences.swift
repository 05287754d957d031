extension ConnectionState {
    /// True in `.connected`: sends go straight to the socket.
    public var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }

    /// True in `.closed` and `.failed`: the client will not connect again until `connect()`.
    public var isTerminal: Bool {
        switch self {
        case .closed, .failed: return true
        case .idle, .connecting, .connected, .reconnecting: return false
        }
    }
}

extension TetherError {
    /// What happened, for humans (every case carries one).
    public var message: String {
        switch self {
        case .InvalidConfig(let message), .NotConnected(let message), .QueueFull(let message),
             .AckTimeout(let message), .AuthRejected(let message), .Closed(let message),
             .Refused(let message), .Other(let message):
            return message
        }
    }
}

extension ClientConfig {
    /// The defaults with one server URL: `ClientConfig(url: "wss://rt.example.com")`.
    public init(url: String) {
        self.init(urls: [url])
    }

    /// Checks the config without creating a client; throws `TetherError.InvalidConfig` naming
    /// the first bad field.
    public func validate() throws {
        try validateConfig(config: self)
    }
}

extension Event {
    /// The server message, for `.message` events.
    public var incomingMessage: IncomingMessage? {
        if case .message(let message) = self { return message }
        return nil
    }
}

/// Milliseconds for the FFI from a `TimeInterval` in seconds (negative: zero).
func milliseconds(_ seconds: Double?) -> UInt64? {
    guard let seconds else { return nil }
    guard seconds.isFinite else { return seconds > 0 ? UInt64.max : 0 }
    let ms = (seconds * 1000).rounded()
    if ms <= 0 { return 0 }
    if ms >= Double(UInt64.max) { return UInt64.max }
    return UInt64(ms)
}
