#if canImport(Network)
import Foundation
import Network

/// Tells a `TetherLifecycle` the device's network from `NWPathMonitor`: available while the
/// path is `.satisfied`. A change of interface (Wi-Fi to cellular) also reaches the client as
/// "gone, then back" when the path goes through `.unsatisfied`; the client then reconnects or
/// probes at once. Compiled where the Network framework exists (Apple platforms); elsewhere,
/// call `TetherLifecycle.networkChanged(available:)` from the platform's own reachability API.
/// Stops when released (or on `cancel()`).
public final class NetworkPathObserver: @unchecked Sendable {
    // @unchecked: the monitor is set once and NWPathMonitor is safe to call from any thread.
    private let monitor: NWPathMonitor

    /// Starts monitoring on `queue`; the current path is reported at once.
    public init(lifecycle: TetherLifecycle, queue: DispatchQueue = DispatchQueue(label: "dev.tether.network-path")) {
        monitor = NWPathMonitor()
        monitor.pathUpdateHandler = { path in
            lifecycle.networkChanged(available: path.status == .satisfied)
        }
        monitor.start(queue: queue)
    }

    /// Stops monitoring.
    public func cancel() {
        monitor.cancel()
    }

    deinit {
        monitor.cancel()
    }
}
#endif
