import Foundation
import RLHFTensor

/// The residual stream entering one block, for each row of a batch (real positions only): what
/// a partly trained model's frozen lower blocks produce. It does not change while those blocks
/// stay frozen, so trainers compute it once per example and reuse it every epoch, and models
/// that share the frozen blocks (ensemble members, a policy and its reference) share it.
public struct TrunkStates: Sendable {
    /// The block these states enter (0: the embeddings' output).
    public let block: Int
    /// C, the hidden size.
    public let width: Int
    /// Row i: [length_i, C] floats, row-major.
    public let rows: [[Float]]

    public init(block: Int, width: Int, rows: [[Float]]) {
        self.block = block
        self.width = width
        self.rows = rows
    }

    /// The states of the rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> TrunkStates {
        TrunkStates(block: block, width: width, rows: indices.map { rows[$0] })
    }

    /// Floats held.
    public var count: Int { rows.reduce(0) { $0 + $1.count } }
}

extension LlamaModel {
    /// The largest b ≤ `limit` such that the embeddings and blocks 0..<b are bit-identical in
    /// every model (0 when the configurations or the embeddings differ): the frozen trunk they
    /// can share (ensemble members of one base; a policy and its reference while only the top
    /// blocks train).
    public static func identicalLowerBlocks(_ models: [LlamaModel], atMost limit: Int) -> Int {
        guard let first = models.first, limit > 0 else { return 0 }
        // A scalar head (a PPO policy's value head, a reward model's score) does not matter here:
        // entries are matched by name, not by offset.
        guard models.allSatisfy({ $0.configuration == first.configuration }) else { return 0 }
        func same(_ include: (ParameterLayout.Entry) -> Bool) -> Bool {
            for entry in first.layout.entries where include(entry) {
                for other in models.dropFirst() {
                    guard let match = other.layout.entries.first(where: { $0.name == entry.name }), match.count == entry.count else { return false }
                    let a = UnsafeRawPointer(first.parameters.pointer + entry.offset), b = UnsafeRawPointer(other.parameters.pointer + match.offset)
                    if memcmp(a, b, entry.count * MemoryLayout<Float>.size) != 0 { return false }
                }
            }
            return true
        }
        guard same({ $0.role == .tokenEmbedding }) else { return 0 }
        var shared = 0
        while shared < min(limit, first.configuration.blockCount), same({ $0.block == shared }) { shared += 1 }
        return shared
    }

    /// The residual stream entering `block` for every real position of `batch` (embedding and
    /// blocks 0..<block).
    public func trunkStates(for batch: TokenBatch, enteringBlock block: Int) throws -> TrunkStates {
        precondition((0...configuration.blockCount).contains(block), "block out of range")
        try check(batch)
        let s = runBlocks(batch, retained: false, range: 0..<block)
        let C = configuration.hiddenSize, T = batch.sequenceLength
        let source = s.residual(block), map = s.packing.rowOfPosition
        let rows = (0..<batch.batchSize).map { b in
            [Float](unsafeUninitializedCapacity: Int(batch.lengths[b]) * C) { row, count in
                for t in 0..<Int(batch.lengths[b]) {
                    (row.baseAddress! + t * C).update(from: source + Int(map[b * T + t]) * C, count: C)
                }
                count = Int(batch.lengths[b]) * C
            }
        }
        return TrunkStates(block: block, width: C, rows: rows)
    }

