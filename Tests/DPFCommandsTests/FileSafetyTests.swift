import DPFCapture
import DPFCommands
import DPFTestSupport
import DPFWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Issue 9: `-o` writes files safely (links followed, devices and FIFOs written through, regular
/// files replaced atomically), and what is read is bounded and named clearly.
@Suite struct FileSafetyTests {
    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    func dpf(_ arguments: [String]) -> Run {
        let console = Console.capturing()
        let status = DPFMain.run(arguments, console: console)
        return Run(status: status, out: console.standardOutput, err: console.standardError)
    }

    /// A fresh directory, removed (with everything in it) by `body`'s end.
    func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = NSTemporaryDirectory() + "dpf-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory)
    }

    func filterFile(in directory: String, _ text: String = "app a { ip4 }\n") throws -> String {
        let path = directory + "/filters.dpf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The bytes `dpf compile FILE -o` writes for `file`.
    func program(_ file: String, in directory: String) throws -> Data {
        let reference = directory + "/reference.dpfc"
        #expect(dpf(["compile", file, "-o", reference]).status == 0)
        defer { unlink(reference) }
        return try Data(contentsOf: URL(fileURLWithPath: reference))
    }

    func fileType(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }

    /// A character device of our own (major 1 is the memory devices: 3 null, 7 full), so a
    /// regression can only replace a node in a temporary directory. Without the right to create
    /// one, the system's device, but only where we cannot replace it; otherwise nil (skipped).
    func characterDevice(minor: UInt32, named name: String, in directory: String) -> String? {
        let path = directory + "/" + name
        if mknod(path, S_IFCHR | 0o666, dev_t((1 << 8) | minor)) == 0 { return path }
        let system = "/dev/" + name
        return access("/dev", W_OK) != 0 && access(system, W_OK) == 0 ? system : nil
    }

    // MARK: - Writing

    @Test func aSymlinkIsFollowedAndKept() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let expected = try program(file, in: directory)
            let target = directory + "/target.dpfc"
            let link = directory + "/link.dpfc"
            try "old".write(toFile: target, atomically: false, encoding: .utf8)
            #expect(symlink("target.dpfc", link) == 0)
            let run = dpf(["compile", file, "-o", link])
            #expect(run.status == 0, "\(run.err)")
            #expect(fileType(link) == S_IFLNK)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.dpfc")
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == expected)
            // A dangling link gets its target created, as the shell's `>` does.
            let dangling = directory + "/dangling.dpfc"
            #expect(symlink("created.dpfc", dangling) == 0)
            #expect(dpf(["compile", file, "-o", dangling]).status == 0)
            #expect(fileType(dangling) == S_IFLNK)
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/created.dpfc")) == expected)
        }
    }

    @Test func aRegularFileIsReplacedWholeKeepingItsModeAndNoTemporaryIsLeft() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let expected = try program(file, in: directory)
            let output = directory + "/out.dpfc"
            try String(repeating: "x", count: 10_000).write(
                toFile: output, atomically: false, encoding: .utf8)
            #expect(chmod(output, 0o640) == 0)
            let run = dpf(["compile", file, "-o", output])
            #expect(run.status == 0, "\(run.err)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == expected)
            var info = stat()
            #expect(stat(output, &info) == 0)
            #expect(info.st_mode & 0o7777 == 0o640)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [
                    "filters.dpf", "out.dpfc",
                ])
        }
    }

    @Test func anInputFileIsNeverTheOutput() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let link = directory + "/link.dpfc"
            #expect(symlink("filters.dpf", link) == 0)
            for output in [file, link] {
                let run = dpf(["compile", file, "-o", output])
                #expect(run.status == 2)
                #expect(run.err == "dpf: -o \(output) would overwrite the filter file \(file)\n")
                #expect(try String(contentsOfFile: file, encoding: .utf8) == "app a { ip4 }\n")
            }
        }
    }

    @Test func aFIFOIsWrittenThrough() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let expected = try program(file, in: directory)
            let fifo = directory + "/fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            // Open the reading end first (without blocking), so dpf's open for writing finds a
            // reader; the program fits in the pipe's buffer. If dpf replaced the FIFO instead,
            // this end reads nothing and the test fails rather than hangs.
            let reader = open(fifo, O_RDONLY | O_NONBLOCK)
            #expect(reader >= 0)
            defer { close(reader) }
            let run = dpf(["compile", file, "-o", fifo])
            #expect(run.status == 0, "\(run.err)")
            #expect(fileType(fifo) == S_IFIFO)
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = read(reader, &buffer, buffer.count)
            #expect(count == expected.count)
            #expect(Data(buffer[0..<max(0, count)]) == expected)
        }
    }

    @Test func aNullDeviceIsWrittenThroughAndStaysADevice() throws {
        try withDirectory { directory in
            guard let device = characterDevice(minor: 3, named: "null", in: directory) else { return }
            let file = try filterFile(in: directory)
            // Standard output elsewhere, in case the test's own is the same null device.
            let standardOutput = open(directory + "/stdout", O_RDWR | O_CREAT | O_TRUNC, 0o600)
            defer { close(standardOutput) }
            let run = StandardStreams.$output.withValue(standardOutput) {
                dpf(["compile", file, "-o", device])
            }
            #expect(run.status == 0, "\(run.err)")
            #expect(run.out.hasPrefix("wrote \(device): "))
            #expect(fileType(device) == S_IFCHR)
        }
    }

    @Test func aFullDeviceIsAnErrorWithTheSystemsReason() throws {
        try withDirectory { directory in
            guard let device = characterDevice(minor: 7, named: "full", in: directory) else { return }
            let file = try filterFile(in: directory)
            let run = dpf(["compile", file, "-o", device])
            #expect(run.status == 3)
            #expect(run.out.isEmpty)
            #expect(run.err == "dpf: cannot write \(device): No space left on device\n")
            #expect(fileType(device) == S_IFCHR)
        }
    }

    @Test func aDirectoryIsRefused() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let run = dpf(["compile", file, "-o", directory])
            #expect(run.status == 3)
            #expect(run.err == "dpf: \(directory) is a directory\n")
            #expect(fileType(directory) == S_IFDIR)
        }
    }

    @Test func anUnwritableDirectoryIsAnEnvironmentFailureWithTheReason() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            // As root, permissions do not stop us in a directory we own; sysfs refuses new files
            // even to root.
            var place = directory + "/locked"
            if geteuid() == 0 {
                place = "/sys"
                guard access(place, F_OK) == 0 else { return }
            } else {
                try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: false)
                #expect(chmod(place, 0o555) == 0)
            }
            defer { chmod(place, 0o755) }
            let run = dpf(["compile", file, "-o", place + "/out.dpfc"])
            #expect(run.status == 3)
            #expect(run.err == "dpf: cannot write \(place)/out.dpfc: Permission denied\n")
        }
    }

    @Test func dashIsStandardOutput() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let expected = try program(file, in: directory)
            let capture = directory + "/stdout"
            let descriptor = open(capture, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            #expect(descriptor >= 0)
            defer { close(descriptor) }
            let run = StandardStreams.$output.withValue(descriptor) { dpf(["compile", file, "-o", "-"]) }
            #expect(run.status == 0, "\(run.err)")
            #expect(run.out.isEmpty)
            #expect(try Data(contentsOf: URL(fileURLWithPath: capture)) == expected)
            #expect(fileType(directory + "/-") == nil)
            // Nothing else may share standard output with the program.
            #expect(dpf(["compile", file, "-o", "-", "--json"]).status == 2)
            #expect(dpf(["compile", file, "-o", "-", "--emit", "tree"]).status == 2)
        }
    }

    /// `-o /dev/stdout` with standard output redirected to a file: written through (no name to
    /// rename onto), and nothing else printed into it.
    @Test func standardOutputThroughAMagicLinkIsWrittenThrough() throws {
        guard access("/proc/self/fd", F_OK) == 0 else { return }
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let expected = try program(file, in: directory)
            let capture = directory + "/stdout"
            let descriptor = open(capture, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            #expect(descriptor >= 0)
            defer { close(descriptor) }
            let run = StandardStreams.$output.withValue(descriptor) {
                dpf(["compile", file, "-o", "/proc/self/fd/\(descriptor)"])
            }
            #expect(run.status == 0, "\(run.err)")
            #expect(run.out.isEmpty)
            #expect(try Data(contentsOf: URL(fileURLWithPath: capture)) == expected)
            let json = StandardStreams.$output.withValue(descriptor) {
                dpf(["compile", file, "-o", "/proc/self/fd/\(descriptor)", "--json"])
            }
            #expect(json.status == 2)
        }
    }

    // MARK: - JSON and help

    @Test func jsonWithOutputIsOneObjectInEveryForm() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory)
            let output = directory + "/out.dpfc"
            for emit in [
                [], ["--emit", "ast"], ["--emit", "tree"], ["--emit", "trie"], ["--emit", "stats"],
            ] {
                let run = dpf(["compile", file, "-o", output, "--json"] + emit)
                #expect(run.status == 0, "\(emit): \(run.err)")
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any], "\(emit)")
                let written = try #require(object["output"] as? [String: Any], "\(emit)")
                #expect(written["path"] as? String == output)
                let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int
                #expect(written["bytes"] as? Int == size)
                #expect(written["instructions"] as? Int == 3)
                #expect(run.out.hasSuffix("}\n") && !run.out.dropLast().contains("\n"), "\(emit)")
            }
        }
    }

    @Test func emitAstWithOutputCompilesFullyAndSaysSo() throws {
        try withDirectory { directory in
            let file = try filterFile(in: directory, "app a { tcp.dprt == 80 }\n")
            let output = directory + "/out.dpfc"
            let run = dpf(["compile", file, "--emit", "ast", "-o", output])
            #expect(run.status == 1)
            #expect(run.err.contains("unknown field 'tcp.dprt'"))
            #expect(fileType(output) == nil)
            let help = dpf(["compile", "--help"])
            #expect(help.out.contains("-o always compiles fully"))
            #expect(!help.out.contains("(parsing only)"))
        }
    }

    // MARK: - Reading

    @Test func anEndlessInputIsCutOffWithAClearError() {
        guard access("/dev/zero", R_OK) == 0 else { return }
        let run = dpf(["compile", "/dev/zero"])
        #expect(run.status == 1)
        #expect(run.err == "dpf: /dev/zero is larger than 64 MiB, the most dpf reads from one file\n")
    }

    @Test func aDirectoryGivenAsAFilterFileIsNamed() throws {
        try withDirectory { directory in
            let run = dpf(["compile", directory])
            #expect(run.status == 1)
            #expect(run.err == "dpf: \(directory) is a directory\n")
        }
    }

    @Test func aCaptureOrAProgramGivenAsAFilterFileIsNamed() throws {
        try withDirectory { directory in
            let pcap = directory + "/x.pcap"
            try Data(
                PcapWriter.encode([
                    PacketBuilder.ethernet().arp(
                        senderIP: IPv4Address(10, 0, 0, 9), targetIP: IPv4Address(10, 0, 0, 1)
                    ).packet
                ])
            ).write(
                to: URL(fileURLWithPath: pcap))
            let run = dpf(["compile", pcap])
            #expect(run.status == 1)
            #expect(run.err == "dpf: \(pcap) looks like a packet capture, not a filter file\n")
            let pcapng = directory + "/x.pcapng"
            try Data([0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A]).write(
                to: URL(fileURLWithPath: pcapng))
            #expect(
                dpf(["compile", pcapng]).err
                    == "dpf: \(pcapng) looks like a packet capture, not a filter file\n")
            let file = try filterFile(in: directory)
            let program = directory + "/p.dpfc"
            #expect(dpf(["compile", file, "-o", program]).status == 0)
            let again = dpf(["compile", program])
            #expect(again.status == 1)
            #expect(
                again.err == "dpf: \(program) is a compiled program (dpf compile -o), not a filter file\n")
        }
    }

    @Test func aMissingFileIsBadInputAndAForbiddenOneIsTheEnvironment() throws {
        try withDirectory { directory in
            let missing = directory + "/missing.dpf"
            let run = dpf(["compile", missing])
            #expect(run.status == 1)
            #expect(run.err == "dpf: cannot read \(missing): No such file or directory\n")
            // Root reads any file of ours; procfs's write-only sysctls refuse even root.
            var forbidden = directory + "/forbidden.dpf"
            if geteuid() == 0 {
                let candidates = ["/proc/sys/vm/compact_memory", "/proc/sys/net/ipv4/route/flush"]
                guard let candidate = candidates.first(where: { open($0, O_RDONLY) < 0 && errno == EACCES })
                else { return }
                forbidden = candidate
            } else {
                _ = try filterFile(in: directory)
                #expect(rename(directory + "/filters.dpf", forbidden) == 0)
                #expect(chmod(forbidden, 0) == 0)
            }
            let refused = dpf(["compile", forbidden])
            #expect(refused.status == 3)
            #expect(refused.err == "dpf: cannot read \(forbidden): Permission denied\n")
            // The same rule for a capture.
            let web = Fixtures.filtersDirectory + "/web.dpf"
            let missingCapture = dpf(["replay", directory + "/missing.pcap", "--filters", web])
            #expect(missingCapture.status == 1, "\(missingCapture.err)")
            let forbiddenCapture = dpf(["replay", forbidden, "--filters", web])
            #expect(forbiddenCapture.status == 3, "\(forbiddenCapture.err)")
            #expect(forbiddenCapture.err == "dpf: cannot read capture: \(forbidden): Permission denied\n")
        }
    }

    @Test func dashReadsTheFilterFileFromStandardInput() throws {
        func compile(_ text: String, _ arguments: [String] = []) throws -> Run {
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            let bytes = Array(text.utf8)
            #expect(write(ends[1], bytes, bytes.count) == bytes.count)
            close(ends[1])
            defer { close(ends[0]) }
            return StandardStreams.$input.withValue(ends[0]) { dpf(["compile", "-"] + arguments) }
        }
        let good = try compile("app a { ip4 }\n")
        #expect(good.status == 0, "\(good.err)")
        #expect(good.out == "ok: 1 app, 1 filter for link type ethernet\n")
        let bad = try compile("app a { tcp.dprt == 80 }\n")
        #expect(bad.status == 1)
        #expect(bad.err.hasPrefix("<stdin>:1:9: error: unknown field 'tcp.dprt'\n"))
        // Read once even when two stages need the files.
        try withDirectory { directory in
            let output = directory + "/out.dpfc"
            let both = try compile("app a { ip4 }\n", ["--emit", "ast", "-o", output])
            #expect(both.status == 0, "\(both.err)")
            #expect(both.out.hasPrefix("(file \"<stdin>\"\n  (app a"))
        }
        #expect(dpf(["compile", "-", "-"]).status == 2)
        #expect(dpf(["compile", "--help"]).out.contains("- reads one from standard input"))
    }

    // MARK: - Diagnostics

    @Test func onlyTheFirstTwentyErrorsArePrintedThenACount() throws {
        try withDirectory { directory in
            let text = (0..<1_234).map { "app a\($0) { == }\n" }.joined()
            let file = try filterFile(in: directory, text)
            let run = dpf(["compile", file])
            #expect(run.status == 1)
            #expect(run.err.components(separatedBy: ": error: ").count - 1 == 20)
            #expect(
                run.err.hasSuffix("\n... and 1,214 more errors\ndpf: 1,234 errors; nothing was compiled\n"))
        }
    }

    @Test func binaryBytesInADiagnosticAreEscaped() throws {
        try withDirectory { directory in
            let file = directory + "/binary.dpf"
            try Data(Array("app a { ip4 ".utf8) + [0x01, 0x00, 0xFF, 0x1B] + Array(" }\n".utf8)).write(
                to: URL(fileURLWithPath: file))
            let run = dpf(["compile", file])
            #expect(run.status == 1)
            let lines = run.err.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines[0] == "\(file):1:13: error: unexpected character byte 0x1")
            #expect(lines[1] == #"    app a { ip4 \x01\x00\xff\x1b }"#)
            #expect(lines[2] == "                ^~~~")
            #expect(!run.err.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        }
    }
}
