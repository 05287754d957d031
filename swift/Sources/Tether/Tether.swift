// Tether for Swift.
//
// `import Tether` gives you:
// - `TetherClient`: the client with `async throws` methods, `AsyncStream`s of state, health,
//   events and messages, and Codable helpers for JSON payloads (TetherClient.swift).
// - everything the Rust library exports through uniffi (module `TetherBindings`, re-exported
//   here): `ClientConfig` and its option records, `ConnectionState`, `HealthStatus`, `Event`,
//   `IncomingMessage`, `Stats`, the `TetherError` thrown by every call, the listener protocols
//   and `TaskHandle`, and the raw `Client` that `TetherClient` wraps.
//
// Files: TetherClient.swift (the client), Channels.swift (Phoenix channels: joins with
// payloads, pushes, channel and presence streams), Supabase.swift (Supabase Realtime),
// Subscriptions.swift (listeners and streams),
// JSONArguments.swift (Codable helpers), TokenProvider.swift (closure token providers),
// Logging.swift (log records to a closure or os_log), Conveniences.swift (small extensions).

@_exported import TetherBindings
