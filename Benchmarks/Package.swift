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
    targets: [
        .executableTarget(
            name: "Bytecode",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DPFCore", package: "DPF"),
            ],
            path: "Benchmarks/Bytecode",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Trie",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DPFCore", package: "DPF"),
            ],
            path: "Benchmarks/Trie",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FrontEnd",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DPFCore", package: "DPF"),
            ],
            path: "Benchmarks/FrontEnd",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
