/// A batch of token sequences, right-padded to one length.
///
/// Row b holds `lengths[b]` real tokens followed by padding. Every per-position output of the model
/// is laid out [B, T] like `tokens`, and entries at padded positions are zero.
public struct TokenBatch: Sendable, Equatable {
    /// B: number of rows.
    public let batchSize: Int
    /// T: padded length of every row.
    public let sequenceLength: Int
    /// [B, T] token ids, row-major.
    public let tokens: [Int32]
    /// [B] number of real tokens in each row (the rest is padding).
    public let lengths: [Int32]

    /// Packs `rows` into a [B, T] batch, padding on the right with `paddingToken`.
    /// - Parameter sequenceLength: T; defaults to the longest row. Rows longer than T are rejected.
    public init(rows: [[Int]], paddingToken: Int = 0, sequenceLength: Int? = nil) {
        let T = sequenceLength ?? rows.map(\.count).max() ?? 0
        precondition(rows.allSatisfy { $0.count <= T }, "a row is longer than the sequence length")
        var tokens = [Int32](repeating: Int32(truncatingIfNeeded: paddingToken), count: rows.count * T)
        for (b, row) in rows.enumerated() {
            for (t, token) in row.enumerated() { tokens[b * T + t] = Int32(truncatingIfNeeded: token) }
        }
        self.init(tokens: tokens, lengths: rows.map { Int32($0.count) }, sequenceLength: T)
    }

    /// Wraps already-packed tokens; `tokens.count` must be `lengths.count × sequenceLength`.
    /// Per row, the first position whose token log-prob is computed (nil: 1, every position that
    /// has a prediction). Earlier positions get log-prob 0 and no vocabulary projection: a rollout
    /// or preference batch sets it to each prompt's length, so the 49,152-wide head runs only for
    /// response tokens.
    public var logProbStarts: [Int32]?

    public init(tokens: [Int32], lengths: [Int32], sequenceLength: Int) {
        precondition(tokens.count == lengths.count * sequenceLength, "tokens must be [B, T]")
        precondition(lengths.allSatisfy { $0 >= 0 && Int($0) <= sequenceLength }, "row lengths must be in 0...T")
        batchSize = lengths.count
        self.sequenceLength = sequenceLength
        self.tokens = tokens
        self.lengths = lengths
    }

    /// The real tokens of row b.
    public func row(_ b: Int) -> [Int] {
        (0..<Int(lengths[b])).map { Int(tokens[b * sequenceLength + $0]) }
    }

    /// Number of real (unpadded) tokens in the batch.
    public var tokenCount: Int { lengths.reduce(0) { $0 + Int($1) } }
}
