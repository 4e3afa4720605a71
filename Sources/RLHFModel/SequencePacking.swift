/// Where each real position of a right-padded [B, T] ``TokenBatch`` is computed: the rows of the
/// trunk's activation matrices.
///
/// A teacher-forced pass packs the batch: padding gets no row, and positions that are the same
/// computation in several sequences share one. Under causal attention the hidden state at
/// position t depends only on tokens 0...t, so two sequences that begin with the same t + 1
/// tokens (a GRPO group's completions of one prompt, a DPO pair's chosen and rejected answers)
/// have bit-identical states there: the shared prefix is computed once, every sequence's later
/// positions attend to its rows, and backward sums into them what every sequence sends. The
/// function computed is unchanged; only duplicate work goes (a GRPO step at 8 prompts × 4 with
/// ~40-token prompts and 48-token completions has a third fewer rows).
///
/// Rows are numbered in order of first appearance (sequence by sequence, position by position),
/// so a row's keys — the rows of its sequence's positions 0...t — all come before it, and a range
/// of rows (a ``stripes(_:)`` entry) is a unit of parallel attention work whatever is shared.
public struct SequencePacking: Sendable {
    /// B and T of the batch.
    public let batchSize: Int, sequenceLength: Int
    /// [B·T]: the row computing position (b, t), or −1 for padding.
    public let rowOfPosition: [Int32]
    /// Per row: a sequence it belongs to (the first) and its position in it (−1: a padded row of
    /// ``init(paddedLengths:sequenceLength:heads:)``, which computes nothing).
    public let owner: [Int32], position: [Int32]
    /// Per row, the offset of its attention probabilities (heads × (position + 1) floats, rows in
    /// order) in a block's probability buffer; `probabilityCount` floats per block in all.
    public let probabilityOffsets: [Int]
    public let probabilityCount: Int

    /// Rows computed.
    public var rowCount: Int { owner.count }

    /// Packs `batch`'s real positions; with `sharingPrefixes`, positions whose tokens 0...t equal
    /// those of an earlier sequence reuse its rows.
    public init(_ batch: TokenBatch, sharingPrefixes: Bool, heads: Int) {
        let B = batch.batchSize, T = batch.sequenceLength
        var map = [Int32](repeating: -1, count: B * T)
        var owner = [Int32](), position = [Int32]()
        owner.reserveCapacity(batch.tokenCount)
        position.reserveCapacity(batch.tokenCount)
        batch.tokens.withUnsafeBufferPointer { tokens in
            for b in 0..<B {
                let length = Int(batch.lengths[b])
                // The earlier sequence sharing the longest prefix with this one.
                var shared = 0, source = -1
                if sharingPrefixes {
                    for earlier in 0..<b {
                        let limit = min(length, Int(batch.lengths[earlier]))
                        var common = 0
                        while common < limit && tokens[b * T + common] == tokens[earlier * T + common] { common += 1 }
                        if common > shared { shared = common; source = earlier }
                    }
                }
                for t in 0..<length {
                    if t < shared {
                        map[b * T + t] = map[source * T + t]
                    } else {
                        map[b * T + t] = Int32(owner.count)
                        owner.append(Int32(b))
                        position.append(Int32(t))
                    }
                }
            }
        }
        self.init(batchSize: B, sequenceLength: T, rowOfPosition: map, owner: owner, position: position, heads: heads)
    }

    /// The [B, T] layout itself: position (b, t) is row b·T + t and padded rows are left out (for
    /// kernels and tests that work on padded matrices).
    public init(paddedLengths lengths: [Int32], sequenceLength T: Int, heads: Int) {
        let B = lengths.count
        var map = [Int32](repeating: -1, count: B * T)
        var owner = [Int32](repeating: 0, count: B * T), position = [Int32](repeating: 0, count: B * T)
        for b in 0..<B {
            for t in 0..<T {
                owner[b * T + t] = Int32(b)
                // A padded row computes nothing: position −1.
                position[b * T + t] = t < Int(lengths[b]) ? Int32(t) : -1
                if t < Int(lengths[b]) { map[b * T + t] = Int32(b * T + t) }
            }
        }
        self.init(batchSize: B, sequenceLength: T, rowOfPosition: map, owner: owner, position: position, heads: heads)
    }

    private init(batchSize B: Int, sequenceLength T: Int, rowOfPosition: [Int32], owner: [Int32], position: [Int32], heads: Int) {
        batchSize = B
        sequenceLength = T
        self.rowOfPosition = rowOfPosition
        self.owner = owner
        self.position = position
        var offsets = [Int](repeating: 0, count: owner.count), total = 0
        for row in 0..<owner.count {
            offsets[row] = total
            total += heads * (Int(position[row]) + 1)  // 0 for a padded row
        }
        probabilityOffsets = offsets
        probabilityCount = total
    }

    /// At most `count` contiguous ranges of rows with about equal attention work (a row at
    /// position t attends to t + 1 keys), covering every row.
    public func stripes(_ count: Int) -> [Range<Int>] {
        let n = rowCount
        guard n > 0 else { return [] }
        let parts = max(1, min(count, n))
        var bounds = [0]
        for k in 1..<parts {
            // The first row whose work starts at or after k/parts of the total.
            let target = probabilityCount * k / parts
            var low = bounds.last!, high = n
            while low < high {
                let middle = (low + high) / 2
                if probabilityOffsets[middle] < target { low = middle + 1 } else { high = middle }
            }
            if low > bounds.last! && low < n { bounds.append(low) }
        }
        bounds.append(n)
        return (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// Whether some position is computed once for several sequences.
    public var sharesRows: Bool {
        var seen = 0
        for r in rowOfPosition where r >= 0 { seen += 1 }
        return seen > rowCount
    }
}

extension SequencePacking {
    /// Raw views of the per-row tables, for kernels' inner loops.
    struct RowTables: @unchecked Sendable {
        let rowOfPosition, owner, position: UnsafePointer<Int32>
        let probabilityOffsets: UnsafePointer<Int>
    }

    func withRowTables<Result>(_ body: (RowTables) throws -> Result) rethrows -> Result {
        try rowOfPosition.withUnsafeBufferPointer { map in
            try owner.withUnsafeBufferPointer { owner in
                try position.withUnsafeBufferPointer { position in
                    try probabilityOffsets.withUnsafeBufferPointer { offsets in
                        try body(RowTables(rowOfPosition: map.baseAddress!, owner: owner.baseAddress!,
                                           position: position.baseAddress!, probabilityOffsets: offsets.baseAddress!))
                    }
                }
            }
        }
    }
}
