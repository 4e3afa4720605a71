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
/// so a row's keys — the rows of its sequence's positions 0...t — all come before it.
public struct SequencePacking: Sendable {
    /// B and T of the batch.
    public let batchSize: Int, sequenceLength: Int
    /// [B·T]: the row computing position (b, t), or −1 for padding.
    public let rowOfPosition: [Int32]
    /// Per row: a sequence it belongs to (the first) and its position in it.
    public let owner: [Int32], position: [Int32]
    /// Groups of sequences that share rows (connected by common prefixes), each with its rows in
    /// increasing order: attention's backward runs one group per task, so no two tasks write the
    /// same row.
    public let groups: [[Int32]]
    /// Per row, the offset of its attention probabilities (heads × (position + 1) floats) in a
    /// block's probability buffer; `probabilityCount` floats per block in all.
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
        var parent = Array(0..<B)
        func root(_ b: Int) -> Int {
            var b = b
            while parent[b] != b { parent[b] = parent[parent[b]]; b = parent[b] }
            return b
        }
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
                if source >= 0 { parent[root(b)] = root(source) }
            }
        }
        self.init(batchSize: B, sequenceLength: T, rowOfPosition: map, owner: owner, position: position,
                  groupOf: (0..<B).map(root), heads: heads)
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
                position[b * T + t] = Int32(t)
                if t < Int(lengths[b]) { map[b * T + t] = Int32(b * T + t) }
            }
        }
        self.init(batchSize: B, sequenceLength: T, rowOfPosition: map, owner: owner, position: position,
                  groupOf: Array(0..<B), heads: heads)
    }

    private init(
        batchSize B: Int, sequenceLength T: Int, rowOfPosition: [Int32], owner: [Int32], position: [Int32],
        groupOf: [Int], heads: Int
    ) {
        batchSize = B
        sequenceLength = T
        self.rowOfPosition = rowOfPosition
        self.owner = owner
        self.position = position
        var members = [Int: [Int32]]()
        for b in 0..<B {
            for t in 0..<T where rowOfPosition[b * T + t] >= 0 && owner[Int(rowOfPosition[b * T + t])] == Int32(b) {
                // Each row once: listed under the group of the sequence that owns it.
                members[groupOf[b], default: []].append(rowOfPosition[b * T + t])
            }
        }
        groups = members.keys.sorted().map { members[$0]!.sorted() }
        var offsets = [Int](repeating: 0, count: owner.count), total = 0
        for group in groups {
            for row in group {
                offsets[Int(row)] = total
                total += heads * (Int(position[Int(row)]) + 1)
            }
        }
        probabilityOffsets = offsets
        probabilityCount = total
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
