// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DPF",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dpf", targets: ["dpf"]),
        .library(
            name: "DPFCore",
            targets: [
                "DPFWire", "DPFSyntax", "DPFFilter", "DPFAnalysis", "DPFTrie", "DPFBytecode", "DPFCompiler",
                "DPFEngine", "DPFWorkloads", "DPFMemory", "DPFMux",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // libpcap, through the system's pkg-config entry (Debian: libpcap-dev).
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]
        ),
        // Protocol layouts: the one table of headers and fields, link layouts, big-endian loads and
        // byte-order writers, and a packet builder.
        .target(name: "DPFWire"),
        // Filter language: lexer, parser, AST, printer, diagnostics.
        .target(name: "DPFSyntax", dependencies: ["DPFWire"]),
        // The filter IR every later stage takes: atoms and trees, the protocol builder, the trusted
        // boundary, normalisation, the reference evaluator, packet fields read by
        // the builder's rules. Knows no filter language.
        .target(name: "DPFFilter", dependencies: ["DPFWire"]),
        // The DPF language's semantic analysis: ASTs into filter trees through the builder.
        .target(name: "DPFAnalysis", dependencies: ["DPFWire", "DPFSyntax", "DPFFilter"]),
        // Every app's filters merged into one decision trie; delivery and overlap rules; the trie walker.
        .target(name: "DPFTrie", dependencies: ["DPFFilter", "DPFWire"]),
        // The demultiplexing ISA: verifier, interpreter, disassembler. Depends on nothing of the compiler.
        .target(name: "DPFBytecode", dependencies: ["DPFWire"]),
        // Lowers the decision trie to bytecode.
        .target(name: "DPFCompiler", dependencies: ["DPFTrie", "DPFFilter", "DPFBytecode"]),
        // One engine interface over the reference evaluator, the trie walker and the interpreter;
        // packet and verdict batches; the delivery layer every command shares.
        .target(
            name: "DPFEngine",
            dependencies: ["DPFWire", "DPFFilter", "DPFTrie", "DPFBytecode", "DPFCompiler"]),
        // Benchmark workloads shared by `dpf bench` and Benchmarks/, and the hand-written
        // demultiplexer they are measured against.
        .target(
            name: "DPFWorkloads",
            dependencies: ["DPFWire", "DPFSyntax", "DPFFilter", "DPFAnalysis", "DPFTrie"]),
        // The exokernel memory core: page frames in a memory file, owners, capabilities, secure
        // bindings (page tables, software TLBs), visible revocation. Nothing of the filter pipeline.
        .target(name: "DPFMemory", dependencies: ["CMemoryFile"]),
        // The exokernel network multiplexer: apps, their capabilities and filters, receive rings in
        // their own frames reached through their software TLBs, compiled snapshots swapped while
        // packets flow, parallel workers. Takes filter trees, never the parser.
        .target(
            name: "DPFMux",
            dependencies: [
                "DPFMemory", "DPFWire", "DPFFilter", "DPFTrie", "DPFBytecode", "DPFCompiler", "DPFEngine",
            ]),
        // memfd_create, which Glibc's module does not export.
        .target(name: "CMemoryFile"),
        // Capture files and libpcap: offline reading and libpcap's own BPF compiler as an oracle.
        .target(name: "DPFCapture", dependencies: ["DPFWire", "CPcap"]),
        // The command line, one struct per subcommand.
        .target(
            name: "DPFCommands",
            dependencies: [
                "DPFWire", "DPFSyntax", "DPFFilter", "DPFAnalysis", "DPFTrie", "DPFBytecode", "DPFCompiler",
                "DPFEngine", "DPFWorkloads", "DPFCapture", "DPFMemory", "DPFMux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "dpf", dependencies: ["DPFCommands"]),
        // Seeded generators of packets and filters, and paths to fixtures, shared by the tests.
        .target(name: "DPFTestSupport", dependencies: ["DPFWire", "DPFSyntax", "DPFFilter", "DPFAnalysis"]),

        .testTarget(name: "DPFWireTests", dependencies: ["DPFWire", "DPFTestSupport"]),
        .testTarget(name: "DPFSyntaxTests", dependencies: ["DPFSyntax", "DPFWire", "DPFTestSupport"]),
        .testTarget(
            name: "DPFFilterTests",
            dependencies: ["DPFFilter", "DPFAnalysis", "DPFSyntax", "DPFWire", "DPFTestSupport"]),
        .testTarget(
            name: "DPFAnalysisTests",
            dependencies: ["DPFAnalysis", "DPFFilter", "DPFSyntax", "DPFWire", "DPFTestSupport"],
            exclude: ["Golden"]),
        .testTarget(
            name: "DPFTrieTests",
            dependencies: ["DPFTrie", "DPFFilter", "DPFAnalysis", "DPFSyntax", "DPFWire", "DPFTestSupport"],
            exclude: ["Golden"]),
        .testTarget(
            name: "DPFBytecodeTests",
            dependencies: [
                "DPFBytecode", "DPFCompiler", "DPFTrie", "DPFFilter", "DPFAnalysis", "DPFSyntax", "DPFWire",
                "DPFCapture", "DPFEngine", "DPFWorkloads", "DPFTestSupport",
            ],
            exclude: ["Golden"]),
        .testTarget(
            name: "DPFEngineTests",
            dependencies: [
                "DPFEngine", "DPFBytecode", "DPFCompiler", "DPFTrie", "DPFFilter", "DPFAnalysis", "DPFSyntax",
                "DPFWire", "DPFTestSupport",
            ],
            exclude: ["Vectors"]),
        .testTarget(
            name: "DPFWorkloadsTests",
            dependencies: ["DPFWorkloads", "DPFFilter", "DPFTrie", "DPFWire", "DPFTestSupport"]),
        .testTarget(
            name: "DPFMemoryTests", dependencies: ["DPFMemory", "DPFTestSupport"], exclude: ["Golden"]),
        .testTarget(
            name: "DPFMuxTests",
            dependencies: [
                "DPFMux", "DPFMemory", "DPFEngine", "DPFTrie", "DPFFilter", "DPFAnalysis", "DPFSyntax",
                "DPFWire",
                "DPFTestSupport",
            ]),
        .testTarget(name: "DPFCaptureTests", dependencies: ["DPFCapture", "DPFWire", "DPFTestSupport"]),
        .testTarget(
            name: "DPFCommandsTests",
            dependencies: ["DPFCommands", "DPFCapture", "DPFWire", "DPFTestSupport"]),
        // Cross-checks our reference evaluator against libpcap's compiler, packet for packet.
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "DPFFilter", "DPFAnalysis", "DPFSyntax", "DPFWire", "DPFCapture", "DPFTestSupport",
            ]
        ),
    ]
)
