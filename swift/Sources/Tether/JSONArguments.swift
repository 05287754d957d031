import Foundation

/// The arguments of a message or an acknowledgement: a JSON array, as it crossed the FFI, with
/// Codable access to each argument.
///
/// ```swift
/// let reply = try await client.emitWithAck("create-card", NewCard(title: "Hi"))
/// let card = try reply.decode(Card.self)          // the first argument
/// let note = try reply.decode(String.self, at: 1) // the second
/// ```
public struct JSONArguments: Sendable, Hashable, CustomStringConvertible {
    /// The arguments as a JSON array, e.g. `[{"ok":true}]`.
    public let json: String

    /// Arguments from a JSON array text.
    public init(json: String) {
        self.json = json
    }

    /// Each argument's JSON text, in order (numbers and strings exactly as received).
    public var elements: [String] {
        JSONArguments.split(json)
    }

    /// How many arguments there are.
    public var count: Int { elements.count }

    /// True when there are no arguments.
    public var isEmpty: Bool { elements.isEmpty }

    public var description: String { json }

    /// Decodes argument `index` (the first by default) as `T`. Throws `DecodingError` when it
    /// does not fit, or `.valueNotFound` when there is no such argument.
    public func decode<T: Decodable>(
        _ type: T.Type = T.self,
        at index: Int = 0,
        using decoder: JSONDecoder = JSONDecoder()
    ) throws -> T {
        let all = elements
        guard all.indices.contains(index) else {
            throw DecodingError.valueNotFound(
                T.self,
                DecodingError.Context(
                    codingPath: [],
                    debugDescription: "no argument at index \(index): there are \(all.count) in \(json)"
                )
            )
        }
        return try decoder.decode(T.self, from: Data(all[index].utf8))
    }

    /// Decodes every argument as `T` (for messages whose arguments all have one type).
    public func decodeAll<T: Decodable>(
        _ type: T.Type = T.self,
        using decoder: JSONDecoder = JSONDecoder()
    ) throws -> [T] {
        try decoder.decode([T].self, from: Data(json.utf8))
    }

    /// Arguments made of `values`, each encoded with `encoder`.
    public static func encoding(
        _ values: any Encodable...,
        using encoder: JSONEncoder = JSONEncoder()
    ) throws -> JSONArguments {
        let parts = try values.map { try encodeJSON($0, using: encoder) }
        return JSONArguments(json: "[" + parts.joined(separator: ",") + "]")
    }

    /// The top-level elements of a JSON array, by a scan that tracks strings and nesting (the
    /// text comes from the Rust library's JSON serializer, so it is well-formed). A text that
    /// is not an array is one argument.
    static func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var i = 0
        func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? [] : [trimmed]
        }
        i += 1
        var elements: [String] = []
        var start = i
        var depth = 0
        var inString = false
        var escaped = false
        func element(upTo end: Int) -> String {
            String(decoding: bytes[start..<end], as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        while i < bytes.count {
            let byte = bytes[i]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    inString = true
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if depth == 0 {
                        let last = element(upTo: i)
                        if !last.isEmpty || !elements.isEmpty { elements.append(last) }
                        return elements
                    }
                    depth -= 1
                case UInt8(ascii: ","):
                    if depth == 0 {
                        elements.append(element(upTo: i))
                        start = i + 1
                    }
                default:
                    break
                }
            }
            i += 1
        }
        return elements
    }
}

/// One value as JSON text (top-level strings and numbers included).
func encodeJSON<T: Encodable>(_ value: T, using encoder: JSONEncoder) throws -> String {
    String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension IncomingMessage {
    /// The message's arguments.
    public var arguments: JSONArguments { JSONArguments(json: argsJson) }

    /// Decodes argument `index` (the first by default) as `T`.
    public func decode<T: Decodable>(
        _ type: T.Type = T.self,
        at index: Int = 0,
        using decoder: JSONDecoder = JSONDecoder()
    ) throws -> T {
        try arguments.decode(T.self, at: index, using: decoder)
    }
}

extension AckReply {
    /// The acknowledgement's arguments.
    public var arguments: JSONArguments { JSONArguments(json: argsJson) }
}
