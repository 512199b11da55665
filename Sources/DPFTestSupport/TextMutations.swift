extension SeededGenerator {
    /// `text` with 1 to `edits` random edits: a byte removed, inserted from `alphabet`, replaced by
    /// any byte, one of `words` inserted, or the text cut short. Seeds robustness tests with inputs
    /// close to valid filter files.
    public mutating func mutated(
        _ text: String, edits: Int = 8, alphabet: [UInt8] = Array("(){}[]:;.,/=!<>&|\"#\n\r -0x9afz".utf8),
        words: [String] = []
    ) -> [UInt8] {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...edits, using: &self) {
            let index = Int.random(in: 0...bytes.count, using: &self)
            switch Int.random(in: 0..<5, using: &self) {
            case 0 where index < bytes.count: bytes.remove(at: index)
            case 1: bytes.insert(pick(alphabet), at: index)
            case 2 where index < bytes.count: bytes[index] = UInt8.random(in: 0...255, using: &self)
            case 3 where !words.isEmpty:
                bytes.insert(contentsOf: Array((" " + pick(words) + " ").utf8), at: index)
            default:
                let cut = Int.random(in: 0...bytes.count, using: &self)
                bytes = Array(bytes[..<cut])
            }
        }
        return bytes
    }
}
