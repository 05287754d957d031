import Foundation
import XCTest

/// A test server that swift/run-tests.sh started on the host, driven through its control
/// folder (protocol: swift/scripts/test-server.js): commands are appended to `commands`, the
/// server's reports are read from `reports`. Two run: the Socket.IO server (`shared`) and the
/// Phoenix Channels server (`phoenix`), whose commands and reports are in their READMEs.
final class TestServer: @unchecked Sendable {
    // @unchecked: the mutable state (read offset, partial line, reports) is guarded by `lock`.

    /// The Socket.IO server of this test run, or nil when the tests were not started by
    /// run-tests.sh.
    static let shared: TestServer? = fromEnvironment(url: "TETHER_TEST_SERVER_URL", control: "TETHER_TEST_CONTROL")

    /// The Phoenix Channels server (tests/servers/phoenix) of this test run, or nil.
    static let phoenix: TestServer? =
        fromEnvironment(url: "TETHER_TEST_PHOENIX_URL", control: "TETHER_TEST_PHOENIX_CONTROL")

    private static func fromEnvironment(url urlVariable: String, control controlVariable: String) -> TestServer? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env[urlVariable], let control = env[controlVariable] else { return nil }
        return TestServer(url: url, token: env["TETHER_TEST_TOKEN"] ?? "", control: control)
    }

    /// The server's URL (`http://127.0.0.1:PORT`); the same after a restart.
    let url: String
    /// The token its middleware requires.
    let token: String

    private let commandsPath: String
    private let reportsPath: String
    private let lock = NSLock()
    private var offset: UInt64 = 0
    private var partial = Data()
    private var all: [Report] = []

    private init(url: String, token: String, control: String) {
        self.url = url
        self.token = token
        commandsPath = control + "/commands"
        reportsPath = control + "/reports"
    }

    // MARK: Commands

    /// Sends a command (see the server's README.md) and waits for its `done` report.
    @discardableResult
    func command(_ fields: [String: Any], timeout: TimeInterval = 15) async throws -> Report {
        let id = UUID().uuidString
        var command = fields
        command["id"] = id
        let json = try JSONSerialization.data(withJSONObject: command)
        try append(String(decoding: json, as: UTF8.self) + "\n")
        let name = fields["cmd"] as? String ?? "?"
        let done = try await waitForReport("the `done` report of \(name)", timeout: timeout) {
            $0.event == "done" && $0.id == id
        }
        guard done.ok == true else {
            throw TestFailure("server command \(name) failed: \(done.line)")
        }
        return done
    }

    /// Emits `event` with `data` to a room (or a socket id) from the server.
    func emit(room: String, event: String, data: Any) async throws {
        try await command(["cmd": "emit", "room": room, "event": event, "data": data])
    }

    /// Stops the server (its clients see the transport close).
    func stop() async throws {
        try await command(["cmd": "server-stop"])
    }

    /// Starts it again on the same port.
    func start() async throws {
        try await command(["cmd": "server-start"])
    }

    private func append(_ line: String) throws {
        let fd = open(commandsPath, O_WRONLY | O_APPEND)
        guard fd >= 0 else { throw TestFailure("cannot open \(commandsPath): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        // One write per line: appends of a line are atomic, whichever test writes.
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw TestFailure("short write to \(commandsPath)") }
    }

    // MARK: Reports

    /// Every report so far, reading what the server wrote since the last call.
    func reports() -> [Report] {
        lock.lock()
        defer { lock.unlock() }
        readNewLines()
        return all
    }

    /// How many reports so far satisfy `predicate`.
    func count(where predicate: (Report) -> Bool) -> Int {
        reports().reduce(0) { predicate($1) ? $0 + 1 : $0 }
    }

    /// Waits until a report satisfies `predicate`, and returns the first that does.
    @discardableResult
    func waitForReport(
        _ what: String,
        timeout: TimeInterval = 10,
        where predicate: @escaping (Report) -> Bool
    ) async throws -> Report {
        try await eventually(what, timeout: timeout) { self.reports().first(where: predicate) }
    }

    private func readNewLines() {
        guard let handle = FileHandle(forReadingAtPath: reportsPath) else { return }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            guard let data = try handle.readToEnd(), !data.isEmpty else { return }
            offset += UInt64(data.count)
            partial.append(data)
        } catch {
            return
        }
        // One pass over the new bytes (slicing the buffer per line would be quadratic).
        var start = partial.startIndex
        while let newline = partial[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = partial[start..<newline]
            start = partial.index(after: newline)
            if let report = Report(line: line) { all.append(report) }
        }
        partial = Data(partial[start...])
    }
}

/// One line of the server's stdout (fields that a report type does not have are nil).
struct Report: Sendable {
    var event: String
    var cmd: String?
    /// The command's id in `done`; the socket id in `connection`, `disconnect`, `received`.
    var id: String?
    var ok: Bool?
    var error: String?
    /// The event name in `received`.
    var name: String?
    var nsp: String?
    var reason: String?
    var recovered: Bool?
    /// In `received` with the ledger on: whether the server had seen this event's id before.
    var duplicate: Bool?
    var args: [JSONValue]?
    var auth: JSONValue?
    var port: Int?
    /// The Phoenix server's socket id (`s1`, ...) in `connect`, `received`, `join`, `leave`.
    var socket: String?
    /// The channel's topic in the Phoenix server's `received`, `join` and `leave`.
    var topic: String?
    /// The join's answer in the Phoenix server's `join`: `ok` or `error`.
    var status: String?
    /// What the client sent in the Phoenix server's `received`.
    var payload: JSONValue?
    /// The transport of a `connection` (`polling` or `websocket`).
    var transport: String?
    /// The raw line.
    var line: String

    /// Parses one line; nil if it is not a JSON object with an `event`.
    init?(line: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
              let event = object["event"] as? String else { return nil }
        self.event = event
        cmd = object["cmd"] as? String
        id = object["id"] as? String
        ok = object["ok"] as? Bool
        error = object["error"] as? String
        name = object["name"] as? String
        nsp = object["nsp"] as? String
        reason = object["reason"] as? String
        recovered = object["recovered"] as? Bool
        transport = object["transport"] as? String
        duplicate = object["duplicate"] as? Bool
        if case .array(let values)? = object["args"].map(JSONValue.init) { args = values }
        auth = object["auth"].map(JSONValue.init)
        port = object["port"] as? Int
        socket = object["socket"] as? String
        topic = object["topic"] as? String
        status = object["status"] as? String
        payload = object["payload"].map(JSONValue.init)
        self.line = String(decoding: line, as: UTF8.self)
    }
}

/// Any JSON value, for assertions on report contents.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// From what JSONSerialization returns.
    init(_ any: Any) {
        switch any {
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            // JSONSerialization gives booleans as NSNumbers of type "c" (char).
            if String(cString: number.objCType) == "c" {
                self = .bool(number.boolValue)
            } else {
                self = .number(number.doubleValue)
            }
        case let array as [Any]:
            self = .array(array.map(JSONValue.init))
        case let object as [String: Any]:
            self = .object(object.mapValues(JSONValue.init))
        default:
            self = .null
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}
