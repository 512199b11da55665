import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTrie
import Testing

/// Filter files compile into the same trie, and need the same grants, whatever order their apps
/// are declared in.
@Suite struct TrieBuilderTests {
    func build(_ text: String) throws -> (DecisionTrie, [String]) {
        let file = try Parser.parseFile(SourceFile(name: "f.dpf", text: text))
        let (trie, errors) = TrieBuilder.build(try SemanticAnalyzer.analyze([file]).filterSet)
        return (trie, errors.map(\.description))
    }

    static let owner = "app a {\n    web: tcp.dport == 80\n}\n"
    static let taker = "app b priority 5 {\n    syn: tcp.dport == 80 and tcp.flags & 0x02 != 0\n}\n"
    static let grantingOwner = "app a {\n    web: tcp.dport == 80\n    grant web to b\n}\n"

    @Test func aTakerNeedsTheOwnersGrantInEitherOrder() throws {
        let (_, ownerFirst) = try build(TrieBuilderTests.owner + TrieBuilderTests.taker)
        #expect(
            ownerFirst == [
                "f.dpf:5:5: error: filter 'b.syn' would take packets from filter 'a.web' of app 'a': it overlaps it and has a higher priority (5 > 0); app 'a' must grant it"
            ])
        let (_, takerFirst) = try build(TrieBuilderTests.taker + TrieBuilderTests.owner)
        #expect(
            takerFirst == [
                "f.dpf:5:5: error: filter 'b.syn' of app 'b' would take packets from filter 'a.web': it overlaps it and ranks higher; app 'a' must grant it"
            ])
    }

    @Test func withTheGrantBothOrdersGiveTheSameTrie() throws {
        let (first, firstErrors) = try build(TrieBuilderTests.grantingOwner + TrieBuilderTests.taker)
        let (second, secondErrors) = try build(TrieBuilderTests.taker + TrieBuilderTests.grantingOwner)
        #expect(firstErrors.isEmpty && secondErrors.isEmpty)
        #expect(first.dump() == second.dump())
    }

    @Test func filtersThatExpandTooFarAreRefusedByName() throws {
        let alternatives = (0..<7).map { "(eth[\(2 * $0):1] == 1 or eth[\(2 * $0 + 1):1] == 1)" }.joined(
            separator: " and ")
        let (_, errors) = try build("app big {\n    huge: \(alternatives)\n}\n")
        #expect(
            errors == [
                "f.dpf:2:5: error: filter 'big.huge' expands to more than 64 alternatives once its 'or's are multiplied out; test lists of values as ranges or prefixes, or split the filter"
            ])
    }
}
