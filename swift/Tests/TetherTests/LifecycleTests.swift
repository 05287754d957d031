import Foundation
import Tether
import XCTest

/// The lifecycle plumbing the Apple adapters feed (`NWPathMonitor`, UIKit and AppKit
/// notifications are not on Linux: the notifications here are named by the test).
final class LifecycleTests: TetherTestCase {
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
        try await server.command(["cmd": "cut"])
        do {
            try await eventually("the client noticed the cut") { !client.state.isConnected }
        } catch {
            try await server.command(["cmd": "heal"])
            throw error
        }
        try await server.command(["cmd": "heal"])
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
        try await server.command(["cmd": "cut"])
        do {
            try await eventually("the client noticed the cut") { !client.state.isConnected }
        } catch {
            try await server.command(["cmd": "heal"])
            throw error
        }
        try await server.command(["cmd": "heal"])
        lifecycle.networkChanged(available: false)
        lifecycle.networkChanged(available: true)
        lifecycle.finish()
        await lifecycle.drained()
        try await eventually("connected at once") { client.state.isConnected }
    }
}
