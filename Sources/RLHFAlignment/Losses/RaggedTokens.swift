/// Shape checks for the ragged per-token arrays of the token-level losses (PPO, GRPO): one inner
/// array per response holding only its response tokens (EOS included; prompt and padding never
/// appear), so no masks are needed.
enum RaggedTokens {
    /// Whether `a` and `b` hold as many responses, each with as many tokens.
    static func sameShape(_ a: [[Double]], _ b: [[Double]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.count == $1.count }
    }

    /// The total number of tokens over all responses.
    static func tokenCount(_ a: [[Double]]) -> Int {
        a.reduce(0) { $0 + $1.count }
    }

    /// "3 responses of 4, 2, 5 tokens" (at most 8 lengths listed), for precondition messages.
    static func describe(_ a: [[Double]]) -> String {
        let lengths = a.prefix(8).map { String($0.count) }.joined(separator: ", ")
        return "\(a.count) responses of \(lengths)\(a.count > 8 ? ", …" : "") tokens"
    }

    /// Zeros in the shape of `a`.
    static func zeros(like a: [[Double]]) -> [[Double]] {
        a.map { [Double](repeating: 0, count: $0.count) }
    }
}
