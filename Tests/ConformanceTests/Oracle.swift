import DPFAnalysis
import DPFCapture
import DPFFilter
import DPFSyntax
import DPFWire

/// One DPF filter and its tcpdump twin, compiled by both compilers.
struct ComparedFilter {
    let dpf: String
    let pcap: String
    let tree: FilterTree
    /// `nil` when libpcap's optimiser proved the expression rejects every packet.
    let libpcap: LibpcapFilter?
    /// With `or`/`not` above the primitives, libpcap and DPF differ on purpose when a load runs
    /// off the captured bytes: BPF rejects the whole packet, DPF fails only that atom (DESIGN.md).
    let compareOnlyReadablePackets: Bool

    init(dpf: String, pcap: String, linkType: LinkType = .ethernet, compareOnlyReadablePackets: Bool) throws {
        self.dpf = dpf
        self.pcap = pcap
        let source = SourceFile(name: "dpf", text: dpf)
        tree = try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: linkType)
        libpcap = try ComparedFilter.compileWithLibpcap(pcap, linkType: linkType)
        self.compareOnlyReadablePackets = compareOnlyReadablePackets
    }

    /// The same pair with libpcap's side compiled against `capture`, as tcpdump reading it would.
    init(
        dpf: String, pcap: String, capture: LibpcapReader, linkType: LinkType,
        compareOnlyReadablePackets: Bool
    )
        throws
    {
        self.dpf = dpf
        self.pcap = pcap
        let source = SourceFile(name: "dpf", text: dpf)
        tree = try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: linkType)
        let result = Result { () throws(CaptureError) -> LibpcapFilter in
            try LibpcapFilter(pcap, for: capture)
        }
        switch result {
        case .success(let filter): libpcap = filter
        case .failure(let error) where error.message.contains("expression rejects all packets"): libpcap = nil
        case .failure(let error): throw error
        }
        self.compareOnlyReadablePackets = compareOnlyReadablePackets
    }

    /// libpcap's program, or `nil` if its optimiser proved the expression matches nothing.
    static func compileWithLibpcap(_ expression: String, linkType: LinkType) throws -> LibpcapFilter? {
        let result = Result { () throws(CaptureError) -> LibpcapFilter in
            try LibpcapFilter(expression, linkType: linkType)
        }
        switch result {
        case .success(let filter): return filter
        case .failure(let error) where error.message.contains("expression rejects all packets"): return nil
        case .failure(let error): throw error
        }
    }

    /// True if every atom of the tree can read its bytes in this packet.
    func readable(_ packet: Packet) -> Bool {
        tree.atoms.allSatisfy { ReferenceEvaluator.value(of: $0.operand, bytes: packet.bytes) != nil }
    }

    /// A description of the first disagreement on `packet`, or `nil` if both agree (or the packet
    /// is one the comparison leaves out).
    func disagreement(on packet: Packet) -> String? {
        let ours = ReferenceEvaluator.matches(tree, packet)
        let theirs = libpcap?.matches(packet) ?? false
        guard ours != theirs else { return nil }
        if compareOnlyReadablePackets && !readable(packet) { return nil }
        let hex = packet.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return "\(dpf)  vs  \(pcap): DPF \(ours), libpcap \(theirs) on \(hex)\n\(TreePrinter.dump(tree))"
    }
}
