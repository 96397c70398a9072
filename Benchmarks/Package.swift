// swift-tools-version:6.1
// Benchmarks live in their own package so the main build and `swift test` stay light.
// Run: cd Benchmarks && swift package benchmark
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between clones.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "h5tolite-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Conversion",
            dependencies: [
                .product(name: "H5ToLite", package: mainPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Conversion",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Interpreter",
            dependencies: [
                .product(name: "H5ToLite", package: mainPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Interpreter",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
