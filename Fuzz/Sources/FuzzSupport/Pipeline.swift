import DPFBytecode
import DPFCompiler
import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire

/// A filter file compiled all the way: the trie, its program, and the interpreter running it.
public struct Compiled {
    public let trie: DecisionTrie
    public let program: Program
    public let interpreter: Interpreter
    public let verdicts: ProgramVerdicts
}

/// The `dpf compile` pipeline through its public entry points only (so the harnesses do not
/// depend on the AST's shape). Refusals a user can cause (diagnostics, trie conflicts, lowering
/// limits) end the run quietly; what only a bug can cause traps with a message.
public enum Pipeline {
    public static func compile(_ source: SourceFile, linkType: LinkType) -> Compiled? {
        let file: FilterFile
        do { file = try Parser.parseFile(source) } catch { return nil }
        let filterSet: FilterSet
        do { filterSet = try SemanticAnalyzer.analyze([file], linkType: linkType).filterSet } catch {
            return nil
        }
        let (trie, _) = TrieBuilder.build(filterSet)
        let program: Program
        do { program = try Lowering.lower(trie) } catch { return nil }
        let text = String(decoding: source.bytes, as: UTF8.self)
        let verified: VerifiedProgram
        do {
            verified = try Verifier.verify(program)
        } catch {
            LibFuzzer.fail(
                "the verifier refused a lowered program: \(error)",
                context: text + "\n" + Disassembler.disassemble(program))
        }
        // What `dpf compile` writes, `dpf replay --program` must read back unchanged, as text too.
        let listing = Disassembler.disassemble(program)
        guard (try? ProgramFile.decode(ProgramFile.encode(program))) == program else {
            LibFuzzer.fail(
                "a lowered program does not survive its .dpfc file", context: text + "\n" + listing)
        }
        guard (try? Assembler.assemble(listing)) == program else {
            LibFuzzer.fail(
                "a lowered program's listing does not assemble back to it", context: text + "\n" + listing)
        }
        let interpreter = Interpreter(verified)
        return Compiled(
            trie: trie, program: program, interpreter: interpreter,
            verdicts: ProgramVerdicts(interpreter))
    }

    /// The reference evaluator's delivery (`dpf replay --engine reference`), the trie walker and
    /// the interpreter must agree on every packet; a disagreement traps, naming all three.
    public static func checkAgreement(_ compiled: Compiled, on packets: [Packet], filters: String) {
        let reference = ReferenceDelivery(compiled.trie)
        for packet in packets {
            let expected = reference.verdict(for: packet)
            let walked = compiled.trie.verdict(for: packet)
            let ran = compiled.verdicts.verdict(packet.bytes)
            guard expected == walked, walked == ran else {
                LibFuzzer.fail(
                    "engines disagree: reference \(expected), trie \(walked), bytecode \(ran)",
                    context: filters + "\npacket (\(packet.linkType.name)): "
                        + packet.bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
                        + "\n" + Disassembler.disassemble(compiled.program))
            }
        }
    }

    /// Runs a verified program over `packets` through both entry points, with a tap buffer of
    /// exactly the size the interpreter asks for.
    public static func run(_ interpreter: Interpreter, over packets: [Packet]) {
        var taps = [Int32](repeating: -1, count: interpreter.filterCount)
        for packet in packets {
            packet.bytes.withUnsafeBytes { bytes in
                taps.withUnsafeMutableBufferPointer { _ = interpreter.run(bytes, taps: $0) }
            }
            _ = interpreter.run(packet.bytes)
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// Packets every harness that needs fixed ones runs: common Ethernet traffic, VLAN-tagged and
/// fragmented packets, ARP, and packets cut short down to nothing.
public enum FixedPackets {
    public static let all: [Packet] = {
        let ip4 = PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 1, 0, 5), dst: IPv4Address(10, 0, 0, 53))
        let ip6 = PacketBuilder.ethernet().ipv6(
            src: IPv6Address("2001:db8::1")!, dst: IPv6Address("fe80::1")!)
        let tcp = ip4.tcp(sourcePort: 40000, destinationPort: 80, flags: 0x02).payload([1, 2, 3])
        var packets = [
            tcp, ip4.udp(sourcePort: 53, destinationPort: 53), ip4.icmp4(type: 8),
            ip6.tcp(sourcePort: 443, destinationPort: 8080, flags: 0x11),
            ip6.udp(sourcePort: 5060, destinationPort: 514),
            ip6.icmp6(type: 135), ip6.ipv6Fragment(offset: 0).udp(sourcePort: 1, destinationPort: 53),
            PacketBuilder.ethernet().vlan(id: 100).vlan(id: 200, tpid: 0x88A8)
                .ipv4(src: IPv4Address(192, 168, 1, 1), dst: IPv4Address(10, 1, 200, 9))
                .udp(sourcePort: 16384, destinationPort: 443),
            PacketBuilder.ethernet().ipv4(
                src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 1, 0, 5), fragmentOffset: 100,
                options: [1, 1, 1, 1]
            ).tcp(sourcePort: 22, destinationPort: 22),
            PacketBuilder.ethernet(destination: .broadcast).arp(
                senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 53)),
        ].map(\.packet)
        let bytes = tcp.bytes
        packets += [0, 1, 13, 14, 20, 34, 47, 54].map { Packet(bytes: Array(bytes.prefix($0))) }
        packets.append(Packet(bytes: (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
        return packets
    }()
}
