// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "h5tolite",
    products: [
        .executable(name: "h5tolite", targets: ["h5tolite"]),
        .library(name: "H5ToLite", targets: ["H5ToLiteIR", "H5ToLiteKeras", "H5ToLitePasses", "H5ToLiteTFLite", "H5ToLiteInterpreter", "H5ToLiteEvaluation", "H5ToLiteData", "H5ToLiteDriver", "H5ToLiteCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        // Tensors, .npy files, seeded samples and the one error type: what every module shares.
        .target(name: "H5ToLiteCore"),
        .target(name: "H5ToLiteIR", dependencies: ["H5ToLiteCore"]),
        .target(name: "H5ToLiteKeras", dependencies: [
            "H5ToLiteIR", "CHDF5", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "H5ToLitePasses", dependencies: ["H5ToLiteIR", "H5ToLiteInterpreter", "COpenBLAS"]),
        .target(name: "H5ToLiteTFLite", dependencies: ["H5ToLiteIR"]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // The interpreter's inner loops, for each instruction set, chosen at run time. Optimized in
        // debug builds too: the tests run the interpreter on every golden model.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "H5ToLiteInterpreter", dependencies: ["H5ToLiteIR", "COpenBLAS", "CKernels"]),
        .target(name: "H5ToLiteEvaluation", dependencies: ["H5ToLiteCore"]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(name: "H5ToLiteData", dependencies: ["H5ToLiteCore", "CPNG", "CJPEG"]),
        // What a conversion, a verification, an evaluation or a comparison does, as a library:
        // the command-line tool only parses arguments into requests and prints results.
        .target(name: "H5ToLiteDriver", dependencies: [
            "H5ToLiteCore", "H5ToLiteData", "H5ToLiteEvaluation",
            "H5ToLiteIR", "H5ToLiteKeras", "H5ToLitePasses", "H5ToLiteTFLite", "H5ToLiteInterpreter",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .executableTarget(name: "h5tolite", dependencies: [
            "H5ToLiteDriver", "H5ToLiteCore",
            "H5ToLiteData", "H5ToLiteEvaluation",
            "H5ToLiteIR", "H5ToLiteKeras", "H5ToLitePasses", "H5ToLiteTFLite", "H5ToLiteInterpreter",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "H5ToLiteCoreTests", dependencies: ["H5ToLiteCore"]),
        .testTarget(name: "H5ToLiteIRTests", dependencies: ["H5ToLiteIR", "H5ToLiteCore"]),
        .testTarget(name: "H5ToLiteEvaluationTests", dependencies: ["H5ToLiteEvaluation", "H5ToLiteCore"],
                    exclude: ["make_fixtures.py", "sklearn_fixtures.json"]),
        .testTarget(name: "H5ToLiteKerasTests", dependencies: ["H5ToLiteKeras", "H5ToLiteCore"]),
        .testTarget(name: "H5ToLitePassesTests", dependencies: ["H5ToLitePasses", "H5ToLiteKeras", "H5ToLiteInterpreter", "H5ToLiteCore"]),
        .testTarget(name: "H5ToLiteInterpreterTests", dependencies: ["H5ToLiteInterpreter", "H5ToLiteTFLite", "H5ToLiteCore", "CKernels"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "H5ToLiteTFLiteTests", dependencies: ["H5ToLiteTFLite", "H5ToLiteKeras", "H5ToLitePasses", "H5ToLiteCore"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "H5ToLiteDriverTests", dependencies: ["H5ToLiteDriver", "H5ToLiteCore"]),
        .testTarget(name: "H5ToLiteDataTests", dependencies: ["H5ToLiteData", "H5ToLiteCore"]),
    ]
)