    /// ``forward(_:tokenLogProbs:values:retainForBackward:)`` starting at `states.block` from the
    /// given states (one per batch row, for its real positions) instead of the embeddings and
    /// the blocks below. Equal to the full forward pass up to float rounding. A backward pass after
    /// it must not reach below `states.block` (the embeddings and those blocks must be frozen).
    public func forward(
        _ batch: TokenBatch, from states: TrunkStates, tokenLogProbs: Bool = true, values: Bool = false,
        retainForBackward: Bool = false
    ) throws -> LlamaOutput {
        if values && !hasScalarHead { throw LlamaError.noScalarHead }
        try check(batch)
        let C = configuration.hiddenSize, T = batch.sequenceLength
        precondition(states.width == C && states.rows.count == batch.batchSize, "one state row per batch row")
        for b in 0..<batch.batchSize {
            precondition(states.rows[b].count == Int(batch.lengths[b]) * C, "row \(b): states do not match its length")
        }
        let s = runBlocks(batch, retained: retainForBackward, range: states.block..<configuration.blockCount) { residual, packing in
            // A shared row takes the states of the sequence that owns it (all agree up to rounding).
            for b in 0..<batch.batchSize {
                states.rows[b].withUnsafeBufferPointer { source in
                    for t in 0..<Int(batch.lengths[b]) {
                        let row = Int(packing.rowOfPosition[b * T + t])
                        if packing.owner[row] == Int32(b) { (residual + row * C).update(from: source.baseAddress! + t * C, count: C) }
                    }
                }
            }
        }
        return heads(s, tokenLogProbs: tokenLogProbs, values: values, retained: retainForBackward)
    }

    /// Blocks `range` on `batch`, packed (``SequencePacking``; prefixes shared unless
    /// ``sharesPrefixes`` is off): from the embeddings when `initialStates` is nil (the range must
    /// then start at 0), else from the states it writes into the packed residual entering
    /// `range.lowerBound`; the final RMSNorm when the range ends at the last block.
    func runBlocks(
        _ batch: TokenBatch, retained: Bool, range: Range<Int>,
        initialStates: ((UnsafeMutablePointer<Float>, SequencePacking) -> Void)? = nil
    ) -> ActivationStorage {
        let c = configuration
        let packing = SequencePacking(batch, sharingPrefixes: sharesPrefixes, heads: c.attentionHeadCount)
        let s = activationStorage(for: packing, retained: retained, firstBlock: range.lowerBound)
        s.load(batch, packing: packing)
        s.forwardDone = false
        if retained { trainingStartBlock = range.lowerBound }
        let N = s.rows, C = s.C
        let P = parameters.pointer
        let shape = AttentionShape(batchSize: batch.batchSize, sequenceLength: batch.sequenceLength,
                                   queryHeads: c.attentionHeadCount, keyValueHeads: c.keyValueHeadCount, headDimension: c.headDimension)
        if let initialStates {
            initialStates(s.residual(range.lowerBound), packing)
        } else {
            precondition(range.lowerBound == 0, "without initial states the blocks start at 0")
            Embedding.forward(tokens: s.tokens, table: P + layout.tokenEmbedding, output: s.residual(0), rows: N, width: C)
        }
        packing.position.withUnsafeBufferPointer { positions in
            for l in range {
                let v = s.block(l)
                blockForward(l, BlockBuffers(v), rows: N, sequenceLength: batch.sequenceLength, positions: positions.baseAddress) { qkv, y in
                    Attention.forward(queryKeyValue: qkv, packing: packing, shape: shape, probabilities: v.probabilities, output: y)
                }
            }
        }
        if range.upperBound == c.blockCount {
            RMSNorm.forward(input: s.residual(c.blockCount), weight: P + layout.finalNorm, output: s.finalNormed.pointer,
                            reciprocalRMS: s.finalRstd.pointer, rows: N, width: C, epsilon: c.rmsNormEpsilon)
        }
        return s
    }

    /// The retained or inference storage, reused when `packing` fits it, else replaced by one with
    /// a quarter more room than asked, so that batches of varying length (rollouts) do not
    /// reallocate every step; the storage is not zeroed, so room a pass does not use costs no
    /// resident memory.
    private func activationStorage(for packing: SequencePacking, retained: Bool, firstBlock: Int) -> ActivationStorage {
        let existing = retained ? trainingStorage : inferenceStorage
        if let existing, existing.fits(packing, retained: retained, firstBlock: firstBlock) { return existing }
        if retained { trainingStorage = nil } else { inferenceStorage = nil }
        let slack = 1.25
        let s = ActivationStorage(
            configuration: configuration, rowCapacity: Int(Double(packing.rowCount) * slack),
            probabilityCapacity: Int(Double(packing.probabilityCount) * slack), retained: retained, firstBlock: firstBlock)
        if retained { trainingStorage = s } else { inferenceStorage = s }
        return s
    }
}
