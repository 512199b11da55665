import DPFFilter
import DPFTestSupport
import DPFWire
import Testing

/// Normalisation never changes what a tree accepts, truncated packets included, and is idempotent.
@Suite struct NormalizerPropertyTests {
    /// Random trees over few loads, masks and small values, so atoms often repeat, imply or
    /// contradict each other; random short packets, so loads often fall off the end.
    struct TreeGenerator {
        var generator: SeededGenerator

        mutating func atom() throws -> Atom {
            let width = generator.pick([1, 1, 2])
            let base =
                generator.chance(0.2)
                ? try HeaderBase([try Shift(offset: 0, width: 1, mask: 0x03, scale: 1)]) : .packetStart
            let full = PacketLoad.fullMask(width: width)
            let mask = generator.pick([full, full, 0x0F, 0xF0, 0x03, 0] as [UInt32]) & full
            let value =
                generator.chance(0.5)
                ? UInt32.random(in: 0...3, using: &generator) : UInt32.random(in: 0...full, using: &generator)
            return try Atom(
                base: base, offset: Int.random(in: 0...3, using: &generator), width: width, mask: mask,
                relation: generator.pick(Relation.allCases), value: value)
        }

        mutating func tree(depth: Int) throws -> FilterTree {
            if depth == 0 || generator.chance(0.3) {
                return generator.chance(0.05) ? .constant(generator.chance(0.5)) : .atom(try atom())
            }
            let count = Int.random(in: 1...4, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: return .not(try tree(depth: depth - 1))
            case 1, 2: return .and(try (0..<count).map { _ in try tree(depth: depth - 1) })
            default: return .or(try (0..<count).map { _ in try tree(depth: depth - 1) })
            }
        }

        mutating func packet() -> [UInt8] {
            (0..<Int.random(in: 0...7, using: &generator)).map { _ in
                generator.chance(0.5)
                    ? UInt8.random(in: 0...3, using: &generator)
                    : UInt8.random(in: 0...255, using: &generator)
            }
        }
    }

    @Test(arguments: 0..<6)
    func normalisationPreservesMeaning(seed: UInt64) throws {
        var trees = TreeGenerator(generator: SeededGenerator(seed: 0xA11CE + seed))
        let packets = (0..<300).map { _ in trees.packet() }
        for _ in 0..<300 {
            let tree = try trees.tree(depth: 4)
            let normal = Normalizer.normalize(tree)
            for bytes in packets {
                let expected = ReferenceEvaluator.matches(tree, bytes: bytes)
                guard ReferenceEvaluator.matches(normal, bytes: bytes) == expected else {
                    Issue.record(
                        "normalising changed the answer on \(bytes):\n\(TreePrinter.dump(tree))→\n\(TreePrinter.dump(normal))"
                    )
                    return
                }
            }
            #expect(Normalizer.normalize(normal) == normal, "not idempotent:\n\(TreePrinter.dump(normal))")
        }
    }

    @Test func foldsDecidedAtoms() throws {
        let captured = FilterTree.atom(try Atom(offset: 9, width: 1, mask: 0, value: 0))
        #expect(
            Normalizer.normalize(.atom(try Atom(offset: 9, width: 1, relation: .greater, value: 255)))
                == .reject)
        #expect(
            Normalizer.normalize(.atom(try Atom(offset: 9, width: 1, relation: .lessOrEqual, value: 255)))
                == captured)
        #expect(
            Normalizer.normalize(.atom(try Atom(offset: 8, width: 2, mask: 0x0F, value: 0x10))) == .reject)
        #expect(
            Normalizer.normalize(
                .atom(try Atom(offset: 8, width: 2, mask: 0x0F, relation: .notEqual, value: 0x10)))
                == .atom(try Atom(offset: 9, width: 1, mask: 0, value: 0)))
    }

    @Test func removesImpliedAndContradictoryAtoms() throws {
        let exact = try Atom(offset: 30, width: 4, value: 0x0A01_0203)
        let prefix = try Atom(offset: 30, width: 4, mask: 0xFF00_0000, value: 0x0A00_0000)
        let other = try Atom(offset: 30, width: 4, mask: 0xFF00_0000, value: 0x0B00_0000)
        #expect(Normalizer.normalize(.and([.atom(prefix), .atom(exact)])) == .atom(exact))
        #expect(Normalizer.normalize(.and([.atom(other), .atom(exact)])) == .reject)
        #expect(
            Normalizer.normalize(.and([.atom(exact), .or([.atom(other), .atom(prefix)])])) == .atom(exact))
        #expect(Normalizer.normalize(.and([.atom(exact), .not(.atom(prefix))])) == .reject)
    }
}
