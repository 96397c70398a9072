// swift-tools-version:6.0
// libFuzzer harnesses for every reader of outside bytes. Built and run by scripts/fuzz.sh
// (swift build -Xswiftc -sanitize=fuzzer,address); kept apart so the main build stays plain.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between clones.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

func harness(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: [.product(name: "H5ToLite", package: mainPackage)])
}

let package = Package(
    name: "h5tolite-fuzz",
    dependencies: [.package(path: "..")],
    targets: ["FuzzTFLite", "FuzzNPY", "FuzzKerasConfig", "FuzzKerasFile"].map(harness)
)
