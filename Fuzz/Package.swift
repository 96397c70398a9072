// swift-tools-version:6.0
// libFuzzer harnesses for every reader of outside bytes. Built and run by scripts/fuzz.sh
// (swift build -Xswiftc -sanitize=fuzzer,address); kept apart so the main build stays plain.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between clones.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// Each harness has no main.swift: libFuzzer's driver runs from the entry point SwiftPM names.
func harness(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: [.product(name: "H5ToLite", package: mainPackage), "FuzzSupport"],
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "h5tolite-fuzz",
    dependencies: [.package(path: "..")],
    targets: [.target(name: "FuzzSupport")] + ["FuzzTFLite", "FuzzNPY", "FuzzKerasConfig", "FuzzKerasFile", "FuzzImage"].map(harness)
)
