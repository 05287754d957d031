// swift-tools-version:6.0
//
// Tether for Apple platforms, with the Rust library as a binary target (an XCFramework of
// static libraries for iOS, the iOS simulator and macOS). swift/build-xcframework.sh (macOS
// only) builds the XCFramework and copies this file, as Package.swift, into swift/dist/Tether
// together with the Swift sources. The sources are the same as in Package.swift; only where
// the Rust library comes from differs.
import PackageDescription

let package = Package(
    name: "Tether",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "Tether", targets: ["Tether"]),
    ],
    targets: [
        // The C module TetherFFI and the static library, per platform.
        .binaryTarget(name: "TetherFFI", path: "TetherFFI.xcframework"),
        // For a published release, point at the zip instead (build-xcframework.sh prints its
        // checksum):
        // .binaryTarget(
        //     name: "TetherFFI",
        //     url: "https://github.com/OWNER/tether-swift/releases/download/VERSION/TetherFFI.xcframework.zip",
        //     checksum: "CHECKSUM"
        // ),

        // The generated Swift, in Swift 5 mode: Swift 6.0's region-isolation checker crashes
        // on uniffi's async foreign-trait glue (the token provider). The sugar is Swift 6.
        .target(
            name: "TetherBindings",
            dependencies: ["TetherFFI"],
            path: "Sources/TetherBindings",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(name: "Tether", dependencies: ["TetherBindings"], path: "Sources/Tether"),
    ],
    swiftLanguageModes: [.v6]
)
