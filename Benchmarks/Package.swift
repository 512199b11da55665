// swift-tools-version: 6.3
// DPF's benchmarks, a package of their own so that `swift test` in the project never builds them.
// Run from this directory: swift package benchmark   (add --target FrontEnd to pick one suite)
import PackageDescription

let package = Package(
    name: "DPFBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "DPF", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    // One executable per suite, each in Benchmarks/<name>.
    targets: ["Bytecode", "Trie", "FrontEnd", "Memory", "Mux"].map { suite in
        .executableTarget(
            name: suite,
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DPFCore", package: "DPF"),
            ],
            path: "Benchmarks/\(suite)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    }
)
