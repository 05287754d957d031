import Foundation
import Tether
import XCTest

/// The lifecycle plumbing the Apple adapters feed (`NWPathMonitor`, UIKit and AppKit
/// notifications are not on Linux: the notifications here are named by the test).
final class LifecycleTests: TetherTestCase {
    /// Cuts the network (the server drops every connection and refuses new ones) until
    /// `client` noticed, then lets connections in again: the client is left waiting out its
    /// backoff.
    private func cutUntilNoticed(_ server: TestServer, _ client: TetherClient) async throws {
        try await server.command(["cmd": "cut"])
        do {
            try await eventually("the client noticed the cut") { !client.state.isConnected }
        } catch {
            try await server.command(["cmd": "heal"])
            throw error
        }
        try await server.command(["cmd": "heal"])
    }

    func testBackInTheForegroundAClientWaitingOutALongBackoffReconnectsAtOnce() async throws {
        let server = try testServer()
        // A minute of backoff: without the hint the client would wait that long.
        let client = try client(server) { $0.backoff = BackoffOptions(minDelayMs: 60_000, maxDelayMs: 60_000) }
        let lifecycle = TetherLifecycle(client: client)
        let center = NotificationCenter()
        let foreground = Notification.Name(unique("foreground"))
        let background = Notification.Name(unique("background"))
        let observer = AppLifecycleObserver(
            lifecycle: lifecycle, center: center, foreground: foreground, background: background)
        try await client.connect()
        try await cutUntilNoticed(server, client)
        center.post(name: background, object: nil)
        center.post(name: background, object: nil)
        center.post(name: foreground, object: nil)
        try await eventually("connected at once, not after a minute") { client.state.isConnected }
        withExtendedLifetime(observer) {}
    }

    func testNetworkBackReconnectsAtOnceAndHintsArriveInOrder() async throws {
        let server = try testServer()
        let client = try client(server) {
            $0.backoff = BackoffOptions(minDelayMs: 60_000, maxDelayMs: 60_000)
            $0.offlineRetryIntervalMs = 60_000
        }
        let lifecycle = TetherLifecycle(client: client)
        try await client.connect()
        try await cutUntilNoticed(server, client)
        lifecycle.networkChanged(available: false)
        lifecycle.networkChanged(available: true)
        lifecycle.finish()
        await lifecycle.drained()
        try await eventually("connected at once") { client.state.isConnected }
    }
}
