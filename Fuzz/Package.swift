// swift-tools-version: 6.1
// libFuzzer harnesses for DPF, kept apart from the root package so `swift test` never builds them.
// Build and run them with scripts/fuzz (it passes -sanitize=fuzzer,address).
import PackageDescription

let core = Target.Dependency.product(name: "DPFCore", package: "DPF")

let package = Package(
    name: "DPFFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "DPF", path: "..")],
    targets: [
        // The libFuzzer driver, the input tape, generated filters and packets, fixed packets, and
        // the pipeline every harness runs.
        .target(name: "FuzzSupport", dependencies: [core]),
        // Filter text → parser → analyser → trie → lowering → verifier → interpreter.
        .executableTarget(name: "FuzzFilterText", dependencies: ["FuzzSupport", core]),
        // Filters and packets drawn from the input: reference == trie walker == interpreter.
        .executableTarget(name: "FuzzDifferential", dependencies: ["FuzzSupport", core]),
        // `.dpfc` bytes → decode → verifier → interpreter.
        .executableTarget(name: "FuzzProgramFile", dependencies: ["FuzzSupport", core]),
    ]
)
