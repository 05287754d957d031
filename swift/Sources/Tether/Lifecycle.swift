import Foundation
#if canImport(UIKit) && !os(watchOS)
import UIKit
#elseif canImport(AppKit)
import AppKit
#endif

/// Tells a `TetherClient` what the platform knows about the app's life: whether the device has
/// a network, and whether the app is in the foreground. Platform callbacks call
/// `networkChanged(available:)` and `foregroundChanged(_:)` from any thread without waiting; the
/// hints reach the client in the order given, each change once (platforms repeat themselves).
///
/// What the client does with them: network back, it reconnects at once instead of at the next
/// backoff slot; network gone, it retries only every `offlineRetryIntervalMs`; back in the
/// foreground, it reconnects at once if it was waiting, or probes a live connection with a ping
/// that must be answered within `probeTimeoutMs` (seconds), so a socket that died while the app
/// was suspended is found at once instead of after the heartbeat timeout.
///
/// ```swift
/// let lifecycle = TetherLifecycle(client: client)
/// let network = NetworkPathObserver(lifecycle: lifecycle)      // NWPathMonitor (Apple)
/// let app = await AppLifecycleObserver(lifecycle: lifecycle)   // UIKit or AppKit notifications
/// ```
public final class TetherLifecycle: @unchecked Sendable {
    // @unchecked: `lastNetwork` and `lastForeground` are only touched under `lock`.
    private enum Hint: Sendable {
        case network(Bool)
        case foreground(Bool)
    }

    private let lock = NSLock()
    private var lastNetwork: Bool?
    private var lastForeground: Bool?
    private let hints: AsyncStream<Hint>.Continuation
    private let worker: Task<Void, Never>

    /// Passes hints to `client` until `finish()` (or until this is released).
    public init(client: TetherClient) {
        let (stream, continuation) = AsyncStream<Hint>.makeStream()
        hints = continuation
        worker = Task {
            for await hint in stream {
                switch hint {
                case .network(let available): try? await client.setNetworkAvailable(available)
                case .foreground(let foreground): try? await client.setAppForeground(foreground)
                }
            }
        }
    }

    deinit {
        hints.finish()
    }

    /// The device's network came (`available`) or went.
    public func networkChanged(available: Bool) {
        lock.lock()
        let changed = lastNetwork != available
        lastNetwork = available
        lock.unlock()
        if changed { hints.yield(.network(available)) }
    }

    /// The app moved to the foreground (`true`) or the background.
    public func foregroundChanged(_ foreground: Bool) {
        lock.lock()
        let changed = lastForeground != foreground
        lastForeground = foreground
        lock.unlock()
        if changed { hints.yield(.foreground(foreground)) }
    }

    /// Stops taking hints; those given before still reach the client.
    public func finish() {
        hints.finish()
    }

    /// Waits until every hint given before `finish()` reached the client.
    public func drained() async {
        await worker.value
    }
}

/// Follows the app's foreground and background through `NotificationCenter` and tells a
/// `TetherLifecycle`. On iOS and tvOS, `init(lifecycle:)` listens to UIKit's
/// `willEnterForegroundNotification` and `didEnterBackgroundNotification`; on macOS, to AppKit's
/// `didBecomeActiveNotification` and `didResignActiveNotification`. Other platforms (and tests)
/// name the two notifications themselves. Stops when released.
public final class AppLifecycleObserver: @unchecked Sendable {
    // @unchecked: `observers` is written only in init and read in deinit.
    private let center: NotificationCenter
    private var observers: [NSObjectProtocol] = []

    /// Tells `lifecycle` foreground on `foreground` notifications and background on
    /// `background` ones, posted to `center`.
    public init(
        lifecycle: TetherLifecycle,
        center: NotificationCenter = .default,
        foreground: Notification.Name,
        background: Notification.Name
    ) {
        self.center = center
        observers = [
            center.addObserver(forName: foreground, object: nil, queue: nil) { _ in
                lifecycle.foregroundChanged(true)
            },
            center.addObserver(forName: background, object: nil, queue: nil) { _ in
                lifecycle.foregroundChanged(false)
            },
        ]
    }

    #if canImport(UIKit) && !os(watchOS)
    /// Follows UIKit's app lifecycle notifications.
    @MainActor
    public convenience init(lifecycle: TetherLifecycle) {
        self.init(
            lifecycle: lifecycle,
            foreground: UIApplication.willEnterForegroundNotification,
            background: UIApplication.didEnterBackgroundNotification
        )
    }
    #elseif canImport(AppKit)
    /// Follows AppKit's activation notifications (a Mac app in front is "foreground").
    @MainActor
    public convenience init(lifecycle: TetherLifecycle) {
        self.init(
            lifecycle: lifecycle,
            foreground: NSApplication.didBecomeActiveNotification,
            background: NSApplication.didResignActiveNotification
        )
    }
    #endif

    deinit {
        for observer in observers { center.removeObserver(observer) }
    }
}
